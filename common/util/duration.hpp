// duration.hpp - Postfix-style durations: "30s", "5m", "2h", "7d", "2w"; a bare number is seconds.
// SECURITY: operator input only; overflow and junk are errors.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace bg {

// "7d" => 604800; "90" => 90; "" or "7x" or "-1s" => error.
Result<std::int64_t> parse_duration(std::string_view text);
// 604800 => "7d"; 90 => "90s"; 0 => "0s" (the largest of s, m, h, d that divides exactly).
std::string format_duration(std::int64_t seconds);

}  // namespace bg
