// metrics.hpp - THE metrics table and the process's registry of counters and gauges, rendered in
// the Prometheus text exposition format 0.0.4 (exporter.hpp serves it over HTTP or writes it to a
// textfile for node_exporter). Every metric is declared once in metric_table below (name, type,
// help, label set), like the configuration keys: the renderer, INSTALL.md's "Monitoring" section
// and the Grafana dashboard (conf/grafana/, checked by a test) all follow the table.
//
// Hot path: an increment is one relaxed atomic add on a fixed slot. A labelled metric is a fixed
// array of slots indexed by its label enum (Category, Blame, EventSource, EnforceVerdict, ...):
// no map lookup, no allocation, no lock. Rendering reads the slots with relaxed loads; a scrape
// may see one metric a few increments ahead of another, never a torn value.
//
// Names are rendered with the "bounceguard_" prefix, counters with the "_total" suffix:
//   Metric::Refused, category user_unknown => bounceguard_refused_total{category="user_unknown"} 3
// SECURITY: label values are escaped (backslash, double quote, newline); all but the program
// name and version come from the static tables of the taxonomy.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "classify/verdict.hpp"
#include "store/records.hpp"
#include "util/result.hpp"

namespace bg {
enum class EnforceVerdict;  // enforce/enforcer.hpp
}

