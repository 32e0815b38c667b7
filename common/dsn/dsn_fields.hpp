// dsn_fields.hpp - the field blocks of RFC 3464 message/delivery-status and RFC 5965
// message/feedback-report bodies ("Name: value" lines, folded continuation lines, blocks
// separated by blank lines), and the records they describe.
// SECURITY: untrusted text; field values are capped, the field and record counts are capped,
// and the scan is one linear pass.
// RFC 3464 sections 2.2-2.3, RFC 6533 (global DSN), RFC 5965 section 3.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "dsn/bounce_parser.hpp"

namespace bg::dsn {

struct Field {
    std::string name;   // as written ("Final-Recipient")
    std::string value;  // unfolded and trimmed: "rfc822; a@example.org"
};
using FieldBlock = std::vector<Field>;

// "A: 1\n  2\nB: 3\n\nC: 4" => {{A:"1 2", B:"3"}, {C:"4"}}. Lines that are not fields are
// skipped; a leading "> " quote on every line is tolerated. At most max_fields fields in all.
std::vector<FieldBlock> parse_field_blocks(std::string_view text, std::size_t max_field_bytes,
                                           std::size_t max_fields);

// The first field of that name (ASCII case-insensitive), or "".
std::string_view field_value(const FieldBlock& block, std::string_view name) noexcept;

// "rfc822; <Kijitora@Example.org>" => "Kijitora@Example.org"; "dns; mx.example.org" => "mx.example.org".
std::string strip_type(std::string_view value);
// The addr-spec of an address field value: type prefix, comments, angle brackets and quotes removed.
std::string address_of(std::string_view value);

struct DsnReport {
    std::vector<BounceRecord> records;  // one per recipient block
    bool truncated = false;             // more than max_recipients blocks
};

// A message/delivery-status body. Message-level fields (Reporting-MTA, Arrival-Date) are copied
// into every record. A block with several Final-Recipient fields is split at each of them.
DsnReport parse_delivery_status(std::string_view body, const BounceLimits& limits);

// A message/feedback-report body: one record per Original-Rcpt-To (none when it has none; the
// caller then takes the recipient from the returned message).
DsnReport parse_feedback_report(std::string_view body, const BounceLimits& limits);

}  // namespace bg::dsn
