// Unit tests for classify/classifier: the evidence order and the stage/code adjustments.
// The big table of real replies is tests/corpus/replies.tsv (test_replies_corpus.cpp).
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "classify/classifier.hpp"

namespace bg {

namespace {

const RuleSet& defaults() {
    static const auto rs = RuleSet::with_defaults({}).value();
    return *rs;
}

Verdict run(std::string_view raw, SmtpStage stage = SmtpStage::Unknown) {
    auto r = parse_reply(raw);
    EXPECT_TRUE(r) << raw;
    if (stage != SmtpStage::Unknown) r->stage = stage;
    return classify(*r, defaults());
}

}  // namespace

TEST(Classifier, TextBeatsStatusBeatsCode) {
    // A known wording wins over a misleading status code...
    EXPECT_EQ(run("550 5.1.1 Too many connections from your host").category, Category::RateLimited);
    EXPECT_EQ(run("550 5.7.1 No such user").category, Category::UserUnknown);
    // ...the status code wins over the basic code...
    EXPECT_EQ(run("552 5.1.1 sorry").category, Category::UserUnknown);
    // ...and the basic code is the last resort.
    EXPECT_EQ(run("552 sorry").category, Category::MailboxFull);
    EXPECT_EQ(run("552 sorry").rule_id, "mailbox_full.code");
}

TEST(Classifier, BareCodesNeverSuppress) {
    for (const char* raw : {"550", "550 Requested action not taken", "554 Transaction failed", "553 no", "5.0.0",
                            "550 5.0.0 rejected", "hello world"}) {
        const auto v = run(raw);
        EXPECT_EQ(v.decision, Decision::None) << raw << " -> " << v.rule_id;
    }
    EXPECT_EQ(run("hello world").category, Category::Unknown);
    EXPECT_EQ(run("hello world").rule_id, "unmatched");
}

TEST(Classifier, StageMailMeansOurSender) {
    const auto v = run("550 5.1.1 <we@our.example>: User unknown", SmtpStage::Mail);
    EXPECT_EQ(v.category, Category::SenderRejected);
    EXPECT_EQ(v.blame, Blame::SenderConfig);
    EXPECT_EQ(v.decision, Decision::None);
    EXPECT_EQ(v.rule_id, "user_unknown.text");  // the rule that matched is still reported
    EXPECT_FALSE(v.adjustment.empty());
}

TEST(Classifier, StageBeforeRecipientIsNotTheRecipient) {
    for (auto st : {SmtpStage::Connect, SmtpStage::Helo}) {
        const auto v = run("550 5.1.1 no such user", st);
        EXPECT_EQ(v.category, Category::Unknown);
        EXPECT_EQ(v.decision, Decision::None);
    }
    // A host that refuses all mail at the greeting (RFC 7504) is still a dead domain.
    EXPECT_EQ(run("521 5.3.2 mx.example.com does not accept mail", SmtpStage::Connect).decision, Decision::Hard);
}

TEST(Classifier, AfterDataAndTemporaryCodesAreSoft) {
    auto v = run("550 5.1.1 user unknown", SmtpStage::Data);
    EXPECT_EQ(v.category, Category::UserUnknown);
    EXPECT_EQ(v.decision, Decision::Soft);
    v = run("450 4.1.1 <x@example.com>: Recipient address rejected: User unknown in local recipient table");
    EXPECT_EQ(v.category, Category::UserUnknown);
    EXPECT_EQ(v.decision, Decision::Soft);
    EXPECT_EQ(run("550 5.1.1 user unknown", SmtpStage::Rcpt).decision, Decision::Hard);
    // Soft categories stay soft; never-suppress categories stay none.
    EXPECT_EQ(run("552 5.2.2 mailbox full", SmtpStage::Data).decision, Decision::Soft);
    EXPECT_EQ(run("554 5.7.1 blocked using zen.spamhaus.org", SmtpStage::Rcpt).decision, Decision::None);
}

TEST(Classifier, FullAndSuspendedAreNeverHard) {
    for (const char* raw : {"452 4.2.2 Mailbox full", "552 5.2.2 Mailbox full", "552-5.2.2 The email account that "
                            "you tried to reach is over quota", "550 5.2.1 Mailbox disabled", "550 5.2.1 account "
                            "suspended", "554 30 Sorry, your message cannot be delivered. This mailbox is disabled "
                            "(554.30)", "550 Mailbox is inactive"}) {
        const auto v = run(raw, SmtpStage::Rcpt);
        EXPECT_EQ(v.decision, Decision::Soft) << raw << " -> " << v.rule_id;
        EXPECT_EQ(v.blame, Blame::Recipient) << raw;
    }
}

TEST(Classifier, VerdictTextComesFromRuleOrCategory) {
    const auto v = run("550 5.7.1 Sender verify failed");
    EXPECT_EQ(v.rule_id, "sender_rejected.verify");
    EXPECT_NE(v.explanation.find("verify"), std::string_view::npos);
    EXPECT_FALSE(v.advice.empty());
    const auto u = run("550 5.1.1 user unknown");
    EXPECT_EQ(u.explanation, info(Category::UserUnknown).meaning);
}

TEST(Classifier, HostileInputNeverCrashes) {
    std::string junk;
    for (int i = 0; i < 4096; ++i) junk.push_back(static_cast<char>((i * 7919) & 0xff));
    for (const std::string& raw : {junk, std::string(1 << 20, 'a'), std::string(1 << 20, '5'),
                                   std::string("550 5.1.1 \xff\xfe user unknown"), std::string(5000, '(')}) {
        auto r = parse_reply(raw);
        if (!r) continue;
        const auto v = classify(*r, defaults());
        EXPECT_FALSE(v.rule_id.empty());
    }
}

TEST(Categories, TableIsCompleteAndUnique) {
    std::set<std::string_view> names;
    std::set<int> cats;
    for (const auto& row : category_table()) {
        EXPECT_TRUE(names.insert(row.name).second) << row.name;
        EXPECT_TRUE(cats.insert(static_cast<int>(row.category)).second) << row.name;
        EXPECT_EQ(parse_category(row.name), row.category);
        EXPECT_FALSE(row.meaning.empty());
        EXPECT_FALSE(row.advice.empty());
        // Only the recipient's own failures may ever suppress.
        if (row.decision != Decision::None) {
            EXPECT_EQ(row.blame, Blame::Recipient) << row.name;
        }
    }
    EXPECT_EQ(names.size(), static_cast<std::size_t>(Category::Unknown) + 1);
}

}  // namespace bg
