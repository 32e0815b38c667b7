// cmd_ingest_log.cpp - `bounceguard ingest-log`: mail log lines -> delivery records (maillog
// parser) -> events classified by the core -> record_event (source maillog). A status=sent
// line is the successful delivery that lifts a suppression and restarts the soft counts; it is
// recorded only when the recipient's newest event is a failure (a site's every delivery would
// otherwise fill the store with successes that change nothing).
// The lines of one read (at most batch_lines) are recorded in one store batch: one commit, one
// fsync, for all of them; the saved position moves only after that commit, so a crash replays
// the batch instead of losing it.
// SECURITY: log lines carry remote text: lines are capped, the parser is bounded, and every
// address is normalised before it reaches the store.
#include "cmd_ingest_log.hpp"

#include <csignal>
#include <ctime>
#include <fstream>
#include <iostream>
#include <spdlog/logger.h>
#include <thread>

#include "line_reader.hpp"
#include "log/logging.hpp"
#include "maillog/delivery_event.hpp"
#include "maillog/log_follower.hpp"
#include "maillog/maillog_parser.hpp"
#include "metrics/metrics.hpp"
#include "policy/recorder.hpp"

namespace bg::cli {

namespace {

std::atomic<bool> stop_flag{false};

extern "C" void on_stop_signal(int) { stop_flag.store(true); }

class Ingestor {
public:
    Ingestor(SuppressionStore& store, const PolicyConfig& policy, const RuleSet& rules, const IngestLogOptions& o,
             std::ostream& out, std::ostream& err, spdlog::logger* log)
        : store_(store), policy_(policy), rules_(rules), out_(out), err_(err), log_(log),
          parser_(maillog::MaillogLimits{o.max_queue_ids, 1024, 4096, 100}) {
        learn_.hop_relays = o.hop_relays;
    }

    void line(std::string_view text, bool truncated) {
        ++stats.read;
        metrics::registry().add(metrics::Metric::IngestLinesRead);
        if (truncated) ++stats.truncated;
        records_.clear();
        const UnixTime now = std::time(nullptr);
        if (parser_.feed(text, now, records_) == maillog::LineKind::Unknown) {
            ++stats.skipped;
            return;
        }
        ++stats.recognised;
        metrics::registry().add(metrics::Metric::IngestLinesRecognised);
        for (const auto& r : records_) record(r, now);
    }

    // Records whatever `read` feeds to line() in one store batch.
    template <class F>
    Result<void> batch(F&& read) {
        return store_.batch([&]() -> Result<void> {
            read();
            return Ok{};
        });
    }

    IngestLogStats stats;

private:
    // A success teaches something only after a failure: the newest event is not a success.
    bool success_matters(const std::string& rcpt) {
        auto newest = store_.events_for(rcpt, 1);
        if (!newest) return true;  // let record_event report the store's error
        return !newest->empty() && newest->front().category != Category::Delivered;
    }

    void record(const maillog::DeliveryRecord& r, UnixTime now) {
        auto learned = maillog::learn(r, rules_, learn_, now);
        if (!learned) return;
        const std::string rcpt = learned->event.recipient;
        if (learned->verdict.category == Category::Delivered && !success_matters(rcpt)) return;
        const Category category = learned->verdict.category;
        auto rec = record_event(store_, policy_, std::move(learned->event), learned->decision, now);
        if (!rec) {
            ++stats.errors;
            err_ << "bounceguard: ingest-log: " << rcpt << ": " << rec.error().message << "\n";
            return;
        }
        ++stats.recorded;
        metrics::registry().add(metrics::Metric::IngestEventsRecorded);
        const Action a = rec->outcome.action;
        if (a == Action::Suppress) ++stats.suppressed;
        if (a == Action::Ignore || a == Action::Count) return;
        out_ << rcpt << " " << to_string(category) << " " << to_string(a) << ": " << rec->outcome.why << std::endl;
        if (!log_) return;
        if (a == Action::Held)
            log_->warn("breaker rcpt=<{}> category={} held: {}", log_value(rcpt), to_string(category),
                       rec->outcome.why);
        else
            log_->info("decision rcpt=<{}> category={} action={} rule={} queue_id={} source=maillog",
                       log_value(rcpt), to_string(category), to_string(a), learned->verdict.rule_id,
                       log_value(r.queue_id));
    }

