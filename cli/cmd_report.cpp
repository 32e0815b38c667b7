// cmd_report.cpp - `bounceguard report`: what is wrong with OUR sending. The rejections that were
// not the recipient's fault (our configuration, our reputation, the content, transient trouble,
// or unknown), grouped by destination domain and category over a period, with counts, distinct
// recipients, first and last seen, the newest reply as an example and the category's advice.
// SECURITY: the reply texts come from remote servers: printed through JSON escaping, or cleaned
// (printable, valid UTF-8) and clipped for a terminal.
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "store_io.hpp"
#include "time_text.hpp"
#include "util/text.hpp"
#include "verdict_json.hpp"

namespace bg::cli {

namespace {

using Json = nlohmann::ordered_json;

Json report_json(const ReportRow& r) {
    const CategoryInfo& ci = info(r.category);
    Json j;
    j["domain"] = r.domain;
    j["category"] = std::string(to_string(r.category));
    j["blame"] = std::string(to_string(r.blame));
    j["events"] = r.events;
    j["recipients"] = r.recipients;
    j["first_seen"] = iso_time(r.first_seen);
    j["last_seen"] = iso_time(r.last_seen);
    Json ex;
    ex["time"] = iso_time(r.example.time);
    ex["recipient"] = r.example.recipient;
    ex["reply_code"] = r.example.reply_code ? Json(std::to_string(r.example.reply_code)) : Json();
    ex["status"] = r.example.status.empty() ? Json() : Json(r.example.status);
    ex["text"] = r.example.text;
    ex["rule"] = r.example.rule_id;
    ex["remote_mta"] = r.example.remote_mta;
    ex["source"] = std::string(to_string(r.example.source));
    j["example"] = ex;
    j["meaning"] = std::string(ci.meaning);
    j["advice"] = std::string(ci.advice);
    return j;
}

}  // namespace

int run_report(SuppressionStore& store, const ReportFilter& filter, bool json, std::ostream& out, std::ostream& err) {
    auto rows = store.report(filter);
    if (!rows) {
        err << "bounceguard: report: " << rows.error().message << "\n";
        return 1;
    }
    if (json) {
        for (const auto& r : *rows) out << json_line(report_json(r)) << "\n";
        return 0;
    }
    out << "Rejections that were not the recipients' fault";
    if (filter.since > 0) out << " since " << iso_time(filter.since);
    if (!filter.domain.empty()) out << " at " << filter.domain;
    out << ": " << rows->size() << (rows->size() == 1 ? " group\n" : " groups\n");
    if (rows->empty()) {
        out << "  none: nothing points at a problem on our side.\n";
        return 0;
    }
    for (const auto& r : *rows) {
        const CategoryInfo& ci = info(r.category);
        out << "\n" << r.domain << "  " << to_string(r.category) << " (" << describe(r.blame) << ")\n"
            << "  " << r.events << (r.events == 1 ? " event, " : " events, ") << r.recipients
            << (r.recipients == 1 ? " recipient, " : " distinct recipients, ") << iso_time(r.first_seen) << " .. "
            << iso_time(r.last_seen) << "\n"
            << "  example: " << text::valid_utf8(text::clip(text::printable(r.example.text), 300));
        if (!r.example.rule_id.empty()) out << " [rule " << r.example.rule_id << "]";
        if (!r.example.remote_mta.empty()) out << " from " << text::printable(text::clip(r.example.remote_mta, 100));
        out << "\n  meaning: " << ci.meaning << "\n  advice:  " << ci.advice << "\n";
    }
    return 0;
}

}  // namespace bg::cli
