// main.cpp - bounceguard(8): the postmaster's command line tool.
// Global options: --config FILE, --store URI. Exit codes: 0 success, 1 operational error,
// 2 usage or configuration error (shared/docs/DESIGN.md "Contracts").
#include <CLI/CLI.hpp>
#include <ctime>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "commands.hpp"
#include "cmd_ingest_log.hpp"
#include "store_io.hpp"
#include "time_text.hpp"
#include "log/logging.hpp"
#include "metrics/exporter.hpp"
#include "util/duration.hpp"

namespace {

struct Globals {
    std::string config_path;
    std::string store_uri;
};

bool valid_store_uri(const std::string& uri) {
    return (uri.rfind("sqlite:", 0) == 0 && uri.size() > 7) || uri.rfind("postgresql://", 0) == 0 ||
           uri.rfind("postgres://", 0) == 0;
}

// Loads --config (an error if given and unreadable), else the default path if it exists.
bg::Result<bg::Config> load(const Globals& g) {
    if (!g.config_path.empty()) return bg::load_config(g.config_path);
    const std::string def(bg::default_config_path);
    std::error_code ec;
    if (std::filesystem::exists(def, ec)) return bg::load_config(def);
    return bg::default_config();
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"bounceguard - learn dead recipients from remote rejections, refuse re-sends"};
    app.require_subcommand(1);
    Globals g;
    app.add_option("--config", g.config_path, "configuration file (default /etc/bounceguard/bounceguard.toml)");
    app.add_option("--store", g.store_uri, "suppression store: sqlite:PATH or postgresql://...");

    std::string stage_name;
    bool json_input = false;
    auto* classify = app.add_subcommand("classify", "classify SMTP replies: one per stdin line, one JSON verdict per line");
    classify->add_flag("--json", json_input, "input lines are JSON objects with a \"reply\" (and optional \"stage\") field");
    classify->add_option("--stage", stage_name, "the SMTP stage the replies answered: connect, helo, mail, rcpt, data");

    std::string reply_text;
    auto* explain = app.add_subcommand("explain", "explain one SMTP reply for a person");
    explain->add_option("reply", reply_text, "the reply text, e.g. \"550 5.1.1 User unknown\"")->required();
    explain->add_option("--stage", stage_name, "the SMTP stage the reply answered");

    std::vector<std::string> parse_paths;
    bool parse_json = false;
    auto* parse = app.add_subcommand("parse", "parse bounce messages (files, maildir or mbox): one line per recipient");
    parse->add_flag("--json", parse_json, "print one JSON object per recipient per line");
    parse->add_option("paths", parse_paths, "message files, maildir folders, folders of messages, mbox files")
        ->required();

    // The suppression store.
    bg::cli::AddOptions add_opts;
    std::string add_reason = "user_unknown", add_ttl;
    auto* add = app.add_subcommand("add", "suppress addresses (or \"@domain\"), given as operands or one per line on stdin (-)");
    add->add_option("addresses", add_opts.addresses, "ADDRESS... or -")->required();
    add->add_option("--reason", add_reason, "the category to record (default user_unknown)");
    add->add_option("--ttl", add_ttl, "how long, e.g. 30d (default: for good)");
    add->add_option("--note", add_opts.note, "free text kept with the entry");

    std::vector<std::string> remove_keys;
    std::string remove_domain, remove_reason;
    auto* remove = app.add_subcommand("remove", "lift suppressions: addresses, \"@domain\" entries, or - for stdin");
    remove->add_option("addresses", remove_keys, "ADDRESS... or -");
    remove->add_option("--domain", remove_domain, "lift the domain-wide entry of DOMAIN");
    remove->add_option("--reason", remove_reason, "why, for the log");

    std::string show_address;
    bool show_json = false;
    auto* show = app.add_subcommand("show", "why is this address blocked? its suppression and the evidence");
    show->add_option("address", show_address, "ADDRESS")->required();
    show->add_flag("--json", show_json, "one JSON object");

