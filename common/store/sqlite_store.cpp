// sqlite_store.cpp - the SQLite driver: one file shared by several processes (milter, policy
// daemon, CLI), each with its own connection.
//   - WAL mode: readers never block the writer nor each other; a crash (even SIGKILL mid-write)
//     loses nothing committed, and an uncommitted batch is rolled back on the next open.
//   - busy_timeout (5 s by default): a writer waits for another's transaction instead of failing
//     with "database is locked". Every write transaction is BEGIN IMMEDIATE, so two connections
//     never deadlock upgrading a read lock to a write lock (which busy_timeout cannot resolve).
//   - synchronous=FULL: in WAL mode NORMAL is already safe against a process crash, but a power
//     loss or kernel panic may roll back the last commits. DESIGN.md promises that nothing
//     recorded is lost on a crash, so each commit fsyncs the WAL; events are recorded in batches
//     (one fsync per batch) and lookups never fsync, so the cost stays off the hot path.
//   - wal_autocheckpoint 10,000 pages (SQLite's default is 1,000): a checkpoint copies the latest
//     version of each page the log holds, so a longer log copies the index pages that every
//     batch of events dirties fewer times: +20-30% events recorded per second (bench_store). The
//     log may grow to about 40 MB between checkpoints; journal_size_limit truncates it back to
//     64 MB at most when a checkpoint resets it.
//   - foreign_keys=ON: a suppression's event_id names a recorded event.
//   - cache_size 32 MiB per connection (SQLite's default is 2 MiB): with millions of entries the
//     b-tree interior pages and the hot index pages stay in memory, which keeps lookup p99 and
//     the batch insert rate steady as the file grows. Memory is only used as pages are read.
//     No mmap: an I/O error on a mapped file is a SIGBUS in the MTA's milter, not an error code.
//   - statements are prepared once per connection and cached; parameters are always bound.
//   - lookup snapshot (opt-in, set_lookup_snapshot(): the daemons turn it on): consecutive lookups
//     share one read transaction for at most N milliseconds. A fresh read transaction per lookup
//     costs four fcntl() lock calls and a check of the WAL index, about a third of a lookup; under
//     load the snapshot pays that once per N ms. The price is bounded staleness: a suppression
//     added or removed by another process is seen at most N ms later. Any other call on the
//     connection (a write, a listing) ends the snapshot first, so a connection always reads its
//     own writes; and a small janitor thread ends a snapshot left idle past its deadline, so an
//     idle daemon never pins an old snapshot (which would stop WAL checkpoints from resetting the
//     log while another process writes).
// SECURITY: addresses and texts come from bounces (untrusted); they only ever reach SQLite as
//   bound parameters.
// LIMITATION: every process sharing the file must be able to write it, its -wal and -shm files
//   and its directory: run the milter, the policy daemon and the CLI as one user (or one group
//   with a umask that lets the group write), or root's -shm file locks the daemons out.
// LIMITATION: a connection (and so a store object) must not cross fork(); open one per process.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "smtp/address.hpp"
#include "store/sqlite_sql.hpp"
#include "store/suppression_store.hpp"
#include "util/deadline_thread.hpp"

namespace bg {

namespace {

struct DbClose {
    void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
struct StmtFinalize {
    void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using SqliteDb = std::unique_ptr<sqlite3, DbClose>;
using SqliteStmt = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

constexpr std::int64_t no_limit = std::numeric_limits<std::int64_t>::max();

std::optional<Blame> parse_blame(std::string_view s) noexcept {
    for (Blame b : {Blame::Recipient, Blame::SenderConfig, Blame::Reputation, Blame::Content, Blame::Transient,
                    Blame::None, Blame::Unknown})
        if (to_string(b) == s) return b;
    return std::nullopt;
}

// A bound, running statement from the cache; reset (and its bindings cleared) when it goes.
class Query {
public:
    explicit Query(sqlite3_stmt* s) noexcept : s_(s) {}
    ~Query() {
        sqlite3_reset(s_);
        sqlite3_clear_bindings(s_);
    }
    Query(const Query&) = delete;
    Query& operator=(const Query&) = delete;

