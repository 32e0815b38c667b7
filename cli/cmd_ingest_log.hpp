// cmd_ingest_log.hpp - `bounceguard ingest-log [--follow] [--stats] [--state FILE] FILE|-`: the
// mail log through the maillog parser and the decision engine into the store.
#pragma once

#include <atomic>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "classify/rule_set.hpp"
#include "config/config.hpp"
#include "store/suppression_store.hpp"

namespace spdlog {
class logger;
}

namespace bg::cli {

struct IngestLogOptions {
    std::string path;                     // a log file, or "-" for stdin
    bool follow = false;                  // keep reading as the file grows, through rotation
    bool stats = false;                   // print the counters at the end
    std::string state_file;               // position file ("" = none: read the file from its start)
    std::int64_t poll_interval_ms = 200;
    std::size_t max_line_bytes = 16384;
    std::size_t max_queue_ids = 50000;
    std::vector<std::string> hop_relays;
    const std::atomic<bool>* stop = nullptr;  // --follow returns when this becomes true
};

struct IngestLogStats {
    std::uint64_t read = 0;        // lines read
    std::uint64_t recognised = 0;  // lines the parser understood (deliveries and the lines joined to them)
    std::uint64_t recorded = 0;    // events recorded in the store
    std::uint64_t skipped = 0;     // lines not understood (counted, never fatal)
    std::uint64_t truncated = 0;   // lines longer than max_line_bytes (cut)
    std::uint64_t suppressed = 0;  // recorded events that created or extended a suppression
    std::uint64_t errors = 0;      // events the store did not take
};

// Exit 0, 1 on an operational error (unreadable file, store errors), 2 on a usage error.
int run_ingest_log(SuppressionStore& store, const PolicyConfig& policy, const RuleSet& rules,
                   const IngestLogOptions& options, std::istream& in, std::ostream& out, std::ostream& err,
                   spdlog::logger* log, IngestLogStats* stats_out = nullptr);

// Installs SIGTERM/SIGINT handlers that set the returned flag (for --follow).
const std::atomic<bool>* install_stop_signals();

}  // namespace bg::cli
