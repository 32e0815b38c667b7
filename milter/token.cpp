// token.cpp - see token.hpp.
#include "token.hpp"

#include <glib.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <memory>

#include "util/text.hpp"

namespace bg::milter {

namespace {

constexpr std::size_t message_tag_hex = 16;
constexpr std::size_t rcpt_tag_hex = 8;
constexpr std::size_t tags_per_line = 8;
constexpr std::size_t max_token_bytes = 8192;  // a returned token past this is Malformed
constexpr std::size_t max_message_id_bytes = 998;
constexpr std::int64_t future_slack = 3600;  // clocks of a fleet may disagree this much

struct GFreeDeleter {
    void operator()(gchar* p) const noexcept { g_free(p); }
};

// The first `hex` digits of HMAC-SHA256(key, data).
std::string hmac_hex(std::string_view key, std::string_view data, std::size_t hex) {
    std::unique_ptr<gchar, GFreeDeleter> h(g_compute_hmac_for_data(
        G_CHECKSUM_SHA256, reinterpret_cast<const guchar*>(key.data()), key.size(),
        reinterpret_cast<const guchar*>(data.data()), data.size()));
    if (!h) return {};
    return std::string(h.get(), std::min(hex, std::char_traits<char>::length(h.get())));
}

// "<abc@host>" => "abc@host": the form the bounce parser reports.
std::string_view bare_id(std::string_view id) {
    id = text::trim(id);
    if (id.size() >= 2 && id.front() == '<' && id.back() == '>') id = id.substr(1, id.size() - 2);
    return text::trim(id.substr(0, std::min(id.size(), max_message_id_bytes)));
}

std::string message_mac(std::string_view key, std::string_view t, std::string_view id, std::string_view n) {
    std::string data = "bg1|";
    data.append(t).append("|").append(bare_id(id)).append("|").append(n);
    return hmac_hex(key, data, message_tag_hex);
}

std::string rcpt_tag(std::string_view key, std::string_view t, std::string_view id, std::string_view rcpt) {
    std::string data = "bg1r|";
    data.append(t).append("|").append(bare_id(id)).append("|").append(rcpt);
    return hmac_hex(key, data, rcpt_tag_hex);
}

bool equal_ct(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    unsigned char d = 0;
    for (std::size_t i = 0; i < a.size(); ++i) d |= static_cast<unsigned char>(a[i] ^ b[i]);
    return d == 0;
}

bool is_hex(std::string_view s, std::size_t n) noexcept {
    return s.size() == n && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    });
}

}  // namespace

std::string_view to_string(TokenCheck c) noexcept {
    switch (c) {
        case TokenCheck::Valid: return "valid";
        case TokenCheck::MessageOnly: return "message_only";
        case TokenCheck::Missing: return "missing";
        case TokenCheck::Malformed: return "malformed";
        case TokenCheck::BadSignature: return "bad_signature";
        case TokenCheck::Expired: return "expired";
        case TokenCheck::NotRecipient: return "not_recipient";
    }
    return "malformed";
}

Result<std::string> read_token_key(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error{"token key file " + path + ": cannot be read"};
    std::string key(4096, '\0');
    in.read(key.data(), static_cast<std::streamsize>(key.size()));
    key.resize(static_cast<std::size_t>(in.gcount()));
    while (!key.empty() && text::is_space(key.back())) key.pop_back();
    if (key.size() < min_token_key_bytes)
        return Error{"token key file " + path + ": the key must be at least " + std::to_string(min_token_key_bytes) +
                     " bytes (e.g. head -c 32 /dev/urandom | base64)"};
    return key;
}

std::string make_token(std::string_view key, UnixTime now, std::string_view message_id,
                       const std::vector<std::string>& recipients, std::size_t max_recipients) {
    const std::string t = std::to_string(now);
    std::vector<std::string> tags;
    std::vector<std::string> seen(recipients);
    std::sort(seen.begin(), seen.end());
    seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
    const bool tagged = seen.size() <= max_recipients;
    if (tagged) {
        tags.reserve(seen.size());
        for (const auto& r : seen) tags.push_back(rcpt_tag(key, t, message_id, r));
        std::sort(tags.begin(), tags.end());
    }
    const std::string n = tagged ? std::to_string(tags.size()) : "*";
    std::string out = "v1 t=" + t + " m=" + message_mac(key, t, message_id, n) + " r=";
    if (!tagged) return out + "*";
    for (std::size_t i = 0; i < tags.size(); ++i) {
        if (i > 0) out += (i % tags_per_line == 0) ? ",\n\t" : ",";
        out += tags[i];
    }
    return out;
}

TokenCheck check_token(std::string_view key, std::string_view token, std::string_view message_id,
                       std::string_view recipient, UnixTime now, std::int64_t max_age) noexcept {
    try {
        token = text::trim(token);
        if (token.empty()) return TokenCheck::Missing;
        if (token.size() > max_token_bytes || key.empty()) return TokenCheck::Malformed;
        // Unfold: the header may come back folded anywhere there was white space.
        std::string flat;
        for (const char c : token) flat.push_back(text::is_space(c) ? ' ' : c);
        std::string_view t, m, r;
        bool v1 = false;
        for (auto part : text::split(flat, ' ')) {
            part = text::trim(part);
            if (part.empty()) continue;
            if (part == "v1") v1 = true;
            else if (part.starts_with("t=")) t = part.substr(2);
            else if (part.starts_with("m=")) m = part.substr(2);
            else if (part.starts_with("r=")) r = part.substr(2);
            else if (!r.empty() && (part.front() == ',' || r.back() == ',')) {
                // "r=a,b,\n\tc,d": the fold split the list; join it back (views into `flat`).
                r = std::string_view(r.data(), static_cast<std::size_t>(part.data() + part.size() - r.data()));
            } else return TokenCheck::Malformed;
        }
        std::int64_t when = 0;
        if (!v1 || t.empty() || t.size() > 12 || !is_hex(m, message_tag_hex) || r.empty() ||
            std::from_chars(t.data(), t.data() + t.size(), when).ptr != t.data() + t.size())
            return TokenCheck::Malformed;
        std::vector<std::string_view> tags;
        if (r != "*") {
            for (auto tag : text::split(r, ',')) {
                tag = text::trim(tag);
                if (!is_hex(tag, rcpt_tag_hex)) return TokenCheck::Malformed;
                tags.push_back(tag);
            }
        }
        const std::string n = r == "*" ? std::string("*") : std::to_string(tags.size());
        if (!equal_ct(m, message_mac(key, t, message_id, n))) return TokenCheck::BadSignature;
        if (when > now + future_slack || now - when > max_age) return TokenCheck::Expired;
        if (r == "*") return TokenCheck::MessageOnly;
        const std::string mine = rcpt_tag(key, t, message_id, recipient);
        bool found = false;
        for (const auto tag : tags) found |= equal_ct(tag, mine);
        return found ? TokenCheck::Valid : TokenCheck::NotRecipient;
    } catch (const std::exception&) {
        return TokenCheck::Malformed;
    }
}

}  // namespace bg::milter
