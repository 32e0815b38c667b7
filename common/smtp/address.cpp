// address.cpp - mailbox normalisation for the suppression store (see address.hpp for the rules).
// SECURITY: untrusted input; every size is checked before libidn2 sees it, and error messages
//   quote at most a clipped, printable copy of the input.
#include "smtp/address.hpp"

#include <idn2.h>

#include <cstdlib>
#include <memory>

namespace bg {

namespace {

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

// A printable, clipped copy of untrusted text for error messages.
std::string quote(std::string_view s) {
    std::string out = "\"";
    for (char c : s.substr(0, 80)) {
        const auto u = static_cast<unsigned char>(c);
        out += (u < 0x20 || u == 0x7f) ? '?' : c;
    }
    if (s.size() > 80) out += "...";
    out += '"';
    return out;
}

bool is_ascii(std::string_view s) noexcept {
    for (char c : s)
        if (static_cast<unsigned char>(c) >= 0x80) return false;
    return true;
}

// Checks the LDH labels of an ASCII domain that is already lower-cased.
Result<void> check_labels(std::string_view d, std::string_view original) {
    if (d.empty()) return Error{"empty domain in " + quote(original)};
    std::size_t start = 0;
    while (start <= d.size()) {
        std::size_t end = d.find('.', start);
        if (end == std::string_view::npos) end = d.size();
        const std::string_view label = d.substr(start, end - start);
        if (label.empty()) return Error{"empty label in domain " + quote(original)};
        if (label.size() > 63) return Error{"domain label longer than 63 octets in " + quote(original)};
        for (char c : label) {
            const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
            if (!ok) return Error{"invalid character in domain " + quote(original)};
        }
        if (label.front() == '-' || label.back() == '-')
            return Error{"domain label starts or ends with '-' in " + quote(original)};
        start = end + 1;
    }
    return Ok{};
}

struct IdnFree {
    void operator()(char* p) const noexcept { idn2_free(p); }
};

Result<std::string> to_a_labels(std::string_view domain) {
    const std::string in(domain);  // NUL-terminated copy for libidn2
    char* out = nullptr;
    int rc = idn2_to_ascii_8z(in.c_str(), &out, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
    if (rc != IDN2_OK) {
        // UTS #46 transitional mapping accepts some spellings IDNA2008 refuses (e.g. upper case).
        rc = idn2_to_ascii_8z(in.c_str(), &out, IDN2_NFC_INPUT | IDN2_TRANSITIONAL);
    }
    if (rc != IDN2_OK) return Error{"invalid internationalised domain " + quote(domain) + ": " + idn2_strerror(rc)};
    const std::unique_ptr<char, IdnFree> owned(out);
    return std::string(owned.get());
}

}  // namespace

Result<std::string> normalize_domain(std::string_view domain) {
    std::string_view d = trim(domain);
    if (!d.empty() && d.back() == '.') d.remove_suffix(1);
    if (d.empty()) return Error{"empty domain"};
    if (d.size() > max_domain_bytes) return Error{"domain longer than 255 octets: " + quote(d)};
    if (d.front() == '[') {  // address literal: kept as written, lower-cased
        if (d.back() != ']' || d.size() < 3) return Error{"malformed address literal " + quote(d)};
        std::string out;
        for (char c : d) {
            const auto u = static_cast<unsigned char>(c);
            if (u <= 0x20 || u >= 0x7f) return Error{"invalid character in address literal " + quote(d)};
            out += lower(c);
        }
        return out;
    }
    std::string ascii;
    if (is_ascii(d)) {
        ascii.reserve(d.size());
        for (char c : d) ascii += lower(c);
    } else {
        auto a = to_a_labels(d);
        if (!a) return a.error();
        ascii = std::move(*a);
        for (char& c : ascii) c = lower(c);
    }
    if (ascii.size() > max_domain_bytes) return Error{"domain longer than 255 octets: " + quote(d)};
    if (auto ok = check_labels(ascii, d); !ok) return ok.error();
    return ascii;
}

Result<std::string> normalize_address(std::string_view address) {
    std::string_view a = trim(address);
    if (!a.empty() && a.front() == '<') {
        if (a.back() != '>') return Error{"unbalanced angle brackets in address " + quote(address)};
        a = trim(a.substr(1, a.size() - 2));
    }
    if (a.empty()) return Error{"empty address (the null path <>)"};
    if (a.size() > max_address_bytes) return Error{"address longer than 320 octets: " + quote(a)};
    const std::size_t at = a.rfind('@');
    if (at == std::string_view::npos) return Error{"no '@' in address " + quote(a)};
    const std::string_view local = a.substr(0, at);
    if (local.empty()) return Error{"empty local part in address " + quote(a)};
    if (local.size() > max_local_part_bytes) return Error{"local part longer than 64 octets in " + quote(a)};

    const bool quoted = local.size() >= 2 && local.front() == '"' && local.back() == '"';
    std::string out;
    out.reserve(a.size());
    for (std::size_t i = 0; i < local.size(); ++i) {
        const char c = local[i];
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) return Error{"control character in address " + quote(a)};
        if (!quoted) {
            static constexpr std::string_view specials = " ()<>[]:;@\\,\"";
            if (specials.find(c) != std::string_view::npos)
                return Error{"invalid character '" + std::string(1, c) + "' in local part of " + quote(a)};
            if (c == '.' && (i == 0 || i + 1 == local.size() || local[i + 1] == '.'))
                return Error{"misplaced '.' in local part of " + quote(a)};
        }
        out += lower(c);
    }
    auto dom = normalize_domain(a.substr(at + 1));
    if (!dom) return Error{dom.error().message + " (address " + quote(a) + ")"};
    out += '@';
    out += *dom;
    return out;
}

std::string_view domain_of(std::string_view address) noexcept {
    const std::size_t at = address.rfind('@');
    return at == std::string_view::npos ? std::string_view{} : address.substr(at + 1);
}

}  // namespace bg
