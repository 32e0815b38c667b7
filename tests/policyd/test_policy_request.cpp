// test_policy_request.cpp - the policy daemon without sockets: the request parser (any split of
// the bytes, pipelining, the caps on lines and attributes, junk) and the handler (which request
// gets which action), on requests captured from Postfix 3.7 (tests/policyd/fixtures).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include "config/config.hpp"
#include "handler.hpp"
#include "listener.hpp"
#include "policy_request.hpp"
#include "session.hpp"

namespace bg::policyd {
namespace {

std::string fixture(const std::string& name) {
    std::ifstream in(std::string(BG_SOURCE_DIR) + "/tests/policyd/fixtures/" + name);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Feeds `bytes` in pieces of `step` and returns the requests completed, in order.
std::vector<PolicyRequest> parse_all(std::string_view bytes, std::size_t step, ParserLimits limits = {}) {
    RequestParser p(limits);
    std::vector<PolicyRequest> out;
    for (std::size_t i = 0; i < bytes.size(); i += step) {
        std::string_view piece = bytes.substr(i, step);
        while (!piece.empty()) {
            piece.remove_prefix(p.feed(piece));
            if (!p.complete()) break;
            out.push_back(p.request());
            p.next();
        }
    }
    return out;
}

TEST(PolicyRequest, CapturedPostfixRequestAnySplit) {
    const std::string req = fixture("postfix-3.7-rcpt-submission.txt");
    ASSERT_FALSE(req.empty());
    for (std::size_t step : {std::size_t{1}, std::size_t{2}, std::size_t{7}, std::size_t{64}, req.size()}) {
        const auto all = parse_all(req, step);
        ASSERT_EQ(all.size(), 1U) << "step " << step;
        const auto& r = all[0];
        EXPECT_EQ(r.request, "smtpd_access_policy");
        EXPECT_EQ(r.protocol_state, "RCPT");
        EXPECT_EQ(r.recipient, "full@example.test");
        EXPECT_EQ(r.sender, "bob@sender.test");
        EXPECT_EQ(r.client_address, "127.0.0.1");
        EXPECT_EQ(r.client_name, "localhost");
        EXPECT_EQ(r.sasl_username, "alice@e2e.test");
        EXPECT_EQ(r.policy_context, "");
        EXPECT_EQ(r.instance, "3107.6b070081.7acc3.0");
        EXPECT_EQ(r.attributes, 29U);
        EXPECT_FALSE(r.has_dropped());
    }
}

TEST(PolicyRequest, PipelinedRequestsInOneRead) {
    const std::string one = fixture("postfix-3.7-rcpt-smtpd.txt");
    std::string many;
    for (int i = 0; i < 5; ++i) many += one;
    many += "request=smtpd_access_policy\nprotocol_state=DATA\n\n";
    const auto all = parse_all(many, many.size());
    ASSERT_EQ(all.size(), 6U);
    EXPECT_EQ(all[0].queue_id, "61CDCA72B08");
    EXPECT_EQ(all[4].recipient, "unknown@example.test");
    EXPECT_EQ(all[5].protocol_state, "DATA");
    EXPECT_EQ(all[5].recipient, "");  // nothing of the earlier request is left over
}

TEST(PolicyRequest, CrlfAndRepeatedNamesAndUnknownNames) {
    const auto all = parse_all("request=smtpd_access_policy\r\nrecipient=a@x\r\nrecipient=b@x\r\nfuture_attr=1\r\n"
                               "x==y\r\n\r\n",
                               3);
    ASSERT_EQ(all.size(), 1U);
    EXPECT_EQ(all[0].recipient, "b@x");  // the last one counts
    EXPECT_EQ(all[0].attributes, 5U);
    EXPECT_FALSE(all[0].has_dropped());
}

TEST(PolicyRequest, OverlongLineIsDroppedWithoutBufferingIt) {
    const ParserLimits limits{.max_line_bytes = 256, .max_attributes = 100};
    const std::string big = "ccert_subject=" + std::string(1 << 20, 'x') + "\n";
    const std::string req = "request=smtpd_access_policy\n" + big + "recipient=a@x\n\n";
    for (std::size_t step : {std::size_t{100}, std::size_t{4096}, req.size()}) {
        const auto all = parse_all(req, step, limits);
        ASSERT_EQ(all.size(), 1U) << step;
        EXPECT_EQ(all[0].recipient, "a@x");
        EXPECT_EQ(all[0].dropped_long, 1U);
        EXPECT_EQ(all[0].attributes, 2U);
    }
    // A line exactly at the cap is kept; one byte more is not.
    const std::string at_cap = "recipient=" + std::string(256 - 10, 'y') + "\n\n";
    EXPECT_EQ(parse_all(at_cap, 5, limits).at(0).dropped_long, 0U);
    const std::string over = "recipient=" + std::string(257 - 10, 'y') + "\n\n";
    EXPECT_EQ(parse_all(over, 5, limits).at(0).dropped_long, 1U);
    EXPECT_EQ(parse_all(over, over.size(), limits).at(0).recipient, "");
}

TEST(PolicyRequest, AttributeCapAndJunk) {
    const ParserLimits limits{.max_line_bytes = 256, .max_attributes = 10};
    std::string req = "request=smtpd_access_policy\n";
    for (int i = 0; i < 20; ++i) req += "a" + std::to_string(i) + "=v\n";
    req += "recipient=late@x\nno equals sign\n=empty name\n\x01\x02\x7f\n\n";
    const auto all = parse_all(req, 13, limits);
    ASSERT_EQ(all.size(), 1U);
    EXPECT_EQ(all[0].attributes, 10U);
    EXPECT_EQ(all[0].dropped_excess, 12U);  // a10..a19 and recipient
    EXPECT_EQ(all[0].recipient, "");  // past the cap
    EXPECT_EQ(all[0].dropped_junk, 3U);
}

TEST(PolicyRequest, InRequestTracksAStartedRequest) {
    RequestParser p;
    EXPECT_FALSE(p.in_request());
    EXPECT_EQ(p.feed("request=smtpd"), 13U);
    EXPECT_TRUE(p.in_request());
    EXPECT_EQ(p.feed("_access_policy\n\nrest"), 16U);
    EXPECT_TRUE(p.complete());
    EXPECT_FALSE(p.in_request());
    p.next();
    EXPECT_FALSE(p.in_request());
}

// The handler, against a real SQLite store in a temporary directory.
struct HandlerTest : ::testing::Test {
    std::string dir;
    std::unique_ptr<SuppressionStore> store;
    Config config = default_config();
    static constexpr UnixTime now = 1'790'000'000;

    void SetUp() override {
        dir = (std::filesystem::temp_directory_path() / ("bg-policyd-unit-" + std::to_string(::getpid()))).string();
        std::filesystem::create_directories(dir);
        auto s = open_store("sqlite:" + dir + "/store.db");
        ASSERT_TRUE(s) << s.error().message;
        store = std::move(*s);
        ASSERT_TRUE(store->put({.key = "unknown@example.test", .category = Category::UserUnknown,
                                .first_seen = now - 86400, .last_seen = now - 86400, .count = 1}));
    }
    void TearDown() override {
        store.reset();
        std::filesystem::remove_all(dir);
    }
    PolicyRequest request(std::string fixture_name, std::string recipient = "unknown@example.test") {
        const auto all = parse_all(fixture(fixture_name), 4096);
        EXPECT_EQ(all.size(), 1U);
        PolicyRequest r = all.at(0);
        r.recipient = std::move(recipient);
        return r;
    }
    Decision run(const PolicyRequest& r, bool have_store = true,
                 spdlog::level::level_enum log_level = spdlog::level::info) {
        auto e = Enforcer::create(config);
        EXPECT_TRUE(e) << (e ? "" : e.error().message);
        return decide(r, *e, have_store ? store.get() : nullptr, "store down", now, log_level);
    }
};

TEST_F(HandlerTest, SuppressedOutboundRecipientIsRefused) {
    const auto d = run(request("postfix-3.7-rcpt-smtpd.txt"));
    EXPECT_EQ(d.verdict, EnforceVerdict::Reject);
    EXPECT_EQ(d.action.substr(0, 10), "550 5.1.1 ") << d.action;
    EXPECT_NE(d.action.find("unknown@example.test"), std::string::npos) << d.action;
    EXPECT_EQ(d.level, spdlog::level::info);
    EXPECT_NE(d.log.find("from=<alice@sender.test>"), std::string::npos) << d.log;
    EXPECT_NE(d.log.find("category=user_unknown"), std::string::npos) << d.log;
    // The same over the submission port (SASL) and for a recipient that is not suppressed.
    EXPECT_EQ(run(request("postfix-3.7-rcpt-submission.txt")).verdict, EnforceVerdict::Reject);
    const auto ok = run(request("postfix-3.7-rcpt-submission.txt", "ok@example.test"));
    EXPECT_EQ(ok.action, "DUNNO");
    EXPECT_EQ(ok.level, spdlog::level::off);
}

TEST_F(HandlerTest, LogLineOnlyMadeAtTheLoggersLevel) {
    const auto r = request("postfix-3.7-rcpt-smtpd.txt");
    // A logger at warn does not log refusals (info): same answer, no line formatted.
    auto d = run(r, true, spdlog::level::warn);
    EXPECT_EQ(d.verdict, EnforceVerdict::Reject);
    EXPECT_EQ(d.action.substr(0, 10), "550 5.1.1 ") << d.action;
    EXPECT_EQ(d.level, spdlog::level::info);
    EXPECT_TRUE(d.log.empty()) << d.log;
    // A store error (warn) is still described at warn; at debug a passed recipient is too.
    d = run(r, false, spdlog::level::warn);
    EXPECT_EQ(d.level, spdlog::level::warn);
    EXPECT_NE(d.log.find("to=<unknown@example.test>"), std::string::npos) << d.log;
    d = run(request("postfix-3.7-rcpt-smtpd.txt", "ok@example.test"), true, spdlog::level::debug);
    EXPECT_EQ(d.action, "DUNNO");
    EXPECT_EQ(d.level, spdlog::level::debug);
    EXPECT_NE(d.log.find("passed"), std::string::npos) << d.log;
}

TEST_F(HandlerTest, OtherStatesRequestsAndMissingRecipientAreDunno) {
    auto r = request("postfix-3.7-rcpt-smtpd.txt");
    for (const char* state : {"CONNECT", "EHLO", "MAIL", "DATA", "END-OF-MESSAGE", "VRFY", ""}) {
        r.protocol_state = state;
        EXPECT_EQ(run(r).action, "DUNNO") << state;
    }
    r = request("postfix-3.7-rcpt-smtpd.txt");
    r.request = "junk";
    EXPECT_EQ(run(r).action, "DUNNO");
    r = request("postfix-3.7-rcpt-smtpd.txt", "");
    EXPECT_EQ(run(r).action, "DUNNO");
}

TEST_F(HandlerTest, InboundMailIsNotChecked) {
    auto r = request("postfix-3.7-rcpt-smtpd.txt");
    r.client_address = "192.0.2.1";
    EXPECT_EQ(run(r).action, "DUNNO");
    config.enforce.scope = "all";
    EXPECT_EQ(run(r).verdict, EnforceVerdict::Reject);
}

TEST_F(HandlerTest, ObserveDeferAndFailureModes) {
    const auto r = request("postfix-3.7-rcpt-smtpd.txt");
    config.policy.observe = true;
    auto d = run(r);
    EXPECT_EQ(d.verdict, EnforceVerdict::Warn);
    EXPECT_EQ(d.action.substr(0, 5), "WARN ") << d.action;
    EXPECT_NE(d.log.find("would refuse"), std::string::npos) << d.log;
    config.policy.observe = false;
    config.enforce.action = "defer";
    d = run(r);
    EXPECT_EQ(d.action.substr(0, 4), "450 ") << d.action;
    // No store: fail open by default, the 4xx tempfail reply when asked; never a 5xx.
    d = run(r, false);
    EXPECT_EQ(d.action, "DUNNO");
    EXPECT_TRUE(d.store_error);
    EXPECT_EQ(d.level, spdlog::level::warn);
    config.enforce.on_store_error = "tempfail";
    d = run(r, false);
    EXPECT_EQ(d.action.substr(0, 4), "451 ") << d.action;
}

TEST_F(HandlerTest, ValuesCannotInjectAnswerLines) {
    config.enforce.reject_reply = "550 5.1.1 {recipient} gone";
    ASSERT_TRUE(store->put({.key = "@evil.example", .category = Category::DomainUnknown, .first_seen = now,
                            .last_seen = now, .count = 1}));
    // A recipient with bytes that would end the action line; the parser never produces CR/LF,
    // but the answer must stay one line whatever the request holds.
    const auto d = run(request("postfix-3.7-rcpt-smtpd.txt", "x\r\naction=DUNNO\n\n@evil.example"));
    EXPECT_EQ(d.action.find_first_of("\r\n"), std::string::npos) << d.action;
}

TEST(Session, AnswersPipelinedRequestsInOrderAndLogsOnce) {
    Config config = default_config();
    config.enforce.scope = "all";
    auto snap = Snapshot::make(config);
    ASSERT_TRUE(snap);
    SessionContext ctx;
    ctx.snapshot = *snap;
    ctx.store = nullptr;  // store down: fail open
    ctx.store_error = "down";
    Session s((*snap)->limits);
    std::string out;
    const std::string req = "request=smtpd_access_policy\nprotocol_state=RCPT\nrecipient=a@example.com\n\n";
    s.on_input(req + req + "request=smtpd_access_policy\nprotocol_state=RC", ctx, out, "test");
    EXPECT_EQ(out, "action=DUNNO\n\naction=DUNNO\n\n");
    EXPECT_TRUE(s.in_request());
    s.on_input("PT\nrecipient=b@example.com\n\n", ctx, out, "test");
    EXPECT_EQ(out, "action=DUNNO\n\naction=DUNNO\n\naction=DUNNO\n\n");
    EXPECT_EQ(ctx.counters.requests, 3U);
    EXPECT_EQ(ctx.counters.store_errors, 3U);
}

TEST(LogLimiter, OneLinePerIntervalWithTheCount) {
    LogLimiter l(std::chrono::seconds(10));
    const auto t0 = LogLimiter::Clock::now();
    std::uint64_t held = 99;
    EXPECT_TRUE(l.allow(t0, held));
    EXPECT_EQ(held, 0U);
    EXPECT_FALSE(l.allow(t0 + std::chrono::seconds(1), held));
    EXPECT_FALSE(l.allow(t0 + std::chrono::seconds(9), held));
    EXPECT_TRUE(l.allow(t0 + std::chrono::seconds(10), held));
    EXPECT_EQ(held, 2U);
}

TEST(ListenAddress, PostfixNotation) {
    auto a = parse_listen_address("inet:127.0.0.1:10045");
    ASSERT_TRUE(a);
    EXPECT_FALSE(a->unix_socket);
    EXPECT_EQ(a->host, "127.0.0.1");
    EXPECT_EQ(a->port, "10045");
    a = parse_listen_address("inet:[::1]:0");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->host, "::1");
    a = parse_listen_address("unix:/run/bounceguard/policyd.sock");
    ASSERT_TRUE(a);
    EXPECT_TRUE(a->unix_socket);
    for (const char* bad : {"tcp:1.2.3.4:5", "inet:127.0.0.1", "inet::25", "inet:127.0.0.1:99999", "inet:::1:25",
                            "unix:relative/path", "unix:", "inet:127.0.0.1:2x"})
        EXPECT_FALSE(parse_listen_address(bad)) << bad;
    EXPECT_FALSE(parse_listen_address("unix:/" + std::string(200, 'a')));
}

}  // namespace
}  // namespace bg::policyd