    Query& bind(int i, std::int64_t v) {
        sqlite3_bind_int64(s_, i, v);
        return *this;
    }
    Query& bind(int i, std::string_view v) {
        sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
        return *this;
    }
    // Text that stays alive and unchanged until the statement is stepped: bound without a copy.
    Query& bind_static(int i, std::string_view v) {
        sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
        return *this;
    }
    Query& bind_null(int i) {
        sqlite3_bind_null(s_, i);
        return *this;
    }
    // SQLITE_ROW, SQLITE_DONE or an error code.
    int step() noexcept { return sqlite3_step(s_); }

    std::int64_t i64(int col) const noexcept { return sqlite3_column_int64(s_, col); }
    bool is_null(int col) const noexcept { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
    std::string str(int col) const {
        const auto* p = sqlite3_column_text(s_, col);
        const int n = sqlite3_column_bytes(s_, col);
        return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n)) : std::string();
    }

private:
    sqlite3_stmt* s_;
};

Suppression read_suppression(const Query& q) {
    Suppression s;
    s.key = q.str(0);
    s.category = parse_category(q.str(1)).value_or(Category::Unknown);
    s.first_seen = q.i64(2);
    s.last_seen = q.i64(3);
    s.count = static_cast<int>(q.i64(4));
    s.expires = q.i64(5);
    s.event_id = q.is_null(6) ? 0 : q.i64(6);
    s.added_by = q.str(7);
    s.reason = q.str(8);
    return s;
}

// The 15 event columns starting at column o (events_for's order).
Event read_event(const Query& q, int o = 0) {
    Event e;
    e.id = q.i64(o + 0);
    e.time = q.i64(o + 1);
    e.recipient = q.str(o + 2);
    e.sender = q.str(o + 3);
    e.source = parse_event_source(q.str(o + 4)).value_or(EventSource::Maillog);
    e.reply_code = static_cast<int>(q.i64(o + 5));
    e.status = q.str(o + 6);
    e.text = q.str(o + 7);
    e.stage = q.str(o + 8);
    e.remote_mta = q.str(o + 9);
    e.queue_id = q.str(o + 10);
    e.message_id = q.str(o + 11);
    e.category = parse_category(q.str(o + 12)).value_or(Category::Unknown);
    e.blame = parse_blame(q.str(o + 13)).value_or(Blame::Unknown);
    e.rule_id = q.str(o + 14);
    return e;
}

namespace sql = sqlite_sql;  // the SQL texts (sqlite_sql.hpp)

class SqliteStore final : public SuppressionStore {
public:
    SqliteStore(SqliteDb db, std::string path) : db_(std::move(db)), path_(std::move(path)) {}
    SqliteStore(const SqliteStore&) = delete;
    SqliteStore& operator=(const SqliteStore&) = delete;
    ~SqliteStore() override {
        janitor_.reset();  // joins its thread before the connection goes
        std::lock_guard lock(mu_);
        end_snapshot_locked();
    }

    std::string_view driver() const noexcept override { return "sqlite"; }

    Result<void> batch(const std::function<Result<void>()>& body) override {
        auto lock = exclusive();
        if (batch_depth_ > 0) return body();  // nested: part of the outer batch
        ++batch_depth_;
        batch_lost_.reset();
        Result<void> r = Ok{};
        try {
            r = body();
        } catch (...) {
            --batch_depth_;
            (void)end_batch(false);
            throw;
        }
        --batch_depth_;
        auto done = end_batch(static_cast<bool>(r));
        if (!r) return r.error();
        return done;
    }

    void set_lookup_snapshot(std::chrono::milliseconds max_age) override {
        auto lock = exclusive();
        snap_max_ = std::max(std::chrono::milliseconds(0), max_age);
        if (snap_max_.count() > 0 && !janitor_)
            janitor_ = std::make_unique<DeadlineThread>([this] { return end_idle_snapshot(); });
    }

