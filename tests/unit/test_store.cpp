// Store tests run against both drivers (value-parameterised): SQLite in a temporary directory,
// PostgreSQL on the private cluster of test_store_support. The PostgreSQL cases fail (not skip)
// when the cluster cannot be started.
#include <gtest/gtest.h>

#include <memory>
#include <optional>

#include "config/config.hpp"
#include "policy/recorder.hpp"
#include "store/suppression_store.hpp"
#include "test_store_support.hpp"

namespace bg {
namespace {

using testing_support::PgCluster;
using testing_support::TempDir;

Event make_event(std::string recipient, UnixTime t, Category c = Category::UserUnknown) {
    Event e;
    e.time = t;
    e.recipient = std::move(recipient);
    e.sender = "news@our.example";
    e.source = EventSource::DsnInternal;
    e.reply_code = 550;
    e.status = "5.1.1";
    e.text = "550 5.1.1 <x>: Recipient address rejected: User unknown";
    e.stage = "rcpt";
    e.remote_mta = "mx.example.com";
    e.queue_id = "4ABC123";
    e.message_id = "<m1@our.example>";
    e.category = c;
    e.blame = info(c).blame;
    e.rule_id = "user_unknown.text";
    return e;
}

Suppression make_suppression(std::string key, Category c = Category::UserUnknown, UnixTime seen = 1000,
                             UnixTime expires = 0) {
    Suppression s;
    s.key = std::move(key);
    s.category = c;
    s.first_seen = seen;
    s.last_seen = seen;
    s.count = 1;
    s.expires = expires;
    s.added_by = "operator:test";
    s.reason = "test entry";
    return s;
}

class StoreTest : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        if (GetParam() == "sqlite") {
            dir_ = std::make_unique<TempDir>();
            uri_ = "sqlite:" + dir_->path() + "/store.db";
        } else {
            PgCluster& pg = PgCluster::instance();
            ASSERT_TRUE(pg.ok()) << "the private PostgreSQL cluster did not start: " << pg.error();
            uri_ = pg.create_database();
            ASSERT_FALSE(uri_.empty()) << "CREATE DATABASE failed";
        }
        auto s = open_store(uri_);
        ASSERT_TRUE(s) << s.error().message;
        store_ = std::move(*s);
        ASSERT_EQ(store_->driver(), GetParam());
    }

    SuppressionStore& store() { return *store_; }

    std::unique_ptr<TempDir> dir_;
    std::string uri_;
    std::unique_ptr<SuppressionStore> store_;
};

TEST_P(StoreTest, MigrationsAppliedOnceAndReopenIsIdempotent) {
    auto v = store().schema_version();
    ASSERT_TRUE(v) << v.error().message;
    EXPECT_EQ(*v, migrations().back().version);
    ASSERT_TRUE(store().put(make_suppression("joe@example.com")));
    store_.reset();
    auto again = open_store(uri_);
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_EQ(*(*again)->schema_version(), migrations().back().version);
    EXPECT_TRUE((*again)->lookup("joe@example.com", 2000).found());
}

TEST_P(StoreTest, LookupTriState) {
    EXPECT_EQ(store().lookup("joe@example.com", 2000).status, LookupStatus::NotFound);
    ASSERT_TRUE(store().put(make_suppression("joe@example.com")));
    auto r = store().lookup("<Joe@EXAMPLE.com>", 2000);
    ASSERT_EQ(r.status, LookupStatus::Found) << r.error;
    EXPECT_EQ(r.suppression, make_suppression("joe@example.com"));
    EXPECT_EQ(store().lookup("jim@example.com", 2000).status, LookupStatus::NotFound);
    EXPECT_EQ(store().lookup("not an address", 2000).status, LookupStatus::NotFound);
}

TEST_P(StoreTest, DomainEntryCoversItsAddressesAndAddressEntryWins) {
    ASSERT_TRUE(store().put(make_suppression("@dead.example", Category::DomainUnknown)));
    auto r = store().lookup("anyone@Dead.Example", 2000);
    ASSERT_TRUE(r.found());
    EXPECT_EQ(r.suppression.key, "@dead.example");
    EXPECT_TRUE(r.suppression.is_domain());
    EXPECT_FALSE(store().lookup("anyone@sub.dead.example", 2000).found());

    ASSERT_TRUE(store().put(make_suppression("joe@dead.example", Category::UserUnknown)));
    r = store().lookup("joe@dead.example", 2000);
    ASSERT_TRUE(r.found());
    EXPECT_EQ(r.suppression.key, "joe@dead.example");
}

