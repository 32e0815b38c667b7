// address.hpp - normalise a mailbox ("<Joe@Exämple.COM>") to the form the suppression store keys
// on ("joe@xn--exmple-cua.com"), so that one recipient is one key whatever its spelling.
// SECURITY: the input comes from DSNs, maillog lines and SMTP commands (untrusted): bounded
//   (RFC 5321 4.5.3.1: local part <= 64 octets, domain <= 255, path <= 256), no control bytes.
// RFCs: 5321 (mailbox syntax and sizes), 5890/5891 (IDNA2008, via libidn2), 6531 (UTF-8 local parts).
//
// What we do:
//   - strip surrounding whitespace and one pair of angle brackets; a trailing dot on the domain goes;
//   - the domain is lower-cased, and a non-ASCII domain is converted to its A-label form
//     (idn2_to_ascii_8z, IDNA2008 non-transitional with NFC; UTS #46 transitional as fallback);
//   - the LOCAL PART IS LOWER-CASED TOO (ASCII letters only; UTF-8 bytes are kept as they are).
//     RFC 5321 2.4 allows a host to treat "Joe" and "joe" as different mailboxes, but practically
//     every provider treats them as one, and keeping the case would let "Joe@x" escape the
//     suppression of "joe@x" that a bounce recorded. LIMITATION: on the rare host with
//     case-sensitive mailboxes, suppressing one spelling suppresses the others too.
//   - "+tag" sub-addresses and dots are NOT folded: their meaning is the receiving host's.
//   - address literals ("[192.0.2.1]", "[IPv6:...]") are kept (lower-cased).
//   - rejected with an Error: empty (the null path "<>"), no '@', empty local part or domain,
//     over-long parts, spaces or control bytes outside a quoted local part, bad domain labels.
#pragma once

#include <string>
#include <string_view>

#include "util/result.hpp"

namespace bg {

inline constexpr std::size_t max_local_part_bytes = 64;
inline constexpr std::size_t max_domain_bytes = 255;
inline constexpr std::size_t max_address_bytes = 320;  // local + '@' + domain, before brackets

// "<Joe@Example.COM>" -> "joe@example.com"; an Error that names the problem otherwise.
Result<std::string> normalize_address(std::string_view address);

// "Exämple.COM." -> "xn--exmple-cua.com"; the domain rules of normalize_address.
Result<std::string> normalize_domain(std::string_view domain);

// The part after the last '@' of a normalised address ("" when there is none).
std::string_view domain_of(std::string_view address) noexcept;

}  // namespace bg
