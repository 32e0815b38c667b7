// reply.hpp - an SMTP reply as it appears in the wild, parsed into code, enhanced status, text
// and stage. Accepts multi-line replies ("550-5.1.1 ..." / "550 5.1.1 ..."), the prefixes that
// MTAs and bounce writers put in front ("host mx[192.0.2.1] said:", "Remote host said:",
// "[Return Code 550] sid: ... ::", "The error that the other server returned was:",
// "Diagnostic-Code: smtp;"), doubled and spaced codes, and the stage phrases
// ("(in reply to RCPT TO command)", Exim's "after RCPT TO:<...>", Sendmail's ">>> RCPT To:").
// SECURITY: input is untrusted: it is clipped to max_bytes, control bytes become spaces, and the
// scanner is linear in the input. RFC 5321 section 4.2, RFC 3463, RFC 3464 (Diagnostic-Code).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "smtp/enhanced_status.hpp"
#include "util/result.hpp"

namespace bg {

enum class SmtpStage { Unknown, Connect, Helo, Mail, Rcpt, Data };

std::string_view to_string(SmtpStage stage) noexcept;  // "unknown", "connect", ..., "data"
// "rcpt", "RCPT TO", "rcpt to", "mail", "MAIL FROM", "data", "end of data", "helo", "ehlo",
// "connect", "unknown" => stage; anything else => nullopt.
std::optional<SmtpStage> parse_stage(std::string_view name) noexcept;

struct SmtpReply {
    int code = 0;                          // basic reply code (550), 0 when the text has none
    std::optional<EnhancedStatus> status;  // RFC 3463 status, when present
    std::string text;                      // the human text, codes and line prefixes removed
    SmtpStage stage = SmtpStage::Unknown;  // the command it answered, when known
    std::string remote_host;               // "mx.example.com[192.0.2.1]" when a prefix names it
    bool truncated = false;                // the input was longer than the cap and was clipped

    bool operator==(const SmtpReply&) const = default;
};

// Default cap on the bytes of one reply that are looked at; the rest is ignored (truncated=true).
constexpr std::size_t max_reply_bytes = 16 * 1024;

// "host mx.example.com[192.0.2.1] said: 550-5.1.1 No such user 550 5.1.1 (in reply to RCPT TO
// command)" => {550, 5.1.1, "No such user", Rcpt, "mx.example.com[192.0.2.1]"}.
// An empty (or all white space) reply is an error; anything else parses, possibly with code 0.
Result<SmtpReply> parse_reply(std::string_view raw, std::size_t max_bytes = max_reply_bytes);

}  // namespace bg
