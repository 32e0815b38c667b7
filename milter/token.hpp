// token.hpp - the outbound token: a header the milter adds to outbound mail, which comes back
// inside a remote bounce's copy of the original and proves that the bounce refers to mail this
// site really sent to that recipient. Forged DSNs (anyone can mail one claiming that a customer's
// address does not exist) carry no valid token and suppress no one.
//
//   X-Bounceguard-Token: v1 t=1764100000 m=0123456789abcdef r=89abcdef,01234567,...
//
//   t  the signing time (seconds since the epoch): tokens older than milter.token_max_age, or
//      dated in the future, are refused, which bounds replays;
//   m  HMAC-SHA256(key, "bg1|t|message-id|n"), 16 hex digits (64 bits): proves the header was
//      made here for this Message-ID and this number n of recipient tags (or "*");
//   r  one tag per recipient, HMAC-SHA256(key, "bg1r|t|message-id|recipient"), 8 hex digits
//      (32 bits), sorted so that their order tells nothing. A bounce counts for recipient R only
//      when R's tag is in the list: a recipient of a message cannot use its token to "bounce" an
//      address the message was not sent to.
//
// Trade-offs (also in INSTALL.md):
//   - Size: about 9 bytes per recipient. Past milter.token_max_recipients the r list is left out
//     ("r=*") and the token proves the message only; a recipient of such a message could then
//     forge bounces for any address until the token expires. Keep the limit above the size of
//     the site's usual recipient lists. The parser reads a header value up to 4096 bytes, which
//     is why the limit stops at 400.
//   - Privacy: tags are keyed hashes; they reveal how many recipients the message had, not who.
//   - A recipient of a message that names its co-recipients (To, Cc) can forge a bounce for them
//     within token_max_age: the token binds the envelope, not who may return it. A forged bounce
//     still passes the classifier and the thresholds (soft categories need several events).
//   - Remote MTAs that return neither the original nor its headers make bounces unverifiable;
//     those are logged and counted (milter.unverified_bounces = "log").
// SECURITY: the token and the Message-ID it is checked against come from the network (inside a
// bounce); parsing is bounded and comparisons are constant-time over fixed-size tags.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "store/records.hpp"
#include "util/result.hpp"

namespace bg::milter {

inline constexpr std::string_view token_header = "X-Bounceguard-Token";
inline constexpr std::size_t min_token_key_bytes = 16;

// Reads the key file (its whole content, trailing white space removed); at least 16 bytes.
Result<std::string> read_token_key(const std::string& path);

// The header value for a message (recipients normalised; duplicates are tagged once). Folded
// ("\n\t") every few tags so that no line gets near the 998-byte limit of RFC 5322.
std::string make_token(std::string_view key, UnixTime now, std::string_view message_id,
                       const std::vector<std::string>& recipients, std::size_t max_recipients);

enum class TokenCheck {
    Valid,         // made here, for this message, and (if tagged) for this recipient
    MessageOnly,   // made here for this message; the recipients were not tagged ("r=*")
    Missing,       // no token
    Malformed,     // not a token we could have made
    BadSignature,  // m does not match (forged, another key, or another Message-ID)
    Expired,       // older than max_age, or dated in the future
    NotRecipient,  // valid for the message, but the recipient was not one it was sent to
};
std::string_view to_string(TokenCheck c) noexcept;  // "valid", "message_only", ...
inline bool is_verified(TokenCheck c) noexcept { return c == TokenCheck::Valid || c == TokenCheck::MessageOnly; }

// Checks a returned token (as the bounce parser extracted it) for one bounced recipient
// (normalised). `message_id` is the returned original's, without angle brackets.
TokenCheck check_token(std::string_view key, std::string_view token, std::string_view message_id,
                       std::string_view recipient, UnixTime now, std::int64_t max_age) noexcept;

}  // namespace bg::milter