TEST_P(StoreTest, ExpiredEntriesAreIgnoredByLookup) {
    ASSERT_TRUE(store().put(make_suppression("joe@example.com", Category::MailboxFull, 1000, 5000)));
    ASSERT_TRUE(store().put(make_suppression("@example.com", Category::DomainUnknown, 1000, 3000)));
    EXPECT_TRUE(store().lookup("joe@example.com", 4999).found());
    EXPECT_FALSE(store().lookup("joe@example.com", 5000).found());
    EXPECT_EQ(store().lookup("jim@example.com", 2999).suppression.key, "@example.com");
    EXPECT_EQ(store().lookup("jim@example.com", 3000).status, LookupStatus::NotFound);
    // get() still shows expired entries (the CLI's `show`).
    auto g = store().get("joe@example.com");
    ASSERT_TRUE(g && g->has_value());
    EXPECT_EQ((*g)->expires, 5000);
}

TEST_P(StoreTest, PutUpsertsGetAndRemove) {
    auto s = make_suppression("joe@example.com");
    ASSERT_TRUE(store().put(s));
    s.count = 3;
    s.last_seen = 4000;
    s.category = Category::MailboxFull;
    s.expires = 9000;
    s.reason = "it's \"full\"; DROP TABLE suppressions; --";
    ASSERT_TRUE(store().put(s));
    auto g = store().get("JOE@example.com");
    ASSERT_TRUE(g) << g.error().message;
    ASSERT_TRUE(g->has_value());
    EXPECT_EQ(**g, s);
    EXPECT_EQ(store().stats()->suppressions, 1);

    auto removed = store().remove("<joe@example.com>");
    ASSERT_TRUE(removed) << removed.error().message;
    EXPECT_TRUE(*removed);
    EXPECT_FALSE(*store().remove("joe@example.com"));
    EXPECT_FALSE(store().get("joe@example.com")->has_value());
    EXPECT_FALSE(store().lookup("joe@example.com", 2000).found());
}

TEST_P(StoreTest, InvalidKeysAreErrors) {
    EXPECT_FALSE(store().put(make_suppression("no-at-sign")));
    EXPECT_FALSE(store().put(make_suppression("@")));
    EXPECT_FALSE(store().get(""));
    EXPECT_FALSE(store().remove("a b@c"));
    EXPECT_FALSE(store().events_for("nobody", 10));
}

TEST_P(StoreTest, RecordEventsRoundTripNewestFirst) {
    std::vector<Event> batch;
    for (int i = 0; i < 5; ++i) batch.push_back(make_event("joe@example.com", 1000 + i * 10));
    batch[2].text = "550 it's 'quoted'; \"DROP\" -- ünïcödé";
    batch[3].source = EventSource::Maillog;
    batch[3].category = Category::MailboxFull;
    batch[3].blame = Blame::Recipient;
    batch[4].remote_mta = "";  // empty strings stay empty (not NULL)
    batch[4].message_id = "";
    batch[4].rule_id = "";
    batch.push_back(make_event("jim@example.com", 1005));
    auto ids = store().record_events(batch);
    ASSERT_TRUE(ids) << ids.error().message;
    ASSERT_EQ(ids->size(), batch.size());
    for (std::size_t i = 1; i < ids->size(); ++i) EXPECT_LT((*ids)[i - 1], (*ids)[i]);

    auto ev = store().events_for("Joe@Example.com", 0);
    ASSERT_TRUE(ev) << ev.error().message;
    ASSERT_EQ(ev->size(), 5u);
    for (std::size_t i = 0; i < 5; ++i) {
        Event want = batch[4 - i];
        want.id = (*ids)[4 - i];
        EXPECT_EQ((*ev)[i], want) << i;
    }
    auto two = store().events_for("joe@example.com", 2);
    ASSERT_TRUE(two);
    ASSERT_EQ(two->size(), 2u);
    EXPECT_EQ((*two)[0].time, 1040);

    auto empty = store().record_events({});
    ASSERT_TRUE(empty);
    EXPECT_TRUE(empty->empty());
}

