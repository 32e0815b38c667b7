// text_bounce.hpp - a few general heuristics for the human-readable text of a bounce, so that
// the many non-standard shapes (Exim, qmail, Sendmail transcripts, Exchange, Lotus Notes, Gmail,
// Yahoo, Japanese carriers, ...) are read by rules about text, not by one parser per MTA:
//   - the text ends where the copy of the returned message starts ("---- This is a copy of the
//     message", "Below this line is a copy", "Original message follows", a "Received:" line...);
//   - a recipient is introduced by a line that starts with an address ("<a@b>:", "a@b",
//     "a@b on <date>", "* a@b", "Recipient: <a@b>"), by a transcript line ("550 <a@b>... reason"),
//     or by a phrase ending in an address ("... delivering your mail to <a@b>", "RCPT TO:<a@b>");
//   - its diagnostic is the text that follows, up to the next recipient or the end of the
//     paragraph (labels such as "Reason:" or "----- Non-delivered information -----" do not end
//     it); a recipient without a reply code borrows the transcript line that names it, or, when
//     it is the only one, the first reply line of the text.
// SECURITY: untrusted text; the caller caps its size, lines are scanned linearly, and records,
// diagnostics and lines per diagnostic are capped.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "dsn/bounce_parser.hpp"

namespace bg::dsn {

// The text before the copy of the returned message (the whole text when there is none).
std::string_view cut_returned_message(std::string_view text) noexcept;

// Recipients with their diagnostics, in the order the text names them (duplicates merged).
std::vector<BounceRecord> scan_text_bounce(std::string_view text, const BounceLimits& limits);

// DSN fields pasted into a text body (Final-Recipient:, Action:, Status:, Diagnostic-Code: ...),
// as a message/delivery-status body with only those lines, or "" when there are none.
std::string embedded_dsn_fields(std::string_view text, std::size_t max_bytes);

// True when the text carries wording only bounces carry ("could not be delivered", "permanent
// error", "Delivery to the following recipient failed", ...).
bool has_bounce_wording(std::string_view text) noexcept;

// True when the text says delivery is only delayed and still being retried ("THIS IS A WARNING
// MESSAGE ONLY", "has not yet been delivered", "will be retried").
bool has_delay_wording(std::string_view text) noexcept;

// The stage a bounce writer names in words, when parse_reply found none ("does not like
// recipient" => Rcpt, "failed after I sent the message" => Data, "[MAIL_FROM]" => Mail).
SmtpStage stage_from_wording(std::string_view diagnostic) noexcept;

// The first address (addr-spec) in s, or "".
std::string first_address(std::string_view s);

// True when s contains a failure reply code (4xx, 5xx) at a word boundary, followed by more
// text: "550 ", "ERROR_CODE :550,", "<<< 421-". A lone "222" or "255" is not one.
bool has_reply_code(std::string_view s) noexcept;
// The first such code in s, or 0 ("550: <a@b>: User unknown" => 550).
int first_reply_code(std::string_view s) noexcept;
// The reply code a line starts with (after an optional "<<< "), or 0.
int leading_reply_code(std::string_view s) noexcept;

}  // namespace bg::dsn
