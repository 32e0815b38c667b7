// The reply corpus: tests/corpus/replies.tsv holds real-world SMTP replies (RFCs, provider help
// pages, MTA sources, the shared bounce corpus) with the category and decision a careful
// postmaster expects. Every row must classify as expected, and every shipped rule must be
// exercised by at least one row.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "classify/classifier.hpp"
#include "util/text.hpp"

namespace bg {

namespace {

struct Row {
    int line = 0;
    std::string reply, stage, category, decision, source;
};

std::string unescape(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] == 'n') {
            out.push_back('\n');
            ++i;
        } else if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] == 't') {
            out.push_back('\t');
            ++i;
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

std::vector<Row> load_rows() {
    std::ifstream in(std::string(BG_SOURCE_DIR) + "/tests/corpus/replies.tsv");
    std::vector<Row> rows;
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
        if (++n == 1) continue;  // header
        if (line.empty()) continue;
        auto f = text::split(line, '\t');
        EXPECT_EQ(f.size(), 5u) << "replies.tsv:" << n;
        if (f.size() != 5) continue;
        rows.push_back(Row{n, unescape(f[0]), std::string(f[1]), std::string(f[2]), std::string(f[3]), std::string(f[4])});
    }
    return rows;
}

}  // namespace

TEST(ReplyCorpus, EveryRowClassifiesAsExpected) {
    const auto rows = load_rows();
    ASSERT_GE(rows.size(), 150u);
    auto rules = RuleSet::with_defaults({});
    ASSERT_TRUE(rules) << rules.error().message;
    std::set<std::string> seen_replies, fired;
    std::map<std::string, int> per_category;
    int failures = 0;
    for (const auto& row : rows) {
        EXPECT_TRUE(seen_replies.insert(row.reply).second) << "replies.tsv:" << row.line << ": duplicate reply";
        auto reply = parse_reply(row.reply);
        ASSERT_TRUE(reply) << "replies.tsv:" << row.line;
        if (!row.stage.empty()) {
            auto st = parse_stage(row.stage);
            ASSERT_TRUE(st) << "replies.tsv:" << row.line << ": bad stage " << row.stage;
            reply->stage = *st;
        }
        const Verdict v = classify(*reply, **rules);
        fired.insert(std::string(v.rule_id));
        ++per_category[row.category];
        const bool ok = to_string(v.category) == row.category && to_string(v.decision) == row.decision;
        if (!ok) ++failures;
        EXPECT_TRUE(ok) << "replies.tsv:" << row.line << ": " << row.reply << "\n  expected " << row.category << "/"
                        << row.decision << ", got " << to_string(v.category) << "/" << to_string(v.decision)
                        << " by rule " << v.rule_id << " (" << row.source << ")";
    }
    std::cout << "[ corpus   ] " << rows.size() << " replies, " << rows.size() - static_cast<std::size_t>(failures)
              << " as expected, " << per_category.size() << " categories\n";
    for (const auto& r : (*rules)->rules())
        EXPECT_TRUE(fired.count(r.id)) << "rule " << r.id << " (" << r.origin << ") is hit by no corpus row";
}

}  // namespace bg