    // Pragmas and migrations; called once by open_sqlite_store.
    Result<void> init() {
        auto lock = exclusive();
        // A new file only (an existing one keeps its page size; in WAL mode it cannot change).
        // 8 KiB rather than SQLite's 4 KiB: an event dirties a random leaf of two indexes, and a
        // batch writes each dirty page to the WAL and again at the checkpoint; half as many
        // leaves means fewer pages per batch (bench_store: about 25% more events/s recorded).
        static const std::string page_size = "PRAGMA page_size=" + std::to_string(sqlite_new_page_size);
        if (auto r = exec(page_size.c_str()); !r) return r.error();
        // Switching to WAL needs a moment of exclusive access; another process opening the same
        // new file at the same instant can make it fail with BUSY even with a busy timeout.
        std::string mode;
        for (int attempt = 0;; ++attempt) {
            auto r = exec_scalar_text("PRAGMA journal_mode=WAL");
            if (r) {
                mode = *r;
                break;
            }
            if (attempt >= 50 || !is_busy()) return describe_open_error();
            usleep(100000);
        }
        if (mode != "wal") return Error{"store " + path_ + ": cannot switch to WAL mode (journal_mode is '" + mode + "')"};
        if (auto r = exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-32768; "
                          "PRAGMA wal_autocheckpoint=10000; PRAGMA journal_size_limit=67108864;");
            !r)
            return r.error();
        if (sqlite3_db_readonly(db_.get(), "main") == 1)
            return Error{"store " + path_ + ": the file is read-only for this user"};
        return migrate();
    }

    Result<int> schema_version() override {
        auto lock = exclusive();
        return version_locked();
    }

    LookupResult lookup(std::string_view address, UnixTime now) noexcept override {
        LookupResult out;
        try {
            auto key = normalize_address(address);
            if (!key) return out;  // not an address: nothing can be suppressed under it
            const std::string domain_key = "@" + std::string(domain_of(*key));
            std::lock_guard lock(mu_);
            begin_snapshot_locked();
            auto st = stmt(sql::lookup);
            if (!st) return temp_error(st.error().message);
            int rc = SQLITE_ERROR;
            {
                Query q(*st);
                q.bind(1, *key).bind(2, now).bind(3, domain_key);
                rc = q.step();
                if (rc == SQLITE_ROW) {
                    out.status = LookupStatus::Found;
                    out.suppression = read_suppression(q);
                    return out;
                }
            }
            if (rc != SQLITE_DONE) {
                end_snapshot_locked();  // the next lookup starts from a fresh read transaction
                return temp_error(message("lookup", rc));
            }
            out.status = LookupStatus::NotFound;
            return out;
        } catch (const std::exception& e) {
            return temp_error(std::string("store lookup failed: ") + e.what());
        }
    }

    Result<std::vector<std::int64_t>> record_events(std::span<const Event> events) override {
        auto lock = exclusive();
        std::vector<std::int64_t> ids;
        ids.reserve(events.size());
        auto r = in_transaction([&]() -> Result<void> {
            auto st = stmt(sql::insert_event);
            if (!st) return st.error();
            std::string domain;
            for (const Event& e : events) {
                // Every text bound here outlives the step below (the events, `domain`, and the
                // static names of source, category and blame), so none is copied.
                domain = text_lower(domain_of(e.recipient));
                Query q(*st);
                q.bind(1, e.time).bind_static(2, e.recipient).bind_static(3, domain).bind_static(4, e.sender);
                q.bind_static(5, to_string(e.source)).bind(6, std::int64_t{e.reply_code}).bind_static(7, e.status);
                q.bind_static(8, e.text).bind_static(9, e.stage).bind_static(10, e.remote_mta);
                q.bind_static(11, e.queue_id).bind_static(12, e.message_id);
                q.bind_static(13, to_string(e.category)).bind_static(14, to_string(e.blame)).bind_static(15, e.rule_id);
                if (const int rc = q.step(); rc != SQLITE_DONE) return Error{message("recording an event", rc)};
                ids.push_back(sqlite3_last_insert_rowid(db_.get()));
            }
            return Ok{};
        });
        if (!r) return r.error();
        return ids;
    }

