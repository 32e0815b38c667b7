// Unit tests for config/: the key table, the loader's errors, and conf/bounceguard.toml.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <toml++/toml.h>

#include "config/config.hpp"

namespace bg {

namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string error_of(std::string_view text) {
    auto c = parse_config(text, "b.toml");
    return c ? std::string() : c.error().message;
}

}  // namespace

TEST(Config, KeyTableIsUniqueAndDefaultsParse) {
    std::set<std::string_view> names;
    for (const auto& k : config_keys()) {
        EXPECT_TRUE(names.insert(k.name).second) << k.name;
        EXPECT_NE(k.name.find('.'), std::string_view::npos) << k.name;
        EXPECT_FALSE(k.doc.empty()) << k.name;
        // The default as written round-trips through the value printer.
        EXPECT_EQ(to_toml_value(k, k.get(default_config())), k.default_value) << k.name;
    }
    const Config c = default_config();
    EXPECT_EQ(c.log.target, "stderr");
    EXPECT_EQ(c.log.facility, "mail");
    EXPECT_EQ(c.classify.max_reply_bytes, 16384);
}

// conf/bounceguard.toml lists every key, at its default, under its one-line doc.
TEST(Config, SampleFileAgreesWithKeyTable) {
    const std::string path = std::string(BG_SOURCE_DIR) + "/conf/bounceguard.toml";
    const std::string text = read_file(path);
    ASSERT_FALSE(text.empty()) << path;
    auto parsed = parse_config(text, path);
    ASSERT_TRUE(parsed) << parsed.error().message;

    toml::table doc = toml::parse(text, path);
    std::set<std::string> in_file;
    const auto flatten = [&](const auto& self, const toml::table& t, const std::string& prefix) -> void {
        for (const auto& [key, value] : t) {
            const std::string name = prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
            if (name == "rule") continue;
            if (const auto* sub = value.as_table()) self(self, *sub, name);
            else in_file.insert(name);
        }
    };
    flatten(flatten, doc, "");
    std::set<std::string> in_table;
    for (const auto& k : config_keys()) {
        in_table.insert(std::string(k.name));
        // The value in the sample file is the default.
        EXPECT_EQ(to_toml_value(k, k.get(*parsed)), k.default_value) << k.name;
        // The line just above `key = ...` in its section is "# doc".
        const std::string key = std::string(k.name.substr(k.name.rfind('.') + 1));
        const std::string section = "[" + std::string(k.name.substr(0, k.name.rfind('.'))) + "]";
        // ... and it stands in its own section.
        const auto sec_pos = text.find("\n" + section + "\n");
        ASSERT_NE(sec_pos, std::string::npos) << section;
        const auto next_sec = text.find("\n[", sec_pos + 1);
        const auto key_pos = text.find("\n# " + std::string(k.doc) + "\n" + key + " = ", sec_pos);
        EXPECT_TRUE(key_pos != std::string::npos && key_pos < next_sec) << k.name << " is not in " << section;
        const std::string needle = "# " + std::string(k.doc) + "\n" + key + " = ";
        EXPECT_NE(text.find(needle), std::string::npos) << "doc line for " << k.name << " differs from the key table";
    }
    EXPECT_EQ(in_file, in_table);
}

TEST(Config, ErrorsNameFileLineAndKey) {
    EXPECT_EQ(error_of("[log]\nlevel = \"loud\"\n"),
              "b.toml:2: log.level: 'loud' is not one of trace|debug|info|warn|error|off");
    EXPECT_EQ(error_of("[log]\ncolour = 1\n"), "b.toml:2: unknown key 'log.colour'");
    EXPECT_EQ(error_of("[nosuch]\nx = 1\n"), "b.toml:2: unknown key 'nosuch.x'");
    EXPECT_EQ(error_of("top = 1\n"), "b.toml:1: unknown key 'top'");
    EXPECT_EQ(error_of("[classify]\nmax_reply_bytes = 10\n"),
              "b.toml:2: classify.max_reply_bytes: expected an integer from 512 to 1048576");
    EXPECT_EQ(error_of("[classify]\ndefault_rules = \"yes\"\n"),
              "b.toml:2: classify.default_rules: expected true or false");
    EXPECT_NE(error_of("[log\n").find("b.toml:1: "), std::string::npos);
    EXPECT_EQ(error_of("[[rule]]\nid = \"x\"\ncategory = \"policy\"\n"),
              "b.toml:1: rule 'x': text: a rule needs at least one of text, regex, status or code");
}

