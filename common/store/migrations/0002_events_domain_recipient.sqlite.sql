-- 0002_events_domain_recipient (SQLite): the recipient joins the events_domain index, so the
-- circuit breaker's count of distinct recipients per destination reads the index alone instead
-- of one table row per event (its cost grew with every event of a wave of rejections).
-- Keep in step with 0002_events_domain_recipient.pg.sql.
DROP INDEX events_domain;
CREATE INDEX events_domain ON events (domain, category, time, recipient);
