-- 0002_events_domain_recipient (PostgreSQL): the recipient joins the events_domain index, so the
-- circuit breaker's count of distinct recipients per destination is an index-only scan.
-- Keep in step with 0002_events_domain_recipient.sqlite.sql. On a large events table the index
-- is rebuilt inside the migration's transaction, which blocks writers to events until it ends.
DROP INDEX events_domain;
CREATE INDEX events_domain ON events (domain, category, time, recipient);
