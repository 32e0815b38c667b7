// syslog_line.cpp - see syslog_line.hpp.
#include "maillog/syslog_line.hpp"

#include <ctime>

#include "util/text.hpp"

namespace bg::maillog {

namespace {

using text::is_digit;

// Reads exactly n digits at s[i...]; false if they are not all digits.
bool digits(std::string_view s, std::size_t i, std::size_t n, int& out) noexcept {
    if (i + n > s.size()) return false;
    int v = 0;
    for (std::size_t k = 0; k < n; ++k) {
        if (!is_digit(s[i + k])) return false;
        v = v * 10 + (s[i + k] - '0');
    }
    out = v;
    return true;
}

int month_of(std::string_view m) noexcept {
    static constexpr std::string_view names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    for (int i = 0; i < 12; ++i)
        if (m == names[i]) return i + 1;
    return 0;
}

// "Nov 25 15:36:33" or "Nov  5 15:36:33" (or "Nov 25 15:36:33.123456") at s[0...]; returns the
// length consumed or 0.
std::size_t parse_bsd_time(std::string_view s, LogTime& t) noexcept {
    if (s.size() < 15 || s[3] != ' ') return 0;
    const int m = month_of(s.substr(0, 3));
    if (m == 0) return 0;
    int day = 0;
    if (s[4] == ' ' && is_digit(s[5])) day = s[5] - '0';
    else if (!digits(s, 4, 2, day)) return 0;
    if (s[6] != ' ' || s[9] != ':' || s[12] != ':') return 0;
    int h, mi, sec;
    if (!digits(s, 7, 2, h) || !digits(s, 10, 2, mi) || !digits(s, 13, 2, sec)) return 0;
    if (day < 1 || day > 31 || h > 23 || mi > 59 || sec > 60) return 0;
    t = LogTime{0, m, day, h, mi, sec, false, 0};
    std::size_t i = 15;
    if (i < s.size() && s[i] == '.') {  // journalctl -o short-precise: "15:36:33.123456"
        ++i;
        while (i < s.size() && is_digit(s[i])) ++i;
    }
    return i;
}

// "2026-11-25T15:36:33[.123456][Z|+01:00|+0100]" (also with a space for the T); returns the
// length consumed (the whole token) or 0.
std::size_t parse_iso_time(std::string_view s, LogTime& t) noexcept {
    int y, mo, d, h, mi, sec;
    if (!digits(s, 0, 4, y) || s.size() < 19 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
        !digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != ' ') || !digits(s, 11, 2, h) || s[13] != ':' ||
        !digits(s, 14, 2, mi) || s[16] != ':' || !digits(s, 17, 2, sec))
        return 0;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return 0;
    std::size_t i = 19;
    if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
        ++i;
        while (i < s.size() && is_digit(s[i])) ++i;
    }
    t = LogTime{y, mo, d, h, mi, sec, false, 0};
    if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
        t.utc_offset_known = true;
        ++i;
    } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
        const int sign = s[i] == '-' ? -1 : 1;
        int oh, om;
        if (digits(s, i + 1, 2, oh)) {
            std::size_t j = i + 3;
            if (j < s.size() && s[j] == ':') ++j;
            if (digits(s, j, 2, om)) {
                t.utc_offset_known = true;
                t.utc_offset_seconds = sign * (oh * 3600 + om * 60);
                i = j + 2;
            }
        }
    }
    if (i < s.size() && s[i] != ' ') return 0;
    return i;
}

std::string_view next_token(std::string_view s, std::size_t& i) noexcept {
    while (i < s.size() && s[i] == ' ') ++i;
    const std::size_t start = i;
    while (i < s.size() && s[i] != ' ') ++i;
    return s.substr(start, i - start);
}

// "postfix/smtp[12547]:" or "sm-mta:" as a whole token => program, pid. False otherwise.
bool parse_tag(std::string_view tok, std::string_view& program, std::string_view& pid) noexcept {
    if (tok.size() < 2 || tok.back() != ':') return false;
    tok.remove_suffix(1);
    if (!tok.empty() && tok.back() == ']') {
        const auto open = tok.find('[');
        if (open == std::string_view::npos || open == 0) return false;
        pid = tok.substr(open + 1, tok.size() - open - 2);
        for (char c : pid)
            if (!is_digit(c)) return false;
        tok = tok.substr(0, open);
    }
    if (tok.empty() || tok.find_first_of("[]:") != std::string_view::npos) return false;
    program = tok;
    return true;
}

