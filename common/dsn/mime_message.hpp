// mime_message.hpp - the parts of a message a bounce parser needs, read through GMime 3 and
// copied out as plain UTF-8 strings: top-level headers, the human-readable text, the
// message/delivery-status and message/feedback-report bodies, and the returned message's headers.
// SECURITY: the input is untrusted. The caller caps its size; here the MIME walk is bounded in
// depth and part count, every kept string is capped, and GMime objects are owned by RAII handles.
// RFC 2045-2047 (GMime), RFC 3462 multipart/report, RFC 3464, RFC 5965, RFC 6532.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dsn/bounce_parser.hpp"
#include "util/result.hpp"

namespace bg::dsn {

using HeaderList = std::vector<std::pair<std::string, std::string>>;  // name, decoded value

struct MimeContent {
    HeaderList headers;                        // the top-level headers the parser uses (From, Subject, Auto-Submitted...)
    std::string content_type;                  // "multipart/report" (lower case)
    std::string report_type;                   // the report-type parameter, lower case
    std::vector<std::string> delivery_status;  // message/(global-)delivery-status bodies
    std::vector<std::string> feedback;         // message/feedback-report bodies
    std::vector<std::string> texts;            // text/plain (or stripped text/html) outside the returned message
    OriginalMessage original;                  // headers of the returned message
    bool has_original = false;
    std::vector<std::string> original_texts;   // text/plain of a returned text/rfc822-headers part
    bool has_headers = false;                  // the message has at least one header field
    bool truncated = false;
    std::vector<std::string> warnings;

    // First header with that name (ASCII case-insensitive), or "".
    std::string_view header(std::string_view name) const noexcept;
};

// Reads a message whose line ends are already LF. Error when GMime cannot make a message of it.
Result<MimeContent> read_mime(std::string_view message, const BounceLimits& limits);

// The headers of a header block given as text (a text/rfc822-headers part, or the copy of the
// original message pasted into a plain-text bounce), decoded by GMime.
OriginalMessage read_original_headers(std::string_view header_text, const BounceLimits& limits);

}  // namespace bg::dsn
