// text_bounce.cpp - see text_bounce.hpp. Hand-written scanners over lines; no regular expressions.
#include "dsn/text_bounce.hpp"

#include <array>
#include <optional>

#include "util/text.hpp"

namespace bg::dsn {

namespace {

constexpr std::size_t max_lines = 20000;
constexpr std::size_t max_lines_per_diagnostic = 40;

bool is_alnum(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || text::is_digit(c);
}
bool is_local_char(char c) noexcept {
    return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-' || c == '=' || c == '!' ||
           c == '#' || c == '$' || c == '&' || c == '~' || c == '^' || c == '{' || c == '}' || c == '|';
}
bool is_domain_char(char c) noexcept { return is_alnum(c) || c == '.' || c == '-'; }

struct Span {
    std::size_t begin = 0, end = 0;  // [begin, end) in the searched view
};

// An address whose '@' is at `at`: local part to the left, domain to the right. The domain must
// have a dot and start and end with a letter or digit.
std::optional<Span> address_around(std::string_view s, std::size_t at) noexcept {
    std::size_t b = at;
    while (b > 0 && is_local_char(s[b - 1]) && at - b < 128) --b;
    std::size_t e = at + 1;
    while (e < s.size() && is_domain_char(s[e]) && e - at < 256) ++e;
    while (e > at + 1 && (s[e - 1] == '.' || s[e - 1] == '-')) --e;
    while (b < at && (s[b] == '.' || s[b] == '-')) ++b;
    if (b == at || e <= at + 1) return std::nullopt;
    const auto domain = s.substr(at + 1, e - at - 1);
    if (domain.find('.') == std::string_view::npos || !is_alnum(domain.front())) return std::nullopt;
    return Span{b, e};
}

std::optional<Span> find_address(std::string_view s, std::size_t from = 0) noexcept {
    for (std::size_t at = s.find('@', from); at != std::string_view::npos; at = s.find('@', at + 1))
        if (auto sp = address_around(s, at)) return sp;
    return std::nullopt;
}

bool contains(std::string_view hay, std::string_view needle) noexcept {
    return text::ifind_fast(hay, needle) != std::string_view::npos;
}

bool ends_with_word(std::string_view s, std::string_view word) noexcept {
    if (s.size() < word.size() || !text::iequals(s.substr(s.size() - word.size()), word)) return false;
    return s.size() == word.size() || !is_alnum(s[s.size() - word.size() - 1]);
}

bool is_code_at(std::string_view s, std::size_t i) noexcept {
    if (i + 3 > s.size()) return false;
    if (s[i] < '2' || s[i] > '5' || !text::is_digit(s[i + 1]) || !text::is_digit(s[i + 2])) return false;
    if (i > 0 && (is_alnum(s[i - 1]) || s[i - 1] == '.' || s[i - 1] == '-' || s[i - 1] == '/' || s[i - 1] == '#' ||
                  s[i - 1] == '+'))
        return false;
    if (i + 3 == s.size()) return true;
    const char n = s[i + 3];
    return n == ' ' || n == '-' || n == ',' || n == ';' || n == ':' || n == ']' || n == ')' || n == '\t';
}

// A line that opens a section or names what follows: "Reason:", "because:", "Remote host said:",
// "----- Non-delivered information -----", "Technical details of permanent failure:".
bool is_label(std::string_view t) noexcept {
    if (t.empty()) return false;
    if (t.size() < 100 && t.back() == ':' && !has_reply_code(t)) return true;
    return t.front() == '-' || t.front() == '=' || t.front() == '*' || t.front() == '_' || t.front() == '#';
}

bool is_separator(std::string_view t) noexcept;

// "Technical details of permanent failure:", "Reason:": a label that introduces more detail.
bool collecting_label(std::string_view t) noexcept {
    return t.size() < 80 && t.back() == ':' && !is_separator(t) && !has_reply_code(t) &&
           t.find('@') == std::string_view::npos;
}

bool is_separator(std::string_view t) noexcept {
    return t.size() >= 3 && (t.substr(0, 3) == "---" || t.substr(0, 3) == "===" || t.substr(0, 3) == "***" ||
                             t.substr(0, 3) == "___" || t.substr(0, 3) == "###");
}

// Where the copy of the returned message starts, as bounce writers announce it: a sentence
// ("------ This is a copy of the message, including all the headers. ------") or a title line
// that is nothing else ("------- Returned Message --------", "----- Original message -----").
bool is_returned_message_marker(std::string_view line) noexcept {
    const auto t = text::trim(line);
    if (t.size() < 7 || (text::ifind_fast(t, "essage") == std::string_view::npos && text::ifind_fast(t, "copy") == std::string_view::npos &&
                         text::ifind_fast(t, "mail info") == std::string_view::npos))
        return false;
    static constexpr std::array<std::string_view, 12> sentences{{
        "copy of the message", "copy of the original message", "copy of your message",
        "original message follows", "unsent message follows", "message headers follow",
        "original message headers", "header of the original message", "headers of the original message",
        "copy of the message header", "below this line is a copy", "original mail info",
    }};
    for (auto p : sentences)
        if (contains(t, p)) return true;
    std::string_view core = t;
    while (!core.empty() && (core.front() == '-' || core.front() == '=' || core.front() == '*' || core.front() == ' '))
        core.remove_prefix(1);
    while (!core.empty() && (core.back() == '-' || core.back() == '=' || core.back() == '*' || core.back() == ' ' ||
                             core.back() == '.' || core.back() == ':'))
        core.remove_suffix(1);
    static constexpr std::array<std::string_view, 6> titles{{
        "original message", "returned message", "end of message", "message text follows", "message",
        "undelivered message",
    }};
    for (auto p : titles)
        if (text::iequals(core, p)) return true;
    return false;
}

// A header line of the copied message at column 0.
bool is_copied_header(std::string_view line) noexcept {
    return text::istarts_with(line, "Received: ") || text::istarts_with(line, "Return-Path:") ||
           text::istarts_with(line, "DKIM-Signature:") || text::istarts_with(line, "Delivered-To:");
}

// "RCPT To:<a@b>" => Rcpt, "DATA" => Data, "MAIL From:<a@b>" => Mail.
SmtpStage stage_of_command(std::string_view cmd) noexcept {
    cmd = text::trim(cmd);
    if (text::istarts_with(cmd, "rcpt")) return SmtpStage::Rcpt;
    if (text::istarts_with(cmd, "mail")) return SmtpStage::Mail;
    if (text::istarts_with(cmd, "data") || text::istarts_with(cmd, "end of data") || text::istarts_with(cmd, "bdat"))
        return SmtpStage::Data;
    if (text::istarts_with(cmd, "helo") || text::istarts_with(cmd, "ehlo")) return SmtpStage::Helo;
    return SmtpStage::Unknown;
}

// Splits into lines; when most lines are quoted ("> "), the quote is removed from each.
std::vector<std::string_view> split_lines(std::string_view s) {
    std::vector<std::string_view> lines;
    std::size_t pos = 0, quoted = 0, nonempty = 0;
    while (pos < s.size() && lines.size() < max_lines) {
        std::size_t nl = text::find_eol(s, pos);
        if (nl == std::string_view::npos) nl = s.size();
        const auto line = s.substr(pos, nl - pos);
        lines.push_back(line);
        if (!text::trim(line).empty()) {
            ++nonempty;
            if (line.front() == '>') ++quoted;
        }
        pos = nl + 1;
        if (nl < s.size() && s[nl] == '\r' && pos < s.size() && s[pos] == '\n') ++pos;
    }
    if (nonempty > 4 && quoted * 10 > nonempty * 6) {
        for (auto& l : lines) {
            if (!l.empty() && l.front() == '>') {
                l.remove_prefix(1);
                if (!l.empty() && l.front() == ' ') l.remove_prefix(1);
            }
        }
    }
    return lines;
}

// How a line names a recipient.
enum class HitKind { AddressFirst, CodeFirst, Phrase, Alias };

struct Hit {
    std::string address;
    std::string_view rest;  // the diagnostic text on the same line
    HitKind kind = HitKind::AddressFirst;
};

constexpr std::array<std::string_view, 18> error_words{{"error", "invalid", "unknown", "fail", "reject", "denied",
                                                         "full", "quota", "expired", "unable", "exist", "disabled",
                                                         "suspend", "refused", "timed out", "timeout", "no such",
                                                         "unreachable"}};

// After an address at the start of a line: is the rest of the line about it?
// "a@b: Domain does not exist", "a@b [User unknown]", "a@b on <date>", "a@b Invalid Address, ..."
// are; "a@b 様" (a greeting) is not.
bool rest_is_diagnostic(std::string_view raw, std::string_view rest) noexcept {
    if (rest.empty()) return true;
    std::size_t i = 0;
    while (i < raw.size() && (raw[i] == '>' || raw[i] == '"')) ++i;
    if (i < raw.size() && (raw[i] == ':' || raw.substr(i).starts_with("..."))) return true;
    const char c = rest.front();
    if (c == ':' || c == '[' || c == '(' || c == ',' || c == ';' || c == '<' || c == '-' || c == '.') return true;
    if (text::istarts_with(rest, "on ")) return true;
    if (has_reply_code(rest)) return true;
    for (auto w : error_words)
        if (contains(rest, w)) return true;
    return false;
}

std::string_view after_address_punct(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == '>' || s.front() == '"' || s.front() == '\'' || s.front() == ':' ||
                          s.front() == ' ' || s.front() == '\t' || s.front() == '.' || s.front() == ','))
        s.remove_prefix(1);
    return s;
}

