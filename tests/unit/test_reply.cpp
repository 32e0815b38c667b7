// Unit tests for smtp/reply: the shapes replies take in bounces and logs, and hostile input.
#include <gtest/gtest.h>

#include <string>

#include "smtp/reply.hpp"

namespace bg {

namespace {

struct Case {
    const char* raw;
    int code;
    const char* status;  // "" = none
    const char* text;
    SmtpStage stage;
    const char* host;
};

std::string status_of(const SmtpReply& r) { return r.status ? r.status->to_string() : ""; }

}  // namespace

TEST(Reply, ParsesShapesFromTheWild) {
    const Case cases[] = {
        {"550 5.1.1 <joe@example.com>: Recipient address rejected: User unknown", 550, "5.1.1",
         "<joe@example.com>: Recipient address rejected: User unknown", SmtpStage::Unknown, ""},
        {"550-5.1.1 The email account that you tried to reach does not exist.\n550-5.1.1 Please try\n550 5.1.1 "
         "double-checking. https://support.google.com/mail/?p=NoSuchUser",
         550, "5.1.1",
         "The email account that you tried to reach does not exist. Please try double-checking. "
         "https://support.google.com/mail/?p=NoSuchUser",
         SmtpStage::Unknown, ""},
        {"host mx.example.com[192.0.2.1] said: 550 5.1.1 <a@example.com>: User unknown (in reply to RCPT TO command)",
         550, "5.1.1", "<a@example.com>: User unknown", SmtpStage::Rcpt, "mx.example.com[192.0.2.1]"},
        {"host mx.example.com[192.0.2.1] said: 552 5.2.2 Over quota (in reply to end of DATA command)", 552, "5.2.2",
         "Over quota", SmtpStage::Data, "mx.example.com[192.0.2.1]"},
        {"host mx.example.com[192.0.2.1] said: 553 5.1.8 Sender domain unknown (in reply to MAIL FROM command)", 553,
         "5.1.8", "Sender domain unknown", SmtpStage::Mail, "mx.example.com[192.0.2.1]"},
        {"Remote host said: 554 delivery error: dd This user doesn't have a yahoo.com account", 554, "",
         "delivery error: dd This user doesn't have a yahoo.com account", SmtpStage::Unknown, ""},
        {"[Return Code 550] sid: 1a2b3c :: 5.1.0 Address rejected user@example.com", 550, "5.1.0",
         "Address rejected user@example.com", SmtpStage::Unknown, ""},
        {"The error that the other server returned was: 550 550 5.1.1 <x@example.org>: Recipient address rejected",
         550, "5.1.1", "<x@example.org>: Recipient address rejected", SmtpStage::Unknown, ""},
        {"550 5 2 1 Mailbox disabled", 550, "5.2.1", "Mailbox disabled", SmtpStage::Unknown, ""},
        {"Diagnostic-Code: smtp; 550 5.7.26 Unauthenticated email is not accepted", 550, "5.7.26",
         "Unauthenticated email is not accepted", SmtpStage::Unknown, ""},
        {"smtp;550 #5.1.0 Address rejected.", 550, "5.1.0", "#5.1.0 Address rejected.", SmtpStage::Unknown, ""},
        {"X-Postfix; Host or domain name not found. Name service error for name=example.invalid type=MX: Host not "
         "found, try again",
         0, "", "Host or domain name not found. Name service error for name=example.invalid type=MX: Host not found, "
                "try again",
         SmtpStage::Unknown, ""},
        {"SMTP error from remote mail server after RCPT TO:<bob@example.net>: 550 Unrouteable address", 550, "",
         "Unrouteable address", SmtpStage::Rcpt, ""},
        {"SMTP error from remote mail server after end of data: 554 5.7.1 Message rejected as spam", 554, "5.7.1",
         "Message rejected as spam", SmtpStage::Data, ""},
        {"... while talking to mx.example.com.: >>> RCPT To:<z@example.com> <<< 550 5.1.1 <z@example.com>... User "
         "unknown",
         550, "5.1.1", "<z@example.com>... User unknown", SmtpStage::Rcpt, ""},
        {"#550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup ##", 550, "5.1.10",
         "RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup ##", SmtpStage::Unknown, ""},
        {"Mailbox quota exceeded", 0, "", "Mailbox quota exceeded", SmtpStage::Unknown, ""},
        {"550 Requested action not taken: mailbox unavailable (#5.1.1)", 550, "5.1.1",
         "Requested action not taken: mailbox unavailable (#5.1.1)", SmtpStage::Unknown, ""},
        {"host mx.example.com[192.0.2.1] refused to talk to me: 554 5.7.1 Blocked", 554, "5.7.1", "Blocked",
         SmtpStage::Connect, ""},
        {"421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred", 421, "4.7.0",
         "[TSS04] Messages from 192.0.2.1 temporarily deferred", SmtpStage::Unknown, ""},
        {"550", 550, "", "", SmtpStage::Unknown, ""},
        {"550: <a@example.com>: User unknown", 550, "", "<a@example.com>: User unknown", SmtpStage::Unknown, ""},
        {"550: 5.2.2 <a@example.com>... Mailbox Full", 550, "5.2.2", "<a@example.com>... Mailbox Full",
         SmtpStage::Unknown, ""},
        {"220-mx.example.net ESMTP 421 4.2.1 Service refused, try later", 421, "4.2.1", "Service refused, try later",
         SmtpStage::Unknown, ""},
        {"250 2.0.0 Ok: queued as 4F2A1", 250, "2.0.0", "Ok: queued as 4F2A1", SmtpStage::Unknown, ""},
        {"Connection to 192.0.2.1:25 timed out after 30s", 0, "", "Connection to 192.0.2.1:25 timed out after 30s",
         SmtpStage::Unknown, ""},
        {"554 Service unavailable; Exim 4.94.2 says so", 554, "", "Service unavailable; Exim 4.94.2 says so",
         SmtpStage::Unknown, ""},
    };
    for (const auto& c : cases) {
        auto r = parse_reply(c.raw);
        ASSERT_TRUE(r) << c.raw;
        EXPECT_EQ(r->code, c.code) << c.raw;
        EXPECT_EQ(status_of(*r), c.status) << c.raw;
        EXPECT_EQ(r->text, c.text) << c.raw;
        EXPECT_EQ(r->stage, c.stage) << c.raw;
        if (*c.host) {
            EXPECT_EQ(r->remote_host, c.host) << c.raw;
        }
    }
}

TEST(Reply, CrLfAndCrLineEnds) {
    auto a = parse_reply("550-5.1.1 first\r\n550 5.1.1 second\r\n");
    auto b = parse_reply("550-5.1.1 first\r550 5.1.1 second");
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->text, "first second");
    EXPECT_EQ(b->text, "first second");
}

