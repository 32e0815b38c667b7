-- 0001_init (PostgreSQL): events (the evidence) and suppressions (per address or "@domain").
-- Applied once by the store on open, inside a transaction, then recorded in schema_version.
-- Keep in step with 0001_init.sqlite.sql: same tables, columns and meaning.

CREATE TABLE events (
    id          BIGSERIAL PRIMARY KEY,
    time        BIGINT NOT NULL,
    recipient   TEXT COLLATE "C" NOT NULL,
    domain      TEXT COLLATE "C" NOT NULL,
    sender      TEXT NOT NULL DEFAULT '',
    source      TEXT NOT NULL,
    reply_code  INTEGER NOT NULL DEFAULT 0,
    status      TEXT NOT NULL DEFAULT '',
    text        TEXT NOT NULL DEFAULT '',
    stage       TEXT NOT NULL DEFAULT '',
    remote_mta  TEXT NOT NULL DEFAULT '',
    queue_id    TEXT NOT NULL DEFAULT '',
    message_id  TEXT NOT NULL DEFAULT '',
    category    TEXT NOT NULL,
    blame       TEXT NOT NULL,
    rule_id     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_recipient ON events (recipient, category, time);
CREATE INDEX events_domain ON events (domain, category, time);
CREATE INDEX events_time ON events (time);

CREATE TABLE suppressions (
    key         TEXT COLLATE "C" PRIMARY KEY,  -- byte order: no locale on the hot path
    category    TEXT NOT NULL,
    first_seen  BIGINT NOT NULL,
    last_seen   BIGINT NOT NULL,
    count       INTEGER NOT NULL DEFAULT 1,
    expires     BIGINT NOT NULL DEFAULT 0,
    event_id    BIGINT REFERENCES events (id) ON DELETE SET NULL,
    added_by    TEXT NOT NULL DEFAULT '',
    reason      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX suppressions_expires ON suppressions (expires) WHERE expires <> 0;
CREATE INDEX suppressions_event ON suppressions (event_id) WHERE event_id IS NOT NULL;