// Bytes from the wire: SQLite keeps them, PostgreSQL stores '?' for what is not valid UTF-8.
TEST_P(StoreTest, HostileBytesInEventTextAreStored) {
    Event e = make_event("joe@example.com", 1);
    e.text = std::string("550 bad \xff\xfe bytes \xc3\xa9 and a NUL ") + std::string(1, '\0') + " end";
    e.sender = "tab\there, new\nline, back\\slash, \\N, \r, quote' \"; end";
    auto ids = store().record_events(std::vector<Event>{e});
    ASSERT_TRUE(ids) << ids.error().message;
    auto ev = store().events_for("joe@example.com", 1);
    ASSERT_TRUE(ev && ev->size() == 1u);
    if (GetParam() == "sqlite") {
        EXPECT_EQ((*ev)[0].text, e.text);
    } else {
        EXPECT_EQ((*ev)[0].text, "550 bad ?? bytes \xc3\xa9 and a NUL ? end");
    }
    EXPECT_EQ((*ev)[0].sender, e.sender);
}

TEST_P(StoreTest, CountsForTheDecisionEngine) {
    std::vector<Event> batch{
        make_event("joe@example.com", 100, Category::MailboxFull),
        make_event("joe@example.com", 200, Category::MailboxFull),
        make_event("joe@example.com", 300, Category::MailboxFull),
        make_event("joe@example.com", 250, Category::UserUnknown),
        make_event("jim@example.com", 260, Category::MailboxFull),
        make_event("jim@example.com", 270, Category::MailboxFull),
        make_event("ann@example.com", 280, Category::MailboxFull),
        make_event("ann@other.example", 290, Category::MailboxFull),
    };
    ASSERT_TRUE(store().record_events(batch));
    auto c = store().count_events("joe@example.com", Category::MailboxFull, 150);
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(*c, (EventCount{2, 200, 300}));
    EXPECT_EQ(*store().count_events("joe@example.com", Category::MailboxFull, 0), (EventCount{3, 100, 300}));
    EXPECT_EQ(*store().count_events("joe@example.com", Category::Delivered, 0), (EventCount{0, 0, 0}));
    EXPECT_EQ(*store().count_events("nobody@example.com", Category::MailboxFull, 0), (EventCount{}));

    auto d = store().count_domain_recipients("EXAMPLE.com", Category::MailboxFull, 0, 0);
    ASSERT_TRUE(d) << d.error().message;
    EXPECT_EQ(*d, 3);
    EXPECT_EQ(*store().count_domain_recipients("example.com", Category::MailboxFull, 275, 0), 2);
    EXPECT_EQ(*store().count_domain_recipients("example.com", Category::UserUnknown, 0, 0), 1);
    EXPECT_EQ(*store().count_domain_recipients("none.example", Category::MailboxFull, 0, 0), 0);
    // Bounded: the count stops at at_most (distinct recipients, not events).
    EXPECT_EQ(*store().count_domain_recipients("example.com", Category::MailboxFull, 0, 2), 2);
    EXPECT_EQ(*store().count_domain_recipients("example.com", Category::MailboxFull, 0, 3), 3);
    EXPECT_EQ(*store().count_domain_recipients("example.com", Category::MailboxFull, 0, 10), 3);
    EXPECT_EQ(*store().count_domain_recipients("example.com", Category::MailboxFull, 275, 1), 1);
}

