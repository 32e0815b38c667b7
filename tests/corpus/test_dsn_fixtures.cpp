// Our own bounce fixtures: tests/corpus/dsn/<shape>.eml, one per bounce shape the parser reads
// (RFC 3464 from Postfix and Sendmail, Exim, qmail, Exchange, Lotus Notes, Gmail and Yahoo text
// bounces, ARF, an auto-reply, delivered and delayed reports, base64 + CRLF, Amazon SES JSON, and
// a message that is no bounce), each with <shape>.expect: one line per record,
//   recipient <TAB> action <TAB> status <TAB> reply code <TAB> stage <TAB> kind
// ("-" for empty). Only what the parser decides is compared, not the classification, so that
// rule changes do not touch these files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "dsn/bounce_parser.hpp"

namespace bg {

namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string dash(std::string_view s) { return s.empty() ? "-" : std::string(s); }

std::string render(const ParsedBounce& b) {
    std::string out;
    for (const auto& r : b.records) {
        const std::string status = r.reply.status ? r.reply.status->to_string() : r.status;
        out += dash(r.recipient) + "\t" + dash(r.action) + "\t" + dash(status) + "\t" +
               (r.reply.code ? std::to_string(r.reply.code) : "-") + "\t" + std::string(to_string(r.reply.stage)) +
               "\t" + std::string(to_string(b.kind)) + "\n";
    }
    return out;
}

fs::path fixtures() { return fs::path(BG_SOURCE_DIR) / "tests" / "corpus" / "dsn"; }

ParsedBounce parse_fixture(const std::string& name) {
    static const auto rules = RuleSet::with_defaults({}).value();
    auto parsed = parse_bounce(slurp(fixtures() / name));
    EXPECT_TRUE(parsed) << name << ": " << (parsed ? "" : parsed.error().message);
    if (!parsed) return {};
    classify_bounce(*parsed, *rules);
    return std::move(*parsed);
}

}  // namespace

TEST(DsnFixtures, EveryFixtureParsesAsExpected) {
    int n = 0;
    for (const auto& entry : fs::directory_iterator(fixtures())) {
        if (entry.path().extension() != ".eml") continue;
        ++n;
        auto expect_path = entry.path();
        expect_path.replace_extension(".expect");
        ASSERT_TRUE(fs::exists(expect_path)) << expect_path;
        const auto b = parse_fixture(entry.path().filename().string());
        EXPECT_EQ(render(b), slurp(expect_path)) << entry.path().filename();
    }
    EXPECT_GE(n, 12);
}

TEST(DsnFixtures, OriginalMessageHeadersAndToken) {
    const auto b = parse_fixture("postfix.eml");
    EXPECT_EQ(b.original.message_id, "m1@example.org");
    EXPECT_EQ(b.original.subject, "Hello world");  // RFC 2047 decoded
    EXPECT_EQ(b.original.token, "v1.abc123");
    EXPECT_NE(b.original.from.find("alice@example.org"), std::string::npos);
    ASSERT_EQ(b.records.size(), 2u);
    EXPECT_EQ(b.records[0].original_recipient, "Bob@example.net");
    EXPECT_EQ(b.records[0].reporting_mta, "mx.example.org");
    EXPECT_EQ(b.records[0].remote_mta, "mx1.example.net");
    EXPECT_EQ(b.records[0].verdict.category, Category::UserUnknown);
    // The copy pasted under a plain-text bounce counts too.
    const auto e = parse_fixture("exim.eml");
    EXPECT_EQ(e.original.message_id, "m3@example.org");
    EXPECT_EQ(e.original.token, "v1.exim");
}

TEST(DsnFixtures, NotABounceOneObjectNoRecords) {
    const auto b = parse_fixture("not-bounce.eml");
    EXPECT_EQ(b.kind, BounceKind::NotBounce);
    EXPECT_TRUE(b.records.empty());
}

TEST(DsnFixtures, NoneOfTheNonBouncesIsHard) {
    for (const char* name : {"arf.eml", "vacation.eml", "delivered.eml", "delayed-crlf.eml", "gmail-delay.eml"}) {
        const auto b = parse_fixture(name);
        ASSERT_FALSE(b.records.empty()) << name;
        for (const auto& r : b.records) {
            if (b.kind == BounceKind::Feedback) {
                EXPECT_EQ(r.verdict.category, Category::Complaint) << name;
            } else {
                EXPECT_NE(r.verdict.decision, Decision::Hard) << name;
                EXPECT_NE(r.verdict.decision, Decision::Soft) << name;
            }
        }
    }
    EXPECT_EQ(parse_fixture("vacation.eml").records[0].verdict.category, Category::AutoReply);
    EXPECT_EQ(parse_fixture("delivered.eml").records[0].verdict.category, Category::Delivered);
}

}  // namespace bg
