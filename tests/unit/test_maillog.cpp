// Tests of the mail log parser (common/maillog/): syslog prefixes, Postfix and Sendmail delivery
// lines, the queue-id join and its bound, the verdicts (the same as for the bounce of the same
// rejection), the fixtures in tests/corpus/maillog (*.log with *.expect), hostile input, and
// `bounceguard ingest-log` over a real SQLite store (suppression, success resets, hop relays).
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <sys/wait.h>
#include <thread>

#include "classify/rule_set.hpp"
#include "config/config.hpp"
#include "cmd_ingest_log.hpp"
#include "dsn/bounce_parser.hpp"
#include "maillog/delivery_event.hpp"
#include "maillog/maillog_parser.hpp"
#include "maillog/syslog_line.hpp"
#include "store/suppression_store.hpp"

namespace bg::maillog {

namespace {

namespace fs = std::filesystem;

// Times without a zone are local: the tests fix the zone.
class MaillogEnv : public ::testing::Environment {
public:
    void SetUp() override {
        setenv("TZ", "UTC", 1);
        tzset();
    }
};
const auto* env = ::testing::AddGlobalTestEnvironment(new MaillogEnv);

const RuleSet& rules() {
    static const auto rs = RuleSet::with_defaults({}).value();
    return *rs;
}

// 2026-11-26T00:00:00Z: the samples were written the day before.
constexpr UnixTime now = 1795651200;

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// One line per record: what the fixture's .expect files hold.
std::string describe(const DeliveryRecord& r, UnixTime at) {
    std::string line = r.queue_id + "\t" + r.recipient + "\t" + std::string(to_string(r.status)) + "\t" +
                       (r.dsn.empty() ? "-" : r.dsn) + "\t" + (r.sender_known ? "<" + r.sender + ">" : "?") + "\t";
    auto l = learn(r, rules(), LearnOptions{{"*]:10024"}}, at);
    if (!l) return line + "not-learned";
    return line + std::to_string(l->event.time) + "\t" + std::string(to_string(l->verdict.category)) + "\t" +
           std::string(to_string(l->verdict.blame)) + "\t" + std::string(to_string(l->decision)) + "\t" +
           l->event.stage + "\t" + (l->event.message_id.empty() ? "-" : l->event.message_id);
}

std::string run_fixture(const std::string& text) {
    MaillogParser p;
    std::vector<DeliveryRecord> recs;
    std::string out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        recs.clear();
        p.feed(line, now, recs);
        for (const auto& r : recs) out += describe(r, now) + "\n";
    }
    return out;
}

}  // namespace

TEST(SyslogLine, Prefixes) {
    struct Case {
        std::string_view line, program, host, message;
        LogTime time;
    };
    const Case cases[] = {
        {"Nov 25 15:36:33 mta postfix/smtp[12547]: 61CDCA72B08: to=<a@b>", "postfix/smtp", "mta",
         "61CDCA72B08: to=<a@b>", {0, 11, 25, 15, 36, 33, false, 0}},
        {"<22>Nov  5 15:27:32 sendmail[2710]: Q: x", "sendmail", "", "Q: x", {0, 11, 5, 15, 27, 32, false, 0}},
        {"<22>1 2026-11-25T15:36:33.5+01:00 mta postfix/smtp 12547 - - msg here", "postfix/smtp", "mta", "msg here",
         {2026, 11, 25, 15, 36, 33, true, 3600}},
        {"<22>1 2026-11-25T15:36:33Z mta app - ID47 [ex@1 a=\"x\\]\"][b c=\"d\"] \xEF\xBB\xBFm", "app", "mta", "m",
         {2026, 11, 25, 15, 36, 33, true, 0}},
        {"2026-11-25T15:36:33+0000 mta postfix/postfix-out/smtp[1]: m", "postfix/postfix-out/smtp", "mta", "m",
         {2026, 11, 25, 15, 36, 33, true, 0}},
        {"2026-11-25T15:36:33.123456-05:30 h sm-mta[9]: m", "sm-mta", "h", "m",
         {2026, 11, 25, 15, 36, 33, true, -(5 * 3600 + 30 * 60)}},
        {"Nov 25 15:36:33.123456 mta postfix/smtp[12547]: m", "postfix/smtp", "mta", "m",
         {0, 11, 25, 15, 36, 33, false, 0}},
        {"61CDCA72B08: to=<a@b>, status=sent", "", "", "61CDCA72B08: to=<a@b>, status=sent", {}},
        {"Foo 25 15:36:33 x y: z", "", "", "Foo 25 15:36:33 x y: z", {}},
        {"", "", "", "", {}},
    };
    for (const auto& c : cases) {
        const auto l = parse_syslog_line(c.line);
        EXPECT_EQ(l.program, c.program) << c.line;
        EXPECT_EQ(l.host, c.host) << c.line;
        EXPECT_EQ(l.message, c.message) << c.line;
        EXPECT_EQ(l.time, c.time) << c.line;
    }
}