TEST(Config, NestedSectionsListsAndDurations) {
    auto c = parse_config(R"(
[policy]
mode = "observe"
own_domains = ["Example.ORG"]
allow_patterns = ["*@vip.example.com"]
[breaker]
window = "30m"
[suppress.mailbox_full]
count = 5
window = "21d"
ttl = "0s"
)", "b.toml");
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_TRUE(c->policy.observe);
    EXPECT_EQ(c->policy.own_domains, std::vector<std::string>{"example.org"});
    EXPECT_EQ(c->policy.breaker.window, 1800);
    EXPECT_EQ(c->policy.mailbox_full.count, 5);
    EXPECT_EQ(c->policy.mailbox_full.window, 21 * 86400);
    EXPECT_EQ(c->policy.mailbox_full.ttl, 0);
    EXPECT_TRUE(c->policy.domain_unknown.domain);
    EXPECT_TRUE(c->policy.complaint.sticky);
    EXPECT_EQ(error_of("[suppress.mailbox_full]\ncount = 0\n"),
              "b.toml:2: suppress.mailbox_full.count: expected an integer from 1 to 1000");
    EXPECT_EQ(error_of("[suppress.spam_content]\ncount = 1\n"), "b.toml:2: unknown key 'suppress.spam_content.count'");
    EXPECT_EQ(error_of("[suppress.mailbox_full]\nwindow = \"2 weeks\"\n"),
              "b.toml:2: suppress.mailbox_full.window: bad duration '2 weeks' (use a number with s, m, h, d or w, e.g. 7d)");
    EXPECT_EQ(error_of("[policy]\nown_domains = \"example.org\"\n"),
              "b.toml:2: policy.own_domains: expected an array of strings");
    EXPECT_EQ(error_of("[a.b.c.d]\nx = 1\n"), "b.toml:1: unknown key 'a.b.c'");
}

TEST(Config, InlineRulesAndDumpRoundTrip) {
    auto c = parse_config(R"(
[log]
level = "debug"
[classify]
max_reply_bytes = 4096
[[rule]]
id = "site.x"
category = "policy"
text = "gateway says no"
)", "b.toml");
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->log.level, "debug");
    EXPECT_EQ(c->classify.max_reply_bytes, 4096);
    ASSERT_EQ(c->rules.size(), 1u);
    auto rs = build_rule_set(*c);
    ASSERT_TRUE(rs);
    EXPECT_EQ((*rs)->rules().front().id, "site.x");

    // dump-config output is itself a valid configuration with the same values.
    auto again = parse_config(dump_config(*c), "dump");
    ASSERT_TRUE(again) << again.error().message;
    for (const auto& k : config_keys()) EXPECT_EQ(to_toml_value(k, k.get(*again)), to_toml_value(k, k.get(*c)));
}

TEST(Config, MissingFilesAreClearErrors) {
    auto c = load_config("/nonexistent/bounceguard.toml");
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().message.rfind("/nonexistent/bounceguard.toml: cannot open", 0), 0u);
    Config cfg = default_config();
    cfg.classify.rules_file = "/nonexistent/rules.toml";
    auto rs = build_rule_set(cfg);
    ASSERT_FALSE(rs);
    EXPECT_NE(rs.error().message.find("cannot open rules file"), std::string::npos);
}

}  // namespace bg
