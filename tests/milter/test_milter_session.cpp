// test_milter_session.cpp - bounceguard-milter's logic without libmilter: the outbound token
// (sign, verify, tamper, expire, fold), the socket notation, and Session through whole
// transactions against a real SQLite store: refusal, observe, non-SMTP removal, bounces learned
// and forged ones ignored, store down, and hostile bounces (50 MB, deep nesting, many recipients).
#include <gtest/gtest.h>

#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "session.hpp"
#include "token.hpp"

namespace bg::milter {
namespace {

constexpr UnixTime t0 = 1'780'000'000;
constexpr std::int64_t day = 86400;
const std::string key = "k3y-for-the-tests-only-0123456789";

TEST(MilterToken, RoundTripAndTampering) {
    const std::vector<std::string> rcpts{"b@example.com", "a@example.com", "a@example.com"};
    const std::string tok = make_token(key, t0, "<id1@host>", rcpts, 100);
    EXPECT_TRUE(tok.starts_with("v1 t=1780000000 m=")) << tok;
    // both recipients (the duplicate tagged once): two 8-digit tags
    EXPECT_EQ(tok.size(), std::string("v1 t=1780000000 m=0123456789abcdef r=01234567,01234567").size());
    EXPECT_EQ(check_token(key, tok, "id1@host", "a@example.com", t0 + 60, 30 * day), TokenCheck::Valid);
    EXPECT_EQ(check_token(key, tok, "<id1@host>", "b@example.com", t0 + 60, 30 * day), TokenCheck::Valid);
    EXPECT_EQ(check_token(key, tok, "id1@host", "c@example.com", t0, 30 * day), TokenCheck::NotRecipient);
    EXPECT_EQ(check_token(key, tok, "id2@host", "a@example.com", t0, 30 * day), TokenCheck::BadSignature);
    EXPECT_EQ(check_token("another-key-0123456789", tok, "id1@host", "a@example.com", t0, 30 * day),
              TokenCheck::BadSignature);
    EXPECT_EQ(check_token(key, tok, "id1@host", "a@example.com", t0 + 31 * day, 30 * day), TokenCheck::Expired);
    EXPECT_EQ(check_token(key, tok, "id1@host", "a@example.com", t0 - 2 * 3600, 30 * day), TokenCheck::Expired);
    EXPECT_EQ(check_token(key, "", "id1@host", "a@example.com", t0, 30 * day), TokenCheck::Missing);
    // a changed time, a dropped tag, or junk: never valid
    std::string later = tok;
    later.replace(later.find("t=17") + 2, 2, "18");
    EXPECT_NE(check_token(key, later, "id1@host", "a@example.com", t0, 30 * day), TokenCheck::Valid);
    const std::string one_tag = tok.substr(0, tok.rfind(','));
    EXPECT_EQ(check_token(key, one_tag, "id1@host", "a@example.com", t0, 30 * day), TokenCheck::BadSignature);
    for (const char* junk : {"v1", "v1 t=x m=y r=z", "v2 t=1 m=0123456789abcdef r=*", "hello world",
                             "v1 t=1780000000 m=0123456789abcdef r=0123456g"})
        EXPECT_EQ(check_token(key, junk, "id1@host", "a@example.com", t0, 30 * day), TokenCheck::Malformed) << junk;
    EXPECT_EQ(check_token(key, std::string(100000, 'x'), "i", "a@example.com", t0, 30 * day), TokenCheck::Malformed);
}

TEST(MilterToken, ManyRecipientsFoldOrProveTheMessageOnly) {
    std::vector<std::string> rcpts;
    for (int i = 0; i < 40; ++i) rcpts.push_back("u" + std::to_string(i) + "@example.com");
    const std::string tok = make_token(key, t0, "id@h", rcpts, 100);
    EXPECT_NE(tok.find(",\n\t"), std::string::npos);  // folded
    for (const auto& line : {tok.substr(0, tok.find('\n'))}) EXPECT_LT(line.size(), 998u);
    // as it comes back: unfolded with other white space
    std::string unfolded = tok;
    for (auto p = unfolded.find("\n\t"); p != std::string::npos; p = unfolded.find("\n\t")) unfolded.replace(p, 2, " ");
    EXPECT_EQ(check_token(key, unfolded, "id@h", "u39@example.com", t0, day), TokenCheck::Valid);
    EXPECT_EQ(check_token(key, tok, "id@h", "u0@example.com", t0, day), TokenCheck::Valid);
    const std::string big = make_token(key, t0, "id@h", rcpts, 10);
    EXPECT_TRUE(big.ends_with(" r=*"));
    EXPECT_EQ(check_token(key, big, "id@h", "anyone@example.com", t0, day), TokenCheck::MessageOnly);
    EXPECT_TRUE(is_verified(TokenCheck::MessageOnly));
}

TEST(MilterSocket, PostfixNotationToLibmilter) {
    EXPECT_EQ(*to_libmilter_socket("inet:127.0.0.1:9901"), "inet:9901@127.0.0.1");
    EXPECT_EQ(*to_libmilter_socket("inet:[::1]:9901"), "inet6:9901@::1");
    EXPECT_EQ(*to_libmilter_socket("unix:/run/bounceguard/milter.sock"), "unix:/run/bounceguard/milter.sock");
    for (const char* bad : {"", "inet:9901", "inet:host:", "inet:host:x1", "tcp:1", "unix:"})
        EXPECT_FALSE(to_libmilter_socket(bad)) << bad;
}

struct SessionFixture : ::testing::Test {
    std::filesystem::path dir;
    std::ostringstream logged;
    std::shared_ptr<Config> config = std::make_shared<Config>(default_config());
    static UnixTime fixed_now() { return t0; }