TEST_P(StoreTest, ListFilters) {
    ASSERT_TRUE(store().put(make_suppression("a@one.example", Category::UserUnknown, 100)));
    ASSERT_TRUE(store().put(make_suppression("b@one.example", Category::MailboxFull, 200, 5000)));
    ASSERT_TRUE(store().put(make_suppression("@one.example", Category::DomainUnknown, 300)));
    ASSERT_TRUE(store().put(make_suppression("c@two.example", Category::UserUnknown, 400, 1500)));
    ASSERT_TRUE(store().put(make_suppression("d@sub.one.example", Category::UserUnknown, 500)));
    ASSERT_TRUE(store().put(make_suppression("e@xone.example", Category::UserUnknown, 600)));

    auto keys = [](const Result<std::vector<Suppression>>& r) {
        std::vector<std::string> k;
        if (r)
            for (const auto& s : *r) k.push_back(s.key);
        return k;
    };
    using V = std::vector<std::string>;
    EXPECT_EQ(keys(store().list({})),
              (V{"e@xone.example", "d@sub.one.example", "c@two.example", "@one.example", "b@one.example",
                 "a@one.example"}));
    ListFilter f;
    f.category = Category::UserUnknown;
    EXPECT_EQ(keys(store().list(f)), (V{"e@xone.example", "d@sub.one.example", "c@two.example", "a@one.example"}));
    f = {};
    f.domain = "ONE.example";
    EXPECT_EQ(keys(store().list(f)), (V{"@one.example", "b@one.example", "a@one.example"}));
    f = {};
    f.since = 300;
    f.limit = 2;
    EXPECT_EQ(keys(store().list(f)), (V{"e@xone.example", "d@sub.one.example"}));
    f = {};
    f.now = 2000;  // c@two.example expired at 1500
    EXPECT_EQ(keys(store().list(f)).size(), 5u);
    f.include_expired = true;
    EXPECT_EQ(keys(store().list(f)).size(), 6u);
    f = {};
    f.domain = "bad..domain";
    EXPECT_FALSE(store().list(f));
}

TEST_P(StoreTest, ExpirePurgesPastTtlAndRetentionButKeepsEvidence) {
    std::vector<Event> batch{make_event("old@example.com", 100), make_event("kept@example.com", 110),
                             make_event("new@example.com", 5000)};
    auto ids = store().record_events(batch);
    ASSERT_TRUE(ids) << ids.error().message;
    auto s = make_suppression("kept@example.com", Category::UserUnknown, 110);
    s.event_id = (*ids)[1];
    s.added_by = "rule:user_unknown.text";
    ASSERT_TRUE(store().put(s)) << "a suppression names its triggering event";
    ASSERT_TRUE(store().put(make_suppression("gone@example.com", Category::MailboxFull, 100, 3000)));
    ASSERT_TRUE(store().put(make_suppression("later@example.com", Category::MailboxFull, 100, 9000)));

    auto c = store().expire(6000, 1000);  // events before 5000 are past retention
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(*c, (ExpireCounts{1, 1}));
    EXPECT_TRUE(store().events_for("old@example.com", 0)->empty());
    EXPECT_EQ(store().events_for("kept@example.com", 0)->size(), 1u);
    EXPECT_EQ(store().events_for("new@example.com", 0)->size(), 1u);
    EXPECT_FALSE(store().get("gone@example.com")->has_value());
    EXPECT_TRUE(store().get("later@example.com")->has_value());
    EXPECT_EQ((*store().get("kept@example.com"))->event_id, (*ids)[1]);

    // Retention 0 keeps every event; nothing left to expire.
    EXPECT_EQ(*store().expire(6000, 0), (ExpireCounts{0, 0}));
}

TEST_P(StoreTest, Stats) {
    ASSERT_TRUE(store().put(make_suppression("a@example.com", Category::UserUnknown)));
    ASSERT_TRUE(store().put(make_suppression("b@example.com", Category::UserUnknown)));
    ASSERT_TRUE(store().put(make_suppression("c@example.com", Category::Complaint)));
    ASSERT_TRUE(store().put(make_suppression("@dead.example", Category::DomainUnknown)));
    ASSERT_TRUE(store().record_events(std::vector<Event>{make_event("a@example.com", 1)}));
    auto s = store().stats();
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->suppressions, 4);
    EXPECT_EQ(s->domain_suppressions, 1);
    EXPECT_EQ(s->events, 1);
    ASSERT_EQ(s->by_category.size(), 3u);
    EXPECT_EQ(s->by_category[0], (CategoryCount{Category::UserUnknown, 2}));
}

