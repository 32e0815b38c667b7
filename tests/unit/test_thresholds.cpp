// Unit tests for policy/thresholds: the decision engine walked through time with a fake clock.
#include <gtest/gtest.h>

#include "config/config.hpp"
#include "policy/thresholds.hpp"

namespace bg {

namespace {

constexpr UnixTime day = 86400;
constexpr UnixTime t0 = 1'700'000'000;

// The defaults of conf/bounceguard.toml.
PolicyConfig defaults() { return default_config().policy; }

Event event(Category c, UnixTime when, std::string rcpt = "joe@example.com") {
    Event e;
    e.id = 7;
    e.time = when;
    e.recipient = std::move(rcpt);
    e.category = c;
    e.blame = info(c).blame;
    e.rule_id = std::string(to_string(c)) + ".text";
    return e;
}

// A tiny store of events for one recipient, to walk soft thresholds through time.
struct Timeline {
    PolicyConfig config = defaults();
    std::vector<Event> events;
    std::optional<Suppression> current;
    UnixTime last_success = 0;

    Outcome feed(Category c, Decision d, UnixTime now, int destination_recipients = 1) {
        const Event e = event(c, now);
        History h;
        if (const auto* p = config.for_category(c)) {
            const UnixTime since = counting_since(*p, last_success, now);
            for (const auto& old : events) {
                if (old.category != c || old.time < since) continue;
                if (h.prior_count++ == 0) h.oldest_prior = old.time;
            }
        }
        h.existing = current;
        h.destination_recipients = destination_recipients;
        Outcome o = decide(e, d, h, config, now);
        events.push_back(e);
        if (c == Category::Delivered) last_success = now;
        if (o.action == Action::Suppress) current = o.suppression;
        if (o.action == Action::Lift) current.reset();
        return o;
    }
};

}  // namespace

TEST(Thresholds, HardSuppressesAtOnce) {
    Timeline t;
    const auto o = t.feed(Category::UserUnknown, Decision::Hard, t0);
    ASSERT_EQ(o.action, Action::Suppress) << o.why;
    ASSERT_TRUE(o.suppression);
    EXPECT_EQ(o.suppression->key, "joe@example.com");
    EXPECT_EQ(o.suppression->category, Category::UserUnknown);
    EXPECT_EQ(o.suppression->expires, t0 + 180 * day);
    EXPECT_EQ(o.suppression->added_by, "rule:user_unknown.text");
    EXPECT_EQ(o.suppression->event_id, 7);
}

TEST(Thresholds, NeverSuppressingVerdictsAreIgnored) {
    Timeline t;
    for (auto c : {Category::RelayDenied, Category::AuthFailure, Category::Blocklisted, Category::SpamContent,
                   Category::Greylisted, Category::Network, Category::Unknown}) {
        const auto o = t.feed(c, info(c).decision, t0);
        EXPECT_EQ(o.action, Action::Ignore) << to_string(c);
        EXPECT_FALSE(o.suppression);
    }
    // A recipient category with decision none (e.g. adjusted at MAIL FROM) is ignored too.
    EXPECT_EQ(t.feed(Category::UserUnknown, Decision::None, t0).action, Action::Ignore);
}

TEST(Thresholds, SoftNeedsCountWithinWindowAndSpan) {
    Timeline t;  // mailbox_full: 3 within 14d, over at least 3d
    EXPECT_EQ(t.feed(Category::MailboxFull, Decision::Soft, t0).action, Action::Count);
    EXPECT_EQ(t.feed(Category::MailboxFull, Decision::Soft, t0 + 1 * day).action, Action::Count);
    // The third event, but only 2 days after the first: not spread enough yet.
    EXPECT_EQ(t.feed(Category::MailboxFull, Decision::Soft, t0 + 2 * day).action, Action::Count);
    const auto o = t.feed(Category::MailboxFull, Decision::Soft, t0 + 3 * day);
    ASSERT_EQ(o.action, Action::Suppress) << o.why;
    EXPECT_EQ(o.suppression->first_seen, t0);
    EXPECT_EQ(o.suppression->count, 4);
    EXPECT_EQ(o.suppression->expires, t0 + 3 * day + 30 * day);
}

TEST(Thresholds, SoftEventsOutsideTheWindowDoNotCount) {
    Timeline t;
    t.feed(Category::MailboxFull, Decision::Soft, t0);
    t.feed(Category::MailboxFull, Decision::Soft, t0 + 5 * day);
    // 20 days later the first two are outside the 14-day window.
    EXPECT_EQ(t.feed(Category::MailboxFull, Decision::Soft, t0 + 25 * day).action, Action::Count);
    EXPECT_EQ(t.feed(Category::MailboxFull, Decision::Soft, t0 + 27 * day).action, Action::Count);
    EXPECT_EQ(t.feed(Category::MailboxFull, Decision::Soft, t0 + 29 * day).action, Action::Suppress);
}

TEST(Thresholds, SuccessResetsCountsAndLiftsSuppressions) {
    Timeline t;
    t.feed(Category::MailboxFull, Decision::Soft, t0);
    t.feed(Category::MailboxFull, Decision::Soft, t0 + 2 * day);
    EXPECT_EQ(t.feed(Category::Delivered, Decision::None, t0 + 3 * day).action, Action::Ignore);
    // The count restarts after the delivery.
    EXPECT_EQ(t.feed(Category::MailboxFull, Decision::Soft, t0 + 4 * day).action, Action::Count);
    // A hard suppression is lifted by a later success.
    ASSERT_EQ(t.feed(Category::UserUnknown, Decision::Hard, t0 + 5 * day).action, Action::Suppress);
    const auto lift = t.feed(Category::Delivered, Decision::None, t0 + 6 * day);
    EXPECT_EQ(lift.action, Action::Lift);
    ASSERT_TRUE(lift.suppression);
    EXPECT_EQ(lift.suppression->category, Category::UserUnknown);
}

TEST(Thresholds, ComplaintsAreStickyAndPermanent) {
    Timeline t;
    const auto o = t.feed(Category::Complaint, Decision::Hard, t0);
    ASSERT_EQ(o.action, Action::Suppress);
    EXPECT_EQ(o.suppression->expires, 0);
    EXPECT_EQ(t.feed(Category::Delivered, Decision::None, t0 + day).action, Action::Ignore);
    ASSERT_TRUE(t.current);
    t.config.complaint.sticky = false;
    EXPECT_EQ(t.feed(Category::Delivered, Decision::None, t0 + 2 * day).action, Action::Lift);
}

TEST(Thresholds, ExpiryAndEscalationOnRepeat) {
    Timeline t;
    ASSERT_EQ(t.feed(Category::MailboxDisabled, Decision::Hard, t0).action, Action::Suppress);
    EXPECT_EQ(t.current->expires, t0 + 60 * day);
    // After it expired, a repeat gets twice the earlier lifetime...
    auto o = t.feed(Category::MailboxDisabled, Decision::Hard, t0 + 61 * day);
    ASSERT_EQ(o.action, Action::Suppress);
    EXPECT_EQ(o.suppression->expires, t0 + 61 * day + 120 * day);
    // ...up to ttl_max (365d).
    o = t.feed(Category::MailboxDisabled, Decision::Hard, t0 + 200 * day);
    EXPECT_EQ(o.suppression->expires, t0 + 200 * day + 240 * day);
    o = t.feed(Category::MailboxDisabled, Decision::Hard, t0 + 500 * day);
    EXPECT_EQ(o.suppression->expires, t0 + 500 * day + 365 * day);
}

TEST(Thresholds, DomainUnknownMakesADomainEntry) {
    Timeline t;
    const auto o = t.feed(Category::DomainUnknown, Decision::Hard, t0);
    ASSERT_EQ(o.action, Action::Suppress);
    EXPECT_EQ(o.suppression->key, "@example.com");
    EXPECT_TRUE(o.suppression->is_domain());
    EXPECT_EQ(o.suppression->expires, t0 + 7 * day);
}

TEST(Thresholds, AllowListsAndOwnDomainsAreNeverSuppressed) {
    Timeline t;
    t.config.own_domains = {"example.com"};
    auto o = t.feed(Category::UserUnknown, Decision::Hard, t0);
    EXPECT_EQ(o.action, Action::Allowed);
    EXPECT_TRUE(o.suppression);  // what it would have written, for the log
    EXPECT_FALSE(t.current);

    PolicyConfig c = defaults();
    c.allow_domains = {"example.net"};
    c.allow_addresses = {"vip@example.org"};
    c.allow_patterns = {"postmaster@*", "*@*.partner.example"};
    EXPECT_TRUE(is_allowed("a@mail.example.net", c));
    EXPECT_FALSE(is_allowed("a@badexample.net", c));
    EXPECT_TRUE(is_allowed("VIP@example.org", c));
    EXPECT_TRUE(is_allowed("postmaster@anything.example", c));
    EXPECT_TRUE(is_allowed("x@eu.partner.example", c));
    EXPECT_FALSE(is_allowed("x@partner.example", c));
    EXPECT_FALSE(is_allowed("joe@example.org", c));
}

TEST(Thresholds, CircuitBreakerHoldsWavesBack) {
    Timeline t;  // 25 distinct recipients in 10 minutes trip it
    EXPECT_EQ(t.feed(Category::UserUnknown, Decision::Hard, t0, 24).action, Action::Suppress);
    t.current.reset();
    const auto o = t.feed(Category::UserUnknown, Decision::Hard, t0, 25);
    EXPECT_EQ(o.action, Action::Held);
    EXPECT_NE(o.why.find("circuit breaker"), std::string::npos);
    t.config.breaker.enabled = false;
    EXPECT_EQ(t.feed(Category::UserUnknown, Decision::Hard, t0, 500).action, Action::Suppress);
}

TEST(Thresholds, ObserveModeSuppressesNothing) {
    Timeline t;
    t.config.observe = true;
    const auto o = t.feed(Category::UserUnknown, Decision::Hard, t0);
    EXPECT_EQ(o.action, Action::Observed);
    EXPECT_NE(o.why.find("would suppress"), std::string::npos);
    EXPECT_FALSE(t.current);
}

TEST(Thresholds, GlobIsIterativeAndCaseInsensitive) {
    EXPECT_TRUE(glob_match("*", ""));
    EXPECT_TRUE(glob_match("a*b*c", "AxxBxxC"));
    EXPECT_FALSE(glob_match("a*b*c", "axxbxx"));
    EXPECT_TRUE(glob_match("??@x", "ab@x"));
    // Pathological pattern against a long text finishes quickly (no backtracking blow-up).
    EXPECT_FALSE(glob_match(std::string(50, '*') + "b", std::string(100000, 'a')));
}

}  // namespace bg
