// pg_store.cpp - the PostgreSQL driver (libpqxx), for a fleet of MTAs sharing one suppression
// list. Built when BG_WITH_POSTGRES is ON. Same schema as SQLite (store/migrations/*.pg.sql).
//   - libpqxx throws; every public method catches at this edge and returns an Error (or, for
//     lookup, TempError). A broken connection is dropped and reopened on the next call.
//   - statements are prepared once per connection; parameters are always bound.
//   - migrations run under a transaction-scoped advisory lock, so MTAs starting together do not
//     race to create the schema.
// SECURITY: addresses and texts come from bounces (untrusted); they only reach the server as
//   bound parameters. The connection string may hold a password: it is never put in an Error.
//   - the MTA's hot path must not hang on a dead server: connect_timeout defaults to 5 s (unless
//     the URI sets it) and every statement runs under statement_timeout = 5 s.
// LIMITATION: PostgreSQL text cannot hold NUL bytes or invalid UTF-8 (in a UTF8 database); event
//   fields are cleaned on the way in (each bad byte becomes '?'), where SQLite keeps the bytes.
#include <pqxx/pqxx>

#include <functional>
#include <limits>
#include <mutex>
#include <optional>

#include "smtp/address.hpp"
#include "store/suppression_store.hpp"

namespace bg {

namespace {

constexpr std::int64_t no_limit = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t migration_lock_id = 0x6267'5f73'746f'7265;  // "bg_store"

std::optional<Blame> parse_blame(std::string_view s) noexcept {
    for (Blame b : {Blame::Recipient, Blame::SenderConfig, Blame::Reputation, Blame::Content, Blame::Transient,
                    Blame::None, Blame::Unknown})
        if (to_string(b) == s) return b;
    return std::nullopt;
}

struct Statement {
    const char* name;
    const char* text;
};

constexpr Statement statements[] = {
    {"lookup",
     "SELECT key, category, first_seen, last_seen, count, expires, event_id, added_by, reason "
     "FROM suppressions WHERE key IN ($1, $3) AND (expires = 0 OR expires > $2) "
     "ORDER BY key = $1 DESC LIMIT 1"},  // one round trip: the address entry wins over the domain's
    {"get",
     "SELECT key, category, first_seen, last_seen, count, expires, event_id, added_by, reason "
     "FROM suppressions WHERE key = $1"},
    {"put",
     "INSERT INTO suppressions (key, category, first_seen, last_seen, count, expires, event_id, added_by, reason) "
     "VALUES ($1, $2, $3, $4, $5, $6, NULLIF($7::bigint, 0), $8, $9) ON CONFLICT (key) DO UPDATE SET "
     "category = excluded.category, first_seen = excluded.first_seen, last_seen = excluded.last_seen, "
     "count = excluded.count, expires = excluded.expires, event_id = excluded.event_id, "
     "added_by = excluded.added_by, reason = excluded.reason"},
    {"remove", "DELETE FROM suppressions WHERE key = $1"},
    {"put_from_copy",
     "INSERT INTO suppressions (key, category, first_seen, last_seen, count, expires, event_id, added_by, reason) "
     "SELECT DISTINCT ON (key) key, category, first_seen, last_seen, count, expires, NULLIF(event_id, 0), "
     "added_by, reason FROM bg_put_in ORDER BY key, seq DESC ON CONFLICT (key) DO UPDATE SET "
     "category = excluded.category, first_seen = excluded.first_seen, last_seen = excluded.last_seen, "
     "count = excluded.count, expires = excluded.expires, event_id = excluded.event_id, "
     "added_by = excluded.added_by, reason = excluded.reason"},
    {"next_event_ids", "SELECT nextval('events_id_seq') FROM generate_series(1, $1) ORDER BY 1"},
    {"events_for",
     "SELECT id, time, recipient, sender, source, reply_code, status, text, stage, remote_mta, queue_id, "
     "message_id, category, blame, rule_id FROM events WHERE recipient = $1 ORDER BY time DESC, id DESC LIMIT $2"},
    {"list",
     "SELECT key, category, first_seen, last_seen, count, expires, event_id, added_by, reason "
     "FROM suppressions WHERE ($1 = '' OR category = $1) AND last_seen >= $2 "
     "AND ($3 = '' OR right(key, length($3) + 1) = '@' || $3) "
     "AND ($4 = 0 OR expires = 0 OR expires > $4) ORDER BY last_seen DESC, key LIMIT $5"},
    {"expire_suppressions", "DELETE FROM suppressions WHERE expires <> 0 AND expires <= $1"},
    {"expire_events",
     "DELETE FROM events WHERE time < $1 AND NOT EXISTS "
     "(SELECT 1 FROM suppressions s WHERE s.event_id = events.id)"},
    {"count_by_category", "SELECT category, COUNT(*) FROM suppressions GROUP BY category ORDER BY 2 DESC, 1"},
    {"count_domain_entries", "SELECT COUNT(*) FROM suppressions WHERE key >= '@' AND key < 'A'"},
    {"count_events_all", "SELECT COUNT(*) FROM events"},
    {"database_size", "SELECT pg_database_size(current_database())"},
    {"count_events",
     "SELECT COUNT(*), COALESCE(MIN(time), 0), COALESCE(MAX(time), 0) FROM events "
     "WHERE recipient = $1 AND category = $2 AND time >= $3"},
    {"count_domain_recipients",
     "SELECT COUNT(*) FROM (SELECT DISTINCT recipient FROM events WHERE domain = $1 AND category = $2 "
     "AND time >= $3 LIMIT $4) AS r"},
    {"version", "SELECT COALESCE(MAX(version), 0) FROM schema_version"},
    // Groups over the events_time index, then each group's newest event through events_domain.
    {"report",
     "WITH g AS (SELECT domain, category, blame, COUNT(*) AS n, COUNT(DISTINCT recipient) AS r, "
     "MIN(time) AS t0, MAX(time) AS t1 FROM events WHERE time >= $1 AND time < $2 "
     "AND blame NOT IN ('recipient', 'none') AND ($3 = '' OR domain = $3) GROUP BY domain, category, blame) "
     "SELECT g.domain, g.category, g.blame, g.n, g.r, g.t0, g.t1, e.id, e.time, e.recipient, e.sender, e.source, "
     "e.reply_code, e.status, e.text, e.stage, e.remote_mta, e.queue_id, e.message_id, e.category, e.blame, "
     "e.rule_id FROM g JOIN events e ON e.id = (SELECT x.id FROM events x WHERE x.domain = g.domain "
     "AND x.category = g.category AND x.time = g.t1 AND x.blame = g.blame ORDER BY x.id DESC LIMIT 1) "
     "ORDER BY g.n DESC, g.domain, g.category LIMIT $4"},
};

// The columns record_events() COPYs into events, in the order of its tuples.
const std::vector<std::string> event_columns{"id",         "time",     "recipient", "domain",     "sender",
                                             "source",     "reply_code", "status",  "text",       "stage",
                                             "remote_mta", "queue_id", "message_id", "category",  "blame",
                                             "rule_id"};

// The columns of the temporary table put_all() COPYs into.
const std::vector<std::string> put_columns{"seq",     "key",      "category", "first_seen", "last_seen",
                                           "count",   "expires",  "event_id", "added_by",   "reason"};

Suppression read_suppression(const pqxx::row& r) {
    Suppression s;
    s.key = r[0].c_str();
    s.category = parse_category(r[1].c_str()).value_or(Category::Unknown);
    s.first_seen = r[2].as<std::int64_t>();
    s.last_seen = r[3].as<std::int64_t>();
    s.count = r[4].as<int>();
    s.expires = r[5].as<std::int64_t>();
    s.event_id = r[6].is_null() ? 0 : r[6].as<std::int64_t>();
    s.added_by = r[7].c_str();
    s.reason = r[8].c_str();
    return s;
}

// The 15 event columns starting at column o (events_for's order).
Event read_event(const pqxx::row& r, int o = 0) {
    Event e;
    e.id = r[o + 0].as<std::int64_t>();
    e.time = r[o + 1].as<std::int64_t>();
    e.recipient = r[o + 2].c_str();
    e.sender = r[o + 3].c_str();
    e.source = parse_event_source(r[o + 4].c_str()).value_or(EventSource::Maillog);
    e.reply_code = r[o + 5].as<int>();
    e.status = r[o + 6].c_str();
    e.text = r[o + 7].c_str();
    e.stage = r[o + 8].c_str();
    e.remote_mta = r[o + 9].c_str();
    e.queue_id = r[o + 10].c_str();
    e.message_id = r[o + 11].c_str();
    e.category = parse_category(r[o + 12].c_str()).value_or(Category::Unknown);
    e.blame = parse_blame(r[o + 13].c_str()).value_or(Blame::Unknown);
    e.rule_id = r[o + 14].c_str();
    return e;
}

std::string cat(Category c) { return std::string(to_string(c)); }

// Length of the valid UTF-8 sequence at s[i] (1-4), or 0 when it is invalid (overlongs,
// surrogates and code points past U+10FFFF included).
std::size_t utf8_length(std::string_view s, std::size_t i) noexcept {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = b(i);
    if (c < 0x80) return c == 0 ? 0 : 1;
    std::size_t n;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0) lo = 0xa0;
        if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f;
    } else
        return 0;
    if (i + n > s.size()) return 0;
    if (b(i + 1) < lo || b(i + 1) > hi) return 0;
    for (std::size_t k = 2; k < n; ++k)
        if (b(i + k) < 0x80 || b(i + k) > 0xbf) return 0;
    return n;
}

