// cmd_export.cpp - `bounceguard export`: the suppression list (with the filters of `list`) as
//   csv      a header line, then key,category,since,last_seen,expires,count,added_by,reason
//            (times ISO 8601 UTC, "" for none); `import --format csv` reads it back;
//   json     one object per line, the fields of `list --json`; `import --format json` reads it;
//   postfix  a Postfix access(5) table for check_recipient_access: one line per entry, the key
//            and, as the action, the very reply the policy daemon and the milter give
//            (enforce.reject_reply, "550 5.1.1 <joe@example.com> suppressed since ...").
//            Address entries are the address; a domain entry "@example.com" is written as
//            "example.com", which Postfix looks up for every address of that domain.
// LIMITATION (postfix): while parent_domain_matches_subdomains lists smtpd_access_maps (Postfix's
//   default), a domain line also matches its subdomains ("a.example.com"), which the store's own
//   lookup does not; without it the line matches the domain only, as the store does (the ".domain"
//   form would then be needed for subdomains, and bounceguard never writes it). The table is a
//   snapshot: entries with a TTL stay in it until the next export; export and postmap it again from
//   cron after `bounceguard expire`. Keys Postfix cannot hold (a quoted local part with spaces) are
//   left out and reported. International domains are written as the store keeps them (A-labels,
//   "xn--..."): a recipient that a client sends in UTF-8 (SMTPUTF8) does not match those lines.
// SECURITY: keys are normalised addresses; reasons may come from bounces: CSV quoting, JSON
//   escaping, and the reply template's own cleaning (printable, clipped) for the access table.
#include <iostream>

#include "store_io.hpp"
#include "csv.hpp"
#include "enforce/enforcer.hpp"
#include "store_json.hpp"
#include "time_text.hpp"
#include "verdict_json.hpp"

namespace bg::cli {

namespace {

bool fits_access_table(std::string_view key) {
    if (key.empty() || key.front() == '#') return false;
    for (char c : key)
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '"') return false;
    return true;
}

}  // namespace

std::optional<ExportFormat> parse_export_format(std::string_view name) {
    if (name == "csv") return ExportFormat::Csv;
    if (name == "json") return ExportFormat::Json;
    if (name == "postfix") return ExportFormat::Postfix;
    return std::nullopt;
}

int run_export(SuppressionStore& store, const Config& config, ExportFormat format, const ListFilter& filter,
               std::ostream& out, std::ostream& err, UnixTime now) {
    ReplyTemplate reply;
    std::optional<Enforcer> enforcer;
    if (format == ExportFormat::Postfix) {
        auto e = Enforcer::create(config);
        auto t = parse_reply_template(config.enforce.reject_reply, 5);
        if (!e || !t) {
            err << "bounceguard: export: " << (!e ? e.error().message : t.error().message) << "\n";
            return 2;
        }
        enforcer.emplace(std::move(*e));
        reply = std::move(*t);
    }
    auto rows = store.list(filter);
    if (!rows) {
        err << "bounceguard: export: " << rows.error().message << "\n";
        return 1;
    }
    int status = 0;
    switch (format) {
    case ExportFormat::Csv:
        out << "key,category,since,last_seen,expires,count,added_by,reason\n";
        for (const auto& s : *rows)
            out << csv_field(s.key) << ',' << to_string(s.category) << ',' << iso_time(s.first_seen) << ','
                << iso_time(s.last_seen) << ',' << iso_time(s.expires) << ',' << s.count << ','
                << csv_field(s.added_by) << ',' << csv_field(s.reason) << "\n";
        break;
    case ExportFormat::Json:
        for (const auto& s : *rows) out << json_line(suppression_json(s)) << "\n";
        break;
    case ExportFormat::Postfix: {
        out << "# bounceguard suppressions as a Postfix access(5) table, " << iso_time(now) << ", " << rows->size()
            << (rows->size() == 1 ? " entry.\n" : " entries.\n")
            << "# main.cf: smtpd_recipient_restrictions = ..., check_recipient_access hash:/etc/postfix/bounceguard,"
               " ...\n"
            << "# then: postmap /etc/postfix/bounceguard. A domain line matches that domain's addresses (and its\n"
            << "# subdomains while parent_domain_matches_subdomains lists smtpd_access_maps, the default).\n";
        for (const auto& s : *rows) {
            const std::string key = s.is_domain() ? s.key.substr(1) : s.key;
            if (!fits_access_table(key)) {
                err << "bounceguard: export: " << s.key << ": left out, Postfix table keys cannot hold it\n";
                status = 1;
                continue;
            }
            out << key << ' ' << enforcer->format_reply(reply, s.key, s) << "\n";
        }
        break;
    }
    }
    out.flush();
    if (!out) {
        err << "bounceguard: export: writing the output failed\n";
        return 1;
    }
    return status;
}

}  // namespace bg::cli