    Result<std::optional<Suppression>> get(std::string_view key) override {
        auto k = normalize_key(key);
        if (!k) return k.error();
        auto lock = exclusive();
        auto st = stmt(sql::get);
        if (!st) return st.error();
        Query q(*st);
        q.bind(1, *k);
        const int rc = q.step();
        if (rc == SQLITE_ROW) return std::optional<Suppression>(read_suppression(q));
        if (rc == SQLITE_DONE) return std::optional<Suppression>();
        return Error{message("reading a suppression", rc)};
    }

    Result<void> put(const Suppression& s) override { return put_all(std::span<const Suppression>(&s, 1)); }

    Result<void> put_all(std::span<const Suppression> entries) override {
        auto normalised = normalize_keys(entries);
        if (!normalised) return normalised.error();
        const std::vector<std::string>& keys = *normalised;
        auto lock = exclusive();
        return in_transaction([&]() -> Result<void> {
            auto st = stmt(sql::put);
            if (!st) return st.error();
            for (std::size_t i = 0; i < entries.size(); ++i) {
                const Suppression& s = entries[i];
                Query q(*st);
                q.bind(1, keys[i]).bind(2, to_string(s.category)).bind(3, s.first_seen).bind(4, s.last_seen);
                q.bind(5, std::int64_t{s.count}).bind(6, s.expires);
                if (s.event_id != 0) q.bind(7, s.event_id);
                else q.bind_null(7);
                q.bind(8, s.added_by).bind(9, s.reason);
                if (const int rc = q.step(); rc != SQLITE_DONE)
                    return Error{message("writing the suppression of " + keys[i], rc)};
            }
            return Ok{};
        });
    }

    Result<bool> remove(std::string_view key) override {
        auto k = normalize_key(key);
        if (!k) return k.error();
        auto lock = exclusive();
        bool removed = false;
        auto r = in_transaction([&]() -> Result<void> {
            auto st = stmt(sql::remove);
            if (!st) return st.error();
            Query q(*st);
            q.bind(1, *k);
            if (const int rc = q.step(); rc != SQLITE_DONE) return Error{message("removing a suppression", rc)};
            removed = sqlite3_changes(db_.get()) > 0;
            return Ok{};
        });
        if (!r) return r.error();
        return removed;
    }

    Result<std::vector<Event>> events_for(std::string_view address, int limit) override {
        auto k = normalize_address(address);
        if (!k) return k.error();
        auto lock = exclusive();
        auto st = stmt(sql::events_for);
        if (!st) return st.error();
        Query q(*st);
        q.bind(1, *k).bind(2, limit > 0 ? std::int64_t{limit} : no_limit);
        std::vector<Event> out;
        int rc;
        while ((rc = q.step()) == SQLITE_ROW) out.push_back(read_event(q));
        if (rc != SQLITE_DONE) return Error{message("reading events", rc)};
        return out;
    }

    Result<std::vector<Suppression>> list(const ListFilter& f) override {
        auto filtered = filter_domain(f.domain);
        if (!filtered) return filtered.error();
        const std::string& domain = *filtered;
        auto lock = exclusive();
        auto st = stmt(sql::list);
        if (!st) return st.error();
        Query q(*st);
        if (f.category) q.bind(1, to_string(*f.category));
        else q.bind_null(1);
        q.bind(2, f.since).bind(3, domain).bind(4, f.include_expired ? 0 : f.now);
        q.bind(5, f.limit > 0 ? std::int64_t{f.limit} : no_limit);
        std::vector<Suppression> out;
        int rc;
        while ((rc = q.step()) == SQLITE_ROW) out.push_back(read_suppression(q));
        if (rc != SQLITE_DONE) return Error{message("listing suppressions", rc)};
        return out;
    }