TEST(SyslogLine, TimesToUnix) {
    TimeConverter tc;
    EXPECT_EQ(tc.to_unix({2026, 11, 25, 15, 36, 33, true, 3600}, now), 1795620993 - 3600);
    EXPECT_EQ(tc.to_unix({2026, 11, 25, 15, 36, 33, true, 0}, now), 1795620993);
    // No year: now's year; a month far ahead of now's is last year's.
    EXPECT_EQ(tc.to_unix({0, 11, 25, 15, 36, 33, false, 0}, now), 1795620993);
    const UnixTime jan2027 = 1798848000;  // 2027-01-02
    EXPECT_EQ(tc.to_unix({0, 12, 31, 23, 0, 0, false, 0}, jan2027), 1798758000);
    EXPECT_EQ(tc.to_unix({}, now), 0);
}

TEST(MaillogParser, PostfixJoinsSenderAndMessageId) {
    MaillogParser p;
    std::vector<DeliveryRecord> out;
    EXPECT_EQ(p.feed("Nov 25 15:36:33 mta postfix/cleanup[1]: ABCDEF123: message-id=<m1@x>", now, out),
              LineKind::Context);
    EXPECT_EQ(p.feed("Nov 25 15:36:33 mta postfix/qmgr[2]: ABCDEF123: from=<s@x.example>, size=1, nrcpt=1 (queue active)",
                     now, out),
              LineKind::Context);
    ASSERT_EQ(p.feed("Nov 25 15:36:34 mta postfix/smtp[3]: ABCDEF123: to=<r@y.example>, relay=mx[192.0.2.1]:25, "
                     "delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (host mx[192.0.2.1] said: 550 5.1.1 No "
                     "such user (in reply to RCPT TO command))",
                     now, out),
              LineKind::Delivery);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].sender, "s@x.example");
    EXPECT_EQ(out[0].message_id, "m1@x");
    EXPECT_EQ(out[0].relay, "mx[192.0.2.1]:25");
    EXPECT_EQ(out[0].reply, "host mx[192.0.2.1] said: 550 5.1.1 No such user (in reply to RCPT TO command)");
    EXPECT_EQ(p.feed("Nov 25 15:36:34 mta postfix/qmgr[2]: ABCDEF123: removed", now, out), LineKind::Context);
    EXPECT_EQ(p.remembered(), 0u);
}

TEST(MaillogParser, JoinTableIsBoundedAndForgetsTheOldest) {
    MaillogParser p(MaillogLimits{.max_queue_ids = 100});
    std::vector<DeliveryRecord> out;
    for (int i = 0; i < 1000; ++i)
        p.feed("Q" + std::to_string(100000 + i) + ": from=<s" + std::to_string(i) + "@x>, size=1",
               now, out);
    EXPECT_LE(p.remembered(), 100u);
    p.feed("Q100999: to=<r@y.example>, relay=none, dsn=5.1.1, status=bounced (x)", now, out);
    p.feed("Q100000: to=<r@y.example>, relay=none, dsn=5.1.1, status=bounced (x)", now, out);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].sender, "s999@x");  // the newest is remembered
    EXPECT_FALSE(out[1].sender_known);   // the oldest was forgotten
}

