// ses_notification.cpp - see ses_notification.hpp.
#include "dsn/ses_notification.hpp"

#include <string>

#include "dsn/dsn_fields.hpp"
#include "util/text.hpp"

namespace bg::dsn {

namespace {

// "\"key\"" (built by appending: GCC 12 warns falsely on operator+ chains here).
std::string quoted_key(std::string_view key) {
    std::string q;
    q.reserve(key.size() + 2);
    q.push_back('"');
    q.append(key);
    q.push_back('"');
    return q;
}

// Undoes line folding and one level of JSON string escaping (\" and \\), which turns the
// "Message" string of an SNS envelope into the JSON it carries.
std::string flatten(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '\r') continue;
        if (c == '\n') {
            if (i + 1 < s.size() && s[i + 1] == ' ') ++i;
            continue;
        }
        if (c == '\\' && i + 1 < s.size() && (s[i + 1] == '"' || s[i + 1] == '\\')) {
            out.push_back(s[++i]);
            continue;
        }
        out.push_back(c);
    }
    return out;
}

// The string value of "key" at or after `from` and before `to`, or "".
std::string string_value(std::string_view s, std::string_view key, std::size_t from, std::size_t to,
                         std::size_t max) {
    const std::string quoted = quoted_key(key);
    auto p = s.find(quoted, from);
    if (p == std::string_view::npos || p >= to) return {};
    p += quoted.size();
    while (p < s.size() && (s[p] == ' ' || s[p] == ':')) ++p;
    if (p >= s.size() || s[p] != '"') return {};
    const auto e = s.find('"', p + 1);
    if (e == std::string_view::npos || e > to) return {};
    return std::string(text::clip(s.substr(p + 1, e - p - 1), max));
}

// [begin, end) of the bracketed value ('[' or '{') that starts at or after `from`.
std::pair<std::size_t, std::size_t> extent(std::string_view s, std::size_t from, char open, char close) {
    const auto b = s.find(open, from);
    if (b == std::string_view::npos) return {s.size(), s.size()};
    int depth = 0;
    bool in_string = false;
    for (std::size_t i = b; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '"') in_string = !in_string;
        if (in_string) continue;
        if (c == open) ++depth;
        if (c == close && --depth == 0) return {b, i + 1};
    }
    return {b, s.size()};
}

// Calls each(begin, end) for every {...} object of the array after "key".
template <class F>
void objects_of(std::string_view s, std::string_view key, std::size_t limit, F each) {
    const auto k = s.find(quoted_key(key));
    if (k == std::string_view::npos) return;
    const auto [ab, ae] = extent(s, k, '[', ']');
    std::size_t pos = ab;
    for (std::size_t n = 0; n < limit && pos < ae; ++n) {
        const auto [ob, oe] = extent(s.substr(0, ae), pos, '{', '}');
        if (ob >= ae) break;
        each(ob, oe);
        pos = oe;
    }
}

}  // namespace

std::optional<SesNotification> parse_ses_notification(std::string_view body, const BounceLimits& limits) {
    if (body.find("notificationType") == std::string_view::npos &&
        body.find("eventType") == std::string_view::npos)
        return std::nullopt;
    const std::string s = flatten(text::clip(body, limits.max_text_bytes));
    std::string type = string_value(s, "notificationType", 0, s.size(), 32);
    if (type.empty()) type = string_value(s, "eventType", 0, s.size(), 32);
    const std::size_t max = limits.max_field_bytes;
    SesNotification n;
    if (type == "Bounce") {
        const std::string mta = strip_type(string_value(s, "reportingMTA", 0, s.size(), max));
        objects_of(s, "bouncedRecipients", limits.max_recipients, [&](std::size_t b, std::size_t e) {
            BounceRecord r;
            r.recipient = string_value(s, "emailAddress", b, e, max);
            r.action = text::to_lower(string_value(s, "action", b, e, 32));
            r.status = string_value(s, "status", b, e, 32);
            r.diagnostic = strip_type(string_value(s, "diagnosticCode", b, e, limits.max_diagnostic_bytes));
            r.reporting_mta = mta;
            if (r.action.empty()) r.action = "failed";
            if (!r.recipient.empty()) n.records.push_back(std::move(r));
        });
    } else if (type == "Complaint") {
        n.kind = BounceKind::Feedback;
        const std::string feedback = string_value(s, "complaintFeedbackType", 0, s.size(), 32);
        objects_of(s, "complainedRecipients", limits.max_recipients, [&](std::size_t b, std::size_t e) {
            BounceRecord r;
            r.recipient = string_value(s, "emailAddress", b, e, max);
            r.original_recipient = r.recipient;
            r.feedback_type = feedback.empty() ? "abuse" : feedback;
            if (!r.recipient.empty()) n.records.push_back(std::move(r));
        });
    } else if (type == "Delivery") {
        const auto d = s.find("\"delivery\"");
        if (d == std::string::npos) return std::nullopt;
        const auto [db, de] = extent(s, d, '{', '}');
        const std::string response = string_value(s, "smtpResponse", db, de, limits.max_diagnostic_bytes);
        const std::string mta = strip_type(string_value(s, "reportingMTA", db, de, max));
        const auto [rb, re] = extent(s.substr(0, de), s.find("\"recipients\"", db), '[', ']');
        for (std::size_t p = rb; p < re && n.records.size() < limits.max_recipients;) {
            const auto q1 = s.find('"', p);
            if (q1 == std::string::npos || q1 >= re) break;
            const auto q2 = s.find('"', q1 + 1);
            if (q2 == std::string::npos || q2 >= re) break;
            BounceRecord r;
            r.recipient = std::string(text::clip(std::string_view(s).substr(q1 + 1, q2 - q1 - 1), max));
            r.action = "delivered";
            r.diagnostic = response;
            r.reporting_mta = mta;
            n.records.push_back(std::move(r));
            p = q2 + 1;
        }
    } else {
        return std::nullopt;
    }
    if (n.records.empty()) return std::nullopt;
    return n;
}

}  // namespace bg::dsn
