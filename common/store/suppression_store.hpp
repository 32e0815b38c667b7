// suppression_store.hpp - the suppression store: one interface, two drivers (SQLite, the default,
// one file shared by the milter, the policy daemon and the CLI; PostgreSQL for a fleet of MTAs
// sharing one list). shared/docs/STYLE.md habit 9.
//
// Contract for every driver:
//   - the schema lives in numbered migrations (store/migrations/NNNN_*.{sqlite,pg}.sql, embedded at
//     build time), applied on open in one transaction each and recorded in schema_version;
//   - SQL uses prepared statements with bound parameters only, never quoting;
//   - lookup() is the MTA's hot path: it never throws and answers Found, NotFound or TempError
//     (a broken, locked or unreachable database is TempError, never NotFound);
//   - the other operations return Result<T>: errors are values that read well to a postmaster.
//   - keys (addresses and "@domain") are normalised by the store (smtp/address.hpp), so callers may
//     pass "<Joe@Example.COM>"; Event::recipient is expected to be normalised already.
// One store object may be shared by threads (each driver serialises its calls on one connection);
// a process that wants parallel lookups opens one store per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "classify/verdict.hpp"
#include "store/records.hpp"
#include "util/result.hpp"

namespace bg {

enum class LookupStatus { Found, NotFound, TempError };
std::string_view to_string(LookupStatus s) noexcept;  // "found", "not_found", "temp_error"

struct LookupResult {
    LookupStatus status = LookupStatus::NotFound;
    Suppression suppression;  // when Found: the address entry, else the domain entry
    std::string error;        // when TempError: why, for the log

    bool found() const noexcept { return status == LookupStatus::Found; }
};

struct ListFilter {
    std::optional<Category> category;
    UnixTime since = 0;      // last_seen >= since (0: any)
    std::string domain;      // entries of this domain: its addresses and its "@domain" entry
    int limit = 0;           // 0: no limit
    bool include_expired = false;
    UnixTime now = 0;        // what "expired" means when include_expired is false (0: keep all)
};

struct ExpireCounts {
    std::int64_t suppressions = 0;  // past their expiry
    std::int64_t events = 0;        // past retention and not the evidence of a kept suppression
    bool operator==(const ExpireCounts&) const = default;
};

struct CategoryCount {
    Category category = Category::Unknown;
    std::int64_t count = 0;
    bool operator==(const CategoryCount&) const = default;
};

struct StoreStats {
    std::int64_t suppressions = 0;
    std::int64_t domain_suppressions = 0;   // of which "@domain" entries
    std::int64_t events = 0;
    std::vector<CategoryCount> by_category;  // suppressions per category, largest first
    std::int64_t bytes = 0;                  // size of the database (file, or pg_database_size)
};

// Events of one category for one recipient since a time: what the decision engine's History needs.
struct EventCount {
    int count = 0;
    UnixTime oldest = 0;  // time of the oldest counted event (0 when none)
    UnixTime newest = 0;  // time of the newest counted event (0 when none)
    bool operator==(const EventCount&) const = default;
};

// What `bounceguard report` asks for: the events that were NOT the recipient's fault (blame
// sender_config, reputation, content, transient or unknown) in [since, until), grouped.
struct ReportFilter {
    UnixTime since = 0;   // time >= since
    UnixTime until = 0;   // time < until (0: no end)
    std::string domain;   // only this destination domain ("" : all)
    int limit = 0;        // at most this many groups, largest first (0: no limit)
};

// One group of the report: one destination domain, one category (and its blame).
struct ReportRow {
    std::string domain;
    Category category = Category::Unknown;
    Blame blame = Blame::Unknown;
    std::int64_t events = 0;
    std::int64_t recipients = 0;  // distinct recipients
    UnixTime first_seen = 0;
    UnixTime last_seen = 0;
    Event example;                // the newest event of the group (its reply, rule, remote MTA)
    bool operator==(const ReportRow&) const = default;
};

class SuppressionStore {
public:
    SuppressionStore() = default;
    virtual ~SuppressionStore() = default;
    SuppressionStore(const SuppressionStore&) = delete;
    SuppressionStore& operator=(const SuppressionStore&) = delete;

    // "sqlite" or "postgresql".
    virtual std::string_view driver() const noexcept = 0;
    // The schema version after the migrations ran.
    virtual Result<int> schema_version() = 0;

    // The active suppression for the address, else for its domain ("@domain"); entries with
    // 0 < expires <= now are ignored. Never throws.
    virtual LookupResult lookup(std::string_view address, UnixTime now) noexcept = 0;
    // Lets consecutive lookups share one read snapshot for at most max_age (0, the default: every
    // lookup reads the latest data). A change made through another connection is then seen at
    // most max_age later; changes through this store object are seen at once. The daemons turn it
    // on (store.lookup_snapshot_ms); drivers without a cheaper path ignore it.
    virtual void set_lookup_snapshot(std::chrono::milliseconds max_age) { (void)max_age; }