// Words that, ending the text before an address, make it the recipient:
// "delivering your mail to <a@b>", "rejected recipient <a@b>", "RCPT TO:<a@b>".
constexpr std::array<std::string_view, 8> lead_words{{"to", "recipient", "recipients", "userid", "attempts",
                                                      "rcpt", "address", "addressee"}};

std::optional<Hit> recipient_in_line(std::string_view line) {
    std::string_view t = text::trim(line);
    while (!t.empty() && (t.front() == '*' || t.front() == '-' || t.front() == '>' || t.front() == ' ' ||
                          t.front() == '\t'))
        t.remove_prefix(1);
    if (t.empty() || t.find('@') == std::string_view::npos) return std::nullopt;
    static constexpr std::array<std::string_view, 6> labels{{"recipient:", "recipients:", "failed recipient:",
                                                             "invalid recipient:", "unknown recipient:",
                                                             "recipient address:"}};
    for (auto l : labels) {
        if (text::istarts_with(t, l)) {
            t = text::trim(t.substr(l.size()));
            break;
        }
    }
    // 1. The line starts with the address: "<a@b>:", "a@b", "\"a@b\":", "a@b on <date>".
    {
        std::size_t i = 0;
        while (i < t.size() && i < 2 && (t[i] == '<' || t[i] == '"')) ++i;
        if (auto sp = find_address(t); sp && sp->begin == i) {
            const auto rest = after_address_punct(t.substr(sp->end));
            if (rest_is_diagnostic(t.substr(sp->end), rest))
                return Hit{std::string(t.substr(sp->begin, sp->end - sp->begin)), rest, HitKind::AddressFirst};
            return std::nullopt;
        }
    }
    // 2. A transcript line: "550 <a@b>... User unknown", "<<< 550 5.1.1 <a@b>... reason".
    {
        std::string_view u = t;
        if (text::istarts_with(u, "<<<")) u = text::trim(u.substr(3));
        if (u.size() > 5 && is_code_at(u, 0)) {
            std::string_view after = text::trim(u.substr(4));
            std::size_t len = 0;
            if (scan_enhanced_status(after, len)) after = text::trim(after.substr(len));
            if (!after.empty() && after.front() == '<') {
                if (auto sp = find_address(after); sp && sp->begin == 1) {
                    // Sendmail: "554 <a@b>... 550 Host unknown": the inner reply is the remote one.
                    const auto inner = after_address_punct(after.substr(sp->end));
                    const bool remote = inner.size() > 4 && is_code_at(inner, 0);
                    return Hit{std::string(after.substr(1, sp->end - 1)), remote ? inner : t, HitKind::CodeFirst};
                }
            }
        }
    }
    // 3. A phrase ending in a lead word before the address.
    if (auto sp = find_address(t)) {
        std::string_view before = t.substr(0, sp->begin);
        while (!before.empty() && (before.back() == '<' || before.back() == ':' || before.back() == ' ' ||
                                   before.back() == '"' || before.back() == '\t'))
            before.remove_suffix(1);
        if (ends_with_word(before, "expanded from") || ends_with_word(before, "generated from"))
            return Hit{std::string(t.substr(sp->begin, sp->end - sp->begin)), t, HitKind::Alias};
        if (text::iequals(before, "to") || contains(before, "mail from") || contains(before, "sent by") ||
            contains(before, "envelope-from") || contains(before, "from:"))
            return std::nullopt;
        for (auto w : lead_words) {
            if (ends_with_word(before, w))
                return Hit{std::string(t.substr(sp->begin, sp->end - sp->begin)), t, HitKind::Phrase};
        }
    }
    return std::nullopt;
}

