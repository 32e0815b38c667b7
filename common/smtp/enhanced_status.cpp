// enhanced_status.cpp - see enhanced_status.hpp. RFC 3463, RFC 5248, RFC 7504, RFC 7505, RFC 7372.
#include "smtp/enhanced_status.hpp"

#include <array>
#include <cstdio>

#include "util/text.hpp"

namespace bg {

std::string EnhancedStatus::to_string() const {
    return std::to_string(klass) + '.' + std::to_string(subject) + '.' + std::to_string(detail);
}

namespace {

// Reads 1..3 digits at s[pos]; returns -1 if there are none or more than three.
int scan_number(std::string_view s, std::size_t& pos) noexcept {
    int value = 0;
    std::size_t digits = 0;
    while (pos < s.size() && text::is_digit(s[pos])) {
        if (++digits > 3) return -1;
        value = value * 10 + (s[pos] - '0');
        ++pos;
    }
    return digits == 0 ? -1 : value;
}

}  // namespace

std::optional<EnhancedStatus> scan_enhanced_status(std::string_view s, std::size_t& length) noexcept {
    if (s.size() < 5) return std::nullopt;
    const char k = s[0];
    if ((k != '2' && k != '4' && k != '5') || s[1] != '.') return std::nullopt;
    std::size_t pos = 2;
    const int subject = scan_number(s, pos);
    if (subject < 0 || pos >= s.size() || s[pos] != '.') return std::nullopt;
    ++pos;
    const int detail = scan_number(s, pos);
    if (detail < 0) return std::nullopt;
    if (pos < s.size() && (text::is_digit(s[pos]) || s[pos] == '.')) {
        // "5.1.1.1" (an address) is not a status; "5.1.1." at a sentence end is.
        if (s[pos] == '.' && pos + 1 < s.size() && text::is_digit(s[pos + 1])) return std::nullopt;
        if (s[pos] != '.') return std::nullopt;
    }
    length = pos;
    return EnhancedStatus{k - '0', subject, detail};
}

std::optional<EnhancedStatus> parse_enhanced_status(std::string_view token) noexcept {
    std::size_t length = 0;
    auto status = scan_enhanced_status(token, length);
    if (!status || length != token.size()) return std::nullopt;
    return status;
}

namespace {

constexpr std::array<StatusMeaning, 66> registry{{
    {"X.0.0", "other undefined status"},
    {"X.1.0", "other address status"},
    {"X.1.1", "bad destination mailbox address"},
    {"X.1.2", "bad destination system address"},
    {"X.1.3", "bad destination mailbox address syntax"},
    {"X.1.4", "destination mailbox address ambiguous"},
    {"X.1.5", "destination address valid"},
    {"X.1.6", "destination mailbox has moved, no forwarding address"},
    {"X.1.7", "bad sender's mailbox address syntax"},
    {"X.1.8", "bad sender's system address"},
    {"X.1.9", "message relayed to non-compliant mailer"},
    {"X.1.10", "recipient address has null MX"},
    {"X.2.0", "other or undefined mailbox status"},
    {"X.2.1", "mailbox disabled, not accepting messages"},
    {"X.2.2", "mailbox full"},
    {"X.2.3", "message length exceeds administrative limit"},
    {"X.2.4", "mailing list expansion problem"},
    {"X.3.0", "other or undefined mail system status"},
    {"X.3.1", "mail system full"},
    {"X.3.2", "system not accepting network messages"},
    {"X.3.3", "system not capable of selected features"},
    {"X.3.4", "message too big for system"},
    {"X.3.5", "system incorrectly configured"},
    {"X.3.6", "requested priority was changed"},
    {"X.4.0", "other or undefined network or routing status"},
    {"X.4.1", "no answer from host"},
    {"X.4.2", "bad connection"},
    {"X.4.3", "directory server failure"},
    {"X.4.4", "unable to route"},
    {"X.4.5", "mail system congestion"},
    {"X.4.6", "routing loop detected"},
    {"X.4.7", "delivery time expired"},
    {"X.5.0", "other or undefined protocol status"},
    {"X.5.1", "invalid command"},
    {"X.5.2", "syntax error"},
    {"X.5.3", "too many recipients"},
    {"X.5.4", "invalid command arguments"},
    {"X.5.5", "wrong protocol version"},
    {"X.5.6", "authentication exchange line is too long"},
    {"X.6.0", "other or undefined media error"},
    {"X.6.1", "media not supported"},
    {"X.6.2", "conversion required and prohibited"},
    {"X.6.3", "conversion required but not supported"},
    {"X.6.4", "conversion with loss performed"},
    {"X.6.5", "conversion failed"},
    {"X.6.6", "message content not available"},
    {"X.6.7", "non-ASCII addresses not permitted for that sender/recipient"},
    {"X.6.8", "UTF-8 string reply is required, but not permitted by the SMTP client"},
    {"X.6.9", "UTF-8 header message cannot be transferred to one or more recipients"},
    {"X.6.10", "non-ASCII address conversion required"},
    {"X.7.0", "other or undefined security status"},
    {"X.7.1", "delivery not authorized, message refused"},
    {"X.7.2", "mailing list expansion prohibited"},
    {"X.7.3", "security conversion required but not possible"},
    {"X.7.4", "security features not supported"},
    {"X.7.5", "cryptographic failure"},
    {"X.7.6", "cryptographic algorithm not supported"},
    {"X.7.7", "message integrity failure"},
    {"X.7.8", "authentication credentials invalid"},
    {"X.7.9", "authentication mechanism is too weak"},
    {"X.7.10", "encryption needed"},
    {"X.7.11", "encryption required for requested authentication mechanism"},
    {"X.7.12", "a password transition is needed"},
    {"X.7.13", "user account disabled"},
    {"X.7.14", "trust relationship required"},
    {"X.7.15", "priority level is too low"},
}};

constexpr std::array<StatusMeaning, 15> registry_more{{
    {"X.7.16", "message is too big for the specified priority"},
    {"X.7.17", "mailbox owner has changed"},
    {"X.7.18", "domain owner has changed"},
    {"X.7.19", "RRVS test cannot be completed"},
    {"X.7.20", "no passing DKIM signature found"},
    {"X.7.21", "no acceptable DKIM signature found"},
    {"X.7.22", "no valid author-matched DKIM signature found"},
    {"X.7.23", "SPF validation failed"},
    {"X.7.24", "SPF validation error"},
    {"X.7.25", "reverse DNS validation failed"},
    {"X.7.26", "multiple authentication checks failed"},
    {"X.7.27", "sender address has null MX"},
    {"X.7.28", "mail flood detected"},
    {"X.7.29", "ARC validation failure"},
    {"X.7.30", "REQUIRETLS support required"},
}};

constexpr auto make_all() {
    std::array<StatusMeaning, registry.size() + registry_more.size()> all{};
    std::size_t i = 0;
    for (const auto& m : registry) all[i++] = m;
    for (const auto& m : registry_more) all[i++] = m;
    return all;
}
constexpr auto all_meanings = make_all();

std::string_view find_meaning(int subject, int detail) noexcept {
    char key[16];
    std::snprintf(key, sizeof key, "X.%d.%d", subject, detail);
    const std::string_view k(key);
    for (const auto& m : all_meanings)
        if (m.code == k) return m.text;
    return {};
}

}  // namespace

std::span<const StatusMeaning> status_registry() noexcept { return all_meanings; }

std::string_view describe(const EnhancedStatus& status) noexcept {
    if (auto exact = find_meaning(status.subject, status.detail); !exact.empty()) return exact;
    return find_meaning(status.subject, 0);
}

}  // namespace bg
