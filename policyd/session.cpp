// session.cpp - see session.hpp.
#include "session.hpp"

#include <ctime>

#include "handler.hpp"
#include "metrics/metrics.hpp"

namespace bg::policyd {

Result<std::shared_ptr<const Snapshot>> Snapshot::make(Config config) {
    auto enforcer = Enforcer::create(config);
    if (!enforcer) return enforcer.error();
    const ParserLimits limits{.max_line_bytes = static_cast<std::size_t>(config.policyd.max_line_bytes),
                              .max_attributes = static_cast<std::size_t>(config.policyd.max_attributes)};
    return std::shared_ptr<const Snapshot>(std::make_shared<Snapshot>(
        Snapshot{.config = std::move(config), .enforcer = std::move(*enforcer), .limits = limits}));
}

bool LogLimiter::allow(Clock::time_point now, std::uint64_t& held) noexcept {
    if (!first_ && now - last_ < interval_) {
        ++held_;
        return false;
    }
    first_ = false;
    last_ = now;
    held = held_;
    held_ = 0;
    return true;
}

void Session::on_input(std::string_view data, SessionContext& ctx, std::string& out, std::string_view peer) {
    while (!data.empty()) {
        data.remove_prefix(parser_.feed(data));
        if (!parser_.complete()) break;
        answer(ctx, out, peer);
        parser_.next();
    }
}

void Session::answer(SessionContext& ctx, std::string& out, std::string_view peer) {
    const PolicyRequest& rq = parser_.request();
    const Snapshot& snap = *ctx.snapshot;
    ++ctx.counters.requests;
    const auto log_level = ctx.log ? ctx.log->level() : spdlog::level::off;
    const Decision d = decide(rq, snap.enforcer, ctx.store, ctx.store_error, static_cast<UnixTime>(std::time(nullptr)),
                              log_level);
    out += "action=";
    out += d.action;
    out += "\n\n";

    if (d.verdict == EnforceVerdict::Reject || d.verdict == EnforceVerdict::Defer) ++ctx.counters.refused;
    if (d.verdict == EnforceVerdict::Warn) ++ctx.counters.warned;
    if (d.store_error) ++ctx.counters.store_errors;
    metrics::registry().add(metrics::Metric::PolicyRequests, metrics::index(d.verdict));  // dunno = pass
    if (rq.has_dropped()) metrics::registry().add(metrics::Metric::PolicyMalformedRequests);
    if (!ctx.log) return;
    std::uint64_t held = 0;  // the clock is read only for the rate-limited lines
    if (rq.has_dropped() && ctx.protocol_limiter.allow(LogLimiter::Clock::now(), held))
        ctx.log->warn("malformed request from {}: dropped {} over-long line(s) (policyd.max_line_bytes={}), {} "
                      "attribute(s) past policyd.max_attributes={}, {} line(s) that are not name=value; answered "
                      "{}{}",
                      peer, rq.dropped_long, snap.limits.max_line_bytes, rq.dropped_excess,
                      snap.limits.max_attributes, rq.dropped_junk, d.action,
                      held ? " (" + std::to_string(held) + " more such requests not logged)" : std::string());
    if (d.level == spdlog::level::off || d.level < log_level) return;  // not formatted either (handler.hpp)
    if (d.store_error) {
        // A store that is down fails every request: one line per interval, with the count.
        if (!ctx.store_limiter.allow(LogLimiter::Clock::now(), held)) return;
        ctx.log->log(d.level, "store error: {}{}", d.log,
                     held ? " (" + std::to_string(held) + " more store errors not logged)" : std::string());
        return;
    }
    ctx.log->log(d.level, "{}", d.log);
}

}  // namespace bg::policyd
