// cmd_store.cpp - the admin commands over the suppression store: add, remove, show, list,
// expire, stats, and ingest (bounce files through the parser and the decision engine).
// SECURITY: addresses come from the operator or from bounce files; every address is normalised
// and checked by the store before use; output of untrusted text goes through JSON escaping.
#include <ctime>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <spdlog/logger.h>

#include "commands.hpp"
#include "dsn/bounce_parser.hpp"
#include "log/logging.hpp"
#include "message_walker.hpp"
#include "policy/recorder.hpp"
#include "store_json.hpp"
#include "time_text.hpp"
#include "util/text.hpp"
#include "verdict_json.hpp"

namespace bg::cli {

namespace {

using Json = nlohmann::ordered_json;

std::string operator_name() {
    for (const char* var : {"SUDO_USER", "USER", "LOGNAME"})
        if (const char* v = std::getenv(var); v && *v) return v;
    return "unknown";
}

// Operands, or one per line from stdin when the only operand is "-".
std::vector<std::string> operands(const std::vector<std::string>& args, std::istream& in) {
    if (args.size() != 1 || args.front() != "-") return args;
    std::vector<std::string> out;
    std::string line;
    while (std::getline(in, line)) {
        const auto t = text::trim(line);
        if (!t.empty() && t.front() != '#') out.emplace_back(t);
    }
    return out;
}

Json time_or_null(UnixTime t) { return t > 0 ? Json(iso_time(t)) : Json(); }

}  // namespace

Json suppression_json(const Suppression& s) {
    Json j;
    j["key"] = s.key;
    j["category"] = std::string(to_string(s.category));
    j["since"] = time_or_null(s.first_seen);
    j["last_seen"] = time_or_null(s.last_seen);
    j["expires"] = time_or_null(s.expires);
    j["count"] = s.count;
    j["added_by"] = s.added_by;
    j["reason"] = s.reason;
    return j;
}

Json event_json(const Event& e) {
    Json j;
    j["time"] = iso_time(e.time);
    j["source"] = std::string(to_string(e.source));
    j["category"] = std::string(to_string(e.category));
    j["blame"] = std::string(to_string(e.blame));
    j["rule"] = e.rule_id;
    j["reply_code"] = e.reply_code ? Json(std::to_string(e.reply_code)) : Json();
    j["status"] = e.status.empty() ? Json() : Json(e.status);
    j["stage"] = e.stage;
    j["text"] = e.text;
    if (!e.remote_mta.empty()) j["remote_mta"] = e.remote_mta;
    if (!e.sender.empty()) j["sender"] = e.sender;
    if (!e.queue_id.empty()) j["queue_id"] = e.queue_id;
    if (!e.message_id.empty()) j["message_id"] = e.message_id;
    return j;
}

int run_add(SuppressionStore& store, const AddOptions& o, std::istream& in, std::ostream& out, std::ostream& err,
            UnixTime now) {
    int status = 0, added = 0;
    for (const auto& raw : operands(o.addresses, in)) {
        auto key = normalize_key(raw);
        if (!key) {
            err << "bounceguard: add: " << raw << ": " << key.error().message << "\n";
            status = 1;
            continue;
        }
        Event e;
        e.time = now;
        e.recipient = *key;
        e.source = EventSource::Manual;
        e.category = o.category;
        e.blame = info(o.category).blame;
        e.rule_id = "manual";
        e.text = "added by " + operator_name() + (o.note.empty() ? std::string() : ": " + o.note);
        auto ids = store.record_events({&e, 1});
        Suppression s;
        s.key = *key;
        s.category = o.category;
        s.first_seen = s.last_seen = now;
        s.count = 1;
        s.expires = o.ttl > 0 ? now + o.ttl : 0;
        s.event_id = ids ? ids->front() : 0;
        s.added_by = "operator:" + operator_name();
        s.reason = o.note.empty() ? std::string(info(o.category).meaning) : o.note;
        if (auto r = store.put(s); !r) {
            err << "bounceguard: add: " << *key << ": " << r.error().message << "\n";
            status = 1;
            continue;
        }
        ++added;
    }
    out << "added " << added << (added == 1 ? " entry\n" : " entries\n");
    return status;
}

int run_remove(SuppressionStore& store, const std::vector<std::string>& keys, const std::string& reason,
               std::istream& in, std::ostream& out, std::ostream& err, spdlog::logger* log) {
    int status = 0;
    for (const auto& raw : operands(keys, in)) {
        auto key = normalize_key(raw);
        if (!key) {
            err << "bounceguard: remove: " << raw << ": " << key.error().message << "\n";
            status = 1;
            continue;
        }
        auto r = store.remove(*key);
        if (!r) {
            err << "bounceguard: remove: " << *key << ": " << r.error().message << "\n";
            status = 1;
            continue;
        }
        out << (*r ? "removed " : "not suppressed: ") << *key << "\n";
        if (*r && log)
            log->info("remove key={} by={} reason={}", *key, log_value(operator_name()), log_value(reason));
    }
    return status;
}

int run_show(SuppressionStore& store, const std::string& address, bool json, std::ostream& out, std::ostream& err,
             UnixTime now) {
    auto key = normalize_key(address);
    if (!key) {
        err << "bounceguard: show: " << address << ": " << key.error().message << "\n";
        return 2;
    }
    const LookupResult found = store.lookup(*key, now);
    if (found.status == LookupStatus::TempError) {
        err << "bounceguard: show: the store did not answer: " << found.error << "\n";
        return 1;
    }
    auto events = store.events_for(*key, 50);
    if (!events) {
        err << "bounceguard: show: " << events.error().message << "\n";
        return 1;
    }
    Json j;
    j["address"] = *key;
    j["suppressed"] = found.found();
    if (found.found()) {
        const Json s = suppression_json(found.suppression);
        for (auto it = s.begin(); it != s.end(); ++it) j[it.key()] = it.value();
    }
    Json evidence = Json::array();
    for (const auto& e : *events) evidence.push_back(event_json(e));
    j["evidence"] = evidence;
    if (json) {
        out << json_line(j) << "\n";
        return 0;
    }
    out << j["address"].get<std::string>() << ": "
        << (found.found() ? "suppressed (" + std::string(to_string(found.suppression.category)) + ")" : "not suppressed")
        << "\n";
    if (found.found()) {
        const auto& s = found.suppression;
        out << "  entry:     " << s.key << (s.is_domain() ? " (the whole domain)" : "") << "\n"
            << "  since:     " << iso_time(s.first_seen) << ", last seen " << iso_time(s.last_seen) << ", "
            << s.count << (s.count == 1 ? " event\n" : " events\n")
            << "  expires:   " << (s.expires ? iso_time(s.expires) : std::string("never")) << "\n"
            << "  added by:  " << s.added_by << "\n"
            << "  why:       " << s.reason << "\n"
            << "  undo with: bounceguard remove " << s.key << "\n";
    }
    out << "  evidence (newest first):" << (events->empty() ? " none\n" : "\n");
    for (const auto& e : *events)
        out << "    " << iso_time(e.time) << "  " << to_string(e.source) << "  " << to_string(e.category) << "  "
            << text::valid_utf8(text::clip(e.text, 200)) << "\n";
    return 0;
}

int run_list(SuppressionStore& store, const ListFilter& filter, bool json, std::ostream& out, std::ostream& err) {
    auto rows = store.list(filter);
    if (!rows) {
        err << "bounceguard: list: " << rows.error().message << "\n";
        return 1;
    }
    for (const auto& s : *rows) {
        if (json) {
            out << json_line(suppression_json(s)) << "\n";
            continue;
        }
        out << std::left << std::setw(40) << s.key << " " << std::setw(17) << to_string(s.category) << " "
            << std::setw(20) << iso_time(s.first_seen) << " "
            << (s.expires ? iso_time(s.expires) : std::string("never")) << "\n";
    }
    return 0;
}

int run_expire(SuppressionStore& store, std::int64_t retention, std::ostream& out, std::ostream& err, UnixTime now) {
    auto r = store.expire(now, retention);
    if (!r) {
        err << "bounceguard: expire: " << r.error().message << "\n";
        return 1;
    }
    out << "expired " << r->suppressions << " suppressions, purged " << r->events << " events\n";
    return 0;
}

int run_stats(SuppressionStore& store, std::ostream& out, std::ostream& err) {
    auto s = store.stats();
    if (!s) {
        err << "bounceguard: stats: " << s.error().message << "\n";
        return 1;
    }
    auto version = store.schema_version();
    out << "store:         " << store.driver() << ", schema " << (version ? std::to_string(*version) : "?") << "\n"
        << "suppressions:  " << s->suppressions << " (" << s->domain_suppressions << " domains)\n"
        << "events:        " << s->events << "\n";
    for (const auto& c : s->by_category) out << "  " << std::left << std::setw(20) << to_string(c.category) << c.count << "\n";
    return 0;
}

int run_ingest(SuppressionStore& store, const PolicyConfig& policy, const RuleSet& rules,
               const std::vector<std::string>& paths, std::ostream& out, std::ostream& err, UnixTime now,
               spdlog::logger* log) {
    const BounceLimits limits;
    int failures = 0;
    const bool ok = walk_messages(paths, limits.max_message_bytes, "ingest", err,
                                  [&](const std::string& file, long, std::string_view raw) {
        auto parsed = parse_bounce(raw, limits);
        if (!parsed) {
            err << "bounceguard: ingest: " << file << ": " << parsed.error().message << "\n";
            return false;
        }
        classify_bounce(*parsed, rules);
        for (const auto& r : parsed->records) {
            auto rcpt = normalize_key(r.recipient);
            if (!rcpt) continue;  // a record without a usable recipient teaches nothing
            Event e;
            e.time = now;
            e.recipient = *rcpt;
            e.source = EventSource::Import;
            e.reply_code = r.reply.code;
            e.status = r.reply.status ? r.reply.status->to_string() : r.status;
            e.text = text::valid_utf8(text::clip(text::printable(r.diagnostic), 1000));
            e.stage = std::string(to_string(r.reply.stage));
            e.remote_mta = r.remote_mta;
            e.message_id = parsed->original.message_id;
            e.category = r.verdict.category;
            e.blame = r.verdict.blame;
            e.rule_id = std::string(r.verdict.rule_id);
            auto rec = record_event(store, policy, std::move(e), r.verdict.decision, now);
            if (!rec) {
                err << "bounceguard: ingest: " << file << ": " << *rcpt << ": " << rec.error().message << "\n";
                ++failures;
                continue;
            }
            out << *rcpt << " " << to_string(r.verdict.category) << " " << to_string(rec->outcome.action) << ": "
                << rec->outcome.why << "\n";
            if (log && rec->outcome.action == Action::Held)
                log->warn("breaker rcpt=<{}> category={} held: {}", log_value(*rcpt), to_string(r.verdict.category),
                          rec->outcome.why);
            else if (log)
                log->info("decision rcpt=<{}> category={} action={} rule={} file={}", log_value(*rcpt),
                          to_string(r.verdict.category), to_string(rec->outcome.action), r.verdict.rule_id,
                          log_value(file));
        }
        return true;
    });
    return ok && failures == 0 ? 0 : 1;
}

}  // namespace bg::cli