TEST(MaillogParser, SameVerdictAsTheBounceOfTheSameRejection) {
    // The Postfix sample: the log line and the DSN Postfix sent for it.
    const std::string log =
        "Nov 25 15:36:33 mta postfix/smtp[12547]: 61CDCA72B08: to=<unknown@example.test>, "
        "relay=127.0.0.1[127.0.0.1]:2525, delay=0.07, delays=0.06/0.01/0/0.01, dsn=5.1.1, status=bounced (host "
        "127.0.0.1[127.0.0.1] said: 550 5.1.1 <unknown@example.test>: Recipient address rejected: User unknown in "
        "virtual mailbox table (in reply to RCPT TO command))";
    MaillogParser p;
    std::vector<DeliveryRecord> out;
    p.feed(log, now, out);
    ASSERT_EQ(out.size(), 1u);
    auto l = learn(out[0], rules(), {}, now);
    ASSERT_TRUE(l);
    const std::string eml = slurp(fs::path(BG_SOURCE_DIR) / "tests/corpus/maillog/postfix-bounce-550.eml");
    ASSERT_FALSE(eml.empty());
    auto bounce = parse_bounce(eml);
    ASSERT_TRUE(bounce);
    classify_bounce(*bounce, rules());
    ASSERT_EQ(bounce->records.size(), 1u);
    const auto& v = bounce->records[0].verdict;
    EXPECT_EQ(l->verdict.category, v.category);
    EXPECT_EQ(l->verdict.decision, v.decision);
    EXPECT_EQ(l->verdict.rule_id, v.rule_id);
    EXPECT_EQ(l->event.status, "5.1.1");
    EXPECT_EQ(l->event.reply_code, 550);
    EXPECT_EQ(l->event.stage, "rcpt");
    EXPECT_EQ(l->event.remote_mta, "127.0.0.1[127.0.0.1]");
    EXPECT_EQ(l->event.source, EventSource::Maillog);
}

TEST(MaillogCorpus, FixturesGiveTheExpectedRecords) {
    const fs::path dir = fs::path(BG_SOURCE_DIR) / "tests/corpus/maillog";
    int checked = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
        if (e.path().extension() != ".log") continue;
        fs::path expect = e.path();
        expect.replace_extension(".expect");
        const std::string got = run_fixture(slurp(e.path()));
        if (std::getenv("BG_MAILLOG_WRITE_EXPECT")) std::ofstream(expect) << got;  // for a reviewed update
        EXPECT_EQ(got, slurp(expect)) << e.path();
        ++checked;
    }
    EXPECT_GE(checked, 3);
}

TEST(MaillogParser, HostileInputNeverCrashesAndStaysBounded) {
    MaillogParser p(MaillogLimits{.max_queue_ids = 100, .max_field_bytes = 64, .max_reply_bytes = 128,
                                  .max_recipients = 5});
    std::vector<DeliveryRecord> out;
    std::mt19937 rng(7);  // fixed seed: deterministic
    const std::string pieces[] = {"to=<", ">", ", ", "status=", "stat=", "dsn=5.1.1", "Q1234567: ", "<22>",
                                  "Nov 25 15:36:33 ", "postfix/smtp[1]: ", "sm-mta[2]: ", "(", ")", "reply=",
                                  "from=<", "\xff\xfe", std::string(1, '\0'), "<<< 550 ", ">... ", ","};
    for (int i = 0; i < 20000; ++i) {
        std::string line;
        const int n = static_cast<int>(rng() % 12);
        for (int k = 0; k < n; ++k) line += pieces[rng() % std::size(pieces)];
        out.clear();
        p.feed(line, now, out);
        for (const auto& r : out) {
            EXPECT_LE(r.recipient.size(), 64u);
            EXPECT_LE(r.reply.size(), 128u);
            (void)learn(r, rules(), {}, now);
        }
    }
    // A Sendmail to= list with many recipients gives at most max_recipients records.
    std::string many = "Nov 25 10:00:00 h sm-mta[1]: QQQQQQ1: to=";
    for (int i = 0; i < 50; ++i) many += "<r" + std::to_string(i) + "@x.example>,";
    many += " delay=00:00:00, dsn=5.1.1, stat=User unknown";
    out.clear();
    EXPECT_EQ(p.feed(many, now, out), LineKind::Delivery);
    EXPECT_EQ(out.size(), 5u);
    EXPECT_LE(p.remembered(), 100u);
    // Found by fuzz_maillog: reply= right after the to= list (no other field) threw out_of_range.
    out.clear();
    EXPECT_EQ(p.feed("Nov 25 10:00:00 h sm-mta[1]: QQQQQQ3: to=<a@x.example>, reply=550 5.1.1 gone, stat=User unknown",
                     now, out),
              LineKind::Delivery);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].reply, "550 5.1.1 gone");
    // A huge line: linear, cut fields.
    out.clear();
    p.feed("QQQQQQ2: to=<" + std::string(1 << 20, 'a') + "@x>, relay=none, dsn=5.1.1, status=bounced (" +
               std::string(1 << 20, 'b') + ")",
           now, out);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_FALSE(learn(out[0], rules(), {}, now));  // no usable address
}

