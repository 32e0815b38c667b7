// maillog_parser.cpp - see maillog_parser.hpp.
#include "maillog/maillog_parser.hpp"

#include <algorithm>

#include "util/text.hpp"

namespace bg::maillog {

namespace {

using text::is_digit;

bool is_alnum(char c) noexcept {
    return is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

// "61CDCA72B08: rest" => qid, rest. Postfix short (hex) and long ids, Sendmail ids.
bool split_queue_id(std::string_view msg, std::string_view& qid, std::string_view& rest) noexcept {
    std::size_t i = 0;
    while (i < msg.size() && i <= 32 && is_alnum(msg[i])) ++i;
    if (i < 5 || i > 32 || i + 1 >= msg.size() || msg[i] != ':' || msg[i + 1] != ' ') return false;
    qid = msg.substr(0, i);
    if (qid == "NOQUEUE") return false;
    rest = msg.substr(i + 2);
    return true;
}

std::string_view strip_angles(std::string_view v) noexcept {
    v = text::trim(v);
    if (v.size() >= 2 && v.front() == '<' && v.back() == '>') v = v.substr(1, v.size() - 2);
    return v;
}

std::string capped(std::string_view v, std::size_t max) { return std::string(text::clip(v, max)); }

// The value of "key=" in a ", "-separated field list (up to the next ", "), or "" when absent.
// Searches only within s.
std::string_view field(std::string_view s, std::string_view key_eq) noexcept {
    std::size_t pos = 0;
    for (;;) {
        pos = s.find(key_eq, pos);
        if (pos == std::string_view::npos) return {};
        if (pos == 0 || (pos >= 2 && s[pos - 2] == ',' && s[pos - 1] == ' ')) break;
        pos += key_eq.size();
    }
    const std::size_t start = pos + key_eq.size();
    const std::size_t end = s.find(", ", start);
    return s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
}

bool starts_with_code(std::string_view s) noexcept {
    return s.size() >= 3 && s[0] >= '2' && s[0] <= '5' && is_digit(s[1]) && is_digit(s[2]) &&
           (s.size() == 3 || s[3] == ' ' || s[3] == '-');
}

// The agent part of a Postfix program name: "postfix-out/submission/smtp" => "smtp".
std::string_view agent_of(std::string_view program) noexcept {
    const auto slash = program.rfind('/');
    return slash == std::string_view::npos ? program : program.substr(slash + 1);
}

bool is_sendmail_program(std::string_view p) noexcept {
    return p.starts_with("sendmail") || p.starts_with("sm-mta") || p.starts_with("sm-msp");
}

bool is_postfix_program(std::string_view p) noexcept {
    return p.find('/') != std::string_view::npos || p.starts_with("postfix");
}

std::optional<DeliveryStatus> postfix_status(std::string_view w) noexcept {
    if (w == "sent") return DeliveryStatus::Sent;
    if (w == "bounced") return DeliveryStatus::Bounced;
    if (w == "deferred") return DeliveryStatus::Deferred;
    if (w == "SOFTBOUNCE") return DeliveryStatus::SoftBounce;
    if (w == "expired") return DeliveryStatus::Expired;
    return std::nullopt;  // deliverable/undeliverable (address probes) and anything new
}

// The end of Sendmail's to= list: the first ", word=" after it.
std::size_t end_of_to_list(std::string_view s) noexcept {
    for (std::size_t pos = s.find(", "); pos != std::string_view::npos; pos = s.find(", ", pos + 2)) {
        std::size_t i = pos + 2;
        while (i < s.size() && s[i] >= 'a' && s[i] <= 'z') ++i;
        if (i > pos + 2 && i < s.size() && s[i] == '=') return pos;
    }
    return std::string_view::npos;
}

}  // namespace

std::string_view to_string(Mta m) noexcept { return m == Mta::Postfix ? "postfix" : "sendmail"; }

std::string_view to_string(DeliveryStatus s) noexcept {
    switch (s) {
        case DeliveryStatus::Sent: return "sent";
        case DeliveryStatus::Bounced: return "bounced";
        case DeliveryStatus::Deferred: return "deferred";
        case DeliveryStatus::SoftBounce: return "softbounce";
        case DeliveryStatus::Expired: return "expired";
    }
    return "sent";
}

MaillogParser::MaillogParser(MaillogLimits limits) : limits_(limits) {
    if (limits_.max_queue_ids == 0) limits_.max_queue_ids = 1;
    ring_.resize(limits_.max_queue_ids);
    queues_.reserve(std::min<std::size_t>(limits_.max_queue_ids, 4096));
}

MaillogParser::QueueInfo* MaillogParser::find(std::string_view qid) {
    auto it = queues_.find(qid);
    return it == queues_.end() ? nullptr : &it->second;
}

MaillogParser::QueueInfo& MaillogParser::remember(std::string_view qid) {
    if (auto* q = find(qid)) return *q;
    // Evict whatever was remembered longest ago in this slot (if it is still there).
    const std::size_t slot = next_slot_;
    next_slot_ = (next_slot_ + 1) % ring_.size();
    if (!ring_[slot].empty()) {
        auto old = queues_.find(std::string_view(ring_[slot]));
        if (old != queues_.end() && old->second.slot == slot) queues_.erase(old);
    }
    ring_[slot].assign(qid);
    auto& q = queues_[ring_[slot]];
    q.slot = slot;
    return q;
}

void MaillogParser::forget(std::string_view qid) {
    auto it = queues_.find(qid);
    if (it != queues_.end()) queues_.erase(it);
}

void MaillogParser::join(DeliveryRecord& r, std::string_view qid) {
    if (const auto* q = find(qid)) {
        r.sender = q->sender;
        r.sender_known = q->sender_known;
        r.message_id = q->message_id;
    }
}

LineKind MaillogParser::feed(std::string_view line, UnixTime now, std::vector<DeliveryRecord>& out) {
    const SyslogLine l = parse_syslog_line(line);
    std::string_view qid, rest;
    if (!split_queue_id(l.message, qid, rest)) return LineKind::Unknown;
    if (!l.program.empty()) {
        if (is_sendmail_program(l.program)) return sendmail(l, qid, rest, now, out);
        if (is_postfix_program(l.program)) return postfix(l, qid, rest, now, out);
        return LineKind::Unknown;
    }
    // No program (journalctl -o cat): tell the two apart by their fields.
    if (rest.find(", stat=") != std::string_view::npos || rest.starts_with("<<< ") ||
        (rest.starts_with("<") && rest.find(">... ") != std::string_view::npos) ||
        rest.find(", class=") != std::string_view::npos)
        return sendmail(l, qid, rest, now, out);
    return postfix(l, qid, rest, now, out);
}

LineKind MaillogParser::postfix(const SyslogLine& l, std::string_view qid, std::string_view rest, UnixTime now,
                                std::vector<DeliveryRecord>& out) {
    if (rest.starts_with("to=<")) {
        // A message refused by a milter or by header/body checks is logged by cleanup with a
        // to= line: our own enforcement, never new evidence.
        if (agent_of(l.program) == "cleanup") return LineKind::Context;
        const std::size_t close = rest.find(">, ");
        if (close == std::string_view::npos) return LineKind::Unknown;
        const std::string_view fields = rest.substr(close + 3);
        const std::size_t st = fields.rfind("status=");
        if (st == std::string_view::npos || (st > 0 && (st < 2 || fields[st - 2] != ','))) return LineKind::Unknown;
        std::string_view status_part = fields.substr(st + 7);
        const std::size_t sp = status_part.find(' ');
        const auto status = postfix_status(status_part.substr(0, sp));
        if (!status) return LineKind::Context;
        std::string_view reason;
        if (sp != std::string_view::npos) {
            reason = text::trim(status_part.substr(sp + 1));
            if (reason.size() >= 2 && reason.front() == '(' && reason.back() == ')')
                reason = reason.substr(1, reason.size() - 2);
        }
        const std::string_view head = fields.substr(0, st);
        DeliveryRecord r;
        r.mta = Mta::Postfix;
        r.agent = capped(l.program, limits_.max_field_bytes);
        r.time = clock_.to_unix(l.time, now);
        r.queue_id = std::string(qid);
        r.recipient = capped(rest.substr(4, close - 4), limits_.max_field_bytes);
        r.orig_recipient = capped(strip_angles(field(head, "orig_to=")), limits_.max_field_bytes);
        r.relay = capped(field(head, "relay="), limits_.max_field_bytes);
        r.dsn = capped(field(head, "dsn="), 16);
        r.status = *status;
        r.reply = capped(reason, limits_.max_reply_bytes);
        join(r, qid);
        out.push_back(std::move(r));
        return LineKind::Delivery;
    }
    if (rest == "removed") {
        forget(qid);
        return LineKind::Context;
    }
    std::string_view from;
    if (rest.starts_with("from=<")) from = rest.substr(5);
    else if (rest.starts_with("uid=")) {
        const auto f = rest.find(" from=<");
        if (f == std::string_view::npos) return LineKind::Unknown;
        from = rest.substr(f + 6);
    }
    if (!from.empty()) {
        const auto close = from.find('>');
        if (close == std::string_view::npos) return LineKind::Unknown;
        auto& q = remember(qid);
        q.sender = capped(from.substr(1, close - 1), limits_.max_field_bytes);
        q.sender_known = true;
        return LineKind::Context;
    }
    if (rest.starts_with("message-id=")) {
        auto& q = remember(qid);
        q.message_id = capped(strip_angles(rest.substr(11)), limits_.max_field_bytes);
        return LineKind::Context;
    }
    return LineKind::Unknown;
}

LineKind MaillogParser::sendmail(const SyslogLine& l, std::string_view qid, std::string_view rest, UnixTime now,
                                 std::vector<DeliveryRecord>& out) {
    // The MSP (sm-msp-queue) hands mail to the local MTA: not a delivery to the recipient.
    const bool msp = l.program.starts_with("sm-msp");
    if (rest.starts_with("to=")) {
        if (msp) return LineKind::Context;
        const std::size_t list_end = end_of_to_list(rest);
        const std::size_t stat = rest.rfind(", stat=");
        if (list_end == std::string_view::npos || stat == std::string_view::npos || stat < list_end)
            return LineKind::Unknown;
        const std::string_view stat_text = text::trim(rest.substr(stat + 7));
        std::string_view head = rest.substr(list_end, stat - list_end);
        std::string_view reply;
        if (const auto rp = head.find(", reply="); rp != std::string_view::npos) {
            reply = head.substr(rp + 8);
            head = head.substr(0, rp);
        }
        const std::string_view fields = head.size() >= 2 ? head.substr(2) : std::string_view();  // after ", "
        const std::string_view dsn = field(fields, "dsn=");
        std::optional<DeliveryStatus> status;
        if (!dsn.empty() && dsn[0] == '2') status = DeliveryStatus::Sent;
        else if (!dsn.empty() && dsn[0] == '4') status = DeliveryStatus::Deferred;
        else if (!dsn.empty() && dsn[0] == '5') status = DeliveryStatus::Bounced;
        else if (stat_text.starts_with("Sent")) status = DeliveryStatus::Sent;
        else if (stat_text.starts_with("Deferred")) status = DeliveryStatus::Deferred;
        else if (text::istarts_with(stat_text, "queued")) return LineKind::Context;  // not tried yet
        else status = DeliveryStatus::Bounced;
        std::string_view text = reply;
        if (text.empty()) {
            text = stat_text;
            if (text.starts_with("Deferred:")) text = text::trim(text.substr(9));
            else if (text.starts_with("Sent (") && text.ends_with(")")) text = text.substr(6, text.size() - 7);
        }
        auto* q = find(qid);
        const std::string_view list = rest.substr(3, list_end - 3);
        const UnixTime t = clock_.to_unix(l.time, now);
        std::size_t n = 0;
        for (std::string_view rcpt : text::split(list, ',')) {
            rcpt = strip_angles(rcpt);
            if (rcpt.empty()) continue;
            if (++n > limits_.max_recipients) break;
            DeliveryRecord r;
            r.mta = Mta::Sendmail;
            r.agent = capped(l.program, limits_.max_field_bytes);
            r.time = t;
            r.queue_id = std::string(qid);
            r.recipient = capped(rcpt, limits_.max_field_bytes);
            r.relay = capped(field(fields, "relay="), limits_.max_field_bytes);
            r.dsn = capped(dsn, 16);
            r.status = *status;
            r.reply = capped(text, limits_.max_reply_bytes);
            if (status != DeliveryStatus::Sent && !starts_with_code(r.reply) && q && !q->pending_reply.empty() &&
                (q->pending_rcpt.empty() || text::iequals(q->pending_rcpt, r.recipient)))
                r.reply = q->pending_reply;
            join(r, qid);
            out.push_back(std::move(r));
        }
        if (q) q->pending_reply.clear(), q->pending_rcpt.clear();
        return n > 0 ? LineKind::Delivery : LineKind::Unknown;
    }
    if (rest.starts_with("from=")) {
        const std::string_view value = field(rest, "from=");
        auto& q = remember(qid);
        q.sender = capped(strip_angles(value), limits_.max_field_bytes);
        q.sender_known = true;
        if (const auto id = field(rest, "msgid="); !id.empty())
            q.message_id = capped(strip_angles(id), limits_.max_field_bytes);
        return LineKind::Context;
    }
    // Transcript forms: "<<< 550 5.1.1 <x>... User unknown" (the remote reply), and
    // "<x@example.com>... 550 5.1.1 ..." / "<x@example.com>... User unknown" (the error for x).
    if (rest.starts_with("<<< ")) {
        const std::string_view reply = text::trim(rest.substr(4));
        if (!starts_with_code(reply) || reply[0] < '4') return LineKind::Context;
        auto& q = remember(qid);
        q.pending_reply = capped(reply, limits_.max_reply_bytes);
        q.pending_rcpt.clear();
        return LineKind::Context;
    }
    if (rest.starts_with("<")) {
        const auto dots = rest.find(">... ");
        if (dots == std::string_view::npos) return LineKind::Unknown;
        const std::string_view said = text::trim(rest.substr(dots + 5));
        if (!starts_with_code(said)) return LineKind::Context;  // only a reply with its code adds to the to= line
        auto& q = remember(qid);
        q.pending_reply = capped(said, limits_.max_reply_bytes);
        q.pending_rcpt = capped(rest.substr(1, dots - 1), limits_.max_field_bytes);
        return LineKind::Context;
    }
    return LineKind::Unknown;
}

}  // namespace bg::maillog