    Result<ExpireCounts> expire(UnixTime now, std::int64_t retention) override {
        auto lock = exclusive();
        ExpireCounts counts;
        auto r = in_transaction([&]() -> Result<void> {
            {
                auto st = stmt(sql::expire_suppressions);
                if (!st) return st.error();
                Query q(*st);
                q.bind(1, now);
                if (const int rc = q.step(); rc != SQLITE_DONE) return Error{message("expiring suppressions", rc)};
                counts.suppressions = sqlite3_changes64(db_.get());
            }
            if (retention > 0) {
                auto st = stmt(sql::expire_events);
                if (!st) return st.error();
                Query q(*st);
                q.bind(1, now - retention);
                if (const int rc = q.step(); rc != SQLITE_DONE) return Error{message("purging old events", rc)};
                counts.events = sqlite3_changes64(db_.get());
            }
            return Ok{};
        });
        if (!r) return r.error();
        return counts;
    }

    Result<StoreStats> stats() override {
        auto lock = exclusive();
        StoreStats s;
        {
            auto st = stmt(sql::count_by_category);
            if (!st) return st.error();
            Query q(*st);
            int rc;
            while ((rc = q.step()) == SQLITE_ROW) {
                const std::int64_t n = q.i64(1);
                s.by_category.push_back({parse_category(q.str(0)).value_or(Category::Unknown), n});
                s.suppressions += n;
            }
            if (rc != SQLITE_DONE) return Error{message("counting suppressions", rc)};
        }
        auto d = scalar_i64(sql::count_domain_entries);
        if (!d) return d.error();
        s.domain_suppressions = *d;
        auto e = scalar_i64(sql::count_events_all);
        if (!e) return e.error();
        s.events = *e;
        auto pages = scalar_i64(sql::page_count);
        auto page_size = scalar_i64(sql::page_size);
        if (pages && page_size) s.bytes = *pages * *page_size;
        return s;
    }

    Result<EventCount> count_events(std::string_view recipient, Category category, UnixTime since) override {
        auto k = normalize_address(recipient);
        if (!k) return k.error();
        auto lock = exclusive();
        auto st = stmt(sql::count_events);
        if (!st) return st.error();
        Query q(*st);
        q.bind(1, *k).bind(2, to_string(category)).bind(3, since);
        if (const int rc = q.step(); rc != SQLITE_ROW) return Error{message("counting events", rc)};
        return EventCount{static_cast<int>(q.i64(0)), q.i64(1), q.i64(2)};
    }

    Result<int> count_domain_recipients(std::string_view domain, Category category, UnixTime since,
                                        int at_most) override {
        auto d = normalize_domain(domain);
        if (!d) return d.error();
        auto lock = exclusive();
        auto st = stmt(sql::count_domain_recipients);
        if (!st) return st.error();
        Query q(*st);
        q.bind(1, *d).bind(2, to_string(category)).bind(3, since).bind(4, std::int64_t{at_most > 0 ? at_most : -1});
        if (const int rc = q.step(); rc != SQLITE_ROW) return Error{message("counting recipients", rc)};
        return static_cast<int>(q.i64(0));
    }

    Result<std::vector<ReportRow>> report(const ReportFilter& f) override {
        auto filtered = filter_domain(f.domain);
        if (!filtered) return filtered.error();
        const std::string domain = std::move(*filtered);
        auto lock = exclusive();
        auto st = stmt(sql::report);
        if (!st) return st.error();
        Query q(*st);
        q.bind(1, f.since).bind(2, f.until > 0 ? f.until : no_limit).bind(3, domain);
        q.bind(4, f.limit > 0 ? std::int64_t{f.limit} : no_limit);
        std::vector<ReportRow> out;
        int rc;
        while ((rc = q.step()) == SQLITE_ROW) {
            ReportRow r;
            r.domain = q.str(0);
            r.category = parse_category(q.str(1)).value_or(Category::Unknown);
            r.blame = parse_blame(q.str(2)).value_or(Blame::Unknown);
            r.events = q.i64(3);
            r.recipients = q.i64(4);
            r.first_seen = q.i64(5);
            r.last_seen = q.i64(6);
            r.example = read_event(q, 7);
            out.push_back(std::move(r));
        }
        if (rc != SQLITE_DONE) return Error{message("reporting", rc)};
        return out;
    }

private:
    static std::string text_lower(std::string_view s) {
        std::string out(s);
        for (char& c : out)
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        return out;
    }

    static LookupResult temp_error(std::string why) {
        LookupResult r;
        r.status = LookupStatus::TempError;
        r.error = std::move(why);
        return r;
    }

