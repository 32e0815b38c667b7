// csv.cpp - see csv.hpp.
#include "csv.hpp"

namespace bg::cli {

bool CsvReader::next(std::vector<std::string>& fields) {
    fields.clear();
    error_.clear();
    std::streambuf* sb = in_.rdbuf();
    if (!sb) return false;
    using Traits = std::char_traits<char>;
    if (!started_) {
        started_ = true;
        if (sb->sgetc() == 0xEF) {  // UTF-8 BOM
            const char bom[3] = {'\xEF', '\xBB', '\xBF'};
            char got[3];
            const auto n = sb->sgetn(got, 3);
            if (n != 3 || got[0] != bom[0] || got[1] != bom[1] || got[2] != bom[2])
                for (auto k = n; k > 0; --k) sb->sungetc();
        }
    }
    if (Traits::eq_int_type(sb->sgetc(), Traits::eof())) return false;
    line_ = next_line_;
    std::string field;
    std::size_t bytes = 0;
    bool quoted = false, was_quoted = false, broken = false, at_eof = false;
    for (;;) {
        const auto ci = sb->sbumpc();
        if (Traits::eq_int_type(ci, Traits::eof())) {
            if (quoted) {
                error_ = "a quoted field is not closed before the end of the input";
                fields.clear();
                return true;
            }
            at_eof = true;
            break;
        }
        const char c = Traits::to_char_type(ci);
        if (c == '\n') ++next_line_;
        if (++bytes > max_record_bytes_ && !broken) {
            broken = true;
            error_ = "record longer than " + std::to_string(max_record_bytes_) + " bytes";
        }
        if (quoted) {
            if (c == '"') {
                if (Traits::eq_int_type(sb->sgetc(), Traits::to_int_type('"'))) {
                    sb->sbumpc();
                    if (!broken) field.push_back('"');
                } else {
                    quoted = false;
                }
            } else if (!broken) {
                field.push_back(c);
            }
            continue;
        }
        if (c == '"' && field.empty() && !was_quoted) {
            quoted = was_quoted = true;
            continue;
        }
        if (c == ',' || c == '\n') {
            if (!broken) {
                if (c == '\n' && !was_quoted && !field.empty() && field.back() == '\r') field.pop_back();
                fields.push_back(std::move(field));
                if (fields.size() > max_fields_) {
                    broken = true;
                    error_ = "more than " + std::to_string(max_fields_) + " fields";
                }
            }
            field.clear();
            was_quoted = false;
            if (c == '\n') break;
            continue;
        }
        if (c == '\r' && was_quoted) continue;  // "...",CRLF
        if (!broken) field.push_back(c);
    }
    if (at_eof && !broken && (!field.empty() || was_quoted || !fields.empty())) {
        if (!field.empty() && field.back() == '\r' && !was_quoted) field.pop_back();
        fields.push_back(std::move(field));
    }
    if (broken) fields.clear();
    return true;
}

std::string csv_field(std::string_view v) {
    bool quote = !v.empty() && (v.front() == ' ' || v.back() == ' ');
    for (char c : v) quote = quote || c == ',' || c == '"' || c == '\r' || c == '\n';
    if (!quote) return std::string(v);
    std::string out = "\"";
    for (char c : v) {
        if (c == '"') out.push_back('"');
        out.push_back(c);
    }
    out.push_back('"');
    return out;
}

}  // namespace bg::cli
