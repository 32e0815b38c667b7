// time_text.cpp - see time_text.hpp.
#include "time_text.hpp"

#include <array>
#include <ctime>

#include "util/duration.hpp"
#include "util/text.hpp"

namespace bg::cli {

namespace {

// Reads exactly n digits at s[i]; advances i.
bool digits(std::string_view s, std::size_t& i, std::size_t n, int& out) {
    if (i + n > s.size()) return false;
    int v = 0;
    for (std::size_t k = 0; k < n; ++k) {
        const char c = s[i + k];
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    out = v;
    i += n;
    return true;
}

// 1 to 2 digits (RFC 5322 days and hours may be one digit).
bool digits12(std::string_view s, std::size_t& i, int& out) {
    if (!digits(s, i, 1, out)) return false;
    int more = 0;
    if (i < s.size() && s[i] >= '0' && s[i] <= '9' && digits(s, i, 1, more)) out = out * 10 + more;
    return true;
}

std::optional<UnixTime> make_time(int y, int mo, int d, int h, int mi, int sec, long offset_seconds) {
    if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return std::nullopt;
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    const std::time_t t = timegm(&tm);
    if (t == static_cast<std::time_t>(-1)) return std::nullopt;
    return static_cast<UnixTime>(t) - offset_seconds;
}

// "Z", "+01:00", "+0100", "UTC", "GMT", "" => seconds east of UTC.
std::optional<long> zone(std::string_view z) {
    z = text::trim(z);
    if (z.empty() || z == "Z" || z == "UTC" || z == "GMT" || z == "UT") return 0L;
    if (z[0] != '+' && z[0] != '-') return std::nullopt;
    std::size_t i = 1;
    int h = 0, m = 0;
    if (!digits(z, i, 2, h)) return std::nullopt;
    if (i < z.size() && z[i] == ':') ++i;
    if (!digits(z, i, 2, m) || i != z.size() || h > 23 || m > 59) return std::nullopt;
    const long off = h * 3600L + m * 60L;
    return z[0] == '-' ? -off : off;
}

std::optional<UnixTime> parse_iso(std::string_view s) {
    std::size_t i = 0;
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
    if (!digits(s, i, 4, y) || i >= s.size() || s[i++] != '-' || !digits(s, i, 2, mo) || i >= s.size() ||
        s[i++] != '-' || !digits(s, i, 2, d))
        return std::nullopt;
    if (i == s.size()) return make_time(y, mo, d, 0, 0, 0, 0);
    if (s[i] != 'T' && s[i] != ' ') return std::nullopt;
    ++i;
    if (!digits(s, i, 2, h) || i >= s.size() || s[i++] != ':' || !digits(s, i, 2, mi)) return std::nullopt;
    if (i < s.size() && s[i] == ':') {
        ++i;
        if (!digits(s, i, 2, sec)) return std::nullopt;
        if (i < s.size() && s[i] == '.') {  // fractions of a second are dropped
            ++i;
            while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
        }
    }
    auto off = zone(s.substr(i));
    if (!off) return std::nullopt;
    return make_time(y, mo, d, h, mi, sec, *off);
}

std::optional<UnixTime> parse_rfc5322(std::string_view s) {
    static constexpr std::array<std::string_view, 12> months{"jan", "feb", "mar", "apr", "may", "jun",
                                                             "jul", "aug", "sep", "oct", "nov", "dec"};
    if (const auto comma = s.find(','); comma != std::string_view::npos && comma <= 9) s = text::trim(s.substr(comma + 1));
    std::size_t i = 0;
    int d = 0, y = 0, h = 0, mi = 0, sec = 0;
    if (!digits12(s, i, d) || i >= s.size() || s[i++] != ' ' || i + 3 > s.size()) return std::nullopt;
    int mo = 0;
    for (std::size_t k = 0; k < months.size(); ++k)
        if (text::iequals(s.substr(i, 3), months[k])) mo = static_cast<int>(k) + 1;
    if (mo == 0) return std::nullopt;
    i += 3;
    if (i >= s.size() || s[i++] != ' ' || !digits(s, i, 4, y) || i >= s.size() || s[i++] != ' ' ||
        !digits12(s, i, h) || i >= s.size() || s[i++] != ':' || !digits(s, i, 2, mi))
        return std::nullopt;
    if (i < s.size() && s[i] == ':') {
        ++i;
        if (!digits(s, i, 2, sec)) return std::nullopt;
    }
    auto off = zone(s.substr(i));
    if (!off) return std::nullopt;
    return make_time(y, mo, d, h, mi, sec, *off);
}

}  // namespace

std::string iso_time(UnixTime t) {
    if (t <= 0) return "";
    std::tm tm{};
    const std::time_t tt = static_cast<std::time_t>(t);
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::optional<UnixTime> parse_time_text(std::string_view text) {
    text = text::trim(text);
    if (text.empty() || text.size() > 64) return std::nullopt;
    bool all_digits = true;
    for (char c : text) all_digits = all_digits && c >= '0' && c <= '9';
    if (all_digits) {
        if (text.size() > 13) return std::nullopt;
        UnixTime v = 0;
        for (char c : text) v = v * 10 + (c - '0');
        return text.size() == 13 ? v / 1000 : v;
    }
    if (text.size() >= 10 && text[4] == '-') return parse_iso(text);
    return parse_rfc5322(text);
}

std::optional<UnixTime> parse_since(std::string_view text, UnixTime now) {
    if (auto t = parse_time_text(text); t && text.find('-') != std::string_view::npos) return t;
    auto d = parse_duration(text);
    if (!d) return std::nullopt;
    return now - *d;
}

}  // namespace bg::cli