// The text PostgreSQL accepts: NUL bytes and invalid UTF-8 become '?'.
std::string clean(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t n = utf8_length(s, i);
        if (n == 0) {
            out += '?';
            ++i;
        } else {
            out.append(s.substr(i, n));
            i += n;
        }
    }
    return out;
}

// The URI with connect_timeout=5 added when it names none.
std::string with_connect_timeout(std::string conninfo) {
    if (conninfo.find("connect_timeout") != std::string::npos) return conninfo;
    conninfo += conninfo.find('?') == std::string::npos ? "?connect_timeout=5" : "&connect_timeout=5";
    return conninfo;
}

class PgStore final : public SuppressionStore {
public:
    explicit PgStore(std::string conninfo) : conninfo_(with_connect_timeout(std::move(conninfo))) {}

    std::string_view driver() const noexcept override { return "postgresql"; }

    Result<void> init() {
        std::lock_guard lock(mu_);
        return guarded("opening", [&]() -> Result<void> {
            connect();
            return migrate();
        });
    }

    Result<int> schema_version() override {
        std::lock_guard lock(mu_);
        return read("reading the schema version", [&](pqxx::transaction_base& n) -> Result<int> {
            return n.exec_prepared1("version")[0].as<int>();
        });
    }

    LookupResult lookup(std::string_view address, UnixTime now) noexcept override {
        LookupResult out;
        try {
            auto key = normalize_address(address);
            if (!key) return out;
            std::lock_guard lock(mu_);
            auto r = read("lookup", [&](pqxx::transaction_base& n) -> Result<std::optional<Suppression>> {
                const pqxx::result res = n.exec_prepared("lookup", *key, now, "@" + std::string(domain_of(*key)));
                if (res.empty()) return std::optional<Suppression>();
                return std::optional<Suppression>(read_suppression(res[0]));
            });
            if (!r) {
                out.status = LookupStatus::TempError;
                out.error = r.error().message;
            } else if (*r) {
                out.status = LookupStatus::Found;
                out.suppression = std::move(**r);
            } else {
                out.status = LookupStatus::NotFound;
            }
            return out;
        } catch (const std::exception& e) {
            out.status = LookupStatus::TempError;
            out.error = std::string("store lookup failed: ") + e.what();
            return out;
        }
    }

