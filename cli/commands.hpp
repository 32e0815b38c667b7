// commands.hpp - the CLI subcommands as functions over streams, so tests drive them directly.
// Each returns the process exit code: 0 success, 1 operational error, 2 usage/configuration.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "classify/rule_set.hpp"
#include "config/config.hpp"
#include "dsn/bounce_parser.hpp"
#include "smtp/reply.hpp"
#include "store/suppression_store.hpp"

namespace spdlog {
class logger;
}

namespace bg::cli {

struct ClassifyOptions {
    bool json_input = false;                 // input lines are JSON objects with a "reply" field
    std::optional<SmtpStage> stage;          // stage for every line (unless a JSON line has its own)
    std::size_t max_reply_bytes = bg::max_reply_bytes;
};

// One reply per input line -> one JSON verdict per output line. Blank lines are skipped.
int run_classify(std::istream& in, std::ostream& out, std::ostream& err, const RuleSet& rules,
                 const ClassifyOptions& options);
// The verdict for one reply, for a person.
int run_explain(const std::string& reply, std::optional<SmtpStage> stage, std::ostream& out, std::ostream& err,
                const RuleSet& rules, std::size_t max_bytes);
int run_check_config(const Config& config, const RuleSet& rules, std::ostream& out);
int run_dump_config(const Config& config, std::ostream& out);
int run_list_rules(const RuleSet& rules, std::ostream& out);

struct ParseOptions {
    bool json = false;                       // one JSON object per recipient per line
    BounceLimits limits;                     // caps on each message
};

// Bounce messages (files, maildir or other folders, mbox files) -> one line per recipient.
// Exit 0, or 1 when some file or message could not be read (reported on `err`; the run goes on).
int run_parse(const std::vector<std::string>& paths, std::ostream& out, std::ostream& err, const RuleSet& rules,
              const ParseOptions& options);

// Store commands (cmd_store.cpp). `now` is passed in so tests can fix the clock.
struct AddOptions {
    std::vector<std::string> addresses;  // or {"-"}: one per line on stdin
    Category category = Category::UserUnknown;
    std::int64_t ttl = 0;                // seconds; 0 = for good
    std::string note;
};
int run_add(SuppressionStore& store, const AddOptions& options, std::istream& in, std::ostream& out,
            std::ostream& err, UnixTime now);
int run_remove(SuppressionStore& store, const std::vector<std::string>& keys, const std::string& reason,
               std::istream& in, std::ostream& out, std::ostream& err, spdlog::logger* log);
int run_show(SuppressionStore& store, const std::string& address, bool json, std::ostream& out, std::ostream& err,
             UnixTime now);
int run_list(SuppressionStore& store, const ListFilter& filter, bool json, std::ostream& out, std::ostream& err);
int run_expire(SuppressionStore& store, std::int64_t retention, std::ostream& out, std::ostream& err, UnixTime now);
int run_stats(SuppressionStore& store, std::ostream& out, std::ostream& err);
// Bounce files through the parser and the decision engine into the store (trusted: source import).
int run_ingest(SuppressionStore& store, const PolicyConfig& policy, const RuleSet& rules,
               const std::vector<std::string>& paths, std::ostream& out, std::ostream& err, UnixTime now,
               spdlog::logger* log);

}  // namespace bg::cli
