// server.hpp - bounceguard-policyd's event loop: an acceptor thread (listening sockets and
// signals) hands each new connection to the least busy of N worker threads; each worker runs
// its own epoll loop over its connections with its own store connection (SQLite store objects
// serialise their calls, so one per worker lets lookups run in parallel).
//   - persistent connections, many requests each, pipelined requests answered in order;
//   - policyd.max_connections: connections past the cap are closed at once (Postfix then uses
//     smtpd_policy_service_default_action);
//   - policyd.idle_timeout between requests, policyd.request_timeout from a request's first
//     byte to its end: past them the connection is closed;
//   - a client that does not read its answers is not read from either (bounded output);
//   - SIGHUP: reload the configuration (the reload function) and swap it in without dropping a
//     connection; a bad file is logged and the running configuration kept;
//   - SIGTERM/SIGINT: stop accepting, answer what was fully read, close, return.
//   - a store that cannot be opened is retried every few seconds; meanwhile requests get the
//     configured failure mode (enforce.on_store_error), so mail keeps flowing.
// SECURITY: every byte from a connection is untrusted (session.hpp); a failure in one
// connection closes only that connection.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include <spdlog/logger.h>

#include "listener.hpp"
#include "session.hpp"

namespace bg::policyd {

using Reloader = std::function<Result<std::shared_ptr<const Snapshot>>()>;

// Runs until SIGTERM or SIGINT; returns the exit code. Block SIGHUP, SIGTERM and SIGINT in
// every thread before calling it (block_signals()); it waits for them itself.
int run_server(std::vector<Listener> listeners, std::shared_ptr<const Snapshot> snapshot, const Reloader& reload,
               std::shared_ptr<spdlog::logger> log);

// Blocks the signals run_server() handles, and ignores SIGPIPE. Call before starting threads.
void block_signals();

// The number of workers policyd.workers asks for (0: one per CPU).
int worker_count(const Config& config);

}  // namespace bg::policyd