TEST(Reply, StageNames) {
    EXPECT_EQ(parse_stage("RCPT TO"), SmtpStage::Rcpt);
    EXPECT_EQ(parse_stage("rcpt"), SmtpStage::Rcpt);
    EXPECT_EQ(parse_stage("MAIL FROM"), SmtpStage::Mail);
    EXPECT_EQ(parse_stage("end of DATA"), SmtpStage::Data);
    EXPECT_EQ(parse_stage("ehlo"), SmtpStage::Helo);
    EXPECT_EQ(parse_stage("connect"), SmtpStage::Connect);
    EXPECT_FALSE(parse_stage("quit"));
    EXPECT_FALSE(parse_stage(""));
    for (auto s : {SmtpStage::Connect, SmtpStage::Helo, SmtpStage::Mail, SmtpStage::Rcpt, SmtpStage::Data})
        EXPECT_EQ(parse_stage(to_string(s)), s);
}

TEST(Reply, HostileInput) {
    EXPECT_FALSE(parse_reply(""));
    EXPECT_FALSE(parse_reply(" \r\n\t "));
    EXPECT_FALSE(parse_reply(std::string(100, '\0')));

    const std::string huge = "550 5.1.1 " + std::string(1 << 20, 'x');
    auto r = parse_reply(huge);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->truncated);
    EXPECT_EQ(r->code, 550);
    EXPECT_LE(r->text.size(), max_reply_bytes);

    auto nul = parse_reply(std::string("550 5.1.1 user\0unknown", 22));
    ASSERT_TRUE(nul);
    EXPECT_EQ(nul->text, "user unknown");

    auto bad = parse_reply("550 5.1.1 \xff\xfe\xc3 user unknown");
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->code, 550);

    std::string many;
    for (int i = 0; i < 10000; ++i) many += "550-5.1.1 line\n";
    many += "550 5.1.1 end";
    auto m = parse_reply(many);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->code, 550);
    EXPECT_TRUE(m->truncated);
    EXPECT_EQ(m->text.find("550"), std::string::npos);
}

}  // namespace bg
