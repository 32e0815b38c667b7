// cmd_config.cpp - `bounceguard check-config`, `dump-config` and `rules`.
#include <iomanip>
#include <iostream>

#include "commands.hpp"

namespace bg::cli {

int run_check_config(const Config& config, const RuleSet& rules, std::ostream& out) {
    out << (config.source.empty() ? std::string("built-in defaults") : config.source) << ": OK ("
        << config_keys().size() << " keys, " << rules.rules().size() << " rules of which "
        << config.rules.size() << " inline)\n";
    return 0;
}

int run_dump_config(const Config& config, std::ostream& out) {
    out << dump_config(config);
    return 0;
}

int run_list_rules(const RuleSet& rules, std::ostream& out) {
    for (const auto& r : rules.rules()) {
        const auto& ci = info(r.category);
        out << std::left << std::setw(36) << r.id << " " << std::setw(20) << ci.name << " "
            << std::setw(5) << to_string(r.decision.value_or(ci.decision)) << " " << r.origin << "\n";
    }
    return 0;
}

}  // namespace bg::cli
