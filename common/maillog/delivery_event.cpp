// delivery_event.cpp - see delivery_event.hpp.
#include "maillog/delivery_event.hpp"

#include "classify/classifier.hpp"
#include "dsn/text_bounce.hpp"
#include "policy/thresholds.hpp"
#include "smtp/address.hpp"
#include "smtp/enhanced_status.hpp"
#include "smtp/reply.hpp"
#include "util/text.hpp"

namespace bg::maillog {

namespace {

bool is_hop(std::string_view relay, const std::vector<std::string>& hops) noexcept {
    for (const auto& h : hops)
        if (glob_match(h, relay)) return true;
    return false;
}

// The relay without the port Postfix appends: "mx.example.com[192.0.2.1]:25" =>
// "mx.example.com[192.0.2.1]"; Sendmail's "mx.example.com. [192.0.2.1]" is kept.
std::string_view relay_host(std::string_view relay) noexcept {
    const auto close = relay.rfind(']');
    if (close != std::string_view::npos && close + 1 < relay.size() && relay[close + 1] == ':')
        return relay.substr(0, close + 1);
    return relay;
}

// As the bounce parser completes a DSN record's reply: the status from the dsn= field when the
// text has none, the stage from the wording, the remote host from the relay.
SmtpReply reply_of(const DeliveryRecord& r) {
    SmtpReply reply;
    if (auto parsed = parse_reply(r.reply)) reply = std::move(*parsed);
    if (reply.code == 0) reply.code = dsn::first_reply_code(r.reply);
    if (!reply.status && !r.dsn.empty()) reply.status = parse_enhanced_status(r.dsn);
    if (reply.stage == SmtpStage::Unknown) reply.stage = dsn::stage_from_wording(r.reply);
    if (reply.remote_host.empty() && r.relay != "none") reply.remote_host = std::string(relay_host(r.relay));
    return reply;
}

// Cleaned, clipped, valid UTF-8 (the UTF-8 check only when there is a byte outside ASCII).
std::string safe_text(std::string_view raw, std::size_t max) {
    std::string t = text::printable(text::clip(raw, max));
    for (unsigned char c : t)
        if (c >= 0x80) return text::valid_utf8(t);
    return t;
}

Verdict delivered_verdict() {
    const auto& ci = info(Category::Delivered);
    return Verdict{Category::Delivered, ci.blame, ci.decision, "maillog.sent", ci.meaning, ci.advice, {}};
}

}  // namespace

std::optional<Learned> learn(const DeliveryRecord& r, const RuleSet& rules, const LearnOptions& options,
                             UnixTime now) {
    auto rcpt = normalize_address(r.recipient);
    if (!rcpt) return std::nullopt;
    if (r.status == DeliveryStatus::Sent && is_hop(r.relay, options.hop_relays)) return std::nullopt;
    Learned l;
    Event& e = l.event;
    e.time = r.time > 0 && r.time <= now ? r.time : now;
    e.recipient = std::move(*rcpt);
    if (auto s = normalize_address(r.sender)) e.sender = std::move(*s);
    e.source = EventSource::Maillog;
    e.queue_id = r.queue_id;
    e.message_id = r.message_id;
    e.text = safe_text(r.reply, 1000);
    if (r.status == DeliveryStatus::Sent) {
        // A success needs no reply parsing: it is evidence of delivery whatever the text says.
        e.status = r.dsn;
        e.stage = std::string(to_string(SmtpStage::Unknown));
        if (r.relay != "none") e.remote_mta = safe_text(relay_host(r.relay), 255);
        l.verdict = delivered_verdict();
    } else {
        const SmtpReply reply = reply_of(r);
        e.reply_code = reply.code;
        e.status = reply.status ? reply.status->to_string() : r.dsn;
        e.stage = std::string(to_string(reply.stage));
        e.remote_mta = safe_text(reply.remote_host, 255);
        l.verdict = classify(reply, rules);
    }
    l.decision = l.verdict.decision;
    e.category = l.verdict.category;
    e.blame = l.verdict.blame;
    e.rule_id = std::string(l.verdict.rule_id);
    return l;
}

}  // namespace bg::maillog