    Result<std::vector<std::int64_t>> record_events(std::span<const Event> events) override {
        std::lock_guard lock(mu_);
        if (events.empty()) return std::vector<std::int64_t>();
        return write("recording events", [&](pqxx::transaction_base& w) -> Result<std::vector<std::int64_t>> {
            std::vector<std::int64_t> ids;
            ids.reserve(events.size());
            // Ids first (one round trip), then all the rows in one COPY: a batch costs three round
            // trips instead of one per event.
            for (const auto& row : w.exec_prepared("next_event_ids", static_cast<std::int64_t>(events.size())))
                ids.push_back(row[0].as<std::int64_t>());
            pqxx::stream_to copy(w, "events", event_columns);
            for (std::size_t i = 0; i < events.size(); ++i) {
                const Event& e = events[i];
                std::string domain(domain_of(e.recipient));
                for (char& c : domain)
                    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
                copy << std::make_tuple(ids[i], e.time, clean(e.recipient), clean(domain), clean(e.sender),
                                        std::string(to_string(e.source)), e.reply_code, clean(e.status),
                                        clean(e.text), clean(e.stage), clean(e.remote_mta), clean(e.queue_id),
                                        clean(e.message_id), cat(e.category), std::string(to_string(e.blame)),
                                        clean(e.rule_id));
            }
            copy.complete();
            return ids;
        });
    }

