// syslog_line.hpp - the prefix in front of a mail log message, split off: time, host, program
// and pid. Shapes: RFC 3164 ("<22>Nov 25 15:36:33 mta postfix/smtp[12547]: ...", with or without
// the priority and the host, as Postfix's maillog_file and a bare /dev/log reader write them),
// RFC 5424 ("<22>1 2026-11-25T15:36:33.123Z mta postfix/smtp 12547 - - ..."), ISO timestamps
// (rsyslog's file format, `journalctl -o short-iso`, `-o short-iso-precise`), journalctl's
// default and `-o short-precise` (RFC 3164 shapes, the latter with microseconds) and no prefix at all
// (`journalctl -o cat`: the message alone, program unknown).
// SECURITY: the line is untrusted; the scanner is linear, never allocates, and a line that fits
// no shape is returned whole as the message with no program.
#pragma once

#include <cstdint>
#include <string_view>

#include "store/records.hpp"

namespace bg::maillog {

// A timestamp as written. utc_offset_known: the text carried a zone (Z or +hh:mm / +hhmm);
// otherwise it is local time. year 0: not written (RFC 3164).
struct LogTime {
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    bool utc_offset_known = false;
    int utc_offset_seconds = 0;
    bool valid() const noexcept { return month >= 1; }
    bool operator==(const LogTime&) const = default;
};

struct SyslogLine {
    LogTime time;
    std::string_view host;      // "" when not written
    std::string_view program;   // "postfix/smtp", "sm-mta", or "" (journalctl -o cat)
    std::string_view pid;       // "12547" or ""
    std::string_view message;   // the rest: "61CDCA72B08: to=<...>, ..."
};

// Splits a line (without its newline). Never fails: without a recognised prefix the whole line
// is the message.
SyslogLine parse_syslog_line(std::string_view line) noexcept;

// Seconds since the epoch for a LogTime. Times without a zone are local time (mktime, cached
// per hour: DST changes fall on hour boundaries); without a year, now's year, or the year
// before when the month is more than one ahead of now's (a log read across New Year).
// 0 for an invalid time.
class TimeConverter {
public:
    UnixTime to_unix(const LogTime& t, UnixTime now);

private:
    UnixTime now_ = -1;
    int now_year_ = 0, now_month_ = 0;
    long long cached_year_key_ = -1;
    UnixTime cached_hour_start_ = 0;
};

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(int y, int m, int d) noexcept;

}  // namespace bg::maillog
