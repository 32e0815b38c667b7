// enhanced_status.hpp - RFC 3463 enhanced mail system status codes ("5.7.26") as three integers,
// a hand-written scanner for them, and the registry of their meanings (RFC 3463, RFC 5248 and
// the IANA "Enumerated Status Codes" registry).
// SECURITY: parses untrusted text; never reads past the view, accepts 1-3 digit parts only.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace bg {

struct EnhancedStatus {
    int klass = 0;    // 2, 4 or 5
    int subject = 0;  // 0..999
    int detail = 0;   // 0..999

    bool operator==(const EnhancedStatus&) const = default;
    std::string to_string() const;  // {5,7,26} => "5.7.26"
};

// "5.7.26" => {5,7,26}; anything else (extra characters, "6.1.1", "5.1", "5.1.1234") => nullopt.
std::optional<EnhancedStatus> parse_enhanced_status(std::string_view token) noexcept;

// Scans a status at the start of s; on success sets `length` to the characters used.
// "5.1.1 User unknown" => {5,1,1}, length 5. The status must end at a non-digit, non-dot byte.
std::optional<EnhancedStatus> scan_enhanced_status(std::string_view s, std::size_t& length) noexcept;

struct StatusMeaning {
    std::string_view code;  // "X.1.1": class-independent subject.detail, or "X.0.0" for the subject
    std::string_view text;
};

// The registry, in code order. Keys are unique (a unit test checks it).
std::span<const StatusMeaning> status_registry() noexcept;

// Meaning of a status: the exact X.s.d entry, else the subject's X.s.0 entry, else "".
std::string_view describe(const EnhancedStatus& status) noexcept;

}  // namespace bg
