// classifier.hpp - the pure function at the heart of bounceguard: SMTP reply -> Verdict.
// No I/O, no clock, no logging: the CLI, the daemons, the corpus tests and the fuzzer all get
// the same answer for the same reply.
//
// Order of evidence (shared/docs/DESIGN.md): the first rule that fires decides, and the shipped
// rules put known wordings before enhanced status codes before basic codes. Then the SMTP stage
// and the code class may weaken the rule's verdict, never strengthen it:
//   - a recipient verdict for a reply to MAIL FROM is about our sender address: sender_rejected;
//   - a recipient verdict at CONNECT/HELO (before any recipient was named): unknown, except
//     domain_unknown at CONNECT (a host that accepts no mail at all, RFC 7504 521);
//   - a hard verdict for a reply after DATA, or with a 4xx code, becomes soft.
#pragma once

#include <string_view>

#include "classify/rule_set.hpp"
#include "classify/verdict.hpp"
#include "smtp/reply.hpp"

namespace bg {

Verdict classify(const SmtpReply& reply, const RuleSet& rules);

}  // namespace bg