// `bounceguard ingest-log` over a real SQLite store.
class IngestLog : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::path(::testing::TempDir()) / ("bg_ingest_log_" + std::to_string(::getpid()) + "_" +
                                                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        store_ = open_store("sqlite:" + (dir_ / "db").string()).value();
        policy_ = default_config().policy;  // the shipped thresholds: mailbox_full needs 3 within 7d, a day apart
        policy_.mailbox_full.min_span = 0;
    }
    void TearDown() override { fs::remove_all(dir_); }

    cli::IngestLogStats ingest(const std::string& text, cli::IngestLogOptions o = {}) {
        o.path = "-";
        std::istringstream in(text);
        std::ostringstream out, err;
        cli::IngestLogStats s;
        EXPECT_EQ(cli::run_ingest_log(*store_, policy_, rules(), o, in, out, err, nullptr, &s), 0) << err.str();
        return s;
    }
    bool suppressed(const std::string& a) { return store_->lookup(a, std::time(nullptr)).found(); }

    fs::path dir_;
    std::unique_ptr<SuppressionStore> store_;
    PolicyConfig policy_;
};

std::string pf(const std::string& qid, const std::string& rcpt, const std::string& status, const std::string& dsn,
               const std::string& reply, const std::string& relay = "mx.example.net[192.0.2.1]:25",
               const std::string& time = "10:00:00") {
    return "2026-01-10T" + time + "+00:00 mta postfix/smtp[1]: " + qid + ": to=<" + rcpt + ">, relay=" + relay +
           ", delay=1, delays=0/0/0/1, dsn=" + dsn + ", status=" + status + " (" + reply + ")\n";
}

TEST_F(IngestLog, SamplesSuppressTheDeadRecipientsOnly) {
    const auto s = ingest(slurp(fs::path(BG_SOURCE_DIR) / "tests/corpus/maillog/postfix.log"));
    EXPECT_EQ(s.read, 68u);
    EXPECT_EQ(s.read, s.recognised + s.skipped);
    EXPECT_EQ(s.suppressed, 2u);
    EXPECT_TRUE(suppressed("unknown@example.test"));
    EXPECT_TRUE(suppressed("gmail@example.test"));
    EXPECT_FALSE(suppressed("full@example.test"));  // soft: one event of three
    EXPECT_FALSE(suppressed("busy@example.test"));  // a deferral
    EXPECT_FALSE(suppressed("ok@example.test"));
    auto ev = store_->events_for("unknown@example.test", 0).value();
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].source, EventSource::Maillog);
    EXPECT_EQ(ev[0].sender, "alice@sender.test");
    EXPECT_EQ(ev[0].queue_id, "61CDCA72B08");
    EXPECT_EQ(ev[0].message_id, "20261125153632.012527@vm");

    const auto sm = ingest(slurp(fs::path(BG_SOURCE_DIR) / "tests/corpus/maillog/sendmail.log"));
    EXPECT_EQ(sm.read, 87u);
    EXPECT_EQ(sm.recorded, 3u);  // unknown@ (550) and busy@ twice (450); the sent lines teach nothing new
}

TEST_F(IngestLog, SoftCountsAndASuccessResetsThem) {
    const std::string full = "host mx said: 452 4.2.2 Mailbox full (in reply to RCPT TO command)";
    // Two soft events, then a success: the count restarts.
    ingest(pf("AAAAA1", "f@example.net", "deferred", "4.2.2", full, "mx[192.0.2.1]:25", "10:00:01"));
    ingest(pf("AAAAA2", "f@example.net", "deferred", "4.2.2", full, "mx[192.0.2.1]:25", "10:00:02"));
    const auto s = ingest(pf("AAAAA3", "f@example.net", "sent", "2.0.0", "250 2.0.0 Ok", "mx[192.0.2.1]:25", "10:00:03"));
    EXPECT_EQ(s.recorded, 1u);  // a success after failures is recorded
    ingest(pf("AAAAA4", "f@example.net", "deferred", "4.2.2", full, "mx[192.0.2.1]:25", "10:00:04"));
    EXPECT_FALSE(suppressed("f@example.net"));  // without the reset this was the third
    ingest(pf("AAAAA5", "f@example.net", "deferred", "4.2.2", full, "mx[192.0.2.1]:25", "10:00:05"));
    EXPECT_FALSE(suppressed("f@example.net"));
    ingest(pf("AAAAA6", "f@example.net", "deferred", "4.2.2", full, "mx[192.0.2.1]:25", "10:00:06"));
    EXPECT_TRUE(suppressed("f@example.net"));  // three since the success
    // A success with no failure before it is not recorded (nothing to reset).
    const auto quiet = ingest(pf("AAAAA7", "never-failed@example.net", "sent", "2.0.0", "250 2.0.0 Ok"));
    EXPECT_EQ(quiet.recognised, 1u);
    EXPECT_EQ(quiet.recorded, 0u);
}

