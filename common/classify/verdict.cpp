// verdict.cpp - the category table: one row per category, its blame, default decision and the
// text that `bounceguard explain` shows. Names are unique (a unit test checks it).
#include "classify/verdict.hpp"

#include <array>

namespace bg {

namespace {

using B = Blame;
using C = Category;
using D = Decision;

constexpr std::array<CategoryInfo, 25> categories{{
    {C::UserUnknown, "user_unknown", B::Recipient, D::Hard,
     "The recipient's mailbox does not exist at the destination.",
     "Remove or correct the address; ask the recipient for a working one."},
    {C::DomainUnknown, "domain_unknown", B::Recipient, D::Hard,
     "The recipient's domain does not exist or does not accept mail (no usable MX, null MX).",
     "Check the domain for typos; if it is right, the domain no longer receives mail."},
    {C::HasMoved, "has_moved", B::Recipient, D::Hard,
     "The mailbox has moved or changed owner; the old address is no longer valid.",
     "Update the address to the new one the reply names, if any."},
    {C::MailboxFull, "mailbox_full", B::Recipient, D::Soft,
     "The recipient's mailbox is full (over quota).",
     "Nothing to fix on our side; retry later. Repeated over days, the mailbox is likely abandoned."},
    {C::MailboxDisabled, "mailbox_disabled", B::Recipient, D::Soft,
     "The recipient's mailbox is disabled, suspended or inactive.",
     "The account may come back; bounceguard suppresses only after repeated failures."},
    {C::RelayDenied, "relay_denied", B::SenderConfig, D::None,
     "The server refused to relay: it does not accept this mail from us for that destination.",
     "Check our relayhost, transport and MX routing, and that we send to the right server."},
    {C::AuthRequired, "auth_required", B::SenderConfig, D::None,
     "The server wants us to authenticate (SMTP AUTH, or POP-before-SMTP) before it relays.",
     "Configure SASL authentication for the relayhost (smtp_sasl_auth_enable) or use the right port."},
    {C::SenderRejected, "sender_rejected", B::SenderConfig, D::None,
     "The server rejected our sender address (unknown, unverifiable or not allowed for this account).",
     "Check the envelope sender: it must exist, resolve, and be allowed for the account we relay through."},
    {C::AuthFailure, "auth_failure", B::SenderConfig, D::None,
     "Our mail failed the receiver's authentication checks (SPF, DKIM, DMARC or reverse DNS).",
     "Fix SPF, DKIM signing, DMARC alignment and the PTR record of our sending IP."},
    {C::Security, "security", B::SenderConfig, D::None,
     "The server requires a security feature we did not offer (TLS, REQUIRETLS, stronger auth).",
     "Enable TLS for this destination (smtp_tls_security_level) and check certificates."},
    {C::Blocklisted, "blocklisted", B::Reputation, D::None,
     "Our sending IP or domain is on a blocklist or has a poor reputation at the receiver.",
     "Look the IP up on the named list, fix the cause, and request delisting."},
    {C::RateLimited, "rate_limited", B::Reputation, D::None,
     "The receiver is throttling us: too many connections, messages or complaints.",
     "Slow down for this destination (concurrency and rate limits); the mail will be retried."},
    {C::SpamContent, "spam_content", B::Content, D::None,
     "This message was refused for its content (spam, virus, or a content filter).",
     "Review the message and its links; the recipient address itself is fine."},
    {C::Policy, "policy", B::Content, D::None,
     "The receiver refused the message under a local policy.",
     "Read the reply text for the policy; contact the receiving site's postmaster if unclear."},
    {C::MessageTooBig, "message_too_big", B::Content, D::None,
     "The message is larger than the receiver accepts.",
     "Send a smaller message or a link instead of the attachment."},
    {C::ProtocolError, "protocol_error", B::SenderConfig, D::None,
     "The SMTP conversation or the message format was rejected as invalid.",
     "Check the sending software and the message headers for malformed content."},
    {C::TooManyRecipients, "too_many_recipients", B::Transient, D::None,
     "Too many recipients in one transaction; the rest will be sent in another.",
     "Nothing to do; lower *_destination_recipient_limit if it happens often."},
    {C::Greylisted, "greylisted", B::Transient, D::None,
     "The receiver greylisted the message; a retry later is expected to succeed.",
     "Nothing to do; the queue retries."},
    {C::RemoteError, "remote_error", B::Transient, D::None,
     "The receiving system had a local problem (storage, configuration, internal error).",
     "Nothing to do on our side; the queue retries."},
    {C::Network, "network", B::Transient, D::None,
     "Delivery failed on the network or in routing (timeout, refused connection, expired in queue).",
     "Check reachability of the destination; persistent failure may mean the domain is dead."},
    {C::Complaint, "complaint", B::Recipient, D::Hard,
     "The recipient reported the message as spam (feedback report).",
     "Stop mailing this recipient; review how they were subscribed."},
    {C::AutoReply, "auto_reply", B::None, D::None,
     "An automatic reply (vacation, out of office), not a failure.", "Nothing to do."},
    {C::Delivered, "delivered", B::None, D::None,
     "A delivery status notification that reports success or a delay, not a failure.",
     "Nothing to do."},
    {C::NotBounce, "not_bounce", B::None, D::None,
     "Not a bounce: no failed recipient was found in the message.", "Nothing to do."},
    {C::Unknown, "unknown", B::Unknown, D::None,
     "No rule recognised this reply; bounceguard never suppresses on an unknown reply.",
     "Read the text; if it recurs, add a rule for it in the configuration."},
}};

}  // namespace

std::span<const CategoryInfo> category_table() noexcept { return categories; }

const CategoryInfo& info(Category c) noexcept {
    for (const auto& row : categories)
        if (row.category == c) return row;
    return categories.back();
}

std::string_view to_string(Category c) noexcept { return info(c).name; }

std::string_view to_string(Blame b) noexcept {
    switch (b) {
        case Blame::Recipient: return "recipient";
        case Blame::SenderConfig: return "sender_config";
        case Blame::Reputation: return "reputation";
        case Blame::Content: return "content";
        case Blame::Transient: return "transient";
        case Blame::None: return "none";
        case Blame::Unknown: break;
    }
    return "unknown";
}

std::string_view describe(Blame b) noexcept {
    switch (b) {
        case Blame::Recipient: return "the recipient's side: the address or its domain";
        case Blame::SenderConfig: return "our side: relay, authentication, DNS or sender configuration";
        case Blame::Reputation: return "our side: the reputation of our sending IP or domain";
        case Blame::Content: return "this message's content, not the address";
        case Blame::Transient: return "nobody's for now: a temporary condition";
        case Blame::None: return "nobody's: not a failure";
        case Blame::Unknown: break;
    }
    return "unknown";
}

std::string_view to_string(Decision d) noexcept {
    switch (d) {
        case Decision::Hard: return "hard";
        case Decision::Soft: return "soft";
        case Decision::None: break;
    }
    return "none";
}

std::optional<Category> parse_category(std::string_view name) noexcept {
    for (const auto& row : categories)
        if (row.name == name) return row.category;
    return std::nullopt;
}

std::optional<Decision> parse_decision(std::string_view name) noexcept {
    if (name == "hard") return Decision::Hard;
    if (name == "soft") return Decision::Soft;
    if (name == "none") return Decision::None;
    return std::nullopt;
}

}  // namespace bg