    void SetUp() override {
        dir = std::filesystem::temp_directory_path() /
              ("bg-milter-unit-" + std::to_string(::getpid()) + "-" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(dir);
        std::filesystem::create_directories(dir);
        std::ofstream(dir / "key") << key << "\n";
        config->store.uri = "sqlite:" + (dir / "bg.db").string();
        config->milter.token_key_file = (dir / "key").string();
        config->milter.learned_header = true;
        auto store = open_store(config->store.uri);
        ASSERT_TRUE(store);
        ASSERT_TRUE((*store)->put(Suppression{.key = "dead@example.com", .category = Category::UserUnknown,
                                              .first_seen = t0 - day, .last_seen = t0 - day, .count = 1}));
    }
    void TearDown() override { std::filesystem::remove_all(dir); }

    std::shared_ptr<const Snapshot> snapshot() {
        auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(logged);
        auto log = std::make_shared<spdlog::logger>("test", sink);
        auto s = Snapshot::make(config, nullptr, log, nullptr);
        EXPECT_TRUE(s) << (s ? "" : s.error().message);
        auto copy = std::make_shared<Snapshot>(**s);
        copy->clock = fixed_now;
        return copy;
    }
    std::unique_ptr<Session> session(std::string daemon, std::string address = "127.0.0.1") {
        auto s = std::make_unique<Session>(snapshot());
        s->connect({.hostname = "client", .address = address, .port = 25, .daemon_name = daemon,
                    .myhostname = "mta.example.net"});
        return s;
    }
    std::optional<Suppression> stored(const std::string& address) {
        auto store = open_store(config->store.uri);
        auto g = (*store)->get(address);
        return g ? *g : std::nullopt;
    }
    static void feed(Session& s, const std::string& message) {
        const auto split = message.find("\n\n");
        std::istringstream hdrs(message.substr(0, split));
        std::string line, name, value;
        const auto flush = [&] {
            if (!name.empty()) s.header(name, value);
        };
        while (std::getline(hdrs, line)) {
            if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) {
                value += "\n" + line;
                continue;
            }
            flush();
            const auto colon = line.find(':');
            name = line.substr(0, colon);
            value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
        }
        flush();
        s.body(message.substr(split + 2));
    }
    static std::string read(const std::string& name) {
        std::ifstream in(std::string(BG_SOURCE_DIR) + "/tests/e2e/milter/fixtures/" + name, std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        std::string s = ss.str();
        std::erase(s, '\r');
        return s;
    }
};

TEST_F(SessionFixture, OutboundSuppressedRecipientIsRefusedAndTheMessageSigned) {
    auto s = session("ORIGINATING");
    EXPECT_EQ(s->mail_from("<alice@example.net>", "", "Q1").step, Step::Continue);
    EXPECT_EQ(s->rcpt("<ok@example.com>").step, Step::Continue);
    const Reply r = s->rcpt("<Dead@Example.com>");
    EXPECT_EQ(r.step, Step::Reject);
    EXPECT_EQ(r.code, "550");
    EXPECT_EQ(r.xcode, "5.1.1");
    s->header("Subject", "hi");
    EXPECT_EQ(s->body("hello\r\n").step, Step::Skip);  // the body of outbound mail is not needed
    const EomResult e = s->eom();
    EXPECT_EQ(e.reply.step, Step::Continue);
    ASSERT_EQ(e.insert_headers.size(), 2u);  // no Message-ID came: one is made, then the token
    EXPECT_EQ(e.insert_headers[0].first, "Message-ID");
    EXPECT_EQ(e.insert_headers[1].first, "X-Bounceguard-Token");
    EXPECT_EQ(check_token(key, e.insert_headers[1].second, e.insert_headers[0].second, "ok@example.com", t0, day),
              TokenCheck::Valid);
    // the refused recipient got no tag
    EXPECT_EQ(check_token(key, e.insert_headers[1].second, e.insert_headers[0].second, "dead@example.com", t0, day),
              TokenCheck::NotRecipient);
    EXPECT_NE(logged.str().find("rcpt refused to=<Dead@Example.com>"), std::string::npos) << logged.str();
}

TEST_F(SessionFixture, InboundMailIsAcceptedAtMailAndBounceRecipientsAreNeverRefused) {
    auto in = session("mta.example.net", "192.0.2.1");
    EXPECT_EQ(in->mail_from("<x@remote.example>", "", "Q").step, Step::Accept);
    auto b = session("BOUNCE");
    b->mail_from("<>", "", "Q");
    EXPECT_EQ(b->rcpt("dead@example.com").step, Step::Continue);
}

TEST_F(SessionFixture, ObserveModeOnlyLogs) {
    config->policy.observe = true;
    auto s = session("ORIGINATING");
    s->mail_from("<alice@example.net>", "", "Q");
    EXPECT_EQ(s->rcpt("<dead@example.com>").step, Step::Continue);
    EXPECT_NE(logged.str().find("would refuse"), std::string::npos);
}

TEST_F(SessionFixture, NonSmtpMailLosesTheSuppressedRecipientAtEndOfMessage) {
    auto s = session("LOCAL");
    s->mail_from("alice@example.net", "", "Q");
    EXPECT_EQ(s->rcpt("ok@example.com").step, Step::Continue);
    EXPECT_EQ(s->rcpt("dead@example.com").step, Step::Continue);  // never a refusal at RCPT
    s->header("Message-ID", "<m1@example.net>");
    EomResult e = s->eom();
    EXPECT_EQ(e.reply.step, Step::Continue);
    EXPECT_EQ(e.delete_rcpts, std::vector<std::string>{"dead@example.com"});
    // nobody left: the message is refused as a whole
    s->mail_from("alice@example.net", "", "Q2");
    s->rcpt("dead@example.com");
    e = s->eom();
    EXPECT_EQ(e.reply.step, Step::Reject);
    EXPECT_EQ(e.reply.code, "550");
    EXPECT_TRUE(e.delete_rcpts.empty());
}

TEST_F(SessionFixture, OwnBounceIsLearnedRemoteOneOnlyWithItsToken) {
    const std::string dsn = read("postfix-bounce-550.eml");
    auto b = session("BOUNCE");
    b->mail_from("<>", "", "Q");
    b->rcpt("alice@sender.test");
    feed(*b, dsn);
    const EomResult e = b->eom();
    EXPECT_EQ(e.reply.step, Step::Continue);
    ASSERT_EQ(e.add_headers.size(), 1u);
    EXPECT_EQ(e.add_headers[0].second, "unknown@example.test user_unknown suppress");
    ASSERT_TRUE(stored("unknown@example.test"));
    // a remote copy naming another address, no token: not applied
    std::string forged = dsn;
    for (auto p = forged.find("unknown@example.test"); p != std::string::npos; p = forged.find("unknown@example.test"))
        forged.replace(p, 20, "victim@example.test");
    auto r = session("mx.example.net", "192.0.2.9");
    r->mail_from("<>", "", "Q");
    r->rcpt("alice@sender.test");
    feed(*r, forged);
    EXPECT_EQ(r->eom().reply.step, Step::Continue);
    EXPECT_FALSE(stored("victim@example.test"));
    EXPECT_NE(logged.str().find("unverified-bounce rcpt=<victim@example.test>"), std::string::npos);
    // the same with a valid token for victim@ and that Message-ID: applied
    const std::string tok = make_token(key, t0 - 60, "<20261125153632.012527@vm>", {"victim@example.test"}, 100);
    forged.replace(forged.find("X-E2E-Milter: seen"), 18, "X-Bounceguard-Token: " + tok);
    r->mail_from("<>", "", "Q");
    r->rcpt("alice@sender.test");
    feed(*r, forged);
    r->eom();
    EXPECT_TRUE(stored("victim@example.test")) << logged.str();
}

TEST_F(SessionFixture, StoreDownFollowsTheFailureModeNeverA5xx) {
    config->store.uri = "sqlite:" + (dir / "no" / "such" / "bg.db").string();
    auto s = session("ORIGINATING");
    s->mail_from("<a@example.net>", "", "Q");
    EXPECT_EQ(s->rcpt("<dead@example.com>").step, Step::Continue);  // default: continue
    config->enforce.on_store_error = "tempfail";
    s = session("ORIGINATING");
    s->mail_from("<a@example.net>", "", "Q");
    const Reply r = s->rcpt("<dead@example.com>");
    EXPECT_EQ(r.step, Step::Tempfail);
    EXPECT_EQ(r.code.front(), '4');
    // a bounce that cannot be recorded is tempfailed, so the MTA keeps it
    auto b = session("BOUNCE");
    b->mail_from("<>", "", "Q");
    feed(*b, read("postfix-bounce-550.eml"));
    EXPECT_EQ(b->eom().reply.step, Step::Tempfail);
    config->milter.on_internal_error = "tempfail";
    EXPECT_EQ(session("X")->internal_error("test", "boom").code, "451");
}

TEST_F(SessionFixture, HostileBouncesStayBounded) {
    config->milter.max_bounce_bytes = 1 << 20;
    // 50 MB in 64 KiB chunks: read up to the limit, then SKIP; nothing more is kept
    auto b = session("BOUNCE");
    b->mail_from("<>", "", "Q");
    b->header("From", "MAILER-DAEMON@mx.example.org");
    b->header("Content-Type", "multipart/report; report-type=delivery-status; boundary=\"B\"");
    const std::string chunk(64 * 1024, 'x');
    int chunks = 0;
    Step last = Step::Continue;
    for (std::size_t sent = 0; sent < 50u * 1024 * 1024 && last != Step::Skip; sent += chunk.size(), ++chunks)
        last = b->body(chunk).step;
    EXPECT_EQ(last, Step::Skip);
    EXPECT_LE(chunks, 17);
    EXPECT_EQ(b->eom().reply.step, Step::Continue);
    EXPECT_NE(logged.str().find("bounce partly read"), std::string::npos) << logged.str();
    // 10000 nested multiparts
    std::string nest = "From: MAILER-DAEMON@mx.example.org\nContent-Type: multipart/mixed; boundary=\"b0\"\n\n";
    for (int i = 0; i < 10000; ++i)
        nest += "--b" + std::to_string(i) + "\nContent-Type: multipart/mixed; boundary=\"b" + std::to_string(i + 1) +
                "\"\n\n";
    b->mail_from("<>", "", "Q");
    feed(*b, nest);
    EXPECT_EQ(b->eom().reply.step, Step::Continue);
    // junk
    b->mail_from("<>", "", "Q");
    feed(*b, std::string("\x01\x02: \xff\n\n") + std::string(100000, '\0'));
    EXPECT_EQ(b->eom().reply.step, Step::Continue);
    EXPECT_NE(logged.str().find("null-sender message not parsed"), std::string::npos) << logged.str();
    // thousands of recipients: max_bounce_recipients are recorded
    config->milter.max_bounce_recipients = 50;
    auto c = session("BOUNCE");
    std::string many =
        "From: MAILER-DAEMON@mx.example.org\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n--B\n"
        "Content-Type: message/delivery-status\n\nReporting-MTA: dns; mta.example.net\n\n";
    for (int i = 0; i < 5000; ++i)
        many += "Final-Recipient: rfc822; u" + std::to_string(i) +
                "@example.org\nAction: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\n\n";
    many += "--B--\n";
    c->mail_from("<>", "", "Q");
    feed(*c, many);
    EXPECT_EQ(c->eom().reply.step, Step::Continue);
    EXPECT_NE(logged.str().find("rcpt=<u49@example.org>"), std::string::npos) << logged.str().substr(logged.str().size() > 3000 ? logged.str().size() - 3000 : 0);
    EXPECT_EQ(logged.str().find("rcpt=<u50@example.org>"), std::string::npos);
}

}  // namespace
}  // namespace bg::milter
