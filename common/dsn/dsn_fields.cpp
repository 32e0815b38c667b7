// dsn_fields.cpp - see dsn_fields.hpp.
#include "dsn/dsn_fields.hpp"

#include "util/text.hpp"

namespace bg::dsn {

namespace {

bool is_field_name_char(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || text::is_digit(c) || c == '-' || c == '_';
}

// "Name: value" => name length (up to the colon), or 0.
std::size_t field_name_length(std::string_view line) noexcept {
    std::size_t i = 0;
    while (i < line.size() && i < 64 && is_field_name_char(line[i])) ++i;
    if (i == 0 || i >= line.size() || line[i] != ':') return 0;
    return i;
}

void append_clipped(std::string& to, std::string_view s, std::size_t max) {
    if (to.size() >= max) return;
    to.append(text::clip(s, max - to.size()));
}

std::string lower_token(std::string_view v) {
    v = text::trim(v);
    std::size_t e = 0;
    while (e < v.size() && !text::is_space(v[e]) && v[e] != '(' && v[e] != ';') ++e;
    return text::to_lower(v.substr(0, e));
}

bool is_name(const Field& f, std::string_view name) noexcept { return text::iequals(f.name, name); }

}  // namespace

std::vector<FieldBlock> parse_field_blocks(std::string_view text, std::size_t max_field_bytes,
                                           std::size_t max_fields) {
    std::vector<FieldBlock> blocks;
    FieldBlock current;
    std::size_t fields = 0;
    bool in_field = false;
    auto end_block = [&] {
        if (!current.empty()) blocks.push_back(std::move(current));
        current.clear();
        in_field = false;
    };
    std::size_t pos = 0;
    while (pos <= text.size() && fields < max_fields) {
        std::size_t nl = text::find_eol(text, pos);
        if (nl == std::string_view::npos) nl = text.size();
        std::string_view line = text.substr(pos, nl - pos);
        pos = nl + 1;
        if (nl < text.size() && text[nl] == '\r' && nl + 1 < text.size() && text[nl + 1] == '\n') ++pos;
        // A quoted (forwarded) report: "> Final-Recipient: ...".
        if (!line.empty() && line.front() == '>') {
            line.remove_prefix(1);
            if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
        }
        if (text::trim(line).empty()) {
            end_block();
            if (nl >= text.size()) break;
            continue;
        }
        if ((line.front() == ' ' || line.front() == '\t') && in_field) {
            std::string& v = current.back().value;
            const auto cont = text::trim(line);
            if (!v.empty()) append_clipped(v, " ", max_field_bytes);
            append_clipped(v, cont, max_field_bytes);
        } else if (const std::size_t n = field_name_length(line)) {
            current.push_back(Field{std::string(line.substr(0, n)), {}});
            append_clipped(current.back().value, text::trim(line.substr(n + 1)), max_field_bytes);
            in_field = true;
            ++fields;
        } else {
            in_field = false;
        }
        if (nl >= text.size()) break;
    }
    end_block();
    return blocks;
}

std::string_view field_value(const FieldBlock& block, std::string_view name) noexcept {
    for (const auto& f : block)
        if (text::iequals(f.name, name)) return f.value;
    return {};
}

std::string strip_type(std::string_view value) {
    value = text::trim(value);
    const auto semi = value.find(';');
    if (semi != std::string_view::npos && semi <= 20) {
        bool type = semi > 0;
        for (std::size_t i = 0; i < semi; ++i)
            if (!is_field_name_char(value[i])) type = false;
        if (type) value = text::trim(value.substr(semi + 1));
    }
    return std::string(value);
}

std::string address_of(std::string_view value) {
    std::string v = strip_type(value);
    std::string_view s = v;
    // "Name <a@b>" or "<a@b>": what is inside the angle brackets.
    if (auto lt = s.find('<'); lt != std::string_view::npos) {
        auto gt = s.find('>', lt);
        if (gt != std::string_view::npos && gt > lt + 1) s = s.substr(lt + 1, gt - lt - 1);
    }
    // "a@b (comment)" and a trailing '.', ',' or ';'.
    if (auto sp = s.find_first_of(" \t("); sp != std::string_view::npos && s.find('@') < sp) s = s.substr(0, sp);
    s = text::trim(s);
    while (!s.empty() && (s.back() == '.' || s.back() == ',' || s.back() == ';' || s.back() == '>')) s.remove_suffix(1);
    while (!s.empty() && (s.front() == '<' || s.front() == '"' || s.front() == '\'')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == '"' || s.back() == '\'')) s.remove_suffix(1);
    return std::string(s);
}