TEST_F(IngestLog, SuccessLiftsAHardSuppressionButNotThroughAHopRelay) {
    ingest(pf("BBBBB1", "u@example.net", "bounced", "5.1.1",
              "host mx said: 550 5.1.1 User unknown (in reply to RCPT TO command)"));
    ASSERT_TRUE(suppressed("u@example.net"));
    cli::IngestLogOptions o;
    o.hop_relays = {"*]:10024"};
    const auto hop = ingest(pf("BBBBB2", "u@example.net", "sent", "2.0.0", "250 2.0.0 Ok: queued as 1",
                               "127.0.0.1[127.0.0.1]:10024"),
                            o);
    EXPECT_EQ(hop.recorded, 0u);
    EXPECT_TRUE(suppressed("u@example.net"));
    ingest(pf("BBBBB3", "u@example.net", "sent", "2.0.0", "250 2.0.0 Ok"), o);
    EXPECT_FALSE(suppressed("u@example.net"));
}

TEST_F(IngestLog, SenderSideRejectionsNeverSuppress) {
    const auto s = ingest(
        pf("CCCCC1", "a@example.net", "bounced", "5.7.1",
           "host mx said: 554 5.7.1 Service unavailable; Client host [198.51.100.7] blocked using zen.spamhaus.org "
           "(in reply to RCPT TO command)") +
        pf("CCCCC2", "b@example.net", "bounced", "5.7.1",
           "host mx said: 554 5.7.1 <b@example.net>: Relay access denied (in reply to RCPT TO command)") +
        "junk line\n");
    EXPECT_EQ(s.recorded, 2u);
    EXPECT_EQ(s.skipped, 1u);
    EXPECT_EQ(s.suppressed, 0u);
    EXPECT_FALSE(suppressed("a@example.net"));
    EXPECT_FALSE(suppressed("b@example.net"));
}

TEST_F(IngestLog, LongLinesAreCutAndCounted) {
    cli::IngestLogOptions o;
    o.max_line_bytes = 1024;
    const auto s = ingest(std::string(100000, 'x') + "\n" +
                              pf("DDDDD1", "l@example.net", "bounced", "5.1.1",
                                 "host mx said: 550 5.1.1 User unknown (in reply to RCPT TO command)"),
                          o);
    EXPECT_EQ(s.read, 2u);
    EXPECT_EQ(s.truncated, 1u);
    EXPECT_TRUE(suppressed("l@example.net"));
}

