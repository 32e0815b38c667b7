// handler.hpp - one policy request to one answer: Postfix's "action=..." for a request, using
// the shared RCPT TO decision (enforce/enforcer.hpp). No sockets here, so tests drive it directly.
//   - protocol_state=RCPT of a "smtpd_access_policy" request: the Enforcer decides; Reject, Defer
//     and Tempfail answer with the reply ("550 5.1.1 ..."; Postfix prefixes "<rcpt>: Recipient
//     address rejected: "), Warn answers "WARN ..." (Postfix logs it and goes on), Pass "DUNNO";
//   - every other state, request type, or a request without a recipient: "DUNNO";
//   - a store that cannot answer: the Enforcer's failure mode ("DUNNO", or the 4xx tempfail
//     reply), never a 5xx.
// SECURITY: the request's values are untrusted; the answer is a single line (no CR/LF can reach
// it) and what is logged passes through the Enforcer's describe() (printable, clipped).
#pragma once

#include <string>
#include <string_view>

#include <spdlog/common.h>

#include "enforce/enforcer.hpp"
#include "policy_request.hpp"

namespace bg::policyd {

struct Decision {
    std::string action;                  // after "action=": "DUNNO", "550 5.1.1 ...", "WARN ..."
    EnforceVerdict verdict = EnforceVerdict::Pass;
    bool store_error = false;            // the store could not answer (the caller rate-limits the log)
    spdlog::level::level_enum level = spdlog::level::off;  // how to log `log` (off: nothing to log)
    std::string log;                     // made only when `level` reaches the caller's log level
};

// `store` may be null: the store could not be opened, for `unavailable` (a reason for the log).
// `log_level`: the logger's level; the log line is only formatted for a decision at that level or
// above (at debug, passed recipients are described too), so a quiet logger costs nothing.
Decision decide(const PolicyRequest& request, const Enforcer& enforcer, SuppressionStore* store,
                std::string_view unavailable, UnixTime now, spdlog::level::level_enum log_level);

}  // namespace bg::policyd