TEST_P(StoreTest, PutAllIsOneTransaction) {
    std::vector<Suppression> many;
    for (int i = 0; i < 300; ++i) many.push_back(make_suppression("u" + std::to_string(i) + "@example.com"));
    ASSERT_TRUE(store().put_all(many));
    EXPECT_EQ(store().stats()->suppressions, 300);
    EXPECT_GT(store().stats()->bytes, 0);
    // The last entry for a key wins, in a large batch (PostgreSQL: the COPY path) too.
    many.back() = make_suppression("u0@example.com", Category::Complaint);
    ASSERT_TRUE(store().put_all(many));
    EXPECT_EQ((*store().get("u0@example.com"))->category, Category::Complaint);
    EXPECT_EQ(store().stats()->suppressions, 300);
    many[5].event_id = 424242;
    EXPECT_FALSE(store().put_all(many));
    // One bad entry (an unknown event) and none of the batch is written.
    std::vector<Suppression> bad{make_suppression("x1@example.com"), make_suppression("x2@example.com")};
    bad[1].event_id = 424242;
    EXPECT_FALSE(store().put_all(bad));
    EXPECT_FALSE(store().get("x1@example.com")->has_value());
    // An invalid key fails before anything is written.
    bad[1] = make_suppression("not an address");
    EXPECT_FALSE(store().put_all(bad));
    EXPECT_FALSE(store().get("x1@example.com")->has_value());
    // Two large put_all() in one batch: the second's entries win (PostgreSQL: its COPY table is
    // emptied after each call, not only at commit).
    std::vector<Suppression> first, second;
    for (int i = 0; i < 100; ++i) {
        first.push_back(make_suppression("b" + std::to_string(i) + "@example.com", Category::MailboxFull));
        second.push_back(make_suppression("b" + std::to_string(i) + "@example.com", Category::HasMoved));
    }
    ASSERT_TRUE(store().batch([&]() -> Result<void> {
        if (auto r = store().put_all(first); !r) return r;
        return store().put_all(second);
    }));
    EXPECT_EQ((*store().get("b0@example.com"))->category, Category::HasMoved);
    EXPECT_EQ((*store().get("b99@example.com"))->category, Category::HasMoved);
}

TEST_P(StoreTest, PutWithUnknownEventIdIsAnError) {
    auto s = make_suppression("joe@example.com");
    s.event_id = 987654;
    auto r = store().put(s);
    EXPECT_FALSE(r);
    EXPECT_FALSE(store().get("joe@example.com")->has_value());
}

// The postmaster's "what is wrong with our sending" view: only events that were not the
// recipient's fault, grouped per destination and category, with the newest reply as example.
TEST_P(StoreTest, ReportGroupsSenderSideEventsPerDomainAndCategory) {
    std::vector<Event> batch;
    auto blocked = [](std::string rcpt, UnixTime t, std::string text) {
        Event e = make_event(std::move(rcpt), t, Category::Blocklisted);
        e.reply_code = 554;
        e.status = "5.7.1";
        e.text = std::move(text);
        e.rule_id = "blocklisted.list";
        e.remote_mta = "mx.big.example";
        return e;
    };
    batch.push_back(blocked("a@big.example", 1000, "554 5.7.1 blocked using zen.spamhaus.org (old)"));
    batch.push_back(blocked("b@big.example", 1100, "554 5.7.1 blocked using zen.spamhaus.org"));
    batch.push_back(blocked("a@big.example", 1200, "554 5.7.1 blocked using zen.spamhaus.org (newest)"));
    batch.push_back(blocked("c@big.example", 50, "554 5.7.1 before the period"));
    batch.push_back(make_event("d@big.example", 1150, Category::UserUnknown));    // the recipient's fault
    batch.push_back(make_event("e@small.example", 1300, Category::Greylisted));  // transient
    Event delivered = make_event("f@small.example", 1300, Category::Delivered);  // not a failure
    batch.push_back(delivered);
    batch.push_back(make_event("g@Small.Example", 1250, Category::AuthFailure));  // sender_config
    batch.push_back(make_event("h@small.example", 5000, Category::AuthFailure));  // after the period
    ASSERT_TRUE(store().record_events(batch));

    ReportFilter f;
    f.since = 500;
    f.until = 4000;
    auto r = store().report(f);
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->size(), 3u);
    const ReportRow& top = (*r)[0];
    EXPECT_EQ(top.domain, "big.example");
    EXPECT_EQ(top.category, Category::Blocklisted);
    EXPECT_EQ(top.blame, Blame::Reputation);
    EXPECT_EQ(top.events, 3);
    EXPECT_EQ(top.recipients, 2);
    EXPECT_EQ(top.first_seen, 1000);
    EXPECT_EQ(top.last_seen, 1200);
    EXPECT_EQ(top.example.text, "554 5.7.1 blocked using zen.spamhaus.org (newest)");
    EXPECT_EQ(top.example.reply_code, 554);
    EXPECT_EQ(top.example.rule_id, "blocklisted.list");
    EXPECT_EQ(top.example.remote_mta, "mx.big.example");
    // Ties (one event each) in domain then category order.
    EXPECT_EQ((*r)[1].domain, "small.example");
    EXPECT_EQ((*r)[1].category, Category::AuthFailure);
    EXPECT_EQ((*r)[1].blame, Blame::SenderConfig);
    EXPECT_EQ((*r)[2].category, Category::Greylisted);
    EXPECT_EQ((*r)[2].recipients, 1);

    f.domain = "SMALL.example";
    f.limit = 1;
    r = store().report(f);
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->size(), 1u);
    EXPECT_EQ((*r)[0].category, Category::AuthFailure);
    f.domain = "not a domain!";
    EXPECT_FALSE(store().report(f));

    f = ReportFilter{};  // the whole history
    r = store().report(f);
    ASSERT_TRUE(r);
    EXPECT_EQ((*r)[0].events, 4);
    EXPECT_EQ((*r)[0].first_seen, 50);
    EXPECT_EQ((*r)[1].events, 2);  // auth_failure at small.example, h@ included
}

