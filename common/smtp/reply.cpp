// reply.cpp - see reply.hpp. A hand-written scanner: no regular expressions, one pass per step.
#include "smtp/reply.hpp"

#include <array>
#include <string>

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

StageHit find_stage(std::string_view s) {
    StageHit hit;
    // Postfix: "(in reply to RCPT TO command)", "(in reply to end of DATA command)".
    if (auto p = text::ifind(s, "in reply to "); p != std::string_view::npos) {
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
    if (auto p = text::ifind(s, " after "); p != std::string_view::npos) {
        if (auto st = stage_at(s.substr(p + 7)); st && text::ifind(s.substr(0, p), "error") != std::string_view::npos) {
            hit.stage = *st;
            return hit;
        }
    }
    // Sendmail transcripts: the last ">>> COMMAND" before the reply.
    std::size_t from = 0;
    for (;;) {
        auto p = s.find(">>> ", from);
        if (p == std::string_view::npos) break;
        if (auto st = stage_at(s.substr(p + 4))) hit.stage = *st;
        from = p + 4;
    }
    if (hit.stage != SmtpStage::Unknown) return hit;
    // Postfix: "host x[ip] refused to talk to me: 554 ...".
    if (text::ifind(s, "refused to talk to me") != std::string_view::npos) hit.stage = SmtpStage::Connect;
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
    return n == ' ' || n == '-' || n == ']' || n == ')' || n == ',' || n == ';';
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
    const std::string c = std::to_string(code);
    std::string out;
    out.reserve(body.size());
    bool prev_dropped = false;
    for (std::string_view tok : text::split(body, ' ')) {
        if (tok.empty()) continue;
        bool drop = false;
        if (tok == c || (tok.size() > 3 && tok.substr(0, 3) == c && tok[3] == '-' &&
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
std::string find_remote_host(std::string_view s) {
    auto p = text::ifind(s, "host ");
    while (p != std::string_view::npos) {
        const std::size_t b = p + 5;
        std::size_t e = b;
        while (e < s.size() && s[e] != ' ' && s[e] != ':' && e - b < 300) ++e;
        const auto tok = s.substr(b, e - b);
        if (tok.size() > 2 && tok.front() != '[' && tok.find('[') != std::string_view::npos && tok.back() == ']')
            return std::string(tok);
        p = text::ifind(s, "host ", p + 5);
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
    std::string work = text::printable(raw);
    std::string_view s = strip_diagnostic_prefix(work);
    if (s.empty()) return Error{"empty reply"};

    std::string cut;  // s without the stage phrase
    const StageHit stage = find_stage(s);
    reply.stage = stage.stage;
    if (stage.begin != std::string::npos) {
        cut.assign(s.substr(0, stage.begin));
        cut.append(s.substr(stage.end));
        cut = text::printable(cut);
        s = cut;
    }
    reply.remote_host = find_remote_host(s);

    // "[Return Code 550] sid: xxx :: 5.1.0 Address rejected" (some hosting providers).
    std::size_t code_pos = std::string_view::npos;
    if (auto p = text::ifind(s, "[Return Code "); p != std::string_view::npos && is_code_at(s, p + 13)) {
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
    for (std::size_t i = 0; i + 3 <= s.size(); ++i) {
        if (text::is_digit(s[i]) && is_code_at(s, i)) {
            code_pos = i;
            break;
        }
    }
    if (code_pos == std::string_view::npos) {
        reply.text = std::string(s);
        reply.status = find_status(s, 0);
        return reply;
    }
    reply.code = code_at(s, code_pos);
    std::string_view body = s.substr(code_pos + 3);
    if (!body.empty() && (body.front() == '-' || body.front() == ' ' || body.front() == ']')) body.remove_prefix(1);
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