    std::string list_category, list_since, list_domain;
    bool list_json = false, list_all = false;
    int list_limit = 0;
    auto* list = app.add_subcommand("list", "list suppressions, newest first");
    list->add_option("--category", list_category, "only this category");
    list->add_option("--since", list_since, "only those seen within DURATION, e.g. 7d");
    list->add_option("--domain", list_domain, "only the addresses and the entry of this domain");
    list->add_option("--limit", list_limit, "at most N rows");
    list->add_flag("--all", list_all, "include expired entries not purged yet");
    list->add_flag("--json", list_json, "one JSON object per line");

    std::string expire_retention;
    auto* expire = app.add_subcommand("expire", "purge expired suppressions and events past retention");
    expire->add_option("--retention", expire_retention, "keep events this long (default store.event_retention)");
    auto* stats = app.add_subcommand("stats", "counts of suppressions and events");

    std::vector<std::string> ingest_paths;
    auto* ingest = app.add_subcommand("ingest", "record bounce messages (files, maildir, mbox) through the decision engine");
    ingest->add_option("paths", ingest_paths, "message files, maildir folders, folders of messages, mbox files")->required();

    bg::cli::IngestLogOptions ingest_log_opts;
    auto* ingest_log = app.add_subcommand("ingest-log", "record the rejections in a Postfix or Sendmail mail log through the decision engine");
    ingest_log->add_option("file", ingest_log_opts.path, "the mail log, or - for stdin")->required();
    ingest_log->add_flag("--follow", ingest_log_opts.follow, "keep reading as the log grows, through rotation, until SIGTERM");
    ingest_log->add_flag("--stats", ingest_log_opts.stats, "print the lines read, recognised, recorded and skipped at the end");
    ingest_log->add_option("--state", ingest_log_opts.state_file,
                           "position file (default maillog.state_file with --follow; without --follow: none)");

    // Lists and summaries in and out of the store (store_io.hpp).
    std::string report_since = "7d", report_domain;
    bool report_json = false;
    int report_limit = 0;
    auto* report = app.add_subcommand("report", "rejections that were OUR problem, per destination domain and category");
    report->add_option("--since", report_since, "DURATION back from now (default 7d) or a DATE (2026-01-31)");
    report->add_option("--domain", report_domain, "only this destination domain");
    report->add_option("--limit", report_limit, "at most N groups, the largest first");
    report->add_flag("--json", report_json, "one JSON object per line");

    std::string export_format = "csv";
    auto* export_cmd = app.add_subcommand("export", "write the suppression list as csv, json or a Postfix access table");
    export_cmd->add_option("--format", export_format, "csv (default), json, or postfix (for check_recipient_access)");
    export_cmd->add_option("--category", list_category, "only this category");
    export_cmd->add_option("--since", list_since, "only those seen within DURATION, e.g. 7d");
    export_cmd->add_option("--domain", list_domain, "only the addresses and the entry of this domain");
    export_cmd->add_option("--limit", list_limit, "at most N rows");
    export_cmd->add_flag("--all", list_all, "include expired entries not purged yet");

    bg::cli::ImportOptions import_opts;
    std::string import_file, import_kind;
    auto* import_cmd = app.add_subcommand("import", "read a suppression list: ours (csv, json) or a hosted sender's export");
    import_cmd->add_option("file", import_file, "FILE, or - for stdin")->required();
    import_cmd->add_option("--format", import_opts.format, "csv (default), json, sendgrid, mailgun, ses, postmark, mailchimp");
    import_cmd->add_option("--kind", import_kind, "which list the file is: bounce, block, invalid, complaint, unsubscribe");
    import_cmd->add_flag("--dry-run", import_opts.dry_run, "read and decide, print the counts, write nothing");
    import_cmd->add_flag("--skip-unsubscribes", import_opts.skip_unsubscribes, "leave unsubscribed addresses out");

