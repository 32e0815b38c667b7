// sqlite_sql.hpp - the SQL texts of the SQLite driver (sqlite_store.cpp), in one place. Each text
// is prepared once per connection and cached; parameters are always bound.
// Keep in step with the schema in migrations/*.sqlite.sql.
#pragma once

namespace bg::sqlite_sql {

constexpr const char* begin = "BEGIN IMMEDIATE";
constexpr const char* begin_read = "BEGIN DEFERRED";  // the lookup snapshot: a read transaction
constexpr const char* commit = "COMMIT";
constexpr const char* rollback = "ROLLBACK";
constexpr const char* savepoint = "SAVEPOINT bg_op";
constexpr const char* release = "RELEASE bg_op";
constexpr const char* rollback_to = "ROLLBACK TO bg_op";
constexpr const char* version = "SELECT COALESCE(MAX(version), 0) FROM schema_version";
constexpr const char* lookup =
    "SELECT key, category, first_seen, last_seen, count, expires, event_id, added_by, reason "
    "FROM suppressions WHERE key = ?1 AND (expires = 0 OR expires > ?2) "
    "UNION ALL "
    "SELECT key, category, first_seen, last_seen, count, expires, event_id, added_by, reason "
    "FROM suppressions WHERE key = ?3 AND (expires = 0 OR expires > ?2) "
    "LIMIT 1";  // one statement, no sort: the address entry first, the domain's only if it has none
constexpr const char* get =
    "SELECT key, category, first_seen, last_seen, count, expires, event_id, added_by, reason "
    "FROM suppressions WHERE key = ?1";
constexpr const char* put =
    "INSERT INTO suppressions (key, category, first_seen, last_seen, count, expires, event_id, added_by, reason) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (key) DO UPDATE SET "
    "category = excluded.category, first_seen = excluded.first_seen, last_seen = excluded.last_seen, "
    "count = excluded.count, expires = excluded.expires, event_id = excluded.event_id, "
    "added_by = excluded.added_by, reason = excluded.reason";
constexpr const char* remove = "DELETE FROM suppressions WHERE key = ?1";
constexpr const char* insert_event =
    "INSERT INTO events (time, recipient, domain, sender, source, reply_code, status, text, stage, "
    "remote_mta, queue_id, message_id, category, blame, rule_id) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)";
constexpr const char* events_for =
    "SELECT id, time, recipient, sender, source, reply_code, status, text, stage, remote_mta, queue_id, "
    "message_id, category, blame, rule_id FROM events WHERE recipient = ?1 ORDER BY time DESC, id DESC LIMIT ?2";
constexpr const char* list =
    "SELECT key, category, first_seen, last_seen, count, expires, event_id, added_by, reason "
    "FROM suppressions WHERE (?1 IS NULL OR category = ?1) AND last_seen >= ?2 "
    "AND (?3 = '' OR substr(key, -(length(?3) + 1)) = '@' || ?3) "
    "AND (?4 = 0 OR expires = 0 OR expires > ?4) ORDER BY last_seen DESC, key LIMIT ?5";
constexpr const char* expire_suppressions = "DELETE FROM suppressions WHERE expires <> 0 AND expires <= ?1";
constexpr const char* expire_events =
    "DELETE FROM events WHERE time < ?1 AND NOT EXISTS "
    "(SELECT 1 FROM suppressions s WHERE s.event_id = events.id)";
constexpr const char* count_by_category =
    "SELECT category, COUNT(*) FROM suppressions GROUP BY category ORDER BY 2 DESC, 1";
constexpr const char* count_domain_entries = "SELECT COUNT(*) FROM suppressions WHERE key >= '@' AND key < 'A'";
constexpr const char* count_events_all = "SELECT COUNT(*) FROM events";
constexpr const char* page_count = "PRAGMA page_count";
constexpr const char* page_size = "PRAGMA page_size";
constexpr const char* count_events =
    "SELECT COUNT(*), COALESCE(MIN(time), 0), COALESCE(MAX(time), 0) FROM events "
    "WHERE recipient = ?1 AND category = ?2 AND time >= ?3";
constexpr const char* count_domain_recipients =
    "SELECT COUNT(*) FROM (SELECT DISTINCT recipient FROM events WHERE domain = ?1 AND category = ?2 "
    "AND time >= ?3 LIMIT ?4)";  // ?4 = -1: no limit
// Groups over the events_time index, then each group's newest event through events_domain.
constexpr const char* report =
    "WITH g AS (SELECT domain, category, blame, COUNT(*) AS n, COUNT(DISTINCT recipient) AS r, "
    "MIN(time) AS t0, MAX(time) AS t1 FROM events WHERE time >= ?1 AND time < ?2 "
    "AND blame NOT IN ('recipient', 'none') AND (?3 = '' OR domain = ?3) GROUP BY domain, category, blame) "
    "SELECT g.domain, g.category, g.blame, g.n, g.r, g.t0, g.t1, e.id, e.time, e.recipient, e.sender, e.source, "
    "e.reply_code, e.status, e.text, e.stage, e.remote_mta, e.queue_id, e.message_id, e.category, e.blame, e.rule_id "
    "FROM g JOIN events e ON e.id = (SELECT x.id FROM events x WHERE x.domain = g.domain "
    "AND x.category = g.category AND x.time = g.t1 AND x.blame = g.blame ORDER BY x.id DESC LIMIT 1) "
    "ORDER BY g.n DESC, g.domain, g.category LIMIT ?4";

}  // namespace bg::sqlite_sql
