// time_text.hpp - the times the CLI reads and prints: ISO 8601 in UTC for output, and the forms
// found in suppression exports for input (Unix seconds, ISO 8601, "YYYY-MM-DD HH:MM:SS",
// RFC 5322 dates as Mailgun writes them).
// SECURITY: input comes from files of other services; it is scanned by hand, bounded, no regex.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "store/records.hpp"

namespace bg::cli {

// 1700000000 => "2023-11-14T22:13:20Z"; 0 or less => "".
std::string iso_time(UnixTime t);

// "1700000000" (Unix seconds; 13 digits: milliseconds), "2023-11-14", "2023-11-14T22:13:20Z",
// "2023-11-14T22:13:20.5+01:00", "2023-11-14 22:13:20" (UTC), "Tue, 14 Nov 2023 22:13:20 +0000"
// (also "GMT", "UTC", no weekday) => seconds since the epoch. nullopt for anything else.
std::optional<UnixTime> parse_time_text(std::string_view text);

// --since: a duration back from now ("7d", "12h") or a date/time as parse_time_text reads it.
std::optional<UnixTime> parse_since(std::string_view text, UnixTime now);

}  // namespace bg::cli