std::vector<std::string> drivers() {
#ifdef BG_WITH_POSTGRES
    return {"sqlite", "postgresql"};
#else
    return {"sqlite"};
#endif
}

// batch(): the calls of its body share one transaction (one commit); a failing write undoes only
// itself; another connection sees nothing before the commit.
TEST_P(StoreTest, BatchIsOneCommitAndAFailingWriteUndoesOnlyItself) {
    auto other = open_store(uri_);
    ASSERT_TRUE(other) << other.error().message;
    auto r = store().batch([&]() -> Result<void> {
        for (int i = 0; i < 100; ++i) {
            auto ids = store().record_events(std::vector<Event>{make_event("r" + std::to_string(i) + "@example.com", 10 + i)});
            if (!ids) return ids.error();
        }
        EXPECT_TRUE(store().put(make_suppression("joe@example.com")));
        Suppression bad = make_suppression("bad@example.com");
        bad.event_id = 999999;  // names no event: the foreign key refuses it
        EXPECT_FALSE(store().put(bad));
        // Inside the batch this connection reads its own writes; another sees none of them yet.
        const LookupResult own = store().lookup("joe@example.com", 1);
        EXPECT_TRUE(own.found()) << own.error;
        auto counted = store().count_events("r7@example.com", Category::UserUnknown, 0);
        EXPECT_TRUE(counted && counted->count == 1) << (counted ? "" : counted.error().message);
        EXPECT_EQ((*other)->lookup("joe@example.com", 1).status, LookupStatus::NotFound);
        auto st = (*other)->stats();
        EXPECT_TRUE(st && st->events == 0);
        return Ok{};
    });
    ASSERT_TRUE(r) << r.error().message;
    auto st = (*other)->stats();
    ASSERT_TRUE(st);
    EXPECT_EQ(st->events, 100);
    EXPECT_TRUE((*other)->lookup("joe@example.com", 1).found());
    auto bad = (*other)->get("bad@example.com");
    ASSERT_TRUE(bad);
    EXPECT_FALSE(bad->has_value());
}