    Result<std::optional<Suppression>> get(std::string_view key) override {
        auto k = normalize_key(key);
        if (!k) return k.error();
        std::lock_guard lock(mu_);
        return read("reading a suppression", [&](pqxx::transaction_base& n) -> Result<std::optional<Suppression>> {
            const pqxx::result res = n.exec_prepared("get", *k);
            if (res.empty()) return std::optional<Suppression>();
            return std::optional<Suppression>(read_suppression(res[0]));
        });
    }

    Result<void> put(const Suppression& s) override { return put_all(std::span<const Suppression>(&s, 1)); }

    Result<void> put_all(std::span<const Suppression> entries) override {
        auto normalised = normalize_keys(entries);
        if (!normalised) return normalised.error();
        const std::vector<std::string>& keys = *normalised;
        std::lock_guard lock(mu_);
        return write("writing suppressions", [&](pqxx::transaction_base& w) -> Result<void> {
            if (entries.size() >= copy_threshold) return put_by_copy(w, entries, keys);
            for (std::size_t i = 0; i < entries.size(); ++i) {
                const Suppression& s = entries[i];
                w.exec_prepared("put", keys[i], cat(s.category), s.first_seen, s.last_seen, s.count, s.expires,
                                s.event_id, clean(s.added_by), clean(s.reason));
            }
            return Ok{};
        });
    }

    Result<bool> remove(std::string_view key) override {
        auto k = normalize_key(key);
        if (!k) return k.error();
        std::lock_guard lock(mu_);
        return write("removing a suppression", [&](pqxx::transaction_base& w) -> Result<bool> {
            const pqxx::result r = w.exec_prepared("remove", *k);
            return r.affected_rows() > 0;
        });
    }

    Result<std::vector<Event>> events_for(std::string_view address, int limit) override {
        auto k = normalize_address(address);
        if (!k) return k.error();
        std::lock_guard lock(mu_);
        return read("reading events", [&](pqxx::transaction_base& n) -> Result<std::vector<Event>> {
            const pqxx::result res = n.exec_prepared("events_for", *k, limit > 0 ? std::int64_t{limit} : no_limit);
            std::vector<Event> out;
            out.reserve(res.size());
            for (const auto& row : res) out.push_back(read_event(row));
            return out;
        });
    }

    Result<std::vector<Suppression>> list(const ListFilter& f) override {
        auto filtered = filter_domain(f.domain);
        if (!filtered) return filtered.error();
        const std::string& domain = *filtered;
        std::lock_guard lock(mu_);
        return read("listing suppressions", [&](pqxx::transaction_base& n) -> Result<std::vector<Suppression>> {
            const pqxx::result res =
                n.exec_prepared("list", f.category ? cat(*f.category) : std::string(), f.since, domain,
                                f.include_expired ? UnixTime{0} : f.now,
                                f.limit > 0 ? std::int64_t{f.limit} : no_limit);
            std::vector<Suppression> out;
            out.reserve(res.size());
            for (const auto& row : res) out.push_back(read_suppression(row));
            return out;
        });
    }