DsnReport parse_delivery_status(std::string_view body, const BounceLimits& limits) {
    DsnReport report;
    const auto blocks = parse_field_blocks(body, limits.max_field_bytes, limits.max_recipients * 16 + 64);
    BounceRecord message_level;
    std::vector<std::vector<const Field*>> recipient_blocks;
    for (const auto& block : blocks) {
        std::vector<const Field*> rb;
        for (const auto& f : block) {
            if (is_name(f, "Reporting-MTA")) {
                message_level.reporting_mta = strip_type(f.value);
            } else if (is_name(f, "Arrival-Date") || is_name(f, "Received-Date")) {
                message_level.arrival_date = f.value;
            } else {
                // Split where a second Final-Recipient starts in one block (broken DSNs).
                if (is_name(f, "Final-Recipient")) {
                    bool has_final = false;
                    for (const Field* g : rb)
                        if (is_name(*g, "Final-Recipient")) has_final = true;
                    if (has_final) {
                        recipient_blocks.push_back(std::move(rb));
                        rb.clear();
                    }
                }
                rb.push_back(&f);
            }
        }
        bool is_recipient = false;
        for (const Field* g : rb)
            if (is_name(*g, "Final-Recipient") || is_name(*g, "Original-Recipient")) is_recipient = true;
        if (is_recipient) recipient_blocks.push_back(std::move(rb));
    }
    for (const auto& rb : recipient_blocks) {
        if (report.records.size() >= limits.max_recipients) {
            report.truncated = true;
            break;
        }
        BounceRecord r;
        r.reporting_mta = message_level.reporting_mta;
        r.arrival_date = message_level.arrival_date;
        for (const Field* f : rb) {
            if (is_name(*f, "Final-Recipient")) r.recipient = address_of(f->value);
            else if (is_name(*f, "Original-Recipient")) r.original_recipient = address_of(f->value);
            else if (is_name(*f, "Action")) r.action = lower_token(f->value);
            else if (is_name(*f, "Status")) r.status = lower_token(f->value);
            else if (is_name(*f, "Diagnostic-Code") && r.diagnostic.empty()) {
                r.diagnostic = std::string(text::clip(strip_type(f->value), limits.max_diagnostic_bytes));
            } else if (is_name(*f, "Remote-MTA")) r.remote_mta = strip_type(f->value);
            else if (is_name(*f, "Last-Attempt-Date")) r.last_attempt_date = f->value;
            else if (is_name(*f, "Reporting-MTA")) r.reporting_mta = strip_type(f->value);
        }
        if (r.recipient.empty()) r.recipient = r.original_recipient;
        report.records.push_back(std::move(r));
    }
    return report;
}

DsnReport parse_feedback_report(std::string_view body, const BounceLimits& limits) {
    DsnReport report;
    const auto blocks = parse_field_blocks(body, limits.max_field_bytes, limits.max_recipients + 256);
    BounceRecord base;
    std::vector<std::string> rcpts;
    for (const auto& block : blocks) {
        for (const auto& f : block) {
            if (is_name(f, "Feedback-Type")) base.feedback_type = lower_token(f.value);
            else if (is_name(f, "Reporting-MTA")) base.reporting_mta = strip_type(f.value);
            else if (is_name(f, "Arrival-Date") || is_name(f, "Received-Date")) base.arrival_date = f.value;
            else if (is_name(f, "Original-Rcpt-To") || is_name(f, "Removal-Recipient")) rcpts.push_back(address_of(f.value));
        }
    }
    if (base.feedback_type.empty()) base.feedback_type = "abuse";
    for (auto& a : rcpts) {
        if (a.empty()) continue;
        if (report.records.size() >= limits.max_recipients) {
            report.truncated = true;
            break;
        }
        BounceRecord r = base;
        r.recipient = a;
        r.original_recipient = a;
        report.records.push_back(std::move(r));
    }
    if (report.records.empty()) report.records.push_back(std::move(base));
    return report;
}

}  // namespace bg::dsn
