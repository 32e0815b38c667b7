// test_enforcer.cpp - the RCPT TO decision shared by the policy daemon and the milter: outbound
// detection, lookup, action, observe mode, store errors, reply templates and CIDR networks.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include "config/config.hpp"
#include "enforce/enforcer.hpp"
#include "test_store_support.hpp"

namespace bg {
namespace {

using testing_support::TempDir;

constexpr UnixTime now = 1'780'000'000;

struct EnforcerFixture : ::testing::Test {
    TempDir dir;
    std::unique_ptr<SuppressionStore> store;
    Config config = default_config();

    void SetUp() override {
        auto s = open_store("sqlite:" + dir.path() + "/store.db");
        ASSERT_TRUE(s) << s.error().message;
        store = std::move(*s);
        Suppression dead{.key = "dead@example.com", .category = Category::UserUnknown, .first_seen = now - 86400,
                         .last_seen = now - 86400, .count = 1, .expires = 0, .event_id = 0,
                         .added_by = "operator:test", .reason = "bounced"};
        Suppression domain{.key = "@gone.example", .category = Category::DomainUnknown, .first_seen = now - 60,
                           .last_seen = now - 60, .count = 2, .expires = now + 3600};
        ASSERT_TRUE(store->put(dead));
        ASSERT_TRUE(store->put(domain));
    }
    Enforcer make() {
        auto e = Enforcer::create(config);
        EXPECT_TRUE(e) << (e ? "" : e.error().message);
        return std::move(*e);
    }
};

TEST_F(EnforcerFixture, RejectsSuppressedOutboundRecipient) {
    const auto e = make();
    const auto r = e.check(*store, {.recipient = "<Dead@Example.COM>", .client_address = "127.0.0.1"}, now);
    EXPECT_EQ(r.verdict, EnforceVerdict::Reject);
    EXPECT_TRUE(r.outbound);
    EXPECT_EQ(r.suppression.key, "dead@example.com");
    EXPECT_EQ(r.reply, "550 5.1.1 <dead@example.com> suppressed since " +
                           std::string(r.reply.substr(r.reply.find("since ") + 6, 10)) + ": user_unknown");
    EXPECT_EQ(r.reply.find("5.1.1", 5), std::string::npos) << "status written twice: " << r.reply;
    EXPECT_NE(r.reply.find("dead@example.com"), std::string::npos) << r.reply;
    EXPECT_NE(r.reply.find("user_unknown"), std::string::npos) << r.reply;
}

TEST_F(EnforcerFixture, DomainEntryUsesItsOwnStatus) {
    const auto r = make().check(*store, {.recipient = "anyone@gone.example", .sasl_username = "alice"}, now);
    EXPECT_EQ(r.verdict, EnforceVerdict::Reject);
    EXPECT_EQ(r.reply.substr(0, 10), "550 5.1.2 ");
    // Expired: passes.
    const auto later = make().check(*store, {.recipient = "anyone@gone.example", .sasl_username = "a"}, now + 7200);
    EXPECT_EQ(later.verdict, EnforceVerdict::Pass);
}

TEST_F(EnforcerFixture, InboundMailIsNotChecked) {
    const auto e = make();
    const auto r = e.check(*store, {.recipient = "dead@example.com", .client_address = "192.0.2.7"}, now);
    EXPECT_EQ(r.verdict, EnforceVerdict::Pass);
    EXPECT_FALSE(r.outbound);
}

TEST_F(EnforcerFixture, OutboundByContextDaemonNameOrScope) {
    config.enforce.networks = {};
    config.enforce.sasl_authenticated = false;
    config.enforce.policy_contexts = {"submission"};
    config.enforce.daemon_names = {"ORIGINATING"};
    const auto e = make();
    EXPECT_FALSE(e.is_outbound({.client_address = "127.0.0.1", .sasl_username = "bob"}));
    EXPECT_TRUE(e.is_outbound({.policy_context = "submission"}));
    EXPECT_TRUE(e.is_outbound({.policy_context = "Submission"}));  // lists are lower-cased on load
    EXPECT_FALSE(e.is_outbound({.policy_context = "submissions"}));
    EXPECT_TRUE(e.is_outbound({.daemon_name = "ORIGINATING"}));
    config.enforce.scope = "all";
    EXPECT_TRUE(make().is_outbound({.client_address = "198.51.100.1"}));
}

TEST_F(EnforcerFixture, ObserveModeAndWarnOnlyLog) {
    config.policy.observe = true;
    auto r = make().check(*store, {.recipient = "dead@example.com", .client_address = "::1"}, now);
    EXPECT_EQ(r.verdict, EnforceVerdict::Warn);
    config.policy.observe = false;
    config.enforce.action = "warn";
    r = make().check(*store, {.recipient = "dead@example.com", .client_address = "::1"}, now);
    EXPECT_EQ(r.verdict, EnforceVerdict::Warn);
    config.enforce.action = "defer";
    r = make().check(*store, {.recipient = "dead@example.com", .client_address = "::1"}, now);
    EXPECT_EQ(r.verdict, EnforceVerdict::Defer);
    EXPECT_EQ(r.reply.substr(0, 10), "450 4.1.1 ");
}

TEST_F(EnforcerFixture, MalformedRecipientPasses) {
    const auto r = make().check(*store, {.recipient = "no-at-sign", .client_address = "127.0.0.1"}, now);
    EXPECT_EQ(r.verdict, EnforceVerdict::Pass);
    EXPECT_FALSE(r.error.empty());
}

TEST_F(EnforcerFixture, StoreErrorFollowsTheFailureModeNeverA5xx) {
    // A store whose file was replaced by junk under it.
    const std::string path = dir.path() + "/broken.db";
    {
        auto s = open_store("sqlite:" + path);
        ASSERT_TRUE(s);
        auto broken = std::move(*s);
        ASSERT_EQ(testing_support::run("dd if=/dev/urandom of=" + path + " bs=4096 count=8 conv=notrunc 2>/dev/null"),
                  0);
        auto r = make().check(*broken, {.recipient = "x@example.com", .client_address = "127.0.0.1"}, now);
        if (r.lookup == LookupStatus::TempError) {
            EXPECT_EQ(r.verdict, EnforceVerdict::Pass);
            config.enforce.on_store_error = "tempfail";
            r = make().check(*broken, {.recipient = "x@example.com", .client_address = "127.0.0.1"}, now);
            EXPECT_EQ(r.verdict, EnforceVerdict::Tempfail);
            EXPECT_EQ(r.reply.substr(0, 10), "451 4.3.0 ");
        } else {
            // The open connection may still read cached pages; it must then answer like a good store.
            EXPECT_NE(r.verdict, EnforceVerdict::Reject);
        }
    }
}

TEST_F(EnforcerFixture, UnavailableStoreIsAStoreErrorNeverA5xx) {
    const RcptRequest out{.recipient = "dead@example.com", .client_address = "127.0.0.1"};
    auto r = make().unavailable(out, "store down");
    EXPECT_EQ(r.verdict, EnforceVerdict::Pass);
    EXPECT_EQ(r.lookup, LookupStatus::TempError);
    EXPECT_EQ(r.error, "store down");
    // Not outbound, or not an address: no lookup would have been made.
    r = make().unavailable({.recipient = "dead@example.com", .client_address = "192.0.2.1"}, "store down");
    EXPECT_FALSE(r.outbound);
    EXPECT_EQ(r.lookup, LookupStatus::NotFound);
    r = make().unavailable({.recipient = "no-at-sign", .client_address = "127.0.0.1"}, "store down");
    EXPECT_EQ(r.lookup, LookupStatus::NotFound);
    config.enforce.on_store_error = "tempfail";
    r = make().unavailable(out, "store down");
    EXPECT_EQ(r.verdict, EnforceVerdict::Tempfail);
    EXPECT_EQ(r.reply.substr(0, 10), "451 4.3.0 ");
}

TEST(EnforcerTemplates, Validation) {
    EXPECT_TRUE(parse_reply_template("550 5.1.1 gone", 5));
    auto t = parse_reply_template("550 suppressed: {category}", 5);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->code, 550);
    EXPECT_EQ(t->status, "");
    EXPECT_FALSE(parse_reply_template("450 4.1.1 x", 5));   // reject must be 5xx
    EXPECT_FALSE(parse_reply_template("550 5.1.1 x", 4));   // tempfail must be 4xx, never 5xx
    EXPECT_FALSE(parse_reply_template("451 5.1.1 x", 4));   // enhanced class must match
    EXPECT_FALSE(parse_reply_template("55 x", 5));
    EXPECT_FALSE(parse_reply_template("550", 5));
    EXPECT_FALSE(parse_reply_template("550 x\r\n250 ok", 5));
    auto c = default_config();
    c.enforce.tempfail_reply = "554 5.3.0 oops";
    EXPECT_FALSE(Enforcer::create(c));
    auto loaded = parse_config("[enforce]\ntempfail_reply = \"550 nope\"\n", "t.toml");
    ASSERT_FALSE(loaded);
    EXPECT_NE(loaded.error().message.find("enforce.tempfail_reply"), std::string::npos);
}

TEST(EnforcerTemplates, SubstitutionCannotInjectLines) {
    auto c = default_config();
    c.enforce.reject_reply = "550 5.1.1 {recipient} {reason} {unknown}";
    auto e = Enforcer::create(c);
    ASSERT_TRUE(e);
    auto t = parse_reply_template(c.enforce.reject_reply, 5);
    Suppression s{.key = "a@b", .category = Category::UserUnknown, .reason = "x\r\n250 2.0.0 ok"};
    const auto reply = e->format_reply(*t, "a@b", s);
    EXPECT_EQ(reply.find('\r'), std::string::npos);
    EXPECT_EQ(reply.find('\n'), std::string::npos);
    EXPECT_NE(reply.find("{unknown}"), std::string::npos);
}

TEST(EnforcerNetworks, Cidr) {
    auto n = parse_network("192.0.2.0/24");
    ASSERT_TRUE(n);
    EXPECT_TRUE(network_contains(*n, "192.0.2.200"));
    EXPECT_FALSE(network_contains(*n, "192.0.3.1"));
    EXPECT_TRUE(network_contains(*n, "::ffff:192.0.2.1"));
    EXPECT_FALSE(network_contains(*n, "garbage"));
    EXPECT_FALSE(network_contains(*n, ""));
    auto odd = parse_network("10.0.0.0/9");
    ASSERT_TRUE(odd);
    EXPECT_TRUE(network_contains(*odd, "10.127.255.255"));
    EXPECT_FALSE(network_contains(*odd, "10.128.0.0"));
    auto v6 = parse_network("2001:db8::/32");
    ASSERT_TRUE(v6);
    EXPECT_TRUE(network_contains(*v6, "2001:db8:1::5"));
    EXPECT_FALSE(network_contains(*v6, "2001:db9::5"));
    EXPECT_FALSE(network_contains(*v6, "192.0.2.1"));
    EXPECT_FALSE(parse_network("10.0.0.0/33"));
    EXPECT_FALSE(parse_network("10.0.0/8"));
    EXPECT_FALSE(parse_network("example.com"));
    EXPECT_FALSE(parse_network("10.0.0.0/"));
}

}  // namespace
}  // namespace bg
