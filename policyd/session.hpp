// session.hpp - one client connection of the policy daemon, without the socket: bytes in,
// "action=..." lines out. The epoll workers (server.hpp) and the spawn mode (main.cpp) both feed
// it, so the protocol behaves the same whichever way Postfix connects.
// Per request: parse (policy_request.hpp), decide (handler.hpp), answer "action=X\n\n", and log
// each refusal or would-refuse once. Requests pipelined in one read are answered in order.
// SECURITY: input is untrusted and bounded by the parser; log lines that a broken client or a
// failing store would repeat for every request are rate-limited (LogLimiter).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <spdlog/logger.h>

#include "config/config.hpp"
#include "enforce/enforcer.hpp"
#include "policy_request.hpp"

namespace bg::policyd {

// The configuration one request is answered with. Made once per (re)load, shared read-only by
// every worker; SIGHUP swaps the pointer (STYLE.md habit 8).
struct Snapshot {
    Config config;
    Enforcer enforcer;
    ParserLimits limits;

    // Validates what the key table cannot (reply templates, networks).
    static Result<std::shared_ptr<const Snapshot>> make(Config config);
};

// At most one line per interval; counts what it held back so the next line can say so.
class LogLimiter {
public:
    using Clock = std::chrono::steady_clock;
    explicit LogLimiter(Clock::duration interval = std::chrono::seconds(10)) noexcept : interval_(interval) {}
    // True when a line may be logged now; then `held` is how many were held back since the last.
    bool allow(Clock::time_point now, std::uint64_t& held) noexcept;

private:
    Clock::duration interval_;
    Clock::time_point last_{};
    bool first_ = true;
    std::uint64_t held_ = 0;
};

struct Counters {
    std::uint64_t requests = 0;
    std::uint64_t refused = 0;      // Reject and Defer
    std::uint64_t warned = 0;       // would refuse (observe mode or action warn)
    std::uint64_t store_errors = 0;
};

// What a worker (or the spawn loop) lends its sessions.
struct SessionContext {
    std::shared_ptr<const Snapshot> snapshot;
    SuppressionStore* store = nullptr;  // null while the store cannot be opened
    std::string store_error;            // why, when store is null
    spdlog::logger* log = nullptr;
    LogLimiter store_limiter;
    LogLimiter protocol_limiter;
    Counters counters;
};

class Session {
public:
    explicit Session(ParserLimits limits) noexcept : parser_(limits) {}

    // Parses `data` and appends the answer to every request completed in it to `out`.
    // `peer` names the client in log lines.
    void on_input(std::string_view data, SessionContext& ctx, std::string& out, std::string_view peer);
    // Bytes of an unfinished request have been read.
    bool in_request() const noexcept { return parser_.in_request(); }
    // After a reload: the limits of the new configuration.
    void set_limits(ParserLimits limits) noexcept { parser_.set_limits(limits); }

private:
    void answer(SessionContext& ctx, std::string& out, std::string_view peer);

    RequestParser parser_;
};

}  // namespace bg::policyd
