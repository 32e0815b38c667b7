// bounce_parser.hpp - a raw RFC 5322 message (a bounce, a delay or success notice, an ARF
// feedback report, an auto-reply, or anything else) -> zero or more per-recipient records, each
// classified by the same core as a reply seen anywhere else (parse_reply + classify).
// Shapes: RFC 3464 multipart/report DSNs (and DSN fields pasted into text bodies), RFC 5965 ARF
// reports, RFC 3834 auto-replies, and the plain-text bounces of Exim, qmail, Sendmail, Exchange,
// Lotus Notes, Gmail, Yahoo and others, read by a few general heuristics (dsn/text_bounce.hpp).
// SECURITY: the whole message is untrusted. Every input is bounded by BounceLimits (size, MIME
// depth and part count, recipients, field and diagnostic lengths); past a bound the result is
// partial and says so (truncated + warnings), never an unbounded allocation or recursion.
// RFC 5322, RFC 2045-2047 (through GMime 3), RFC 3464, RFC 3463, RFC 5965, RFC 3834.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "classify/rule_set.hpp"
#include "classify/verdict.hpp"
#include "smtp/reply.hpp"
#include "util/result.hpp"

namespace bg {

struct BounceLimits {
    std::size_t max_message_bytes = 16 * 1024 * 1024;  // input past this is cut (truncated)
    std::size_t max_mime_depth = 32;                    // nesting of multiparts / message parts
    std::size_t max_mime_parts = 256;                   // multipart declarations handed to GMime
    std::size_t max_recipients = 1000;                  // records per message
    std::size_t max_text_bytes = 256 * 1024;            // text scanned by the heuristics
    std::size_t max_field_bytes = 4096;                 // one DSN/ARF field or header value
    std::size_t max_diagnostic_bytes = 4096;            // one record's diagnostic text
};

// What the message as a whole turned out to be.
enum class BounceKind { Dsn, TextBounce, Feedback, AutoReply, NotBounce };
std::string_view to_string(BounceKind kind) noexcept;  // "dsn", "text", "feedback", "auto_reply", "not_bounce"

// Headers of the returned original message (message/rfc822 or text/rfc822-headers part, or the
// copy pasted under a plain-text bounce). All values are decoded (RFC 2047) UTF-8.
struct OriginalMessage {
    std::string message_id;  // without the angle brackets
    std::string from;
    std::string to;
    std::string subject;
    std::string token;       // X-Bounceguard-Token, extracted as it is (verified elsewhere)

    bool operator==(const OriginalMessage&) const = default;
};

struct BounceRecord {
    std::string recipient;           // Final-Recipient (addr-spec), or as the text names it
    std::string original_recipient;  // Original-Recipient, or the ARF Original-Rcpt-To
    std::string action;              // failed, delayed, delivered, relayed, expanded (lower case), or ""
    std::string status;              // the DSN Status field as given ("5.1.1"), or ""
    std::string diagnostic;          // the diagnostic text (unfolded), or ""
    SmtpStage stage = SmtpStage::Unknown;  // from the text, the DSN or the X-Postfix fields
    std::string remote_mta;          // Remote-MTA, or the host the text names
    std::string reporting_mta;       // Reporting-MTA
    std::string arrival_date;        // Arrival-Date (as written)
    std::string last_attempt_date;   // Last-Attempt-Date (as written)
    std::string feedback_type;       // ARF Feedback-Type (abuse, fraud, ...), or ""

    // Filled by classify_bounce(): the reply as the classifier saw it, and its verdict.
    SmtpReply reply;
    Verdict verdict;
};

struct ParsedBounce {
    BounceKind kind = BounceKind::NotBounce;
    std::vector<BounceRecord> records;  // empty for NotBounce
    OriginalMessage original;
    std::string subject;                // of the bounce itself
    std::string from;                   // of the bounce itself
    std::string explanation;            // DSN: the human-readable part (clipped), "" otherwise
    bool truncated = false;             // some limit was hit: the result is partial
    std::vector<std::string> warnings;  // what was cut, in words a postmaster understands
};

// Parses one message. Errors only for input that is not a message at all (empty, or nothing a
// MIME parser can read); anything else gives a result, possibly NotBounce or partial.
Result<ParsedBounce> parse_bounce(std::string_view raw, const BounceLimits& limits = {});

// Classifies every record: parse_reply on the diagnostic, completed from the record (DSN Status
// when the text has no status, the stage, the remote MTA), then classify(). Feedback reports,
// auto-replies, delivered/relayed/expanded actions and delays get their own verdicts.
// The verdicts point into `rules`, which must outlive `bounce`.
void classify_bounce(ParsedBounce& bounce, const RuleSet& rules);

}  // namespace bg