    Result<ExpireCounts> expire(UnixTime now, std::int64_t retention) override {
        std::lock_guard lock(mu_);
        return write("expiring", [&](pqxx::transaction_base& w) -> Result<ExpireCounts> {
            ExpireCounts c;
            c.suppressions = static_cast<std::int64_t>(w.exec_prepared("expire_suppressions", now).affected_rows());
            if (retention > 0)
                c.events = static_cast<std::int64_t>(w.exec_prepared("expire_events", now - retention).affected_rows());
            return c;
        });
    }

    Result<StoreStats> stats() override {
        std::lock_guard lock(mu_);
        // One snapshot for all the counts (a read-only transaction of its own outside a batch).
        return read("counting", [&](pqxx::transaction_base& t) -> Result<StoreStats> {
            StoreStats s;
            for (const auto& row : t.exec_prepared("count_by_category")) {
                const auto n = row[1].as<std::int64_t>();
                s.by_category.push_back({parse_category(row[0].c_str()).value_or(Category::Unknown), n});
                s.suppressions += n;
            }
            s.domain_suppressions = t.exec_prepared1("count_domain_entries")[0].as<std::int64_t>();
            s.events = t.exec_prepared1("count_events_all")[0].as<std::int64_t>();
            s.bytes = t.exec_prepared1("database_size")[0].as<std::int64_t>();
            return s;
        }, /*snapshot=*/true);
    }

    Result<EventCount> count_events(std::string_view recipient, Category category, UnixTime since) override {
        auto k = normalize_address(recipient);
        if (!k) return k.error();
        std::lock_guard lock(mu_);
        return read("counting events", [&](pqxx::transaction_base& n) -> Result<EventCount> {
            const pqxx::row r = n.exec_prepared1("count_events", *k, cat(category), since);
            return EventCount{r[0].as<int>(), r[1].as<std::int64_t>(), r[2].as<std::int64_t>()};
        });
    }

    Result<int> count_domain_recipients(std::string_view domain, Category category, UnixTime since,
                                        int at_most) override {
        auto d = normalize_domain(domain);
        if (!d) return d.error();
        std::lock_guard lock(mu_);
        return read("counting recipients", [&](pqxx::transaction_base& n) -> Result<int> {
            return n.exec_prepared1("count_domain_recipients", *d, cat(category), since,
                                    at_most > 0 ? std::int64_t{at_most} : no_limit)[0]
                .as<int>();
        });
    }

    Result<std::vector<ReportRow>> report(const ReportFilter& f) override {
        auto filtered = filter_domain(f.domain);
        if (!filtered) return filtered.error();
        const std::string domain = std::move(*filtered);
        std::lock_guard lock(mu_);
        return read("reporting", [&](pqxx::transaction_base& n) -> Result<std::vector<ReportRow>> {
            const pqxx::result res = n.exec_prepared("report", f.since, f.until > 0 ? f.until : no_limit, domain,
                                                     f.limit > 0 ? std::int64_t{f.limit} : no_limit);
            std::vector<ReportRow> out;
            out.reserve(res.size());
            for (const auto& row : res) {
                ReportRow r;
                r.domain = row[0].c_str();
                r.category = parse_category(row[1].c_str()).value_or(Category::Unknown);
                r.blame = parse_blame(row[2].c_str()).value_or(Blame::Unknown);
                r.events = row[3].as<std::int64_t>();
                r.recipients = row[4].as<std::int64_t>();
                r.first_seen = row[5].as<std::int64_t>();
                r.last_seen = row[6].as<std::int64_t>();
                r.example = read_event(row, 7);
                out.push_back(std::move(r));
            }
            return out;
        });
    }

