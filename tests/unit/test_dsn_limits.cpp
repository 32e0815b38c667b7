// Hostile input for the bounce parser: every bound of BounceLimits is hit on purpose. Each case
// must end in bounded time with a clear error or a partial result that says so, never a crash.
#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>

#include "dsn/bounce_parser.hpp"

namespace bg {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

const std::string dsn_head =
    "From: MAILER-DAEMON@mx.example.org\n"
    "Subject: Undelivered Mail Returned to Sender\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n"
    "\n"
    "--B\n"
    "Content-Type: message/delivery-status\n"
    "\n"
    "Reporting-MTA: dns; mx.example.org\n"
    "\n";

std::string recipient_block(int i) {
    return "Final-Recipient: rfc822; user" + std::to_string(i) +
           "@example.net\nAction: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 User unknown\n\n";
}

}  // namespace

TEST(DsnLimits, FiftyMegabyteMessageIsCutAndStillRead) {
    std::string m = dsn_head + recipient_block(1) +
                    "--B\nContent-Type: message/rfc822\n\nFrom: a@example.org\nSubject: big\n\n";
    const std::string line(998, 'x');
    while (m.size() < 50u * 1024 * 1024) m += line + "\n";
    m += "--B--\n";
    const auto t0 = Clock::now();
    auto b = parse_bounce(m);
    EXPECT_LT(seconds_since(t0), 10.0);
    ASSERT_TRUE(b) << b.error().message;
    EXPECT_TRUE(b->truncated);
    EXPECT_FALSE(b->warnings.empty());
    ASSERT_EQ(b->records.size(), 1u);
    EXPECT_EQ(b->records[0].recipient, "user1@example.net");
}

TEST(DsnLimits, ThousandNestedMultipartsArePartial) {
    std::string m = "From: MAILER-DAEMON@mx.example.org\nSubject: Undelivered Mail\nMIME-Version: 1.0\n";
    for (int i = 0; i < 1000; ++i)
        m += "Content-Type: multipart/mixed; boundary=\"b" + std::to_string(i) + "\"\n\n--b" + std::to_string(i) + "\n";
    m += "Content-Type: text/plain\n\n<x@example.net>: 550 5.1.1 no such user\n";
    for (int i = 999; i >= 0; --i) m += "--b" + std::to_string(i) + "--\n";
    const auto t0 = Clock::now();
    auto b = parse_bounce(m);
    EXPECT_LT(seconds_since(t0), 10.0);
    ASSERT_TRUE(b) << b.error().message;
    EXPECT_TRUE(b->truncated);
    EXPECT_FALSE(b->warnings.empty());
}

TEST(DsnLimits, DepthLimitIsConfigurable) {
    std::string m = "From: MAILER-DAEMON@mx.example.org\nSubject: Undelivered Mail\nMIME-Version: 1.0\n";
    for (int i = 0; i < 10; ++i)
        m += "Content-Type: multipart/mixed; boundary=\"b" + std::to_string(i) + "\"\n\n--b" + std::to_string(i) + "\n";
    m += "Content-Type: text/plain\n\n<x@example.net>: 550 5.1.1 no such user\n";
    for (int i = 9; i >= 0; --i) m += "--b" + std::to_string(i) + "--\n";
    BounceLimits limits;
    limits.max_mime_depth = 3;
    auto b = parse_bounce(m, limits);
    ASSERT_TRUE(b);
    EXPECT_TRUE(b->truncated);
    auto full = parse_bounce(m);
    ASSERT_TRUE(full);
    EXPECT_FALSE(full->truncated);
    ASSERT_EQ(full->records.size(), 1u);
    EXPECT_EQ(full->records[0].recipient, "x@example.net");
}

TEST(DsnLimits, TenThousandRecipientsAreCapped) {
    std::string m = dsn_head;
    for (int i = 0; i < 10000; ++i) m += recipient_block(i);
    m += "--B--\n";
    const auto t0 = Clock::now();
    auto b = parse_bounce(m);
    EXPECT_LT(seconds_since(t0), 10.0);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->records.size(), BounceLimits{}.max_recipients);
    EXPECT_TRUE(b->truncated);
    EXPECT_FALSE(b->warnings.empty());

    BounceLimits small;
    small.max_recipients = 2;
    auto c = parse_bounce(m, small);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->records.size(), 2u);
}

TEST(DsnLimits, MegabyteHeaderLineAndFieldAreClipped) {
    const std::string big(1024 * 1024, 'a');
    std::string m = "From: MAILER-DAEMON@mx.example.org\nX-Junk: " + big + "\nSubject: Undelivered " + big +
                    "\nMIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n"
                    "--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\n"
                    "Final-Recipient: rfc822; user@example.net\nAction: failed\nStatus: 5.1.1\n"
                    "Diagnostic-Code: smtp; 550 5.1.1 " + big + "\n\n--B--\n";
    const auto t0 = Clock::now();
    auto b = parse_bounce(m);
    EXPECT_LT(seconds_since(t0), 10.0);
    ASSERT_TRUE(b);
    ASSERT_EQ(b->records.size(), 1u);
    EXPECT_LE(b->records[0].diagnostic.size(), BounceLimits{}.max_diagnostic_bytes);
    EXPECT_LE(b->subject.size(), BounceLimits{}.max_field_bytes);
    static const auto rules = RuleSet::with_defaults({}).value();
    classify_bounce(*b, *rules);
    EXPECT_EQ(b->records[0].reply.code, 550);
}

TEST(DsnLimits, BinaryJunkNeverCrashes) {
    std::mt19937 rng(12345);
    static const auto rules = RuleSet::with_defaults({}).value();
    for (int round = 0; round < 50; ++round) {
        std::string junk(static_cast<std::size_t>(rng() % 200000), '\0');
        for (auto& c : junk) c = static_cast<char>(rng() & 0xff);
        if (round % 2) junk = "From: MAILER-DAEMON@x.example\nSubject: failure notice\n\n" + junk;
        auto b = parse_bounce(junk);
        if (b) {
            classify_bounce(*b, *rules);
            EXPECT_LE(b->records.size(), BounceLimits{}.max_recipients);
        } else {
            EXPECT_FALSE(b.error().message.empty());
        }
    }
}

TEST(DsnLimits, EmptyInputIsAnError) {
    EXPECT_FALSE(parse_bounce(""));
    EXPECT_FALSE(parse_bounce(" \r\n\r\n"));
}

}  // namespace bg