TEST_F(IngestLog, FollowThroughRotationAndRestartRecordsEveryLineOnce) {
    const std::string log = (dir_ / "mail.log").string();
    const std::string db = "sqlite:" + (dir_ / "db").string();
    int next = 0;
    auto write = [&](int n) {
        std::ofstream out(log, std::ios::app);
        for (int i = 0; i < n; ++i, ++next)
            out << pf("F" + std::to_string(100000 + next), "r" + std::to_string(next) + "@example.net", "bounced",
                      "5.1.1", "host mx said: 550 5.1.1 User unknown (in reply to RCPT TO command)")
                << "Nov 25 10:00:00 mta postfix/smtpd[9]: connect from unknown[192.0.2.1]\n";
    };
    // A second connection to the same store watches the follower's progress.
    auto watcher = open_store(db).value();
    auto recorded = [&](int n) {
        for (int i = 0; i < 500; ++i) {
            auto ev = watcher->events_for("r" + std::to_string(n - 1) + "@example.net", 0);
            if (ev && !ev->empty()) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return false;
    };
    // Joins the follower thread whatever happens (an ASSERT returns early).
    struct Joiner {
        std::atomic<bool> stop{false};
        std::thread t;
        ~Joiner() {
            stop = true;
            if (t.joinable()) t.join();
        }
    };
    auto run = [&](std::atomic<bool>& stop) {
        return std::thread([&, stopper = &stop] {
            cli::IngestLogOptions o;
            o.path = log;
            o.follow = true;
            o.state_file = (dir_ / "position").string();
            o.poll_interval_ms = 10;
            o.stop = stopper;
            std::istringstream in;
            std::ostringstream out, err;
            auto own = open_store(db).value();
            EXPECT_EQ(cli::run_ingest_log(*own, policy_, rules(), o, in, out, err, nullptr), 0) << err.str();
        });
    };
    write(5);
    Joiner j1;
    j1.t = run(j1.stop);
    ASSERT_TRUE(recorded(next));
    fs::rename(log, log + ".1");  // rename rotation
    write(5);
    ASSERT_TRUE(recorded(next));
    fs::copy_file(log, log + ".2");  // copytruncate
    { std::ofstream(log, std::ios::trunc); }
    write(5);
    ASSERT_TRUE(recorded(next));
    j1.stop = true;
    j1.t.join();
    write(5);  // while stopped
    Joiner j2;
    j2.t = run(j2.stop);
    ASSERT_TRUE(recorded(next));
    write(3);
    ASSERT_TRUE(recorded(next));
    j2.stop = true;
    j2.t.join();
    for (int i = 0; i < next; ++i) {
        auto ev = watcher->events_for("r" + std::to_string(i) + "@example.net", 0).value();
        EXPECT_EQ(ev.size(), 1u) << "r" << i;
    }
    EXPECT_EQ(next, 23);
}

// The real binary: exit codes and --stats (DESIGN.md "Contracts": 0, 1 operational, 2 usage).
TEST_F(IngestLog, BinaryExitCodesAndStats) {
    auto run = [&](const std::string& args) {
        const std::string out = (dir_ / "out.txt").string();
        const std::string cmd = std::string(BG_CLI_PATH) + " --store sqlite:" + (dir_ / "cli.db").string() +
                                " ingest-log " + args + " > " + out + " 2>/dev/null";
        const int rc = std::system(cmd.c_str());
        return std::make_pair(WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, slurp(out));
    };
    const std::string fixture = (fs::path(BG_SOURCE_DIR) / "tests/corpus/maillog/postfix.log").string();
    auto ok = run("--stats " + fixture);
    EXPECT_EQ(ok.first, 0);
    EXPECT_NE(ok.second.find("read=68 recognised="), std::string::npos) << ok.second;
    EXPECT_NE(ok.second.find("unknown@example.test user_unknown suppress"), std::string::npos) << ok.second;
    EXPECT_EQ(run((dir_ / "no-such.log").string()).first, 1);
    { std::ofstream(dir_ / "bad.state") << "not a position\n"; }
    EXPECT_EQ(run("--state " + (dir_ / "bad.state").string() + " " + fixture).first, 2);
    EXPECT_EQ(run("").first, 2);  // no FILE
    // With a state file, a second run reads only what was added since the first.
    const std::string state = (dir_ / "pos.state").string();
    EXPECT_NE(run("--stats --state " + state + " " + fixture).second.find("read=68 "), std::string::npos);
    EXPECT_NE(run("--stats --state " + state + " " + fixture).second.find("read=0 "), std::string::npos);
}

// The real binary reading a pipe that pauses (tail -f | ingest-log -): what has arrived is
// committed, and the store's write lock is not held while the next line is awaited.
TEST_F(IngestLog, PausedPipeHoldsNoWriteLock) {
    const std::string db = (dir_ / "pipe.db").string();
    const std::string cmd = std::string(BG_CLI_PATH) + " --store sqlite:" + db + " ingest-log - >/dev/null 2>&1";
    FILE* pipe = ::popen(cmd.c_str(), "w");
    ASSERT_NE(pipe, nullptr);
    const std::string lines = slurp((fs::path(BG_SOURCE_DIR) / "tests/corpus/maillog/postfix.log").string());
    ASSERT_EQ(std::fwrite(lines.data(), 1, lines.size(), pipe), lines.size());
    std::fflush(pipe);  // and no end of input: the program now waits for more
    auto other = open_store("sqlite:" + db + "?busy_timeout_ms=200");
    for (int i = 0; i < 500 && !(other && (*other)->lookup("unknown@example.test", std::time(nullptr)).found()); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        if (!other) other = open_store("sqlite:" + db + "?busy_timeout_ms=200");
    }
    ASSERT_TRUE(other) << other.error().message;
    EXPECT_TRUE((*other)->lookup("unknown@example.test", std::time(nullptr)).found()) << "committed before the pause";
    Suppression s;
    s.key = "operator@example.org";
    s.category = Category::UserUnknown;
    auto put = (*other)->put(s);
    EXPECT_TRUE(put) << "another writer waited for the paused reader: " << put.error().message;
    EXPECT_EQ(::pclose(pipe), 0);
}

}  // namespace bg::maillog