    std::string message(std::string_view what, int rc) const {
        std::string m = "store " + path_ + ": " + std::string(what) + " failed: ";
        const char* detail = sqlite3_errmsg(db_.get());
        m += (detail && *detail) ? detail : sqlite3_errstr(rc);
        return m;
    }

    bool is_busy() const noexcept {
        const int rc = sqlite3_errcode(db_.get()) & 0xff;
        return rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
    }

    // The error of the first statement on a newly opened file, worded for an operator.
    Error describe_open_error() const {
        const int rc = sqlite3_errcode(db_.get()) & 0xff;
        if (rc == SQLITE_NOTADB)
            return Error{"store " + path_ + ": not an SQLite database (wrong file, or its header is corrupt)"};
        if (rc == SQLITE_CORRUPT) return Error{"store " + path_ + ": the database file is corrupt"};
        if (rc == SQLITE_CANTOPEN || rc == SQLITE_PERM || rc == SQLITE_READONLY || rc == SQLITE_AUTH)
            return Error{"store " + path_ + ": cannot open the database: " + sqlite3_errmsg(db_.get()) +
                         " (check the permissions of the file and of its directory, which needs to be writable "
                         "for the -wal and -shm files)"};
        if (rc == SQLITE_BUSY) return Error{"store " + path_ + ": database stayed locked while opening it"};
        return Error{"store " + path_ + ": cannot open the database: " + sqlite3_errmsg(db_.get())};
    }

