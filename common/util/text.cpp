// text.cpp - see text.hpp.
#include "util/text.hpp"

#include <string.h>

namespace bg::text {

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) noexcept {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

std::size_t ifind(std::string_view haystack, std::string_view needle, std::size_t from) noexcept {
    if (needle.empty()) return from <= haystack.size() ? from : std::string_view::npos;
    if (needle.size() > haystack.size()) return std::string_view::npos;
    const char first = ascii_lower(needle.front());
    const std::size_t last = haystack.size() - needle.size();
    for (std::size_t i = from; i <= last; ++i) {
        if (ascii_lower(haystack[i]) != first) continue;
        std::size_t k = 1;
        while (k < needle.size() && ascii_lower(haystack[i + k]) == ascii_lower(needle[k])) ++k;
        if (k == needle.size()) return i;
    }
    return std::string_view::npos;
}

std::string to_lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = ascii_lower(c);
    return out;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    for (;;) {
        const std::size_t pos = s.find(sep, start);
        if (pos == std::string_view::npos) {
            parts.push_back(s.substr(start));
            return parts;
        }
        parts.push_back(s.substr(start, pos - start));
        start = pos + 1;
    }
}

namespace {

// True when s has no control bytes, no runs of spaces and no space at either end: printable()
// would return it unchanged. Without branches in the loops, so that the compiler vectorises them.
bool already_printable(std::string_view s) noexcept {
    const std::size_t n = s.size();
    const auto* b = reinterpret_cast<const unsigned char*>(s.data());
    unsigned bad = n == 0 || b[0] == ' ' || b[n - 1] == ' ';
    for (std::size_t i = 0; i < n; ++i) bad |= static_cast<unsigned>(b[i] < 0x20) | static_cast<unsigned>(b[i] == 0x7f);
    for (std::size_t i = 1; i < n; ++i) bad |= static_cast<unsigned>(b[i] == ' ') & static_cast<unsigned>(b[i - 1] == ' ');
    return !bad;
}

}  // namespace

void printable_into(std::string_view s, std::string& out) {
    if (already_printable(s)) {
        out.assign(s);
        return;
    }
    out.resize(s.size());
    char* o = out.data();
    char* const begin = o;
    bool space = false;
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f) {
            space = o != begin;
            continue;
        }
        if (space) *o++ = ' ';
        space = false;
        *o++ = c;
    }
    out.resize(static_cast<std::size_t>(o - begin));
}

std::string printable(std::string_view s) {
    std::string out;
    printable_into(s, out);
    return out;
}

std::size_t find_bytes(std::string_view haystack, std::string_view needle, std::size_t from) noexcept {
    if (from > haystack.size()) return std::string_view::npos;
    const void* p = memmem(haystack.data() + from, haystack.size() - from, needle.data(), needle.size());
    return p ? static_cast<std::size_t>(static_cast<const char*>(p) - haystack.data()) : std::string_view::npos;
}

std::size_t ifind_fast(std::string_view haystack, std::string_view needle, std::size_t from) noexcept {
    if (needle.empty()) return from <= haystack.size() ? from : std::string_view::npos;
    if (needle.size() > haystack.size() || from > haystack.size() - needle.size()) return std::string_view::npos;
    if (haystack.size() - from < 64) return ifind(haystack, needle, from);  // memchr does not pay off
    const char lo = ascii_lower(needle.front());
    const char up = (lo >= 'a' && lo <= 'z') ? static_cast<char>(lo - 'a' + 'A') : lo;
    const char* const base = haystack.data();
    const std::size_t last = haystack.size() - needle.size();  // last possible start
    const std::size_t span = last + 1;                         // candidates are in [from, span)
    const char* next_lo = nullptr;
    const char* next_up = nullptr;
    std::size_t i = from;
    while (i < span) {
        // The next candidate of each case at or after i (memchr, refreshed only when passed).
        if (!next_lo || next_lo < base + i) {
            next_lo = static_cast<const char*>(memchr(base + i, lo, span - i));
            if (!next_lo) next_lo = base + span;
        }
        if (up == lo) {
            next_up = next_lo;
        } else if (!next_up || next_up < base + i) {
            next_up = static_cast<const char*>(memchr(base + i, up, span - i));
            if (!next_up) next_up = base + span;
        }
        const char* c = next_lo < next_up ? next_lo : next_up;
        if (c >= base + span) break;
        i = static_cast<std::size_t>(c - base);
        std::size_t k = 1;
        while (k < needle.size() && ascii_lower(base[i + k]) == ascii_lower(needle[k])) ++k;
        if (k == needle.size()) return i;
        ++i;
    }
    return std::string_view::npos;
}

std::size_t find_eol(std::string_view s, std::size_t from) noexcept {
    for (std::size_t i = from; i < s.size(); ++i)
        if (s[i] == '\n' || s[i] == '\r') return i;
    return std::string_view::npos;
}

void to_lower_into(std::string_view s, std::string& out) {
    out.resize(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) out[i] = ascii_lower(s[i]);
}

std::string_view clip(std::string_view s, std::size_t max) noexcept {
    if (s.size() <= max) return s;
    std::size_t n = max;
    // Step back over UTF-8 continuation bytes so a sequence is not cut in half.
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    return s.substr(0, n);
}

std::string valid_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t len = 0;
        if (c < 0x80) len = 1;
        else if (c >= 0xC2 && c <= 0xDF) len = 2;
        else if (c >= 0xE0 && c <= 0xEF) len = 3;
        else if (c >= 0xF0 && c <= 0xF4) len = 4;
        bool ok = len > 0 && i + len <= s.size();
        for (std::size_t k = 1; ok && k < len; ++k)
            ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
        if (ok && len == 3) {
            const auto c1 = static_cast<unsigned char>(s[i + 1]);
            ok = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0);
        } else if (ok && len == 4) {
            const auto c1 = static_cast<unsigned char>(s[i + 1]);
            ok = !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90);
        }
        if (ok) {
            out.append(s.substr(i, len));
            i += len;
        } else {
            out.append("\xEF\xBF\xBD");
            ++i;
        }
    }
    return out;
}

}  // namespace bg::text
