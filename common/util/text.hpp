// text.hpp - small string_view helpers shared by the parsers: ASCII case folding, trimming,
// splitting, and making untrusted text safe to log or store.
// SECURITY: printable()/clip() are what every untrusted string passes through before it is
// logged or stored.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace bg::text {

constexpr char ascii_lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

// " a b \n" => "a b"
std::string_view trim(std::string_view s) noexcept;
// ASCII-only case-insensitive comparison ("RCPT" == "rcpt").
bool iequals(std::string_view a, std::string_view b) noexcept;
bool istarts_with(std::string_view s, std::string_view prefix) noexcept;
// Position of needle in haystack, ASCII case-insensitive, or npos.
std::size_t ifind(std::string_view haystack, std::string_view needle, std::size_t from = 0) noexcept;
std::string to_lower(std::string_view s);
// "a,b,,c" on ',' => {"a","b","","c"}
std::vector<std::string_view> split(std::string_view s, char sep);
// Replace control bytes (NUL, CR, LF, TAB, ...) by a space and collapse runs of white space.
// Bytes >= 0x80 are kept as they are (replies may carry UTF-8); see json escaping for output.
std::string printable(std::string_view s);
// The same into `out` (replacing its content; its capacity is reused).
void printable_into(std::string_view s, std::string& out);
// ASCII lower case of s into `out` (replacing its content; its capacity is reused).
void to_lower_into(std::string_view s, std::string& out);
// Position of needle in haystack (exact bytes), or npos; memmem(3), fast for short needles.
std::size_t find_bytes(std::string_view haystack, std::string_view needle, std::size_t from = 0) noexcept;
// The same result as ifind(), faster on long haystacks: candidates for the needle's first byte
// (either case) are found with memchr.
std::size_t ifind_fast(std::string_view haystack, std::string_view needle, std::size_t from = 0) noexcept;
// ifind_fast(haystack, needle) != npos.
inline bool icontains(std::string_view haystack, std::string_view needle) noexcept {
    return ifind_fast(haystack, needle) != std::string_view::npos;
}
// Position of the first CR or LF at or after `from`, or npos: s.find_first_of("\r\n", from)
// in one pass.
std::size_t find_eol(std::string_view s, std::size_t from = 0) noexcept;
// Cut to at most max bytes, never inside a UTF-8 sequence; "abcdef",4 => "abcd".
std::string_view clip(std::string_view s, std::size_t max) noexcept;
// Replace every invalid UTF-8 sequence by U+FFFD so the result is safe in JSON.
std::string valid_utf8(std::string_view s);

}  // namespace bg::text