    // A cached prepared statement for this SQL text.
    Result<sqlite3_stmt*> stmt(const char* text) {
        const std::string_view key(text);
        if (auto it = cache_.find(key); it != cache_.end()) return it->second.get();
        sqlite3_stmt* raw = nullptr;
        const int rc = sqlite3_prepare_v3(db_.get(), text, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
        SqliteStmt owned(raw);
        if (rc != SQLITE_OK) return Error{message("preparing a statement", rc)};
        sqlite3_stmt* p = owned.get();
        cache_.emplace(key, std::move(owned));
        return p;
    }

    Result<void> exec(const char* text) {
        char* err = nullptr;
        const int rc = sqlite3_exec(db_.get(), text, nullptr, nullptr, &err);
        const std::unique_ptr<char, decltype(&sqlite3_free)> owned(err, &sqlite3_free);
        if (rc != SQLITE_OK) return Error{message("running SQL", rc)};
        return Ok{};
    }

    Result<std::string> exec_scalar_text(const char* text) {
        sqlite3_stmt* raw = nullptr;
        int rc = sqlite3_prepare_v2(db_.get(), text, -1, &raw, nullptr);
        const SqliteStmt owned(raw);
        if (rc != SQLITE_OK) return Error{message("preparing a statement", rc)};
        rc = sqlite3_step(raw);
        if (rc != SQLITE_ROW) return Error{message("running a statement", rc)};
        const auto* p = sqlite3_column_text(raw, 0);
        return std::string(p ? reinterpret_cast<const char*>(p) : "");
    }

    Result<std::int64_t> scalar_i64(const char* text) {
        auto st = stmt(text);
        if (!st) return st.error();
        Query q(*st);
        if (const int rc = q.step(); rc != SQLITE_ROW) return Error{message("counting", rc)};
        return q.i64(0);
    }

    Result<void> step_done(const char* text) {
        auto st = stmt(text);
        if (!st) return st.error();
        Query q(*st);
        if (const int rc = q.step(); rc != SQLITE_DONE) return Error{message(text, rc)};
        return Ok{};
    }

    // Runs body inside BEGIN IMMEDIATE ... COMMIT; rolls back on any error. Inside batch(), the
    // batch's transaction begins with the first write and body runs under a savepoint, so an
    // error undoes this call only.
    template <class F>
    Result<void> in_transaction(F&& body) {
        if (batch_depth_ > 0) {
            if (batch_lost_) return *batch_lost_;
            // In a batch, no snapshot is open: autocommit mode means no write has begun it yet.
            if (sqlite3_get_autocommit(db_.get()))
                if (auto r = step_done(sql::begin); !r) return r.error();
            if (auto r = step_done(sql::savepoint); !r) return r.error();
            auto r = body();
            if (r) r = step_done(sql::release);
            if (!r) {
                if (!sqlite3_get_autocommit(db_.get())) {
                    (void)step_done(sql::rollback_to);
                    (void)step_done(sql::release);
                } else {  // SQLite rolled the whole transaction back (I/O error, full disk)
                    batch_lost_ = Error{"store " + path_ + ": the batch was rolled back by SQLite: " + r.error().message};
                }
                return r.error();
            }
            return Ok{};
        }
        if (auto r = step_done(sql::begin); !r) return r.error();
        auto r = body();
        if (r) r = step_done(sql::commit);
        if (!r) {
            if (!sqlite3_get_autocommit(db_.get())) (void)step_done(sql::rollback);
            return r.error();
        }
        return Ok{};
    }

    Result<int> version_locked() {
        auto st = stmt(sql::version);
        if (!st) return st.error();
        Query q(*st);
        if (const int rc = q.step(); rc != SQLITE_ROW) return Error{message("reading the schema version", rc)};
        return static_cast<int>(q.i64(0));
    }

    Result<void> migrate() {
        const auto all = migrations();
        const int latest = all.empty() ? 0 : all.back().version;
        if (auto r = exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
                          "name TEXT NOT NULL, applied INTEGER NOT NULL)");
            !r)
            return describe_open_error();
        auto cur = version_locked();
        if (!cur) return cur.error();
        if (*cur > latest)
            return Error{"store " + path_ + ": schema version " + std::to_string(*cur) +
                         " is newer than this bounceguard knows (" + std::to_string(latest) + "); upgrade bounceguard"};
        if (*cur == latest) return Ok{};
        return in_transaction([&]() -> Result<void> {
            auto now_cur = version_locked();  // another process may have migrated meanwhile
            if (!now_cur) return now_cur.error();
            for (const Migration& m : all) {
                if (m.version <= *now_cur) continue;
                const std::string text(m.sqlite_sql);
                if (auto r = exec(text.c_str()); !r)
                    return Error{"store " + path_ + ": migration " + std::string(m.name) + ": " + r.error().message};
                auto st = stmt("INSERT INTO schema_version (version, name, applied) VALUES (?1, ?2, unixepoch())");
                if (!st) return st.error();
                Query q(*st);
                q.bind(1, std::int64_t{m.version}).bind(2, m.name);
                if (const int rc = q.step(); rc != SQLITE_DONE) return Error{message("recording a migration", rc)};
            }
            return Ok{};
        });
    }

    // Commits (or rolls back) the batch's transaction, if its first write began one. A batch that
    // SQLite rolled back is an error even when body went on: what it recorded before is gone.
    Result<void> end_batch(bool commit) {
        if (batch_lost_) {
            Error e = *batch_lost_;
            batch_lost_.reset();
            return e;
        }
        if (sqlite3_get_autocommit(db_.get())) return Ok{};
        if (commit) {
            auto r = step_done(sql::commit);
            if (r) return Ok{};
            if (!sqlite3_get_autocommit(db_.get())) (void)step_done(sql::rollback);
            return r.error();
        }
        (void)step_done(sql::rollback);
        return Ok{};
    }

    // mu_ for every use of the connection, with the lookup snapshot ended (see the header).
    std::unique_lock<std::recursive_mutex> exclusive() {
        std::unique_lock lock(mu_);
        end_snapshot_locked();
        return lock;
    }

    // Opens the lookup snapshot if it is on and none is open, or renews one past its age. A
    // failure to begin leaves the lookup in autocommit mode, as without a snapshot.
    void begin_snapshot_locked() noexcept {
        if (snap_max_.count() <= 0 || batch_depth_ > 0) return;
        const auto now = std::chrono::steady_clock::now();
        if (snap_open_ && now < snap_until_) return;
        end_snapshot_locked();
        if (!step_done_noexcept(sql::begin_read)) return;
        snap_open_ = true;
        snap_until_ = now + snap_max_;
        janitor_->arm(snap_until_);
    }

