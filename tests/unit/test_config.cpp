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
    for (const auto& [sec, node] : doc) {
        if (sec.str() == "rule") continue;
        for (const auto& [key, value] : *node.as_table()) in_file.insert(std::string(sec.str()) + "." + std::string(key.str()));
    }
    std::set<std::string> in_table;
    for (const auto& k : config_keys()) {
        in_table.insert(std::string(k.name));
        // The value in the sample file is the default.
        EXPECT_EQ(to_toml_value(k, k.get(*parsed)), k.default_value) << k.name;
        // The line just above `key = ...` in its section is "# doc".
        const std::string key = std::string(k.name.substr(k.name.find('.') + 1));
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