TEST_P(StoreTest, BatchBodyErrorCommitsNothing) {
    auto r = store().batch([&]() -> Result<void> {
        EXPECT_TRUE(store().record_events(std::vector<Event>{make_event("a@example.com", 1)}));
        EXPECT_TRUE(store().put(make_suppression("a@example.com")));
        return Error{"stop here"};
    });
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message, "stop here");
    auto st = store().stats();
    ASSERT_TRUE(st);
    EXPECT_EQ(st->events, 0);
    EXPECT_EQ(st->suppressions, 0);
    // The connection is usable afterwards, in and out of batches, and batches nest.
    EXPECT_TRUE(store().batch([&]() -> Result<void> {
        return store().batch([&]() -> Result<void> { return store().put(make_suppression("b@example.com")); });
    }));
    EXPECT_TRUE(store().lookup("b@example.com", 1).found());
    EXPECT_TRUE(store().put(make_suppression("c@example.com")));
    EXPECT_TRUE(store().lookup("c@example.com", 1).found());
}

// The circuit breaker through the store: the count of distinct recipients at a destination
// (bounded at the threshold) holds the suppression that reaches it, per destination and window.
TEST_P(StoreTest, RecorderCircuitBreakerHoldsAWaveAtOneDestination) {
    PolicyConfig config = default_config().policy;
    config.breaker.enabled = true;
    config.breaker.distinct_recipients = 3;
    config.breaker.window = 600;
    const UnixTime t = 1'700'000'000;
    auto record = [&](const std::string& rcpt, UnixTime when, Decision d = Decision::Hard,
                      Category c = Category::UserUnknown) {
        auto r = record_event(store(), config, make_event(rcpt, when, c), d, when);
        EXPECT_TRUE(r) << r.error().message;
        return r ? r->outcome : Outcome{};
    };
    EXPECT_EQ(record("a@wave.example", t).action, Action::Suppress);
    EXPECT_EQ(record("b@wave.example", t + 1).action, Action::Suppress);
    EXPECT_EQ(record("b@wave.example", t + 2).action, Action::Suppress);  // still two distinct
    const Outcome third = record("c@wave.example", t + 3);
    EXPECT_EQ(third.action, Action::Held);
    EXPECT_NE(third.why.find("3 or more distinct recipients"), std::string::npos) << third.why;
    EXPECT_EQ(record("d@wave.example", t + 4).action, Action::Held);
    // Another destination, and another category at this one, are not held.
    EXPECT_EQ(record("x@calm.example", t + 5).action, Action::Suppress);
    EXPECT_EQ(record("y@wave.example", t + 6, Decision::Hard, Category::HasMoved).action, Action::Suppress);
    // A soft event below its count never reaches the breaker.
    EXPECT_EQ(record("z@wave.example", t + 7, Decision::Soft, Category::MailboxFull).action, Action::Count);
    // Once the wave is older than the window, suppressions go through again.
    EXPECT_EQ(record("e@wave.example", t + 4 + 601).action, Action::Suppress);
    EXPECT_TRUE(*store().get("a@wave.example"));
    EXPECT_FALSE(*store().get("c@wave.example"));
    EXPECT_FALSE(*store().get("d@wave.example"));
    EXPECT_TRUE(*store().get("e@wave.example"));
    // Observe mode is held the same way (the breaker comes first).
    config.observe = true;
    EXPECT_EQ(record("f@wave.example", t + 4 + 602).action, Action::Observed);
    EXPECT_EQ(record("g@wave.example", t + 4 + 603).action, Action::Held);
}

INSTANTIATE_TEST_SUITE_P(Drivers, StoreTest, ::testing::ValuesIn(drivers()),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

TEST(StoreUri, PasswordsAreRedactedForLogs) {
    EXPECT_EQ(redact_store_uri("postgresql://bg:s3cret@db.example:5432/bounceguard"),
              "postgresql://bg:***@db.example:5432/bounceguard");
    EXPECT_EQ(redact_store_uri("postgres://bg@db/bg?sslmode=require&password=s3cret&connect_timeout=5"),
              "postgres://bg@db/bg?sslmode=require&password=***&connect_timeout=5");
    EXPECT_EQ(redact_store_uri("postgresql://db/bg?password=x"), "postgresql://db/bg?password=***");
    EXPECT_EQ(redact_store_uri("postgresql://bg@db/bg"), "postgresql://bg@db/bg");
    EXPECT_EQ(redact_store_uri("sqlite:/var/lib/bounceguard/a:b@c.db"), "sqlite:/var/lib/bounceguard/a:b@c.db");
}

}  // namespace
}  // namespace bg
