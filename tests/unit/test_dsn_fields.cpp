// RFC 3464 / RFC 5965 field blocks and the small helpers of the DSN parser (table-driven).
#include <gtest/gtest.h>

#include "dsn/dsn_fields.hpp"
#include "dsn/text_bounce.hpp"

namespace bg::dsn {

TEST(DsnFields, BlocksFoldingAndQuotes) {
    const auto blocks = parse_field_blocks("A: 1\n  2\nB: 3\n\n\nC: 4\r\nnot a field\r\n> D: 5\n", 100, 100);
    ASSERT_EQ(blocks.size(), 2u);
    ASSERT_EQ(blocks[0].size(), 2u);
    EXPECT_EQ(blocks[0][0].name, "A");
    EXPECT_EQ(blocks[0][0].value, "1 2");
    EXPECT_EQ(field_value(blocks[0], "b"), "3");
    ASSERT_EQ(blocks[1].size(), 2u);
    EXPECT_EQ(blocks[1][1].name, "D");
    EXPECT_EQ(field_value(blocks[1], "missing"), "");
}

TEST(DsnFields, CapsFieldSizeAndCount) {
    const std::string big(10000, 'x');
    auto blocks = parse_field_blocks("A: " + big + "\n " + big + "\n", 64, 100);
    ASSERT_EQ(blocks.size(), 1u);
    EXPECT_LE(blocks[0][0].value.size(), 64u);
    std::string many;
    for (int i = 0; i < 1000; ++i) many += "F: v\n";
    blocks = parse_field_blocks(many, 64, 10);
    ASSERT_EQ(blocks.size(), 1u);
    EXPECT_EQ(blocks[0].size(), 10u);
}

TEST(DsnFields, AddressesAndTypes) {
    struct Case {
        std::string_view in, out;
    };
    for (const Case& c : {Case{"rfc822; <Kijitora@Example.org>", "Kijitora@Example.org"},
                          Case{"RFC822; a@example.org (comment)", "a@example.org"},
                          Case{"a@example.org", "a@example.org"}, Case{"rfc822;a@example.org.", "a@example.org"},
                          Case{"\"Name\" <b@example.org>", "b@example.org"}, Case{"", ""}})
        EXPECT_EQ(address_of(c.in), c.out) << c.in;
    EXPECT_EQ(strip_type("dns; mx.example.org"), "mx.example.org");
    EXPECT_EQ(strip_type("smtp; 550 5.1.1 x; y"), "550 5.1.1 x; y");
    EXPECT_EQ(strip_type("no type here"), "no type here");
}

TEST(DsnFields, DeliveryStatusRecords) {
    const std::string ds =
        "Reporting-MTA: dns; mx.example.org\nArrival-Date: Mon, 1 Jan 2024 00:00:00 +0000\n\n"
        "Final-Recipient: rfc822; a@example.net\nAction: Failed\nStatus: 5.1.1 (user unknown)\n"
        "Remote-MTA: dns; mx.example.net\nDiagnostic-Code: smtp; 550 5.1.1 no such\n  user\n\n"
        // Broken: two recipients in one block.
        "Final-Recipient: rfc822; b@example.net\nAction: delayed\nStatus: 4.4.1\n"
        "Final-Recipient: rfc822; c@example.net\nAction: failed\nStatus: 5.0.0\n";
    const auto rep = parse_delivery_status(ds, BounceLimits{});
    ASSERT_EQ(rep.records.size(), 3u);
    EXPECT_EQ(rep.records[0].recipient, "a@example.net");
    EXPECT_EQ(rep.records[0].action, "failed");
    EXPECT_EQ(rep.records[0].status, "5.1.1");
    EXPECT_EQ(rep.records[0].diagnostic, "550 5.1.1 no such user");
    EXPECT_EQ(rep.records[0].remote_mta, "mx.example.net");
    EXPECT_EQ(rep.records[0].reporting_mta, "mx.example.org");
    EXPECT_EQ(rep.records[0].arrival_date, "Mon, 1 Jan 2024 00:00:00 +0000");
    EXPECT_EQ(rep.records[1].action, "delayed");
    EXPECT_EQ(rep.records[2].recipient, "c@example.net");
    EXPECT_FALSE(rep.truncated);
}

TEST(DsnFields, FeedbackReport) {
    const auto rep = parse_feedback_report(
        "Feedback-Type: abuse\nUser-Agent: x/1\nVersion: 1\nOriginal-Rcpt-To: <a@example.net>\n"
        "Original-Rcpt-To: b@example.net\n", BounceLimits{});
    ASSERT_EQ(rep.records.size(), 2u);
    EXPECT_EQ(rep.records[1].recipient, "b@example.net");
    EXPECT_EQ(rep.records[0].feedback_type, "abuse");
    const auto none = parse_feedback_report("Feedback-Type: fraud\n", BounceLimits{});
    ASSERT_EQ(none.records.size(), 1u);  // the caller takes the recipient from the original message
    EXPECT_EQ(none.records[0].recipient, "");
}

TEST(DsnText, ReplyCodesAndAddresses) {
    EXPECT_TRUE(has_reply_code("host x said: 550 5.1.1 no"));
    EXPECT_TRUE(has_reply_code("ERROR_CODE :550, x"));
    EXPECT_FALSE(has_reply_code("Size (in bytes): 222"));
    EXPECT_FALSE(has_reply_code("192.0.2.155 said"));
    EXPECT_EQ(first_reply_code("550: <a@b.example>: User unknown"), 550);
    EXPECT_EQ(leading_reply_code("<<< 421 busy"), 421);
    EXPECT_EQ(leading_reply_code("hello 550"), 0);
    EXPECT_EQ(first_address("to <Bob.Smith+x@mail.example.com>."), "Bob.Smith+x@mail.example.com");
    EXPECT_EQ(first_address("no address @ here"), "");
}

TEST(DsnText, CutsTheReturnedMessage) {
    EXPECT_EQ(cut_returned_message("a\nb\n------ This is a copy of the message, including all the headers. ------\nc"),
              "a\nb\n");
    EXPECT_EQ(cut_returned_message("a\n--- Below this line is a copy of the message.\nc"), "a\n");
    EXPECT_EQ(cut_returned_message("a\n----- Original message -----\nc"), "a\n");
    EXPECT_EQ(cut_returned_message("a\nReceived: from x\n"), "a\n");
    // Prose that merely mentions the returned message does not cut.
    EXPECT_EQ(cut_returned_message("delete your own text from the attached returned message.\nb"),
              "delete your own text from the attached returned message.\nb");
}

TEST(DsnText, RecipientShapes) {
    struct Case {
        std::string_view text;
        std::vector<std::string_view> rcpts;
    };
    const Case cases[] = {
        {"<a@example.net>:\nRemote host said: 550 no\n", {"a@example.net"}},
        {"  a@example.net\n    SMTP error from remote mail server after RCPT TO:<a@example.net>:\n    550 no\n",
         {"a@example.net"}},
        {"a@example.net on Mon, 1 Jan 2024\n  The recipient name is not recognized\n", {"a@example.net"}},
        {"a@example.net: Envelope expired\nb@example.net: Network error\n", {"a@example.net", "b@example.net"}},
        {">>> RCPT To:<a@example.net>\n<<< 550 <a@example.net>... User unknown\n", {"a@example.net"}},
        {"554 <a@example.net>... 550 Host unknown\n554 <b@example.net>... 550 Host unknown\n",
         {"a@example.net", "b@example.net"}},
        {"There was an error delivering your mail to <a@example.net>.\nDNS lookup failure\n", {"a@example.net"}},
        {"A message sent by\n  <me@example.org>\ncould not be delivered:\n  a@example.net\n    550 no\n",
         {"a@example.net"}},
        {"Hello a@example.net,\nwe could not post your message\n", {}},
        {"a@example.net \xe6\xa7\x98\n", {}},
    };
    for (const auto& c : cases) {
        const auto recs = scan_text_bounce(c.text, BounceLimits{});
        ASSERT_EQ(recs.size(), c.rcpts.size()) << c.text;
        for (std::size_t i = 0; i < recs.size(); ++i) EXPECT_EQ(recs[i].recipient, c.rcpts[i]) << c.text;
    }
}

TEST(DsnText, StageFromWordingAndTranscript) {
    EXPECT_EQ(stage_from_wording("192.0.2.1 does not like recipient. Remote host said: 550"), SmtpStage::Rcpt);
    EXPECT_EQ(stage_from_wording("failed after I sent the message"), SmtpStage::Data);
    EXPECT_EQ(stage_from_wording("501 5.1.8 Sender address rejected [MAIL_FROM]"), SmtpStage::Mail);
    // A pipelined RCPT reply read after DATA, which Sendmail then pins on the recipient.
    auto r = scan_text_bounce("<a@example.net>\n    (reason: 550 5.1.1 User unknown)\n\n>>> DATA\n"
                              "<<< 550 5.1.1 User unknown\n550 5.1.1 <a@example.net>... User unknown\n",
                              BounceLimits{});
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].stage, SmtpStage::Rcpt);
    r = scan_text_bounce("<a@example.net>\n    (reason: 550 : User unknown)\n\n>>> DATA\n<<< 550 : User unknown\n"
                         "554 5.0.0 Service unavailable\n",
                         BounceLimits{});
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].stage, SmtpStage::Data);
}

}  // namespace bg::dsn