    // One transaction for the whole body (one commit, one WAL flush, instead of one per write).
    // Each write of the body runs under a savepoint, so one that fails undoes only itself; reads
    // run in the transaction as they are. A read that fails leaves PostgreSQL's transaction
    // aborted: the batch then fails as a whole (its caller replays it), as does a lost connection.
    Result<void> batch(const std::function<Result<void>()>& body) override {
        std::lock_guard lock(mu_);
        if (in_batch_) return body();  // nested: part of the outer batch
        auto begun = guarded("beginning a batch", [&]() -> Result<void> {
            batch_tx_ = std::make_unique<pqxx::work>(conn());
            return Ok{};
        });
        if (!begun) return begun.error();
        batch_lost_.reset();
        in_batch_ = true;
        Result<void> r = Ok{};
        try {
            r = body();
        } catch (...) {
            in_batch_ = false;
            batch_tx_.reset();  // rolled back
            throw;
        }
        in_batch_ = false;
        if (!r || batch_lost_) {
            batch_tx_.reset();  // rolled back
            return !r ? r : *batch_lost_;
        }
        return guarded("committing a batch", [&]() -> Result<void> {
            auto tx = std::move(batch_tx_);  // gone before guarded() may drop the connection
            tx->commit();
            return Ok{};
        });
    }

private:
    // Runs f on a read: in the open batch's transaction, else on its own (a read-only snapshot
    // when `snapshot`, else autocommit).
    template <class F>
    auto read(std::string_view what, F&& f, bool snapshot = false) -> decltype(f(std::declval<pqxx::nontransaction&>())) {
        if (in_batch_ && batch_lost_) return *batch_lost_;
        return guarded(what, [&]() -> decltype(f(std::declval<pqxx::nontransaction&>())) {
            if (in_batch_) {
                try {
                    return f(*batch_tx_);
                } catch (const std::exception& e) {
                    lose_batch(what, e);
                    throw;
                }
            }
            if (snapshot) {
                pqxx::read_transaction t(conn());
                auto r = f(t);
                t.commit();
                return r;
            }
            pqxx::nontransaction n(conn());
            return f(n);
        });
    }

    // Runs f on a write: under a savepoint of the open batch (SAVEPOINT/RELEASE, or ROLLBACK TO on
    // failure), else in a transaction of its own.
    // Committed only when f returns a value.
    template <class F>
    auto write(std::string_view what, F&& f) -> decltype(f(std::declval<pqxx::work&>())) {
        if (in_batch_ && batch_lost_) return *batch_lost_;
        return guarded(what, [&]() -> decltype(f(std::declval<pqxx::work&>())) {
            if (in_batch_) {
                batch_tx_->exec("SAVEPOINT bg_op");
                try {
                    auto r = f(*batch_tx_);
                    batch_tx_->exec(r ? "RELEASE SAVEPOINT bg_op" : "ROLLBACK TO SAVEPOINT bg_op");
                    return r;
                } catch (const std::exception& e) {
                    try {
                        batch_tx_->exec("ROLLBACK TO SAVEPOINT bg_op");
                    } catch (const std::exception&) {
                        lose_batch(what, e);
                    }
                    throw;
                }
            }
            pqxx::work w(conn());
            auto r = f(w);
            if (r) w.commit();
            return r;
        });
    }

    // Large batches (imports): COPY into a per-session temporary table, then one upsert. The last
    // entry for a key wins, as with put() one by one.
    static constexpr std::size_t copy_threshold = 64;
    Result<void> put_by_copy(pqxx::transaction_base& w, std::span<const Suppression> entries,
                             const std::vector<std::string>& keys) {
        w.exec("CREATE TEMP TABLE IF NOT EXISTS bg_put_in (seq BIGINT, key TEXT COLLATE \"C\", category TEXT, "
               "first_seen BIGINT, last_seen BIGINT, count INTEGER, expires BIGINT, event_id BIGINT, "
               "added_by TEXT, reason TEXT) ON COMMIT DELETE ROWS");
        {
            pqxx::stream_to copy(w, "bg_put_in", put_columns);
            for (std::size_t i = 0; i < entries.size(); ++i) {
                const Suppression& s = entries[i];
                copy << std::make_tuple(static_cast<std::int64_t>(i), keys[i], cat(s.category), s.first_seen,
                                        s.last_seen, s.count, s.expires, s.event_id, clean(s.added_by),
                                        clean(s.reason));
            }
            copy.complete();
        }
        w.exec_prepared("put_from_copy");
        // Emptied now, not only at commit: inside a batch, a later call must not upsert these again.
        w.exec("DELETE FROM bg_put_in");
        return Ok{};
    }

