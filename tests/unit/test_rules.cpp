// Unit tests for classify/rule_set: the rule file format, its errors, and rule order.
#include <gtest/gtest.h>

#include <set>

#include "classify/classifier.hpp"
#include "classify/rule_set.hpp"

namespace bg {

namespace {

Verdict run(const RuleSet& rs, std::string_view raw) {
    auto r = parse_reply(raw);
    EXPECT_TRUE(r) << raw;
    return classify(*r, rs);
}

std::string error_of(std::string_view toml) {
    auto r = parse_rules_toml(toml, "t.toml");
    if (!r) return r.error().message;
    auto c = RuleSet::compile(std::move(*r));
    return c ? std::string() : c.error().message;
}

}  // namespace

TEST(Patterns, StatusAndCode) {
    EXPECT_EQ(parse_status_pattern("5.1.1"), (StatusPattern{5, 1, 1}));
    EXPECT_EQ(parse_status_pattern("x.1.1"), (StatusPattern{-1, 1, 1}));
    EXPECT_EQ(parse_status_pattern("5.7.*"), (StatusPattern{5, 7, -1}));
    EXPECT_FALSE(parse_status_pattern("5.1"));
    EXPECT_FALSE(parse_status_pattern("6.1.1"));
    EXPECT_FALSE(parse_status_pattern("5.a.1"));
    EXPECT_TRUE(parse_status_pattern("x.7.26")->matches(EnhancedStatus{4, 7, 26}));
    EXPECT_FALSE(parse_status_pattern("5.7.2")->matches(EnhancedStatus{5, 7, 26}));

    EXPECT_TRUE(parse_code_pattern("55x")->matches(552));
    EXPECT_FALSE(parse_code_pattern("55x")->matches(450));
    EXPECT_TRUE(parse_code_pattern("4xx")->matches(421));
    EXPECT_FALSE(parse_code_pattern("4xx")->matches(0));
    EXPECT_FALSE(parse_code_pattern("5500"));
    EXPECT_FALSE(parse_code_pattern("6xx"));
}

TEST(RuleFile, ErrorsNameFileAndLine) {
    EXPECT_EQ(error_of("[[rule]]\nid = \"a\"\ncategory = \"nope\"\ntext = \"x\"\n"),
              "t.toml:3: rule 'a': category: not a reply category (see the taxonomy in bounceguard.toml(5))");
    EXPECT_EQ(error_of("[[rule]]\nid = \"a\"\ncategory = \"policy\"\n"),
              "t.toml:1: rule 'a': text: a rule needs at least one of text, regex, status or code");
    EXPECT_EQ(error_of("[[rule]]\nid = \"a\"\ncategory = \"policy\"\nstatus = \"5.1\"\n"),
              "t.toml:4: rule 'a': status: '5.1' is not a status pattern like 5.1.1, x.1.1 or 5.7.*");
    EXPECT_EQ(error_of("[[rule]]\nid = \"a\"\ncategory = \"policy\"\ntext = \"x\"\ncolour = 1\n"),
              "t.toml:5: rule 'a': colour: unknown key (allowed: id category text regex status code stage decision "
              "explain advice)");
    EXPECT_NE(error_of("[[rule]]\nid = \"a\"\ncategory = \"policy\"\nregex = \"(unclosed\"\n").find("bad regex"),
              std::string::npos);
    EXPECT_EQ(error_of("[[rule]]\nid = \"a\"\ncategory = \"policy\"\ntext = \"x\"\n"
                       "[[rule]]\nid = \"a\"\ncategory = \"policy\"\ntext = \"y\"\n"),
              "t.toml:5: rule 'a': duplicate id");
    EXPECT_EQ(error_of("x = 1\n"), "t.toml:1: unknown key 'x' (rules files hold [[rule]] tables)");
    EXPECT_NE(error_of("[[rule]\n").find("t.toml:1:"), std::string::npos);
    EXPECT_EQ(error_of("[[rule]]\ncategory = \"policy\"\n"), "t.toml:1: rule without an 'id' string");
    EXPECT_EQ(error_of("[[rule]]\nid = \"a\"\ncategory = \"complaint\"\ntext = \"x\"\n"),
              "t.toml:3: rule 'a': category: not a reply category (see the taxonomy in bounceguard.toml(5))");
}

TEST(RuleFile, AllConditionsMustHold) {
    auto rules = parse_rules_toml(R"(
[[rule]]
id = "site.a"
category = "user_unknown"
text = ["gone fishing"]
code = ["55x"]
status = ["5.1.*"]
stage = ["rcpt"]
)", "t.toml");
    ASSERT_TRUE(rules);
    auto rs = RuleSet::compile(std::move(*rules));
    ASSERT_TRUE(rs);
    auto fire = [&](std::string_view raw, SmtpStage st) {
        auto r = parse_reply(raw);
        r->stage = st;
        return (*rs)->first_match(*r);
    };
    EXPECT_EQ(fire("550 5.1.9 GONE FISHING", SmtpStage::Rcpt), 0);
    EXPECT_EQ(fire("450 5.1.9 gone fishing", SmtpStage::Rcpt), -1);  // code
    EXPECT_EQ(fire("550 5.2.9 gone fishing", SmtpStage::Rcpt), -1);  // status
    EXPECT_EQ(fire("550 gone fishing", SmtpStage::Rcpt), -1);        // no status at all
    EXPECT_EQ(fire("550 5.1.9 gone fishing", SmtpStage::Data), -1);  // stage
    EXPECT_EQ(fire("550 5.1.9 gone hunting", SmtpStage::Rcpt), -1);  // text
}

TEST(RuleSet, UserRulesComeFirst) {
    auto user = parse_rules_toml(R"(
[[rule]]
id = "site.our_relay_says_unknown"
category = "relay_denied"
text = ["user unknown at gateway"]
)", "site.toml");
    ASSERT_TRUE(user);
    auto rs = RuleSet::with_defaults(std::move(*user));
    ASSERT_TRUE(rs);
    EXPECT_EQ(run(**rs, "550 5.1.1 user unknown at gateway").rule_id, "site.our_relay_says_unknown");
    EXPECT_EQ(run(**rs, "550 5.1.1 user unknown").category, Category::UserUnknown);
}

TEST(RuleSet, SiteRegexRulesMatchCaseInsensitively) {
    auto user = parse_rules_toml(R"(
[[rule]]
id = "site.mailbox_number_gone"
category = "user_unknown"
regex = ['mailbox \d{4,} (is )?gone']
code = ["5xx"]
)", "site.toml");
    ASSERT_TRUE(user) << user.error().message;
    auto rs = RuleSet::with_defaults(std::move(*user));
    ASSERT_TRUE(rs);
    EXPECT_EQ(run(**rs, "550 Mailbox 12345 IS GONE").rule_id, "site.mailbox_number_gone");
    EXPECT_EQ(run(**rs, "550 mailbox 12345 gone").rule_id, "site.mailbox_number_gone");
    EXPECT_NE(run(**rs, "450 mailbox 12345 gone").rule_id, "site.mailbox_number_gone");  // code
    EXPECT_NE(run(**rs, "550 mailbox 12 gone").rule_id, "site.mailbox_number_gone");     // pattern
}

TEST(RuleSet, DefaultsHaveUniqueIdsAndPhrases) {
    auto rules = parse_rules_toml(default_rules_toml(), "rules.toml");
    ASSERT_TRUE(rules) << rules.error().message;
    std::set<std::string> ids;
    for (const auto& r : *rules) {
        EXPECT_TRUE(ids.insert(r.id).second) << "duplicate rule id " << r.id;
        std::set<std::string> phrases;
        for (const auto& p : r.phrases) EXPECT_TRUE(phrases.insert(p).second) << r.id << ": phrase twice: " << p;
        // The id names the category, so `bounceguard rules` reads well.
        EXPECT_EQ(r.id.rfind(std::string(to_string(r.category)) + ".", 0), 0u) << r.id;
    }
    EXPECT_GE(ids.size(), 40u);
}

TEST(RuleSet, WithoutDefaultsOnlySiteRulesApply) {
    auto rs = RuleSet::with_defaults({}, false);
    ASSERT_TRUE(rs);
    EXPECT_TRUE((*rs)->rules().empty());
    EXPECT_EQ(run(**rs, "550 5.1.1 user unknown").category, Category::Unknown);
}

}  // namespace bg