// After the timestamp of an RFC 3164 / ISO line: "[host] tag: message".
bool split_host_tag(std::string_view s, std::size_t i, SyslogLine& out) noexcept {
    std::size_t j = i;
    const std::string_view first = next_token(s, j);
    if (first.empty()) return false;
    if (parse_tag(first, out.program, out.pid)) {
        out.message = s.substr(j < s.size() ? j + 1 : j);
        return true;
    }
    std::size_t k = j;
    const std::string_view second = next_token(s, k);
    if (!parse_tag(second, out.program, out.pid)) return false;
    out.host = first;
    out.message = s.substr(k < s.size() ? k + 1 : k);
    return true;
}

// RFC 5424 after "<pri>1 ": TIMESTAMP HOST APP PROCID MSGID SD MSG.
bool parse_5424(std::string_view s, std::size_t i, SyslogLine& out) noexcept {
    const std::string_view ts = next_token(s, i);
    if (ts != "-" && parse_iso_time(ts, out.time) != ts.size()) return false;
    const std::string_view host = next_token(s, i), app = next_token(s, i), procid = next_token(s, i),
                           msgid = next_token(s, i);
    if (msgid.empty()) return false;
    while (i < s.size() && s[i] == ' ') ++i;
    if (i < s.size() && s[i] == '-') {
        ++i;
    } else {
        // Structured data: one or more [id param="value" ...] with \] and \" escapes.
        while (i < s.size() && s[i] == '[') {
            ++i;
            bool quoted = false;
            for (; i < s.size(); ++i) {
                if (s[i] == '\\' && quoted) { ++i; continue; }
                if (s[i] == '"') quoted = !quoted;
                else if (s[i] == ']' && !quoted) break;
            }
            if (i >= s.size()) return false;
            ++i;
        }
    }
    if (i < s.size() && s[i] == ' ') ++i;
    std::string_view msg = s.substr(i);
    if (msg.starts_with("\xEF\xBB\xBF")) msg.remove_prefix(3);  // the BOM of an UTF-8 MSG
    out.host = host == "-" ? std::string_view() : host;
    out.program = app == "-" ? std::string_view() : app;
    out.pid = procid == "-" ? std::string_view() : procid;
    out.message = msg;
    return true;
}

}  // namespace

SyslogLine parse_syslog_line(std::string_view line) noexcept {
    SyslogLine out;
    std::size_t i = 0;
    if (!line.empty() && line[0] == '<') {
        std::size_t j = 1;
        while (j < line.size() && j <= 4 && is_digit(line[j])) ++j;
        if (j > 1 && j < line.size() && line[j] == '>') i = j + 1;
    }
    const std::string_view rest = line.substr(i);
    if (i > 0 && rest.size() > 2 && rest[0] == '1' && rest[1] == ' ') {
        SyslogLine r;
        if (parse_5424(line, i + 2, r)) return r;
    }
    LogTime t;
    std::size_t n = parse_bsd_time(rest, t);
    if (n == 0) n = parse_iso_time(rest, t);
    if (n > 0) {
        SyslogLine r;
        r.time = t;
        if (split_host_tag(line, i + n, r)) return r;
    }
    out.message = line;
    return out;
}

std::int64_t days_from_civil(int y, int m, int d) noexcept {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * static_cast<unsigned>(m + (m > 2 ? -3 : 9)) + 2) / 5 + static_cast<unsigned>(d) - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

UnixTime TimeConverter::to_unix(const LogTime& t, UnixTime now) {
    if (!t.valid()) return 0;
    const UnixTime in_hour = t.minute * 60 + t.second;
    if (t.utc_offset_known && t.year != 0)
        return (days_from_civil(t.year, t.month, t.day) * 86400 + t.hour * 3600 + in_hour) - t.utc_offset_seconds;
    int year = t.year;
    if (year == 0) {
        if (now != now_) {
            std::tm now_tm{};
            const std::time_t tt = static_cast<std::time_t>(now);
            localtime_r(&tt, &now_tm);
            now_ = now;
            now_year_ = now_tm.tm_year + 1900;
            now_month_ = now_tm.tm_mon + 1;
        }
        year = now_year_;
        // A month more than one ahead of now's is last year's (December's lines read in January).
        if (t.month > now_month_ + 1) --year;
    }
    const long long key = ((static_cast<long long>(year) * 13 + t.month) * 32 + t.day) * 24 + t.hour;
    if (key != cached_year_key_) {
        std::tm tm{};
        tm.tm_year = year - 1900;
        tm.tm_mon = t.month - 1;
        tm.tm_mday = t.day;
        tm.tm_hour = t.hour;
        tm.tm_isdst = -1;
        cached_hour_start_ = static_cast<UnixTime>(std::mktime(&tm));
        cached_year_key_ = key;
    }
    return cached_hour_start_ + in_hour;
}

}  // namespace bg::maillog
