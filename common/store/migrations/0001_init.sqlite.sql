-- 0001_init (SQLite): events (the evidence) and suppressions (per address or "@domain").
-- Applied once by the store on open, inside a transaction, then recorded in schema_version.
-- Keep in step with 0001_init.pg.sql: same tables, columns and meaning.

-- Every recorded rejection (or success, category 'delivered'). Purged after the retention period
-- unless a suppression still points at it.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    time        INTEGER NOT NULL,
    recipient   TEXT NOT NULL,
    domain      TEXT NOT NULL,              -- the recipient's domain, for per-destination counts
    sender      TEXT NOT NULL DEFAULT '',
    source      TEXT NOT NULL,              -- 'dsn-internal', 'dsn-remote', 'maillog', 'manual', 'import'
    reply_code  INTEGER NOT NULL DEFAULT 0,
    status      TEXT NOT NULL DEFAULT '',
    text        TEXT NOT NULL DEFAULT '',
    stage       TEXT NOT NULL DEFAULT '',
    remote_mta  TEXT NOT NULL DEFAULT '',
    queue_id    TEXT NOT NULL DEFAULT '',
    message_id  TEXT NOT NULL DEFAULT '',
    category    TEXT NOT NULL,              -- classify/verdict.hpp to_string(Category)
    blame       TEXT NOT NULL,
    rule_id     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_recipient ON events (recipient, category, time);
CREATE INDEX events_domain ON events (domain, category, time);
CREATE INDEX events_time ON events (time);

-- One row per suppressed key. WITHOUT ROWID: the key is the primary key and the table is the
-- index, which keeps a suppressed address near 100 bytes on disk.
CREATE TABLE suppressions (
    key         TEXT PRIMARY KEY NOT NULL,  -- 'joe@example.com' or '@example.com'
    category    TEXT NOT NULL,
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    count       INTEGER NOT NULL DEFAULT 1,
    expires     INTEGER NOT NULL DEFAULT 0, -- 0 = permanent
    event_id    INTEGER REFERENCES events (id) ON DELETE SET NULL,  -- NULL for manual entries
    added_by    TEXT NOT NULL DEFAULT '',
    reason      TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
-- Partial indexes: only the rows that need them pay for them (bulk imports are permanent and
-- have no event).
CREATE INDEX suppressions_expires ON suppressions (expires) WHERE expires <> 0;
CREATE INDEX suppressions_event ON suppressions (event_id) WHERE event_id IS NOT NULL;
