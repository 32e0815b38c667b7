// handler.cpp - see handler.hpp.
#include "handler.hpp"

#include "util/text.hpp"

namespace bg::policyd {

namespace {

// The reply as one action line: no CR, LF or NUL can end it early.
std::string one_line(std::string_view reply) {
    std::string out(reply);
    for (char& c : out)
        if (c == '\r' || c == '\n' || c == '\0') c = ' ';
    return out;
}

}  // namespace

Decision decide(const PolicyRequest& rq, const Enforcer& enforcer, SuppressionStore* store,
                std::string_view unavailable, UnixTime now, spdlog::level::level_enum log_level) {
    Decision d;
    d.action = "DUNNO";
    // Only RCPT TO is ours; Postfix also asks at CONNECT, HELO, MAIL, DATA, END-OF-MESSAGE, ...
    if (rq.request != "smtpd_access_policy" || !text::iequals(rq.protocol_state, "RCPT") || rq.recipient.empty())
        return d;
    const RcptRequest rcpt{.recipient = rq.recipient,
                           .sender = rq.sender,
                           .client_address = rq.client_address,
                           .sasl_username = rq.sasl_username,
                           .policy_context = rq.policy_context,
                           .daemon_name = {}};
    const EnforceResult r = store ? enforcer.check(*store, rcpt, now) : enforcer.unavailable(rcpt, unavailable);
    d.verdict = r.verdict;
    d.store_error = r.lookup == LookupStatus::TempError;
    switch (r.verdict) {
        case EnforceVerdict::Reject:
        case EnforceVerdict::Defer:
            d.action = one_line(r.reply);
            d.level = spdlog::level::info;
            break;
        case EnforceVerdict::Tempfail:
            d.action = one_line(r.reply);
            d.level = spdlog::level::warn;
            break;
        case EnforceVerdict::Warn:
            d.action = "WARN bounceguard would refuse: " + one_line(r.reply);
            d.level = spdlog::level::info;
            break;
        case EnforceVerdict::Pass:
            if (d.store_error) d.level = spdlog::level::warn;  // "continue": the mail passes unchecked
            else if (log_level <= spdlog::level::debug) d.level = spdlog::level::debug;
            break;
    }
    if (d.level != spdlog::level::off && d.level >= log_level) d.log = Enforcer::describe(rcpt, r);
    return d;
}

}  // namespace bg::policyd
