// bounce_parser.cpp - see bounce_parser.hpp. The order of evidence for what a message is:
// an ARF feedback report; an RFC 3464 report (a delivery-status part, or DSN fields pasted into
// the text); a plain-text bounce (a bounce sender or subject, or bounce wording, and recipients
// the text heuristics find); an RFC 3834 auto-reply; else not a bounce.
#include "dsn/bounce_parser.hpp"

#include <cstring>

#include "classify/classifier.hpp"
#include "dsn/dsn_fields.hpp"
#include "dsn/mime_message.hpp"
#include "dsn/ses_notification.hpp"
#include "dsn/text_bounce.hpp"
#include "util/text.hpp"

namespace bg {

std::string_view to_string(BounceKind kind) noexcept {
    switch (kind) {
        case BounceKind::Dsn: return "dsn";
        case BounceKind::TextBounce: return "text";
        case BounceKind::Feedback: return "feedback";
        case BounceKind::AutoReply: return "auto_reply";
        case BounceKind::NotBounce: break;
    }
    return "not_bounce";
}

namespace {

// Bytes of a DSN's human-readable part kept to check that it agrees with the records.
constexpr std::size_t max_explanation_bytes = 4096;

using dsn::MimeContent;

struct Prepared {
    std::string bytes;
    bool truncated = false;
    std::vector<std::string> warnings;
};

// Caps the size, drops a leading mbox "From " line, makes every line end LF, and cuts the input
// before the multipart declaration past the limit (so GMime never nests deeper than that).
Prepared prepare(std::string_view raw, const BounceLimits& limits) {
    Prepared p;
    if (raw.size() > limits.max_message_bytes) {
        raw = raw.substr(0, limits.max_message_bytes);
        p.truncated = true;
        p.warnings.push_back("message larger than " + std::to_string(limits.max_message_bytes) +
                             " bytes: only its beginning was read");
    }
    if (raw.starts_with("From ")) {
        const auto nl = raw.find('\n');
        raw = nl == std::string_view::npos ? std::string_view() : raw.substr(nl + 1);
    }
    if (std::memchr(raw.data(), '\r', raw.size()) == nullptr) {
        p.bytes.assign(raw);
    } else {
        p.bytes.reserve(raw.size());
        for (std::size_t i = 0; i < raw.size(); ++i) {
            if (raw[i] == '\r') {
                p.bytes.push_back('\n');
                if (i + 1 < raw.size() && raw[i + 1] == '\n') ++i;
            } else {
                p.bytes.push_back(raw[i]);
            }
        }
    }
    // Any case counts ("MULTIPART/" too), or the cap could be walked around.
    std::size_t count = 0;
    for (std::size_t at = p.bytes.find('/', 9); at != std::string::npos; at = p.bytes.find('/', at + 1)) {
        if (!text::iequals(std::string_view(p.bytes).substr(at - 9, 9), "multipart")) continue;
        if (++count > limits.max_mime_parts) {
            const auto line = p.bytes.rfind('\n', at);
            p.bytes.resize(line == std::string::npos ? 0 : line + 1);
            p.truncated = true;
            p.warnings.push_back("more than " + std::to_string(limits.max_mime_parts) +
                                 " multipart declarations: the rest of the message was not read");
            break;
        }
    }
    return p;
}

bool any_of(std::string_view s, std::initializer_list<std::string_view> needles) noexcept {
    for (auto n : needles)
        if (text::ifind_fast(s, n) != std::string_view::npos) return true;
    return false;
}

// The sender names that bounce writers use.
bool is_bounce_sender(std::string_view from) noexcept {
    if (text::trim(from).empty() || text::trim(from) == "<>") return true;
    return any_of(from, {"mailer-daemon", "mailer_daemon", "mailerdaemon", "mail-daemon", "maildaemon", "postmaster",
                         "post_master", "mail delivery", "mail.delivery", "mdaemon", "delivery subsystem",
                         "interscan", "mail system"});
}

bool is_bounce_subject(std::string_view subject) noexcept {
    return any_of(subject, {"undeliver", "undelivered", "delivery status", "delivery fail", "delivery notification",
                            "failure notice", "failed delivery", "failure delivery", "returned mail", "mail delivery",
                            "returning message", "not delivered", "could not be delivered", "delivery problem",
                            "nondeliverable", "non-deliverable", "non remis", "unzustellbar", "nicht zustellbar",
                            "system error", "mail failure", "delivery error", "returned to sender", "bounce",
                            "delayed mail", "warning: message", "delivery delayed", "delivery failure",
                            "could not send", "delivery report", "error sending", "not be delivered"});
}

bool is_auto_reply(const MimeContent& m) noexcept {
    const auto as = m.header("Auto-Submitted");
    if (text::istarts_with(text::trim(as), "auto-replied")) return true;
    if (!m.header("X-Autoreply").empty() || !m.header("X-Autorespond").empty() ||
        !m.header("X-Autoresponder").empty())
        return true;
    if (text::istarts_with(text::trim(m.header("Precedence")), "auto_reply")) return true;
    const auto subject = text::trim(m.header("Subject"));
    for (auto p : {"auto:", "automatic reply", "auto-reply", "autoreply", "auto reply", "out of office",
                   "out of the office", "away from", "vacation", "abwesenheit", "automatische antwort",
                   "respuesta automática", "réponse automatique"})
        if (text::istarts_with(subject, p)) return true;
    return false;
}

// The text of every human-readable part, one after the other.
std::string all_text(const MimeContent& m, std::size_t max) {
    std::string s;
    for (const auto& t : m.texts) {
        if (s.size() >= max) break;
        if (!s.empty()) s += "\n\n";
        s.append(text::clip(t, max - s.size()));
    }
    return s;
}

// A plain-text bounce pastes the returned message's headers after its own text.
OriginalMessage pasted_original(std::string_view text, std::string_view head, const BounceLimits& limits) {
    if (head.size() >= text.size()) return {};
    std::string_view rest = text.substr(head.size());
    // Skip the marker line and anything that is not yet a header line.
    for (int i = 0; i < 8 && !rest.empty(); ++i) {
        const auto nl = rest.find('\n');
        const auto line = rest.substr(0, nl);
        const auto colon = line.find(':');
        if (colon != std::string_view::npos && colon > 0 && colon < 40 && line.find(' ') > colon) break;
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    }
    if (rest.empty()) return {};
    return dsn::read_original_headers(rest, limits);
}

bool same_address(std::string_view a, std::string_view b) noexcept { return !a.empty() && text::iequals(a, b); }

// DSN records get what the human-readable part says about the same recipient when the DSN
// itself is silent: a diagnostic, or a diagnostic with a reply code.
void enrich_from_text(std::vector<BounceRecord>& records, const std::vector<BounceRecord>& from_text) {
    for (auto& r : records) {
        const BounceRecord* t = nullptr;
        for (const auto& x : from_text)
            if (same_address(x.recipient, r.recipient) || same_address(x.recipient, r.original_recipient)) t = &x;
        if (!t && records.size() == 1 && from_text.size() == 1) t = &from_text.front();
        if (!t) continue;
        const auto own = text::trim(r.diagnostic);
        if (own.empty() || (!dsn::has_reply_code(own) && dsn::has_reply_code(t->diagnostic) &&
                            text::ifind_fast(t->diagnostic, text::clip(own, 24)) != std::string_view::npos))
            r.diagnostic = t->diagnostic;
        if (r.stage == SmtpStage::Unknown) {
            // Postfix writes "(in reply to end of DATA command)" in the text, not in the DSN.
            if (auto tr = parse_reply(t->diagnostic); tr && tr->stage != SmtpStage::Unknown) r.stage = tr->stage;
            else r.stage = t->stage;
        }
    }
}

void add_warning(ParsedBounce& b, std::string w) {
    b.truncated = true;
    if (b.warnings.size() < 16) b.warnings.push_back(std::move(w));
}

}  // namespace

Result<ParsedBounce> parse_bounce(std::string_view raw, const BounceLimits& limits) {
    if (text::trim(raw).empty()) return Error{"empty message"};
    Prepared prepared = prepare(raw, limits);
    auto mime = dsn::read_mime(prepared.bytes, limits);
    if (!mime) return mime.error();
    MimeContent& m = *mime;
    if (!m.has_headers) return Error{"not a mail message: no header lines"};

    ParsedBounce out;
    out.truncated = prepared.truncated || m.truncated;
    out.warnings = std::move(prepared.warnings);
    for (auto& w : m.warnings) out.warnings.push_back(std::move(w));
    out.subject = std::string(m.header("Subject"));
    out.from = std::string(m.header("From"));
    out.original = m.original;

    const std::string body = all_text(m, limits.max_text_bytes);
    const std::string_view head = dsn::cut_returned_message(body);
    out.explanation = std::string(text::clip(head, max_explanation_bytes));
    if (!m.has_original) out.original = pasted_original(body, head, limits);
    const std::string first_to = dsn::first_address(out.original.to);

    // 1. ARF feedback report.
    if (!m.feedback.empty()) {
        out.kind = BounceKind::Feedback;
        for (const auto& f : m.feedback) {
            auto rep = dsn::parse_feedback_report(f, limits);
            if (rep.truncated) add_warning(out, "feedback report with more recipients than the limit");
            for (auto& r : rep.records) {
                if (r.recipient.empty()) r.recipient = first_to;
                if (out.records.size() < limits.max_recipients) out.records.push_back(std::move(r));
            }
        }
        return out;
    }

    // 2. RFC 3464 report: a delivery-status part, else DSN fields pasted into the text.
    std::vector<BounceRecord> records;
    bool dsn_truncated = false;
    for (const auto& ds : m.delivery_status) {
        auto rep = dsn::parse_delivery_status(ds, limits);
        dsn_truncated = dsn_truncated || rep.truncated;
        for (auto& r : rep.records)
            if (records.size() < limits.max_recipients) records.push_back(std::move(r));
    }
    if (records.empty()) {
        if (auto fields = dsn::embedded_dsn_fields(body, limits.max_text_bytes); !fields.empty()) {
            auto rep = dsn::parse_delivery_status(fields, limits);
            dsn_truncated = dsn_truncated || rep.truncated;
            records = std::move(rep.records);
        }
    }
    if (dsn_truncated) add_warning(out, "report with more than " + std::to_string(limits.max_recipients) +
                                            " recipients: the rest were not read");
    const bool bounce_like = is_bounce_sender(out.from) || is_bounce_subject(out.subject) ||
                             m.report_type == "delivery-status";
    if (!records.empty()) {
        out.kind = BounceKind::Dsn;
        enrich_from_text(records, dsn::scan_text_bounce(body, limits));
        out.records = std::move(records);
        return out;
    }

    // 3. An Amazon SES notification (JSON in the text).
    if (auto ses = dsn::parse_ses_notification(body, limits)) {
        out.kind = ses->kind;
        out.records = std::move(ses->records);
        return out;
    }

    // 4. A plain-text bounce.
    const bool wording = dsn::has_bounce_wording(head);
    if (bounce_like || (wording && !is_auto_reply(m))) {
        auto found = dsn::scan_text_bounce(body, limits);
        if (found.size() >= limits.max_recipients)
            add_warning(out, "bounce naming more than " + std::to_string(limits.max_recipients) + " recipients");
        if (found.empty() && bounce_like && !first_to.empty()) {
            BounceRecord r;
            r.recipient = first_to;
            std::string d = text::printable(head);
            r.diagnostic = std::string(text::clip(d, limits.max_diagnostic_bytes));
            r.stage = dsn::stage_from_wording(r.diagnostic);
            found.push_back(std::move(r));
        }
        const bool delayed = dsn::has_delay_wording(head) ||
                             text::ifind_fast(out.subject, "delay") != std::string_view::npos ||
                             text::istarts_with(text::trim(out.subject), "warning");
        for (auto& r : found) r.action = delayed ? "delayed" : "failed";
        if (!found.empty()) {
            out.kind = BounceKind::TextBounce;
            out.records = std::move(found);
            return out;
        }
    }

    // 5. An auto-reply: the recipient is the one who answered.
    if (is_auto_reply(m)) {
        out.kind = BounceKind::AutoReply;
        BounceRecord r;
        r.recipient = dsn::first_address(out.from);
        out.records.push_back(std::move(r));
        return out;
    }
    out.kind = BounceKind::NotBounce;
    return out;
}

namespace {

Verdict fixed_verdict(Category c, std::string_view rule_id) {
    const auto& ci = info(c);
    return Verdict{c, ci.blame, ci.decision, rule_id, ci.meaning, ci.advice, {}};
}

// A hard verdict needs the report to agree with itself. When the human-readable part of a DSN
// gives a different, specific reason (e.g. "Not enough disk space" above a "5.1.1 User unknown"
// field) and does not repeat the record's diagnostic, the evidence is contradictory: the verdict
// becomes soft (the address is suppressed only if it keeps failing), never hard at once.
void weaken_on_contradiction(BounceRecord& r, std::string_view explanation, const RuleSet& rules) {
    explanation = text::trim(explanation);
    if (explanation.empty()) return;
    // The record's own words (the reply text after the code) found in the explanation: they agree.
    const std::string_view said = text::trim(r.reply.text.empty() ? std::string_view(r.diagnostic) : r.reply.text);
    if (said.empty() || text::icontains(explanation, text::clip(said, 24))) return;
    SmtpReply human;
    human.text = text::printable(explanation);
    const Verdict other = classify(human, rules);
    if (other.category == Category::Unknown || other.category == r.verdict.category) return;
    if (other.decision == Decision::Hard || other.rule_id.ends_with(".weak")) return;
    r.verdict.decision = Decision::Soft;
    r.verdict.adjustment =
        "the report's human-readable part gives another reason: contradictory evidence is soft, never a suppression at "
        "once";
}

SmtpReply reply_of(BounceRecord& r) {
    SmtpReply reply;
    if (auto parsed = parse_reply(r.diagnostic)) reply = std::move(*parsed);
    // Bounce texts that put words before the code in ways parse_reply does not take for a
    // prefix: the first reply code in the diagnostic is used.
    if (reply.code == 0) reply.code = dsn::first_reply_code(r.diagnostic);
    if (!reply.status && !r.status.empty()) reply.status = parse_enhanced_status(r.status);
    if (reply.stage == SmtpStage::Unknown) reply.stage = r.stage;
    if (reply.stage == SmtpStage::Unknown) reply.stage = dsn::stage_from_wording(r.diagnostic);
    r.stage = reply.stage;
    if (reply.remote_host.empty()) reply.remote_host = r.remote_mta;
    if (r.remote_mta.empty()) r.remote_mta = reply.remote_host;
    return reply;
}

}  // namespace

void classify_bounce(ParsedBounce& bounce, const RuleSet& rules) {
    for (auto& r : bounce.records) {
        switch (bounce.kind) {
            case BounceKind::Feedback:
                r.verdict = fixed_verdict(Category::Complaint, "dsn.feedback_report");
                continue;
            case BounceKind::AutoReply:
                r.verdict = fixed_verdict(Category::AutoReply, "dsn.auto_reply");
                continue;
            case BounceKind::NotBounce:
                r.verdict = fixed_verdict(Category::NotBounce, "dsn.not_bounce");
                continue;
            case BounceKind::Dsn:
            case BounceKind::TextBounce:
                break;
        }
        r.reply = reply_of(r);
        if (r.action == "delivered" || r.action == "relayed" || r.action == "expanded") {
            r.verdict = fixed_verdict(Category::Delivered, "dsn.action_delivered");
            continue;
        }
        r.verdict = classify(r.reply, rules);
        if (r.verdict.decision == Decision::Hard && bounce.kind == BounceKind::Dsn)
            weaken_on_contradiction(r, bounce.explanation, rules);
        if (r.action == "delayed" && r.verdict.decision != Decision::None) {
            r.verdict.decision = Decision::None;
            r.verdict.blame = Blame::Transient;
            r.verdict.adjustment = "the report says delivery is only delayed: the sending MTA is still retrying";
        }
    }
}

}  // namespace bg