    // Records the events in one transaction (all or none); returns the ids assigned, in order.
    virtual Result<std::vector<std::int64_t>> record_events(std::span<const Event> events) = 0;
    // Runs body, whose calls on this store then share one write transaction: one commit (one
    // fsync) for many record_event()s, as a log follower or an import needs. A call that fails
    // inside body undoes only its own writes; the rest is committed when body returns Ok, and
    // nothing of it when body returns an error or the commit fails (the error is returned).
    // Other threads' calls on this store object wait for the batch. Drivers without batches
    // run body as it is (each call its own transaction).
    virtual Result<void> batch(const std::function<Result<void>()>& body) { return body(); }

    // The entry for a key ("joe@example.com" or "@example.com"), expired or not.
    virtual Result<std::optional<Suppression>> get(std::string_view key) = 0;
    // Creates or replaces the entry for s.key. event_id, when not 0, must name a recorded event.
    virtual Result<void> put(const Suppression& s) = 0;
    // put() for many entries in one transaction (all or none): imports, bulk `add`.
    virtual Result<void> put_all(std::span<const Suppression> entries) = 0;
    // True when there was an entry to remove.
    virtual Result<bool> remove(std::string_view key) = 0;

    // The events for a recipient, newest first (limit 0: all).
    virtual Result<std::vector<Event>> events_for(std::string_view address, int limit) = 0;
    // Suppressions matching the filter, newest last_seen first.
    // LIMITATION: an administrative query: it scans the table (no index on category or last_seen,
    // which would cost every suppressed address bytes on disk), as do stats().
    virtual Result<std::vector<Suppression>> list(const ListFilter& filter) = 0;

    // Deletes suppressions with 0 < expires <= now, and events older than now - retention that
    // no remaining suppression names as its trigger (retention <= 0: keep every event).
    virtual Result<ExpireCounts> expire(UnixTime now, std::int64_t event_retention_seconds) = 0;
    virtual Result<StoreStats> stats() = 0;

    // Events of `category` for `recipient` with time >= since (the soft-bounce count).
    virtual Result<EventCount> count_events(std::string_view recipient, Category category, UnixTime since) = 0;
    // Distinct recipients of `domain` with events of `category` since a time (circuit breaker),
    // counted up to `at_most` (0: all of them). The breaker only asks whether its threshold is
    // reached, and a bounded count costs the same however long a wave of rejections lasts.
    virtual Result<int> count_domain_recipients(std::string_view domain, Category category, UnixTime since,
                                                int at_most) = 0;

    // Sender-side problems per destination domain and category (see ReportFilter), the most
    // events first. Uses the events_time index; the example comes through events_domain.
    virtual Result<std::vector<ReportRow>> report(const ReportFilter& filter) = 0;
};

// "sqlite:PATH" (PATH may be followed by "?busy_timeout_ms=N"), or a PostgreSQL URI
// ("postgresql://user@host:5432/db", "postgres://..."). Creates the SQLite file when it does not
// exist (its directory must), and applies pending migrations.
Result<std::unique_ptr<SuppressionStore>> open_store(std::string_view uri);
// The URI as it may be logged: a PostgreSQL password (user:PASSWORD@, ?password=) becomes ***.
std::string redact_store_uri(std::string_view uri);

// The file path of a "sqlite:PATH[?...]" URI; nullopt for any other URI (PostgreSQL).
std::optional<std::string> sqlite_path_of(std::string_view uri);
// The page size of a new SQLite store, and that of the store file at path (read from its header;
// sqlite_new_page_size when there is no such file yet, or it is not a SQLite database).
inline constexpr int sqlite_new_page_size = 8192;
int sqlite_store_page_size(const std::string& path);

// Drivers (open_store picks one). timeout: how long a writer waits for a lock, in milliseconds.
Result<std::unique_ptr<SuppressionStore>> open_sqlite_store(const std::string& path, int busy_timeout_ms = 5000);
Result<std::unique_ptr<SuppressionStore>> open_pg_store(const std::string& conninfo);

// The normalised keys of entries to write, in order, or the first Error.
Result<std::vector<std::string>> normalize_keys(std::span<const Suppression> entries);

// The normalised domain of a list or report filter ("" when the filter names none), or an Error.
Result<std::string> filter_domain(std::string_view domain);

// The key a store uses for an address or "@domain" (normalised), or an Error.
Result<std::string> normalize_key(std::string_view key);

// Embedded migrations: version numbers ascending, with the SQL for each dialect.
struct Migration {
    int version;
    std::string_view name;
    std::string_view sqlite_sql;
    std::string_view pg_sql;
};
std::span<const Migration> migrations() noexcept;

}  // namespace bg
