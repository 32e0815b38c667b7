// store_io.hpp - the store commands that move lists and summaries in and out: `report`
// (cmd_report.cpp), `export` (cmd_export.cpp) and `import` (cmd_import.cpp). Like commands.hpp,
// functions over streams returning the exit code (0, 1 operational error, 2 usage), so tests
// drive them directly.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

#include "classify/rule_set.hpp"
#include "config/config.hpp"
#include "policy/thresholds.hpp"
#include "store/suppression_store.hpp"

namespace bg::cli {

// Sender-side problems per destination domain and category (SuppressionStore::report).
int run_report(SuppressionStore& store, const ReportFilter& filter, bool json, std::ostream& out, std::ostream& err);

enum class ExportFormat { Csv, Json, Postfix };
std::optional<ExportFormat> parse_export_format(std::string_view name);  // "csv", "json", "postfix"
// The suppressions matching `filter` (the filters of `list`). Postfix: the reply is
// config.enforce.reject_reply, formatted by the Enforcer as the daemons do.
int run_export(SuppressionStore& store, const Config& config, ExportFormat format, const ListFilter& filter,
               std::ostream& out, std::ostream& err, UnixTime now);

// What the rows of a hosted sender's list are (see cmd_import.cpp); Ours: our own csv/json.
enum class ImportKind { Ours, Bounce, Block, Invalid, Complaint, Unsubscribe };
std::optional<ImportKind> parse_import_kind(std::string_view name);  // "bounce", "block", ... (not Ours)
// csv, json, sendgrid, mailgun, ses, postmark, mailchimp.
bool is_import_format(std::string_view name);

struct ImportOptions {
    std::string format = "csv";
    std::optional<ImportKind> kind;  // the list a sendgrid/mailgun/mailchimp file is (else from its columns)
    bool dry_run = false;            // parse, decide and count; write nothing
    bool skip_unsubscribes = false;
    std::size_t batch = 1000;        // rows per store transaction
};
int run_import(SuppressionStore& store, const PolicyConfig& policy, const RuleSet& rules, const ImportOptions& options,
               std::istream& in, std::ostream& out, std::ostream& err, UnixTime now);

}  // namespace bg::cli
