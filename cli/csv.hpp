// csv.hpp - RFC 4180 comma-separated values, as the suppression exports of hosted senders and
// spreadsheets write them: fields separated by ',', optionally quoted with '"' (a quote inside is
// doubled), records ended by CRLF or LF, a quoted field may span lines. A UTF-8 byte order mark
// at the start is skipped (spreadsheet exports have one).
// SECURITY: the input is a file from elsewhere: records and fields are capped; a record past a
// cap is skipped whole and reported, never truncated into a different value.
#pragma once

#include <cstddef>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

namespace bg::cli {

class CsvReader {
public:
    explicit CsvReader(std::istream& in, std::size_t max_record_bytes = 64 * 1024, std::size_t max_fields = 256)
        : in_(in), max_record_bytes_(max_record_bytes), max_fields_(max_fields) {}

    // The next record into `fields`; false at the end of the input. A record that breaks a cap or
    // ends inside quotes comes back with error() set (and `fields` empty): report it and go on.
    bool next(std::vector<std::string>& fields);
    long line() const noexcept { return line_; }  // first line of the record last returned
    const std::string& error() const noexcept { return error_; }

private:
    std::istream& in_;
    std::size_t max_record_bytes_, max_fields_;
    long line_ = 0;
    long next_line_ = 1;
    bool started_ = false;
    std::string error_;
};

// One field as CSV writes it: quoted when it holds a comma, a quote, CR, LF or edge spaces.
std::string csv_field(std::string_view value);

}  // namespace bg::cli
