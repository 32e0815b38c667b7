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

}  // namespace bg::cli