struct Pending {
    std::string address;
    std::string diagnostic;
    std::size_t lines = 0;
    bool content = false;
};

void append_line(Pending& p, std::string_view s, std::size_t max) {
    s = text::trim(s);
    if (s.empty() || p.diagnostic.size() >= max) return;
    if (!p.diagnostic.empty()) p.diagnostic.push_back(' ');
    p.diagnostic.append(text::clip(s, max - p.diagnostic.size()));
    ++p.lines;
}

// The addresses of our own side that a transcript names: "MAIL FROM:<a@b>", "A message sent by".
bool names_sender(std::string_view line) noexcept {
    return contains(line, "mail from") || contains(line, "envelope-from") || contains(line, "sent by");
}

// The command a reply answered, from the transcript around it: the last ">>> COMMAND" before
// the "<<< reply" that the diagnostic quotes (Sendmail), or an "SMTP command" label followed by
// the command (m-FILTER and others).
SmtpStage transcript_stage(const std::vector<std::string_view>& lines, std::string_view diagnostic) {
    std::optional<SmtpStage> last;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const auto t = text::trim(lines[i]);
        if (t.starts_with(">>> ")) {
            last = stage_of_command(t.substr(4));
        } else if (t.starts_with("<<< ") && last && *last != SmtpStage::Unknown) {
            const auto reply = text::clip(text::trim(t.substr(4)), 24);
            if (reply.size() >= 5 && text::ifind_fast(diagnostic, reply) != std::string_view::npos) {
                // With PIPELINING the RCPT replies are read after DATA was sent. Sendmail follows
                // such a reply with its own verdict on the recipient ("550 5.1.1 <a@b>... User
                // unknown"); a reply to DATA itself is followed by "554 5.0.0 Service unavailable".
                if (*last == SmtpStage::Data && i + 1 < lines.size()) {
                    const auto next = text::trim(lines[i + 1]);
                    if (!next.starts_with("<<<") && !next.starts_with(">>>") && next.find('@') != std::string_view::npos &&
                        next.find("...") != std::string_view::npos)
                        return SmtpStage::Rcpt;
                }
                return *last;
            }
        } else if (ends_with_word(text::trim(std::string_view(t).substr(0, t.find_last_not_of(": ") + 1)), "smtp command")) {
            for (std::size_t k = i + 1; k < lines.size() && k < i + 3; ++k) {
                const auto u = text::trim(lines[k]);
                if (u.empty()) continue;
                if (auto st = stage_of_command(u); st != SmtpStage::Unknown) return st;
                break;
            }
        }
    }
    return SmtpStage::Unknown;
}

}  // namespace

