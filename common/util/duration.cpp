// duration.cpp - see duration.hpp.
#include "util/duration.hpp"

#include <array>
#include <limits>
#include <utility>

#include "util/text.hpp"

namespace bg {

namespace {
constexpr std::array<std::pair<char, std::int64_t>, 5> units{{
    {'w', 7 * 86400}, {'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}}};
}

Result<std::int64_t> parse_duration(std::string_view text_in) {
    const auto t = text::trim(text_in);
    if (t.empty()) return Error{"empty duration"};
    std::int64_t value = 0;
    std::size_t i = 0;
    for (; i < t.size() && text::is_digit(t[i]); ++i) {
        if (value > (std::numeric_limits<std::int64_t>::max() - 9) / 10) return Error{"duration too large: " + std::string(t)};
        value = value * 10 + (t[i] - '0');
    }
    if (i == 0) return Error{"bad duration '" + std::string(t) + "' (use a number with s, m, h, d or w, e.g. 7d)"};
    if (i == t.size()) return value;
    if (i + 1 != t.size()) return Error{"bad duration '" + std::string(t) + "' (use a number with s, m, h, d or w, e.g. 7d)"};
    const char u = text::ascii_lower(t[i]);
    for (const auto& [unit, mult] : units) {
        if (u != unit) continue;
        if (value > std::numeric_limits<std::int64_t>::max() / mult) return Error{"duration too large: " + std::string(t)};
        return value * mult;
    }
    return Error{"bad duration unit in '" + std::string(t) + "' (use s, m, h, d or w)"};
}

std::string format_duration(std::int64_t seconds) {
    if (seconds == 0) return "0s";
    for (const auto& [unit, mult] : units)
        if (unit != 'w' && seconds % mult == 0) return std::to_string(seconds / mult) + unit;
    for (const auto& [unit, mult] : units)
        if (seconds % mult == 0) return std::to_string(seconds / mult) + unit;
    return std::to_string(seconds) + "s";
}

}  // namespace bg
