// reply.cpp - see reply.hpp. A hand-written scanner: no regular expressions, one pass per step.
#include "smtp/reply.hpp"

#include <string.h>

#include <algorithm>
#include <array>
#include <string>

#include "util/phrase_matcher.hpp"
#include "util/text.hpp"

namespace bg {

std::string_view to_string(SmtpStage stage) noexcept {
    switch (stage) {
        case SmtpStage::Connect: return "connect";
        case SmtpStage::Helo: return "helo";
        case SmtpStage::Mail: return "mail";
        case SmtpStage::Rcpt: return "rcpt";
        case SmtpStage::Data: return "data";
        case SmtpStage::Unknown: break;
    }
    return "unknown";
}

namespace {

struct StageName {
    std::string_view name;
    SmtpStage stage;
};

// Longest names first: the table is scanned with istarts_with.
constexpr std::array<StageName, 16> stage_names{{
    {"initial connection", SmtpStage::Connect},
    {"initial greeting", SmtpStage::Connect},
    {"end of data", SmtpStage::Data},
    {"pipelined rcpt", SmtpStage::Rcpt},
    {"pipelined mail", SmtpStage::Mail},
    {"mail from", SmtpStage::Mail},
    {"rcpt to", SmtpStage::Rcpt},
    {"connect", SmtpStage::Connect},
    {"greeting", SmtpStage::Connect},
    {"unknown", SmtpStage::Unknown},
    {"mail", SmtpStage::Mail},
    {"rcpt", SmtpStage::Rcpt},
    {"data", SmtpStage::Data},
    {"helo", SmtpStage::Helo},
    {"ehlo", SmtpStage::Helo},
    {"lhlo", SmtpStage::Helo},
}};

std::optional<SmtpStage> stage_at(std::string_view s) noexcept {
    for (const auto& n : stage_names)
        if (text::istarts_with(s, n.name)) return n.stage;
    return std::nullopt;
}

// Finds a stage phrase; on success returns the stage and the [begin,end) of the phrase to cut.
struct StageHit {
    SmtpStage stage = SmtpStage::Unknown;
    std::size_t begin = std::string::npos;
    std::size_t end = std::string::npos;
};

// Where the phrases the parser looks for first occur in the (lower-case) reply, found in one pass.
struct Markers {
    std::size_t in_reply_to = std::string_view::npos;  // "in reply to " (first)
    std::size_t after = std::string_view::npos;        // " after " (first)
    std::size_t transcript = std::string_view::npos;   // ">>> " (last)
    std::size_t refused = std::string_view::npos;      // "refused to talk to me"
    std::size_t return_code = std::string_view::npos;  // "[return code "
    bool host = false;                                 // "host " somewhere
};

// "... (in reply to RCPT TO command)": Postfix's stage phrase, searched from the end.
StageHit find_in_reply_to(std::string_view s) noexcept {
    StageHit hit;
    std::size_t end = s.size();
    for (int tries = 0; tries < 4 && end > 0; ++tries) {
        const void* q = memrchr(s.data(), '(', end);
        if (!q) break;
        const auto p = static_cast<std::size_t>(static_cast<const char*>(q) - s.data());
        if (text::istarts_with(s.substr(p + 1), "in reply to ")) {
            if (auto st = stage_at(s.substr(p + 13))) {
                const auto close = s.find(')', p);
                hit.stage = *st;
                hit.begin = p;
                hit.end = close == std::string_view::npos ? s.size() : close + 1;
                return hit;
            }
        }
        end = p;
    }
    return hit;
}

bool is_code_at(std::string_view s, std::size_t i) noexcept;

// Position of the reply code: the first 4xx/5xx token that can be one, else the first 2xx/3xx
// one (a success), or npos. A greeting banner ("220-mx.example ESMTP 421 4.2.1 ...") quoted in
// front of the failure does not hide it.
std::size_t find_code(std::string_view s) noexcept {
    std::size_t positive = std::string_view::npos;
    for (std::size_t i = 0; i + 3 <= s.size(); ++i) {
        if (s[i] < '2' || s[i] > '5' || !is_code_at(s, i)) continue;
        if (s[i] >= '4') return i;
        if (positive == std::string_view::npos) positive = i;
    }
    return positive;
}

enum Marker { InReplyTo, After, Transcript, Refused, Host, ReturnCode };

const PhraseMatcher& marker_matcher() {
    static const PhraseMatcher m = [] {
        PhraseMatcher pm;
        pm.add("in reply to ", InReplyTo);
        pm.add(" after ", After);
        pm.add(">>> ", Transcript);
        pm.add("refused to talk to me", Refused);
        pm.add("host ", Host);
        pm.add("[return code ", ReturnCode);
        (void)pm.compile();
        return pm;
    }();
    return m;
}

// One pass of a small automaton over the text, no per-byte branches.
Markers scan_markers(std::string_view lower) noexcept {
    Markers m;
    constexpr auto npos = std::string_view::npos;
    marker_matcher().scan(lower, [&](int tag, std::size_t end) {
        switch (tag) {
            case InReplyTo: if (m.in_reply_to == npos) m.in_reply_to = end - 12; break;
            case After: if (m.after == npos) m.after = end - 7; break;
            case Transcript: m.transcript = end - 4; break;
            case Refused: if (m.refused == npos) m.refused = end - 21; break;
            case Host: m.host = true; break;
            case ReturnCode: if (m.return_code == npos) m.return_code = end - 13; break;
            default: break;
        }
    });
    return m;
}

StageHit find_stage(std::string_view s, std::string_view lower, const Markers& m) {
    StageHit hit;
    // Postfix: "(in reply to RCPT TO command)", "(in reply to end of DATA command)".
    if (const auto p = m.in_reply_to; p != std::string_view::npos) {
        if (auto st = stage_at(s.substr(p + 12))) {
            hit.stage = *st;
            std::size_t b = p, e = s.find(')', p);
            if (b > 0 && s[b - 1] == '(') --b;
            if (e == std::string_view::npos) e = s.size(); else ++e;
            hit.begin = b;
            hit.end = e;
            return hit;
        }
    }
    // Exim: "SMTP error from remote mail server after RCPT TO:<x>:", "after end of data:".
    if (const auto p = m.after; p != std::string_view::npos) {
        if (auto st = stage_at(s.substr(p + 7)); st && text::find_bytes(lower.substr(0, p), "error") != std::string_view::npos) {
            hit.stage = *st;
            return hit;
        }
    }
    // Sendmail transcripts: the last ">>> COMMAND" before the reply.
    if (m.transcript != std::string_view::npos) {
        if (auto st = stage_at(s.substr(m.transcript + 4))) {
            hit.stage = *st;
            return hit;
        }
    }
    // Postfix: "host x[ip] refused to talk to me: 554 ...".
    if (m.refused != std::string_view::npos) hit.stage = SmtpStage::Connect;
    return hit;
}

bool is_code_at(std::string_view s, std::size_t i) noexcept {
    if (i + 3 > s.size()) return false;
    const char a = s[i], b = s[i + 1], c = s[i + 2];
    if (a < '2' || a > '5' || b < '0' || b > '5' || !text::is_digit(c)) return false;
    if (i > 0) {
        const char p = s[i - 1];
        if (!(p == ' ' || p == '(' || p == ':' || p == ';' || p == '[' || p == '#' || p == '<' ||
              p == '>' || p == '"' || p == '\'' || p == '='))
            return false;
    }
    if (i + 3 == s.size()) return true;
    const char n = s[i + 3];
    return n == ' ' || n == '-' || n == ']' || n == ')' || n == ',' || n == ';' ||
           (n == ':' && (i + 4 == s.size() || s[i + 4] == ' '));  // "550: <a@b>: User unknown"
}

int code_at(std::string_view s, std::size_t i) noexcept {
    return (s[i] - '0') * 100 + (s[i + 1] - '0') * 10 + (s[i + 2] - '0');
}

// "5 2 1 " spaced status right after the code (some Japanese MTAs); class must match the code.
std::optional<EnhancedStatus> scan_spaced_status(std::string_view s, int code_class, std::size_t& len) noexcept {
    if (s.size() < 5 || !text::is_digit(s[0]) || s[0] - '0' != code_class || s[1] != ' ') return std::nullopt;
    std::size_t pos = 2;
    auto number = [&](int& out) {
        std::size_t digits = 0;
        out = 0;
        while (pos < s.size() && text::is_digit(s[pos]) && digits < 4) {
            out = out * 10 + (s[pos] - '0');
            ++pos;
            ++digits;
        }
        return digits >= 1 && digits <= 3;
    };
    int subject = 0, detail = 0;
    if (!number(subject) || pos >= s.size() || s[pos] != ' ') return std::nullopt;
    ++pos;
    if (!number(detail) || (pos < s.size() && s[pos] != ' ')) return std::nullopt;
    len = pos;
    return EnhancedStatus{code_class, subject, detail};
}

bool status_boundary_before(std::string_view s, std::size_t i) noexcept {
    if (i == 0) return true;
    const char p = s[i - 1];
    return p == ' ' || p == '(' || p == '#' || p == '[' || p == ':' || p == ';' || p == '<' || p == '"';
}

// First status token in s whose class is `klass` (or any class when klass == 0).
std::optional<EnhancedStatus> find_status(std::string_view s, int klass) noexcept {
    for (std::size_t i = 0; i + 5 <= s.size(); ++i) {
        const char c = s[i];
        if ((c != '2' && c != '4' && c != '5') || s[i + 1] != '.' || !status_boundary_before(s, i)) continue;
        std::size_t len = 0;
        auto st = scan_enhanced_status(s.substr(i), len);
        if (st && (klass == 0 || st->klass == klass)) return st;
    }
    return std::nullopt;
}

// Drops the continuation markers of a multi-line reply from the text: tokens equal to the code,
// "code-", "code-x.y.z", and a status token right after a dropped code token.
std::string strip_continuations(std::string_view body, int code) {
    char c[4];
    c[0] = static_cast<char>('0' + code / 100);
    c[1] = static_cast<char>('0' + code / 10 % 10);
    c[2] = static_cast<char>('0' + code % 10);
    c[3] = '-';
    const std::string_view code3(c, 3), code4(c, 4);
    if (body.find(code3) == std::string_view::npos) return std::string(body);  // one line
    std::string out;
    out.reserve(body.size());
    bool prev_dropped = false;
    std::size_t pos = 0;
    while (pos < body.size()) {
        const std::size_t end = std::min(body.find(' ', pos), body.size());
        const std::string_view tok = body.substr(pos, end - pos);
        pos = end + 1;
        if (tok.empty()) continue;
        bool drop = false;
        if (tok == code3 || (tok.size() > 3 && tok.substr(0, 4) == code4 &&
                             (tok.size() == 4 || parse_enhanced_status(tok.substr(4))))) {
            drop = true;
        } else if (prev_dropped && parse_enhanced_status(tok)) {
            drop = true;
        }
        prev_dropped = drop;
        if (drop) continue;
        if (!out.empty()) out.push_back(' ');
        out.append(tok);
    }
    return out;
}

// "host mx.example.com[192.0.2.1] said:" => "mx.example.com[192.0.2.1]".
std::string find_remote_host(std::string_view s, std::string_view lower) {
    auto p = text::find_bytes(lower, "host ");
    while (p != std::string_view::npos) {
        const std::size_t b = p + 5;
        std::size_t e = b;
        while (e < s.size() && s[e] != ' ' && s[e] != ':' && e - b < 300) ++e;
        const auto tok = s.substr(b, e - b);
        if (tok.size() > 2 && tok.front() != '[' && tok.find('[') != std::string_view::npos && tok.back() == ']')
            return std::string(tok);
        p = text::find_bytes(lower, "host ", p + 5);
    }
    return {};
}

// Leading "Diagnostic-Code:" and an RFC 3464 diagnostic type ("smtp;", "X-Postfix;").
std::string_view strip_diagnostic_prefix(std::string_view s) noexcept {
    s = text::trim(s);
    if (text::istarts_with(s, "Diagnostic-Code:")) s = text::trim(s.substr(16));
    const auto semi = s.find(';');
    if (semi != std::string_view::npos && semi > 0 && semi <= 20) {
        bool type = true;
        for (std::size_t i = 0; i < semi; ++i) {
            const char c = s[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || text::is_digit(c) || c == '-')) type = false;
        }
        if (type) s = text::trim(s.substr(semi + 1));
    }
    return s;
}

}  // namespace