namespace bg::metrics {

enum class Type { Counter, Gauge };

// The label sets a metric can have; each is a fixed number of slots.
enum class LabelSet {
    None,                 // one slot
    Category,             // category="user_unknown" (classify/verdict.hpp, 25 values)
    CategoryBlameSource,  // category, blame, source (25 x 7 x 5 slots)
    Verdict,              // verdict="pass|reject|defer|warn|tempfail" (EnforceVerdict)
    PolicyAction,         // action="dunno|reject|defer|warn|tempfail" (the answer to Postfix)
    Result,               // result="ok|failed"
    BuildInfo,            // version, program: one slot, always 1
};

// Every metric, in the order of metric_table (a static_assert keeps the two in step).
enum class Metric {
    Learned,
    SuppressionsAdded,
    SuppressionsExtended,
    SuppressionsLifted,
    ObserveWouldSuppress,
    AllowListed,
    BreakerHeld,
    RecordErrors,
    RcptChecks,
    Refused,
    WouldRefuse,
    LookupErrors,
    UnverifiedBounces,
    PolicyRequests,
    PolicyMalformedRequests,
    MilterMessages,
    MilterBounces,
    MilterRecipientsRemoved,
    IngestLinesRead,
    IngestLinesRecognised,
    IngestEventsRecorded,
    ConfigReloads,
    InternalErrors,
    Connections,
    StartTimeSeconds,
    BuildInfo,
};

struct MetricInfo {
    Metric id;
    std::string_view name;  // without the prefix and the counters' "_total"
    Type type;
    LabelSet labels;
    std::string_view help;  // one line
};

inline constexpr std::string_view prefix = "bounceguard_";

// THE table.
inline constexpr std::array metric_table{
    MetricInfo{Metric::Learned, "learned", Type::Counter, LabelSet::CategoryBlameSource,
               "rejections (and successes after a failure) learned and recorded, by category, whose fault it is "
               "(blame) and source (dsn-internal, dsn-remote, maillog, manual, import)"},
    MetricInfo{Metric::SuppressionsAdded, "suppressions_added", Type::Counter, LabelSet::Category,
               "suppressions created: the recipient (or domain) is refused from now on"},
    MetricInfo{Metric::SuppressionsExtended, "suppressions_extended", Type::Counter, LabelSet::Category,
               "active suppressions renewed by a further rejection"},
    MetricInfo{Metric::SuppressionsLifted, "suppressions_lifted", Type::Counter, LabelSet::Category,
               "suppressions removed because a later delivery to the address succeeded"},
    MetricInfo{Metric::ObserveWouldSuppress, "observe_would_suppress", Type::Counter, LabelSet::Category,
               "suppressions not written because policy.mode is observe"},
    MetricInfo{Metric::AllowListed, "allow_listed", Type::Counter, LabelSet::Category,
               "suppressions not written because the address is allow-listed or one of our own domains"},
    MetricInfo{Metric::BreakerHeld, "breaker_held", Type::Counter, LabelSet::Category,
               "suppressions held back by the circuit breaker: one destination rejected many recipients alike "
               "(a block of our mail, not dead mailboxes)"},
    MetricInfo{Metric::RecordErrors, "record_errors", Type::Counter, LabelSet::None,
               "events that could not be recorded because the store failed"},
    MetricInfo{Metric::RcptChecks, "rcpt_checks", Type::Counter, LabelSet::Verdict,
               "outbound RCPT TO recipients checked (policy daemon, milter), by verdict: pass, reject, defer, warn (would "
               "refuse), tempfail (store error under on_store_error = tempfail)"},
    MetricInfo{Metric::Refused, "refused", Type::Counter, LabelSet::Category,
               "recipients refused at RCPT TO (reject or defer), by the category of their suppression"},
    MetricInfo{Metric::WouldRefuse, "would_refuse", Type::Counter, LabelSet::Category,
               "suppressed recipients let through only because of observe mode or enforce.action = warn"},
    MetricInfo{Metric::LookupErrors, "lookup_errors", Type::Counter, LabelSet::None,
               "suppression lookups the store could not answer (enforce.on_store_error decided)"},
    MetricInfo{Metric::UnverifiedBounces, "unverified_bounces", Type::Counter, LabelSet::None,
               "recipients of remote bounces without a valid token (possibly forged): not recorded"},
    MetricInfo{Metric::PolicyRequests, "policy_requests", Type::Counter, LabelSet::PolicyAction,
               "policy daemon requests answered, by the action given to Postfix"},
    MetricInfo{Metric::PolicyMalformedRequests, "policy_malformed_requests", Type::Counter, LabelSet::None,
               "policy requests with lines dropped (too long, too many, not name=value)"},
    MetricInfo{Metric::MilterMessages, "milter_messages", Type::Counter, LabelSet::None,
               "messages the milter saw (MAIL FROM)"},
    MetricInfo{Metric::MilterBounces, "milter_bounces", Type::Counter, LabelSet::None,
               "null-sender messages the milter parsed as bounces"},
    MetricInfo{Metric::MilterRecipientsRemoved, "milter_recipients_removed", Type::Counter, LabelSet::None,
               "suppressed recipients removed from non-SMTP mail at end of message"},
    MetricInfo{Metric::IngestLinesRead, "ingest_lines_read", Type::Counter, LabelSet::None,
               "mail log lines read by ingest-log"},
    MetricInfo{Metric::IngestLinesRecognised, "ingest_lines_recognised", Type::Counter, LabelSet::None,
               "mail log lines ingest-log recognised as delivery or queue lines"},
    MetricInfo{Metric::IngestEventsRecorded, "ingest_events_recorded", Type::Counter, LabelSet::None,
               "events ingest-log recorded in the store"},
    MetricInfo{Metric::ConfigReloads, "config_reloads", Type::Counter, LabelSet::Result,
               "configuration reloads (SIGHUP), by result; a failed one keeps the running configuration"},
    MetricInfo{Metric::InternalErrors, "internal_errors", Type::Counter, LabelSet::None,
               "internal failures caught (the configured failure mode applied)"},
    MetricInfo{Metric::Connections, "connections", Type::Gauge, LabelSet::None,
               "client connections open now (policy daemon: Postfix smtpd processes; milter: MTA connections)"},
    MetricInfo{Metric::StartTimeSeconds, "start_time_seconds", Type::Gauge, LabelSet::None,
               "when the process started, in seconds since the Unix epoch"},
    MetricInfo{Metric::BuildInfo, "build_info", Type::Gauge, LabelSet::BuildInfo,
               "always 1; the labels say the version and the program"},
};

// The number of slots of a label set.
constexpr std::size_t slots(LabelSet s) noexcept {
    constexpr std::size_t categories = static_cast<std::size_t>(Category::Unknown) + 1;
    constexpr std::size_t blames = static_cast<std::size_t>(Blame::Unknown) + 1;
    constexpr std::size_t sources = static_cast<std::size_t>(EventSource::Import) + 1;
    switch (s) {
        case LabelSet::None: return 1;
        case LabelSet::Category: return categories;
        case LabelSet::CategoryBlameSource: return categories * blames * sources;
        case LabelSet::Verdict: return 5;
        case LabelSet::PolicyAction: return 5;
        case LabelSet::Result: return 2;
        case LabelSet::BuildInfo: return 1;
    }
    return 1;
}

namespace detail {
constexpr bool table_in_order() noexcept {
    for (std::size_t i = 0; i < metric_table.size(); ++i)
        if (static_cast<std::size_t>(metric_table[i].id) != i) return false;
    return true;
}
static_assert(table_in_order(), "metric_table must list the metrics in the order of enum Metric");
static_assert(metric_table.size() == static_cast<std::size_t>(Metric::BuildInfo) + 1);

constexpr std::array<std::size_t, metric_table.size() + 1> offsets() noexcept {
    std::array<std::size_t, metric_table.size() + 1> out{};
    for (std::size_t i = 0; i < metric_table.size(); ++i) out[i + 1] = out[i] + slots(metric_table[i].labels);
    return out;
}
inline constexpr auto slot_offsets = offsets();
}  // namespace detail

constexpr const MetricInfo& info(Metric m) noexcept { return metric_table[static_cast<std::size_t>(m)]; }

// The full name as scraped: "bounceguard_refused_total", "bounceguard_connections".
std::string full_name(const MetricInfo& m);

// Slot indexes of the labelled metrics.
constexpr std::size_t index(Category c) noexcept { return static_cast<std::size_t>(c); }
constexpr std::size_t index(Category c, Blame b, EventSource s) noexcept {
    constexpr std::size_t blames = static_cast<std::size_t>(Blame::Unknown) + 1;
    constexpr std::size_t sources = static_cast<std::size_t>(EventSource::Import) + 1;
    return (static_cast<std::size_t>(c) * blames + static_cast<std::size_t>(b)) * sources +
           static_cast<std::size_t>(s);
}
std::size_t index(EnforceVerdict v) noexcept;  // pass 0, reject 1, defer 2, warn 3, tempfail 4
enum class ReloadResult { Ok, Failed };
constexpr std::size_t index(ReloadResult r) noexcept { return static_cast<std::size_t>(r); }

class Registry {
public:
    Registry() noexcept;
    Registry(const Registry&) = delete;
    Registry& operator=(const Registry&) = delete;