    void end_snapshot_locked() noexcept {
        if (!snap_open_) return;
        snap_open_ = false;
        if (!step_done_noexcept(sql::commit) && !sqlite3_get_autocommit(db_.get()))
            (void)step_done_noexcept(sql::rollback);
    }

    bool step_done_noexcept(const char* text) noexcept {
        try {
            return static_cast<bool>(step_done(text));
        } catch (...) {
            return false;
        }
    }

    // The janitor's callback: ends a snapshot that outlived its deadline with no lookup to renew
    // it; else the deadline of the snapshot open now.
    std::optional<DeadlineThread::Clock::time_point> end_idle_snapshot() {
        std::lock_guard lock(mu_);
        if (snap_open_ && std::chrono::steady_clock::now() >= snap_until_) end_snapshot_locked();
        if (!snap_open_) return std::nullopt;
        return snap_until_;
    }

    std::recursive_mutex mu_;  // recursive: calls made by a batch's body while batch() holds it
    int batch_depth_ = 0;               // under mu_: inside batch()
    std::optional<Error> batch_lost_;   // under mu_: SQLite rolled the batch's transaction back
    // The lookup snapshot, under mu_.
    std::chrono::milliseconds snap_max_{0};
    bool snap_open_ = false;
    std::chrono::steady_clock::time_point snap_until_;
    std::unique_ptr<DeadlineThread> janitor_;  // set once, under mu_, with the first snapshot age
    SqliteDb db_;
    std::string path_;
    std::unordered_map<std::string_view, SqliteStmt> cache_;  // keys: the static SQL texts
};

}  // namespace

int sqlite_store_page_size(const std::string& path) {
    // The database header: bytes 16-17, big-endian; 1 stands for 65536 (SQLite file format).
    unsigned char header[18];
    // O_NONBLOCK: a FIFO at the path must not hang the caller (its pread then fails).
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return sqlite_new_page_size;
    const ssize_t n = ::pread(fd, header, sizeof header, 0);
    ::close(fd);
    if (n != static_cast<ssize_t>(sizeof header) || std::memcmp(header, "SQLite format 3", 16) != 0)
        return sqlite_new_page_size;
    const int v = (header[16] << 8) | header[17];
    if (v == 1) return 65536;
    if (v < 512 || (v & (v - 1)) != 0) return sqlite_new_page_size;
    return v;
}

Result<std::unique_ptr<SuppressionStore>> open_sqlite_store(const std::string& path, int busy_timeout_ms) {
    if (path.empty()) return Error{"store: empty SQLite path"};
    if (path != ":memory:") {
        const auto slash = path.rfind('/');
        const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
        struct stat st {};
        if (stat(dir.c_str(), &st) != 0)
            return Error{"store " + path + ": directory " + dir + ": " + std::strerror(errno)};
        if (!S_ISDIR(st.st_mode)) return Error{"store " + path + ": " + dir + " is not a directory"};
        if (stat(path.c_str(), &st) == 0) {
            if (!S_ISREG(st.st_mode)) return Error{"store " + path + ": not a regular file"};
            if (access(path.c_str(), R_OK | W_OK) != 0)
                return Error{"store " + path + ": cannot read and write the file: " + std::strerror(errno)};
        } else if (errno != ENOENT) {
            return Error{"store " + path + ": " + std::strerror(errno)};
        } else if (access(dir.c_str(), W_OK | X_OK) != 0) {
            return Error{"store " + path + ": cannot create the file in " + dir + ": " + std::strerror(errno)};
        }
    }
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &raw,
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    SqliteDb db(raw);
    if (rc != SQLITE_OK)
        return Error{"store " + path + ": cannot open: " + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc))};
    sqlite3_extended_result_codes(db.get(), 1);
    sqlite3_busy_timeout(db.get(), busy_timeout_ms);
    auto store = std::make_unique<SqliteStore>(std::move(db), path);
    if (auto r = store->init(); !r) return r.error();
    return std::unique_ptr<SuppressionStore>(std::move(store));
}

}  // namespace bg