int first_reply_code(std::string_view s) noexcept {
    for (std::size_t i = 0; i + 3 <= s.size(); ++i)
        if ((s[i] == '4' || s[i] == '5') && is_code_at(s, i)) return (s[i] - '0') * 100 + (s[i + 1] - '0') * 10 + (s[i + 2] - '0');
    return 0;
}

bool has_reply_code(std::string_view s) noexcept { return first_reply_code(s) != 0; }

int leading_reply_code(std::string_view s) noexcept {
    s = text::trim(s);
    if (text::istarts_with(s, "<<<")) s = text::trim(s.substr(3));
    if (s.size() < 4 || !is_code_at(s, 0)) return 0;
    return (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
}

std::string first_address(std::string_view s) {
    auto sp = find_address(s);
    return sp ? std::string(s.substr(sp->begin, sp->end - sp->begin)) : std::string();
}

std::string_view cut_returned_message(std::string_view s) noexcept {
    std::size_t pos = 0;
    std::size_t n = 0;
    while (pos < s.size() && n++ < max_lines) {
        std::size_t nl = s.find('\n', pos);
        if (nl == std::string_view::npos) nl = s.size();
        const auto line = s.substr(pos, nl - pos);
        if (is_returned_message_marker(line) || (n > 1 && is_copied_header(line))) return s.substr(0, pos);
        pos = nl + 1;
    }
    return s;
}

std::vector<BounceRecord> scan_text_bounce(std::string_view body, const BounceLimits& limits) {
    const auto lines = split_lines(cut_returned_message(body));
    std::vector<Pending> found;
    std::vector<std::string> senders;
    long current = -1;        // index into found of the record being collected
    bool collecting = false;  // still inside its diagnostic
    bool duplicate = false;   // a repeated section about a recipient already read
    int blanks = 0;
    bool paused = false;      // a blank line ended its paragraph; a label may continue it
    bool prev_sent_by = false;
    for (const std::string_view line : lines) {
        const std::string_view t = text::trim(line);
        if (names_sender(t)) {
            std::size_t from = text::ifind_fast(t, "from");
            if (from == std::string_view::npos) from = text::ifind_fast(t, "sent by");
            if (auto a = first_address(t.substr(from)); !a.empty()) senders.push_back(a);
        }
        std::optional<Hit> hit = recipient_in_line(line);
        if (hit) {
            for (const auto& s : senders)
                if (text::iequals(s, hit->address)) hit.reset();
            if (hit && prev_sent_by && hit->kind == HitKind::AddressFirst) {
                senders.push_back(hit->address);
                hit.reset();
            }
        }
        if (!t.empty()) prev_sent_by = ends_with_word(t, "sent by") || ends_with_word(t, "from");
        // Inside a recipient's paragraph: an alias line ("generated from") and a reply line naming
        // another address (our sender, in "550 5.2.0 <sender> From: domain is invalid") belong to it.
        if (hit && current >= 0 && collecting && !duplicate) {
            const auto& cur = found[static_cast<std::size_t>(current)];
            if (!text::iequals(cur.address, hit->address) &&
                (hit->kind == HitKind::Alias || (hit->kind == HitKind::CodeFirst && !has_reply_code(cur.diagnostic))))
                hit.reset();
        }
        if (hit) {
            if (current >= 0 && text::iequals(found[static_cast<std::size_t>(current)].address, hit->address)) {
                if (collecting && !duplicate) {
                    auto& p = found[static_cast<std::size_t>(current)];
                    append_line(p, hit->kind == HitKind::AddressFirst ? hit->rest : t, limits.max_diagnostic_bytes);
                    if (!hit->rest.empty()) p.content = true;
                }
                continue;
            }
            long existing = -1;
            for (std::size_t k = 0; k < found.size(); ++k)
                if (text::iequals(found[k].address, hit->address)) existing = static_cast<long>(k);
            if (existing >= 0) {
                current = existing;
                duplicate = true;
                collecting = false;
                paused = false;
                continue;
            }
            if (found.size() >= limits.max_recipients) break;
            Pending p;
            p.address = hit->address;
            std::string_view rest = hit->kind == HitKind::AddressFirst || hit->kind == HitKind::CodeFirst ? hit->rest : t;
            if (hit->kind == HitKind::AddressFirst && text::istarts_with(rest, "on ")) rest = {};  // "a@b on <date>"
            append_line(p, rest, limits.max_diagnostic_bytes);
            if (hit->kind == HitKind::Phrase || hit->kind == HitKind::Alias) {
                // "... delivering your mail to <a@b>.": the reason is on the next lines.
                const auto tail = after_address_punct(t.substr(std::min(t.size(), t.find(hit->address) + hit->address.size())));
                p.content = has_reply_code(tail) || tail.size() > 12;
            } else {
                p.content = !rest.empty() && !is_label(rest);
            }
            found.push_back(std::move(p));
            current = static_cast<long>(found.size()) - 1;
            collecting = true;
            duplicate = false;
            paused = false;
            blanks = 0;
            continue;
        }
        if (current < 0 || duplicate) continue;
        auto& p = found[static_cast<std::size_t>(current)];
        if (paused) {
            // A paragraph that starts with a label ("Technical details of temporary failure:")
            // goes on about the same recipient; anything else ends it.
            if (t.empty()) continue;
            paused = false;
            if (!collecting_label(t)) {
                collecting = false;
                continue;
            }
            collecting = true;
        }
        if (!collecting) continue;
        if (t.empty()) {
            if (p.content) {
                paused = true;
                collecting = false;
            } else if (++blanks > 3) {
                collecting = false;
            }
            continue;
        }
        if (is_separator(t) && p.content) {
            collecting = false;
            continue;
        }
        if (p.lines >= max_lines_per_diagnostic) {
            collecting = false;
            continue;
        }
        // A transcript goes on with another reply: it is about something else.
        if (leading_reply_code(t) != 0 && has_reply_code(p.diagnostic)) {
            collecting = false;
            continue;
        }
        append_line(p, t, limits.max_diagnostic_bytes);
        if (!is_label(t)) p.content = true;
    }

    // Recipients without a reply code borrow the transcript line that names them; the only
    // recipient borrows the first reply line of the text; an empty one takes the whole text.
    for (auto& p : found) {
        if (has_reply_code(p.diagnostic)) continue;
        for (std::string_view line : lines) {
            const auto t = text::trim(line);
            if (t.size() > 5 && text::ifind_fast(t, p.address) != std::string_view::npos && has_reply_code(t) &&
                !names_sender(t) && text::ifind_fast(p.diagnostic, t) == std::string_view::npos) {
                std::string d(text::clip(t, limits.max_diagnostic_bytes));
                if (!p.diagnostic.empty()) d += " " + p.diagnostic;
                p.diagnostic = std::string(text::clip(d, limits.max_diagnostic_bytes));
                break;
            }
        }
    }
    if (found.size() == 1 && !has_reply_code(found[0].diagnostic)) {
        auto& p = found[0];
        for (std::size_t i = 0; i < lines.size(); ++i) {
            std::string_view t = text::trim(lines[i]);
            if (text::istarts_with(t, "<<<")) t = text::trim(t.substr(3));
            if (t.size() > 4 && is_code_at(t, 0) && !names_sender(t)) {
                Pending q;
                append_line(q, t, limits.max_diagnostic_bytes);
                for (std::size_t k = i + 1; k < lines.size() && k < i + 8; ++k) {
                    const auto u = text::trim(lines[k]);
                    if (u.empty() || is_separator(u)) break;
                    append_line(q, u, limits.max_diagnostic_bytes);
                }
                if (!p.diagnostic.empty()) q.diagnostic += " " + p.diagnostic;
                p.diagnostic = std::string(text::clip(q.diagnostic, limits.max_diagnostic_bytes));
                break;
            }
        }
        if (p.diagnostic.empty()) {
            Pending q;
            for (std::string_view line : lines) {
                const auto t = text::trim(line);
                if (t.empty() || text::ifind_fast(t, p.address) != std::string_view::npos) continue;
                append_line(q, t, limits.max_diagnostic_bytes);
            }
            p.diagnostic = std::move(q.diagnostic);
        }
    }

    std::vector<BounceRecord> out;
    out.reserve(found.size());
    for (auto& p : found) {
        BounceRecord r;
        r.recipient = std::move(p.address);
        r.diagnostic = std::move(p.diagnostic);
        r.stage = stage_from_wording(r.diagnostic);
        if (r.stage == SmtpStage::Unknown) r.stage = transcript_stage(lines, r.diagnostic);
        out.push_back(std::move(r));
    }
    return out;
}

std::string embedded_dsn_fields(std::string_view body, std::size_t max_bytes) {
    static constexpr std::array<std::string_view, 11> names{{
        "Final-Recipient:", "Original-Recipient:", "Action:", "Status:", "Diagnostic-Code:", "Remote-MTA:",
        "Reporting-MTA:", "Last-Attempt-Date:", "Arrival-Date:", "Received-From-MTA:", "X-Actual-Recipient:",
    }};
    const auto lines = split_lines(body);
    std::string out;
    bool has_final = false, in_field = false;
    for (std::string_view line : lines) {
        if (out.size() >= max_bytes) break;
        if (text::trim(line).empty()) {
            if (!out.empty() && out.back() != '\n') out += '\n';
            if (!out.empty() && out.size() >= 2 && out[out.size() - 2] != '\n') out += '\n';
            in_field = false;
            continue;
        }
        if (in_field && (line.front() == ' ' || line.front() == '\t')) {
            out.append(text::clip(line, max_bytes));
            out += '\n';
            continue;
        }
        in_field = false;
        for (auto n : names) {
            if (text::istarts_with(line, n)) {
                if (n == names[0]) has_final = true;
                out.append(text::clip(line, max_bytes));
                out += '\n';
                in_field = true;
                break;
            }
        }
    }
    return has_final ? out : std::string();
}

bool has_delay_wording(std::string_view s) noexcept {
    static constexpr std::array<std::string_view, 10> phrases{{
        "warning message only", "this is a warning", "has been delayed", "is delayed", "delivery is delayed",
        "will be retried", "still being retried", "has not yet been delivered", "will keep trying",
        "delivery attempts will continue",
    }};
    for (auto p : phrases)
        if (contains(s, p)) return true;
    return false;
}

bool has_bounce_wording(std::string_view s) noexcept {
    static constexpr std::array<std::string_view, 24> phrases{{
        "could not be delivered", "couldn't be delivered", "was not delivered", "undeliverable",
        "permanent error", "permanent fatal error", "delivery failed", "delivery has failed", "failed permanently",
        "unable to deliver", "wasn't able to deliver", "not able to deliver", "did not reach",
        "could not be reached", "delivery to the following recipient", "returned mail", "mail delivery failed",
        "delivery status notification", "error delivering", "following address", "following recipient",
        "transcript of session", "rejected by", "has not yet been delivered",
    }};
    for (auto p : phrases)
        if (contains(s, p)) return true;
    return false;
}

SmtpStage stage_from_wording(std::string_view d) noexcept {
    struct Phrase {
        std::string_view text;
        SmtpStage stage;
    };
    static constexpr std::array<Phrase, 12> phrases{{
        {"does not like recipient", SmtpStage::Rcpt},
        {"failed after i sent the message", SmtpStage::Data},
        {"did not like our rcpt", SmtpStage::Rcpt},
        {"did not like our final data", SmtpStage::Data},
        {"did not like our data", SmtpStage::Data},
        {"did not like our mail from", SmtpStage::Mail},
        {"[rcpt_to]", SmtpStage::Rcpt},
        {"[mail_from]", SmtpStage::Mail},
        {"following rcpt command", SmtpStage::Rcpt},
        {"rejected recipient", SmtpStage::Rcpt},
        {"after rcpt command", SmtpStage::Rcpt},
        {"rcpt to response", SmtpStage::Rcpt},
    }};
    for (const auto& p : phrases)
        if (contains(d, p.text)) return p.stage;
    return SmtpStage::Unknown;
}

}  // namespace bg::dsn