    SuppressionStore& store_;
    const PolicyConfig& policy_;
    const RuleSet& rules_;
    std::ostream& out_;
    std::ostream& err_;
    spdlog::logger* log_;
    maillog::MaillogParser parser_;
    maillog::LearnOptions learn_;
    std::vector<maillog::DeliveryRecord> records_;
};

void print_stats(const IngestLogStats& s, std::ostream& out) {
    out << "read=" << s.read << " recognised=" << s.recognised << " recorded=" << s.recorded
        << " skipped=" << s.skipped << " truncated=" << s.truncated << " suppressed=" << s.suppressed
        << " errors=" << s.errors << std::endl;
}

bool stopped(const IngestLogOptions& o) { return o.stop && o.stop->load(); }

// A stream read to its end (stdin, or a file without --follow and without a state file).
constexpr std::size_t batch_lines = 2000;  // keeps a batch's write lock short for the daemons' writes

// A pipe (may_block: stdin) ends its batch when what has arrived is read, so that a write lock
// is never held while the next line is awaited (the daemons' own writes would wait for it).
int read_stream(std::istream& in, Ingestor& ing, const IngestLogOptions& o, std::ostream& err, bool may_block) {
    LineReader reader(in, o.max_line_bytes);
    std::string line;
    bool truncated = false;
    bool more = true;
    while (more && !stopped(o)) {
        auto r = ing.batch([&] {
            for (std::size_t n = 0; n < batch_lines; ++n) {
                if (n > 0 && may_block && in.rdbuf()->in_avail() <= 0) return;
                if (stopped(o) || !reader.next(line, truncated)) {
                    more = false;
                    return;
                }
                ing.line(line, truncated);
            }
        });
        if (!r) {
            err << "bounceguard: ingest-log: " << r.error().message << "\n";
            return 1;
        }
    }
    return 0;
}

// A file through the follower: from the saved position; with --follow until stopped.
int read_file(Ingestor& ing, const IngestLogOptions& o, std::ostream& err) {
    std::optional<maillog::FollowPosition> saved;
    if (!o.state_file.empty()) {
        auto p = maillog::load_position(o.state_file);
        if (!p) {
            err << "bounceguard: ingest-log: " << p.error().message << "\n";
            return 2;
        }
        saved = *p;
    }
    auto follower = maillog::LogFollower::open(o.path, saved, o.max_line_bytes);
    if (!follower) {
        err << "bounceguard: ingest-log: " << follower.error().message << "\n";
        return 1;
    }
    auto& f = **follower;
    const auto on_line = [&](std::string_view l, bool cut) { ing.line(l, cut); };
    int status = 0;
    auto save = [&] {
        if (o.state_file.empty()) return;
        if (auto r = maillog::save_position(o.state_file, f.position()); !r) {
            err << "bounceguard: ingest-log: " << r.error().message << "\n";
            status = 1;
        }
    };
    for (;;) {
        Result<std::size_t> n = std::size_t{0};
        auto committed = ing.batch([&] { n = f.poll(on_line, batch_lines); });
        if (!committed) {  // nothing of this read is recorded: keep the old position
            err << "bounceguard: ingest-log: " << committed.error().message << "\n";
            return 1;
        }
        if (!n) {
            err << "bounceguard: ingest-log: " << n.error().message << "\n";
            return 1;
        }
        if (*n > 0) {
            save();
            if (stopped(o)) break;
            continue;
        }
        if (!o.follow || stopped(o)) break;
        for (std::int64_t waited = 0; waited < o.poll_interval_ms && !stopped(o); waited += 10)
            std::this_thread::sleep_for(std::chrono::milliseconds(std::min<std::int64_t>(10, o.poll_interval_ms)));
    }
    save();
    return status;
}

}  // namespace

const std::atomic<bool>* install_stop_signals() {
    struct sigaction sa{};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    return &stop_flag;
}

int run_ingest_log(SuppressionStore& store, const PolicyConfig& policy, const RuleSet& rules,
                   const IngestLogOptions& options, std::istream& in, std::ostream& out, std::ostream& err,
                   spdlog::logger* log, IngestLogStats* stats_out) {
    Ingestor ing(store, policy, rules, options, out, err, log);
    int status = 0;
    if (options.path == "-") {
        status = read_stream(in, ing, options, err, true);
    } else if (options.follow || !options.state_file.empty()) {
        status = read_file(ing, options, err);
    } else {
        std::ifstream file(options.path, std::ios::binary);
        if (!file) {
            err << "bounceguard: ingest-log: " << options.path << ": cannot open\n";
            return 1;
        }
        status = read_stream(file, ing, options, err, false);
    }
    if (options.stats) print_stats(ing.stats, out);
    if (log)
        log->info("ingest-log file={} read={} recognised={} recorded={} skipped={} errors={}",
                  log_value(options.path), ing.stats.read, ing.stats.recognised, ing.stats.recorded,
                  ing.stats.skipped, ing.stats.errors);
    if (stats_out) *stats_out = ing.stats;
    if (status == 0 && ing.stats.errors > 0) status = 1;
    return status;
}

}  // namespace bg::cli