    // Runs f; turns libpqxx's exceptions into an Error and drops a broken connection.
    template <class F>
    auto guarded(std::string_view what, F&& f) -> decltype(f()) {
        try {
            return f();
        } catch (const pqxx::broken_connection& e) {
            drop_connection("connection failed: " + first_line(e.what()));
            return Error{"store (PostgreSQL): " + std::string(what) + ": connection failed: " + first_line(e.what())};
        } catch (const pqxx::sql_error& e) {
            return Error{"store (PostgreSQL): " + std::string(what) + " failed: " + first_line(e.what())};
        } catch (const std::exception& e) {
            if (conn_ && !conn_->is_open()) drop_connection("connection lost: " + first_line(e.what()));
            return Error{"store (PostgreSQL): " + std::string(what) + " failed: " + first_line(e.what())};
        }
    }

    // The open batch can only be rolled back now: PostgreSQL aborted its transaction.
    void lose_batch(std::string_view what, const std::exception& e) {
        batch_lost_ = Error{"store (PostgreSQL): " + std::string(what) + " failed inside a batch, which is rolled back: " +
                            first_line(e.what())};
    }

    // Forgets a broken connection, and the batch that was open on it (its transaction first):
    // batch_lost_ is set whenever batch_tx_ goes while a batch's body runs.
    void drop_connection(const std::string& why) {
        if (batch_tx_) {
            batch_lost_ = Error{"store (PostgreSQL): the batch was lost: " + why};
            batch_tx_.reset();
        }
        conn_.reset();
    }

    static std::string first_line(std::string_view s) {
        const auto nl = s.find('\n');
        return std::string(s.substr(0, nl));
    }

    void connect() {
        auto c = std::make_unique<pqxx::connection>(conninfo_);
        {
            pqxx::nontransaction n(*c);
            n.exec("SET statement_timeout = 5000");
        }
        for (const Statement& s : statements) c->prepare(s.name, s.text);
        conn_ = std::move(c);
    }

    pqxx::connection& conn() {
        if (!conn_ || !conn_->is_open()) connect();
        return *conn_;
    }

    Result<void> migrate() {
        const auto all = migrations();
        const int latest = all.empty() ? 0 : all.back().version;
        pqxx::work w(*conn_);
        w.exec_params("SELECT pg_advisory_xact_lock($1)", migration_lock_id);
        w.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
               "applied BIGINT NOT NULL)");
        const int cur = w.exec1("SELECT COALESCE(MAX(version), 0) FROM schema_version")[0].as<int>();
        if (cur > latest)
            return Error{"store (PostgreSQL): schema version " + std::to_string(cur) +
                         " is newer than this bounceguard knows (" + std::to_string(latest) + "); upgrade bounceguard"};
        for (const Migration& m : all) {
            if (m.version <= cur) continue;
            w.exec(std::string(m.pg_sql));
            w.exec_params("INSERT INTO schema_version (version, name, applied) "
                          "VALUES ($1, $2, extract(epoch from now())::bigint)",
                          m.version, std::string(m.name));
        }
        w.commit();
        return Ok{};
    }

    std::recursive_mutex mu_;  // recursive: a batch holds it while its body calls the store
    std::string conninfo_;
    std::unique_ptr<pqxx::connection> conn_;
    std::unique_ptr<pqxx::work> batch_tx_;  // the open batch's transaction (on conn_), if any
    std::optional<Error> batch_lost_;       // why the open batch can only be rolled back (set when
                                            // batch_tx_ is dropped inside a batch)
    bool in_batch_ = false;                 // a batch's body is running
};

}  // namespace

Result<std::unique_ptr<SuppressionStore>> open_pg_store(const std::string& conninfo) {
    auto store = std::make_unique<PgStore>(conninfo);
    if (auto r = store->init(); !r) return r.error();
    return std::unique_ptr<SuppressionStore>(std::move(store));
}

}  // namespace bg
