// exporter.hpp - how a program shows its metrics (metrics.hpp) to Prometheus, from [metrics]:
//   - an HTTP endpoint (metrics.policyd_listen, metrics.milter_listen, metrics.ingest_log_listen:
//     one per program, so that the three can run on one host): only "GET /metrics" (and HEAD) is
//     served, 200 with "text/plain; version=0.0.4"; another path is 404, another method 405, a
//     request that is not HTTP 400, one larger than max_request_bytes 431; every answer closes
//     the connection (HTTP/1.0 style);
//   - a textfile for node_exporter's textfile collector (metrics.textfile, "{program}" replaced by
//     the program's name), rewritten atomically every metrics.textfile_interval and at exit.
// One small thread serves one client at a time, each within io_timeout from its accept, so a
// slow or hostile client delays only the next scrape; it never touches mail flow: the thread
// only reads the registry's atomics. Built apart from bounceguard_core (which has no sockets).
// SECURITY: the request is untrusted: its size and time are capped, only its request line is
// looked at, and nothing of it is echoed back. The endpoint binds to loopback unless the
// operator writes another address.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <spdlog/logger.h>

#include "config/config.hpp"
#include "metrics/metrics.hpp"

namespace bg::metrics {

struct ExporterOptions {
    std::string listen;                               // "" = no HTTP endpoint (see parse_listen)
    std::string textfile;                             // "" = no textfile ("{program}" already replaced)
    std::chrono::seconds textfile_interval{15};
    std::chrono::milliseconds io_timeout{5000};       // from accept to the last byte of the answer
    std::size_t max_request_bytes = 8192;
};

// The options of one program ("policyd", "milter", "ingest-log") from [metrics].
ExporterOptions exporter_options(const MetricsConfig& config, std::string_view program);

class Exporter {
public:
    // Binds the endpoint (if any; errors are values) and starts the thread. Start it after
    // fork(): a daemon's child has no threads of its parent.
    static Result<std::unique_ptr<Exporter>> start(const Registry& registry, ExporterOptions options,
                                                   std::shared_ptr<spdlog::logger> log);
    ~Exporter();  // stop()
    Exporter(const Exporter&) = delete;
    Exporter& operator=(const Exporter&) = delete;

    // The bound port (when listen asked for port 0), 0 without an endpoint.
    std::uint16_t port() const noexcept { return port_; }
    // Stops the thread and writes the textfile a last time. Idempotent.
    void stop() noexcept;

private:
    Exporter(const Registry& registry, ExporterOptions options, std::shared_ptr<spdlog::logger> log);
    struct Impl;
    const Registry& registry_;
    ExporterOptions options_;
    std::shared_ptr<spdlog::logger> log_;
    std::unique_ptr<Impl> impl_;
    std::uint16_t port_ = 0;
};

// Starts the exporter [metrics] asks of `program` (nullptr when it asks for none). An endpoint
// that cannot be bound is logged as an error and the program runs on without it: metrics never
// stop mail flow.
std::unique_ptr<Exporter> start_for_program(const Config& config, std::string_view program,
                                            std::shared_ptr<spdlog::logger> log);

}  // namespace bg::metrics