std::optional<SmtpStage> parse_stage(std::string_view name) noexcept {
    name = text::trim(name);
    if (name.empty()) return std::nullopt;
    for (const auto& n : stage_names)
        if (text::iequals(name, n.name)) return n.stage;
    if (text::iequals(name, "rcpt to:") ) return SmtpStage::Rcpt;
    if (text::iequals(name, "mail from:")) return SmtpStage::Mail;
    if (text::iequals(name, "end of data command") || text::iequals(name, "end-of-data")) return SmtpStage::Data;
    return std::nullopt;
}

Result<SmtpReply> parse_reply(std::string_view raw, std::size_t max_bytes) {
    SmtpReply reply;
    if (raw.size() > max_bytes) {
        raw = text::clip(raw, max_bytes);
        reply.truncated = true;
    }
    // Scratch buffers reused across calls on this thread: parsing allocates only what it returns.
    thread_local std::string work, lower, cut;
    text::printable_into(raw, work);
    std::string_view s = strip_diagnostic_prefix(work);
    if (s.empty()) return Error{"empty reply"};

    // Postfix ends with "(in reply to RCPT TO command)": cut it out of the text.
    StageHit stage = find_in_reply_to(s);
    if (stage.begin != std::string::npos) {
        std::string joined(s.substr(0, stage.begin));
        joined.append(s.substr(stage.end));
        text::printable_into(joined, cut);
        s = cut;
    }
    std::size_t code_pos = find_code(s);
    // The other markers (Exim's and Sendmail's stage words, "host x[ip] said:", "[Return Code")
    // stand before the reply code, so only that prefix is scanned for them.
    const std::string_view prefix = code_pos == std::string_view::npos ? s : s.substr(0, code_pos);
    text::to_lower_into(prefix, lower);
    const Markers markers = scan_markers(lower);
    if (stage.stage == SmtpStage::Unknown) stage = find_stage(prefix, lower, markers);
    reply.stage = stage.stage;
    if (markers.host) reply.remote_host = find_remote_host(prefix, lower);

    // "[Return Code 550] sid: xxx :: 5.1.0 Address rejected" (some hosting providers).
    if (auto p = markers.return_code; p != std::string_view::npos && is_code_at(s, p + 13)) {
        reply.code = code_at(s, p + 13);
        auto rest = s.find("::", p);
        std::string_view body = rest == std::string_view::npos ? s.substr(p + 17) : s.substr(rest + 2);
        body = text::trim(body);
        std::size_t len = 0;
        if (auto st = scan_enhanced_status(body, len)) {
            reply.status = st;
            body = text::trim(body.substr(len));
        }
        reply.text = strip_continuations(body, reply.code);
        if (!reply.status) reply.status = find_status(reply.text, reply.code / 100);
        return reply;
    }
    if (code_pos == std::string_view::npos) {
        reply.text = std::string(s);
        reply.status = find_status(s, 0);
        return reply;
    }
    reply.code = code_at(s, code_pos);
    std::string_view body = s.substr(code_pos + 3);
    if (!body.empty() && (body.front() == '-' || body.front() == ' ' || body.front() == ']' || body.front() == ':'))
        body.remove_prefix(1);
    body = text::trim(body);
    // Doubled code: "550 550 5.1.1 ..." or "550 550-5.1.1 ...".
    if (body.size() >= 3 && is_code_at(body, 0) && code_at(body, 0) == reply.code) {
        body.remove_prefix(3);
        if (!body.empty() && (body.front() == '-' || body.front() == ' ')) body.remove_prefix(1);
        body = text::trim(body);
    }
    std::size_t len = 0;
    if (auto st = scan_enhanced_status(body, len)) {
        reply.status = st;
        body.remove_prefix(len);
    } else if (auto sp = scan_spaced_status(body, reply.code / 100, len)) {
        reply.status = sp;
        body.remove_prefix(len);
    }
    body = text::trim(body);
    reply.text = strip_continuations(body, reply.code);
    if (!reply.status) reply.status = find_status(reply.text, reply.code / 100);
    return reply;
}

}  // namespace bg
