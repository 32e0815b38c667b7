// main.cpp - bounceguard(8): the postmaster's command line tool.
// Global options: --config FILE, --store URI. Exit codes: 0 success, 1 operational error,
// 2 usage or configuration error (shared/docs/DESIGN.md "Contracts").
#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>

#include "commands.hpp"

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
