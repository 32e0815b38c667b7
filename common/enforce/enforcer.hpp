// enforcer.hpp - the one decision both front doors make at RCPT TO: is this mail outbound (subject
// to enforcement), is the recipient suppressed, and what does the MTA answer. Shared by
// bounceguard-policyd (an "action=" line) and bounceguard-milter (smfi_setreply / smfi_delrcpt),
// so that the same request gets the same answer whichever door it came through.
//
// What it decides, from [enforce] and [policy] of the configuration:
//   - outbound: enforce.scope = "all", or one of: an authenticated (SASL) client when
//     enforce.sasl_authenticated, a client address in enforce.networks, a policy_context in
//     enforce.policy_contexts, a {daemon_name} in enforce.daemon_names;
//   - the store lookup (address, then "@domain"); a TempError follows enforce.on_store_error:
//     "continue" (pass, the default: fail open) or "tempfail" (the 4xx enforce.tempfail_reply);
//     never a 5xx;
//   - a suppressed recipient gets enforce.action: "reject" (enforce.reject_reply), "defer"
//     (enforce.defer_reply) or "warn" (log only); policy.mode = "observe" makes every refusal a
//     Warn ("would refuse").
// Reply templates are "CODE X.Y.Z text" with {recipient}, {category}, {since}, {expires},
// {status} and {reason} replaced; the code must be 5xx for reject_reply and 4xx for the others
// (checked when the Enforcer is made, so a typo cannot turn a deferral into a bounce).
// SECURITY: every field of a request comes from the network; values substituted into a reply are
// stripped of control bytes and clipped, so a recipient cannot inject reply lines.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "store/suppression_store.hpp"
#include "util/result.hpp"

namespace bg {

struct Config;

// The facts about one RCPT TO that the MTA gives us (empty when unknown).
struct RcptRequest {
    std::string_view recipient;       // as the client wrote it; normalised here
    std::string_view sender;
    std::string_view client_address;  // "192.0.2.1", "2001:db8::1"; "" for local submissions
    std::string_view sasl_username;
    std::string_view policy_context;  // Postfix policy_context attribute
    std::string_view daemon_name;     // milter {daemon_name} macro
};

enum class EnforceVerdict {
    Pass,      // not outbound, not suppressed, malformed recipient, or a store error under "continue"
    Reject,    // refuse the recipient with `reply` (5xx)
    Defer,     // refuse it for now with `reply` (4xx)
    Warn,      // suppressed, but only logged (enforce.action = "warn" or observe mode)
    Tempfail,  // store error under "tempfail": `reply` (4xx)
};
std::string_view to_string(EnforceVerdict v) noexcept;  // "pass", "reject", ...

struct EnforceResult {
    EnforceVerdict verdict = EnforceVerdict::Pass;
    bool outbound = false;
    LookupStatus lookup = LookupStatus::NotFound;  // NotFound when no lookup was made
    Suppression suppression;                       // when lookup == Found
    std::string reply;                             // "550 5.1.1 text" for Reject/Defer/Tempfail
    std::string error;                             // store error, or why the recipient was skipped
};

// A parsed reply template: the SMTP code, the enhanced status (may be empty: then {status} of the
// category is used) and the text with placeholders.
struct ReplyTemplate {
    int code = 0;
    std::string status;
    std::string text;
};
// "550 5.1.1 text" -> template; `want_class` is 4 or 5, the only code class accepted.
Result<ReplyTemplate> parse_reply_template(std::string_view spec, int want_class);

// A network in CIDR notation ("192.0.2.0/24", "2001:db8::/32", "127.0.0.1").
struct Network {
    std::array<std::uint8_t, 16> addr{};
    int prefix = 0;
    bool v6 = false;
};
Result<Network> parse_network(std::string_view cidr);
bool network_contains(const Network& net, std::string_view address) noexcept;

class Enforcer {
public:
    // Validates the [enforce] keys that need more than the key table checks (networks, templates).
    static Result<Enforcer> create(const Config& config);

    bool is_outbound(const RcptRequest& request) const noexcept;
    // The whole decision, including the lookup. Never throws.
    EnforceResult check(SuppressionStore& store, const RcptRequest& request, UnixTime now) const noexcept;
    // What check() answers when the store cannot be asked at all (it could not be opened):
    // the same as a lookup that failed with `error`. Never throws.
    EnforceResult unavailable(const RcptRequest& request, std::string_view error) const noexcept;
    // The reply for a suppression (what check() puts in EnforceResult::reply).
    std::string format_reply(const ReplyTemplate& tpl, std::string_view recipient,
                             const Suppression& s) const;
    // One log line for a Reject/Defer/Warn/Tempfail result: recipient, sender, client, reason.
    static std::string describe(const RcptRequest& request, const EnforceResult& result);

private:
    Enforcer() = default;
    // Fills r for a store error under enforce.on_store_error.
    void store_error(EnforceResult& r, std::string error) const;
    bool all_ = false;
    bool sasl_ = true;
    bool observe_ = false;
    bool tempfail_on_error_ = false;
    enum class Action { Reject, Defer, Warn } action_ = Action::Reject;
    std::vector<Network> networks_;
    std::vector<std::string> contexts_;
    std::vector<std::string> daemon_names_;
    ReplyTemplate reject_, defer_, tempfail_;
};

// The enhanced status a refusal for this category reports ("5.1.1" user unknown, "5.1.2" domain,
// "5.1.6" moved, "5.2.1" disabled, "5.2.2" full, "5.7.1" complaint); class 4 for deferrals.
std::string status_for(Category c, int code_class);

}  // namespace bg