    // Counters and gauges alike; an index past the metric's label set is ignored.
    void add(Metric m, std::size_t slot = 0, std::int64_t n = 1) noexcept {
        const auto i = static_cast<std::size_t>(m);
        if (slot >= detail::slot_offsets[i + 1] - detail::slot_offsets[i]) return;
        values_[detail::slot_offsets[i] + slot].fetch_add(n, std::memory_order_relaxed);
    }
    void set(Metric m, std::int64_t v, std::size_t slot = 0) noexcept {
        const auto i = static_cast<std::size_t>(m);
        if (slot >= detail::slot_offsets[i + 1] - detail::slot_offsets[i]) return;
        values_[detail::slot_offsets[i] + slot].store(v, std::memory_order_relaxed);
    }
    std::int64_t value(Metric m, std::size_t slot = 0) const noexcept;

    // The build_info labels. Call before any thread renders (program start).
    void set_program(std::string_view program);
    std::string_view program() const noexcept { return program_; }

    // Every metric of the table, in its order, in the text format 0.0.4.
    std::string render() const;
    // One metric (its # HELP, # TYPE and sample lines), appended to out.
    void render(std::string& out, Metric m) const;

private:
    std::array<std::atomic<std::int64_t>, detail::slot_offsets.back()> values_;
    std::string program_;
};

// The process's registry, which the core (recorder, enforcer) and the programs count into.
Registry& registry() noexcept;

// The version compiled in ("0.1.0").
std::string_view version() noexcept;

// A label value or HELP text made safe for the exposition format: '\\' => "\\\\", '\n' => "\\n",
// and, for label values only, '"' => "\\\"".
std::string escape_label_value(std::string_view v);
std::string escape_help(std::string_view v);

// "HOST:PORT", "[V6]:PORT" or "inet:HOST:PORT" with a numeric address (no name lookup); port 0
// asks the kernel for a free one (tests).
struct ListenAddress {
    std::string host;
    std::uint16_t port = 0;
    bool v6 = false;
};
Result<ListenAddress> parse_listen(std::string_view spec);

// metrics.textfile with "{program}" replaced ("/var/lib/node_exporter/bounceguard-{program}.prom").
std::string expand_program(std::string_view path, std::string_view program);

// Writes content to path atomically: a temporary file in the same directory, then rename(2), so
// node_exporter never reads half a file. The file is made readable by all (0644).
Result<void> write_textfile(const std::string& path, std::string_view content);

}  // namespace bg::metrics