    auto* check = app.add_subcommand("check-config", "validate the configuration and the rules, then exit");
    auto* dump = app.add_subcommand("dump-config", "print the effective configuration, every key with its doc");
    auto* rules_cmd = app.add_subcommand("rules", "list the classification rules in the order they are tried");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        return rc == 0 ? 0 : 2;
    }

    if (!g.store_uri.empty() && !valid_store_uri(g.store_uri)) {
        std::cerr << "bounceguard: --store: '" << g.store_uri << "' is not sqlite:PATH or postgresql://...\n";
        return 2;
    }
    std::optional<bg::SmtpStage> stage;
    if (!stage_name.empty()) {
        stage = bg::parse_stage(stage_name);
        if (!stage) {
            std::cerr << "bounceguard: --stage: unknown stage '" << stage_name << "'\n";
            return 2;
        }
    }
    auto config = load(g);
    if (!config) {
        std::cerr << "bounceguard: " << config.error().message << "\n";
        return 2;
    }
    auto rules = bg::build_rule_set(*config);
    if (!rules) {
        std::cerr << "bounceguard: " << rules.error().message << "\n";
        return 2;
    }
    const auto max_bytes = static_cast<std::size_t>(config->classify.max_reply_bytes);

    const bool needs_store = *add || *remove || *show || *list || *expire || *stats || *ingest || *ingest_log || *report ||
                             *export_cmd || *import_cmd;
    if (needs_store) {
        const std::string uri = g.store_uri.empty() ? config->store.uri : g.store_uri;
        std::optional<bg::Category> list_cat;
        if (!list_category.empty() && !(list_cat = bg::parse_category(list_category))) {
            std::cerr << "bounceguard: --category: unknown category '" << list_category << "'\n";
            return 2;
        }
        auto add_cat = bg::parse_category(add_reason);
        if (*add && !add_cat) {
            std::cerr << "bounceguard: add: --reason: unknown category '" << add_reason << "'\n";
            return 2;
        }
        add_opts.category = add_cat.value_or(bg::Category::UserUnknown);
        auto duration = [](const std::string& text, const char* what, std::int64_t& out) {
            if (text.empty()) return true;
            auto d = bg::parse_duration(text);
            if (!d) std::cerr << "bounceguard: " << what << ": " << d.error().message << "\n";
            else out = *d;
            return static_cast<bool>(d);
        };
        std::int64_t since = 0, retention = config->store.event_retention;
        if (!duration(add_ttl, "--ttl", add_opts.ttl) || !duration(list_since, "--since", since) ||
            !duration(expire_retention, "--retention", retention))
            return 2;
        if (*remove && remove_keys.empty() && remove_domain.empty()) {
            std::cerr << "bounceguard: remove: name addresses, - or --domain DOMAIN\n";
            return 2;
        }
        std::optional<bg::UnixTime> report_from;
        if (*report && !(report_from = bg::cli::parse_since(report_since, std::time(nullptr)))) {
            std::cerr << "bounceguard: report: --since: '" << report_since << "' is neither a duration nor a date\n";
            return 2;
        }
        std::optional<bg::cli::ExportFormat> export_fmt = bg::cli::parse_export_format(export_format);
        if (*export_cmd && !export_fmt) {
            std::cerr << "bounceguard: export: --format: '" << export_format << "' is not csv, json or postfix\n";
            return 2;
        }
        if (*import_cmd && !bg::cli::is_import_format(import_opts.format)) {
            std::cerr << "bounceguard: import: --format: unknown format '" << import_opts.format << "'\n";
            return 2;
        }
        if (*import_cmd && !import_kind.empty() && !(import_opts.kind = bg::cli::parse_import_kind(import_kind))) {
            std::cerr << "bounceguard: import: --kind: '" << import_kind << "' is not bounce, block, invalid, complaint or unsubscribe\n";
            return 2;
        }
        std::ifstream import_in;
        if (*import_cmd && import_file != "-") {
            import_in.open(import_file, std::ios::binary);
            if (!import_in) {
                std::cerr << "bounceguard: import: " << import_file << ": cannot open: " << std::strerror(errno) << "\n";
                return 1;
            }
        }
        auto store = bg::open_store(uri);
        if (!store) {
            std::cerr << "bounceguard: " << store.error().message << "\n";
            return 1;
        }
        // Decisions and removals are logged for the audit trail when logging goes to syslog; on a
        // terminal the command's own output says the same, so only warnings are logged there.
        auto log_config = config->log;
        if (log_config.target == "stderr" && log_config.level != "off") log_config.level = "warn";
        auto logger = bg::make_logger(log_config, "cli", false);
        spdlog::logger* log = logger ? logger->get() : nullptr;
        const bg::UnixTime now = std::time(nullptr);
        auto& st = **store;
        try {
            if (*add) return bg::cli::run_add(st, add_opts, std::cin, std::cout, std::cerr, now);
            if (*remove) {
                if (!remove_domain.empty()) remove_keys.push_back("@" + remove_domain);
                return bg::cli::run_remove(st, remove_keys, remove_reason, std::cin, std::cout, std::cerr, log);
            }
            if (*show) return bg::cli::run_show(st, show_address, show_json, std::cout, std::cerr, now);
            // `list` and `export` take the same filters.
            const auto list_filter = [&] {
                bg::ListFilter f;
                f.category = list_cat;
                f.since = since ? now - since : 0;
                f.domain = list_domain;
                f.limit = list_limit;
                f.include_expired = list_all;
                f.now = now;
                return f;
            };
            if (*list) return bg::cli::run_list(st, list_filter(), list_json, std::cout, std::cerr);
            if (*expire) return bg::cli::run_expire(st, retention, std::cout, std::cerr, now);
            if (*stats) return bg::cli::run_stats(st, std::cout, std::cerr);
            if (*report) {
                bg::ReportFilter f;
                f.since = *report_from;
                f.domain = report_domain;
                f.limit = report_limit;
                return bg::cli::run_report(st, f, report_json, std::cout, std::cerr);
            }
            if (*export_cmd)
                return bg::cli::run_export(st, *config, *export_fmt, list_filter(), std::cout, std::cerr, now);
            if (*import_cmd) {
                std::ios::sync_with_stdio(false);  // stdin is read byte by byte: no stdio per byte
                std::istream& in = import_file == "-" ? std::cin : import_in;
                return bg::cli::run_import(st, config->policy, **rules, import_opts, in, std::cout, std::cerr, now);
            }
            if (*ingest) return bg::cli::run_ingest(st, config->policy, **rules, ingest_paths, std::cout, std::cerr, now, log);
            if (*ingest_log) {
                auto& o = ingest_log_opts;
                if (o.follow && o.state_file.empty() && o.path != "-") o.state_file = config->maillog.state_file;
                o.poll_interval_ms = config->maillog.poll_interval_ms;
                o.max_line_bytes = static_cast<std::size_t>(config->maillog.max_line_bytes);
                o.max_queue_ids = static_cast<std::size_t>(config->maillog.max_queue_ids);
                o.hop_relays = config->maillog.hop_relays;
                if (o.follow) o.stop = bg::cli::install_stop_signals();
                std::ios::sync_with_stdio(false);
                // A follower runs for good: it shows its metrics as [metrics] says (a one-shot run does not).
                auto exporter = o.follow ? bg::metrics::start_for_program(*config, "ingest-log",
                                                                           logger ? *logger : nullptr)
                                         : nullptr;
                return bg::cli::run_ingest_log(st, config->policy, **rules, o, std::cin, std::cout, std::cerr, log);
            }
        } catch (const std::exception& e) {
            std::cerr << "bounceguard: " << e.what() << "\n";
            return 1;
        }
    }

    try {
        if (*classify) {
            std::ios::sync_with_stdio(false);
            return bg::cli::run_classify(std::cin, std::cout, std::cerr, **rules,
                                         bg::cli::ClassifyOptions{json_input, stage, max_bytes});
        }
        if (*explain) return bg::cli::run_explain(reply_text, stage, std::cout, std::cerr, **rules, max_bytes);
        if (*parse) {
            std::ios::sync_with_stdio(false);
            bg::cli::ParseOptions options;
            options.json = parse_json;
            return bg::cli::run_parse(parse_paths, std::cout, std::cerr, **rules, options);
        }
        if (*check) return bg::cli::run_check_config(*config, **rules, std::cout);
        if (*dump) return bg::cli::run_dump_config(*config, std::cout);
        if (*rules_cmd) return bg::cli::run_list_rules(**rules, std::cout);
    } catch (const std::exception& e) {
        std::cerr << "bounceguard: " << e.what() << "\n";
        return 1;
    }
    return 2;
}
