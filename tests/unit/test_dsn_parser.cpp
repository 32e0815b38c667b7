// parse_bounce + classify_bounce on small messages, and `bounceguard parse` over files, folders,
// maildirs and mboxes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "classify/classifier.hpp"
#include "commands.hpp"
#include "dsn/bounce_parser.hpp"

namespace bg {

namespace {

const RuleSet& rules() {
    static const auto rs = RuleSet::with_defaults({}).value();
    return *rs;
}

const std::string postfix_dsn =
    "From: MAILER-DAEMON@mx.example.org (Mail Delivery System)\n"
    "Subject: Undelivered Mail Returned to Sender\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n"
    "\n"
    "--B\n"
    "Content-Type: text/plain\n"
    "\n"
    "<u@example.net>: host mx.example.net[192.0.2.1] said: 550 5.1.1 <u@example.net>:\n"
    "    Recipient address rejected: User unknown (in reply to RCPT TO command)\n"
    "\n"
    "--B\n"
    "Content-Type: message/delivery-status\n"
    "\n"
    "Reporting-MTA: dns; mx.example.org\n"
    "\n"
    "Final-Recipient: rfc822; u@example.net\n"
    "Action: failed\n"
    "Status: 5.1.1\n"
    "Remote-MTA: dns; mx.example.net\n"
    "Diagnostic-Code: smtp; 550 5.1.1 <u@example.net>: Recipient address rejected:\n"
    "    User unknown\n"
    "\n"
    "--B--\n";

std::string with_line_ends(std::string s, std::string_view eol) {
    std::string out;
    for (char c : s) {
        if (c == '\n') out += eol;
        else out += c;
    }
    return out;
}

ParsedBounce parsed(std::string_view raw) {
    auto b = parse_bounce(raw);
    EXPECT_TRUE(b) << (b ? "" : b.error().message);
    if (!b) return {};
    classify_bounce(*b, rules());
    return std::move(*b);
}

}  // namespace

TEST(DsnParser, SameRecordsForLfCrlfAndCr) {
    const auto lf = parsed(postfix_dsn);
    ASSERT_EQ(lf.records.size(), 1u);
    EXPECT_EQ(lf.kind, BounceKind::Dsn);
    for (std::string_view eol : {"\r\n", "\r"}) {
        const auto other = parsed(with_line_ends(postfix_dsn, eol));
        ASSERT_EQ(other.records.size(), 1u);
        EXPECT_EQ(other.records[0].recipient, lf.records[0].recipient);
        EXPECT_EQ(other.records[0].diagnostic, lf.records[0].diagnostic);
        EXPECT_EQ(other.records[0].reply, lf.records[0].reply);
        EXPECT_EQ(other.records[0].verdict, lf.records[0].verdict);
    }
}

TEST(DsnParser, VerdictIsTheSameAsForTheReplyAlone) {
    const auto b = parsed(postfix_dsn);
    ASSERT_EQ(b.records.size(), 1u);
    const auto& r = b.records[0];
    EXPECT_EQ(r.stage, SmtpStage::Rcpt);  // from "(in reply to RCPT TO command)" in the text part
    auto alone = parse_reply(r.diagnostic);
    ASSERT_TRUE(alone);
    alone->stage = SmtpStage::Rcpt;
    alone->remote_host = r.reply.remote_host;
    EXPECT_EQ(classify(*alone, rules()), r.verdict);
    EXPECT_EQ(r.reply.code, 550);
    EXPECT_EQ(r.reply.status->to_string(), "5.1.1");
}

TEST(DsnParser, StatusFieldFillsAMissingStatus) {
    std::string m = postfix_dsn;
    m.replace(m.find("Diagnostic-Code: smtp; 550 5.1.1"), 32, "Diagnostic-Code: smtp; 550");
    const auto b = parsed(m);
    ASSERT_EQ(b.records.size(), 1u);
    ASSERT_TRUE(b.records[0].reply.status);
    EXPECT_EQ(b.records[0].reply.status->to_string(), "5.1.1");
}

TEST(DsnParser, LeadingMboxFromLineIsSkipped) {
    const auto b = parsed("From MAILER-DAEMON Mon Jan  1 00:00:00 2024\n" + postfix_dsn);
    ASSERT_EQ(b.records.size(), 1u);
}

TEST(DsnParser, DelayedAndDeliveredAreNeverSuppressions) {
    std::string delayed = postfix_dsn;
    delayed.replace(delayed.find("Action: failed"), 14, "Action: delayed");
    auto b = parsed(delayed);
    ASSERT_EQ(b.records.size(), 1u);
    EXPECT_EQ(b.records[0].verdict.decision, Decision::None);
    EXPECT_FALSE(b.records[0].verdict.adjustment.empty());
    std::string delivered = postfix_dsn;
    delivered.replace(delivered.find("Action: failed"), 14, "Action: relayed");
    b = parsed(delivered);
    ASSERT_EQ(b.records.size(), 1u);
    EXPECT_EQ(b.records[0].verdict.category, Category::Delivered);
}

namespace {

namespace fs = std::filesystem;

struct CliRun {
    int status;
    std::vector<nlohmann::json> lines;
    std::string err;
};

CliRun run(const std::vector<std::string>& paths) {
    std::ostringstream out, err;
    cli::ParseOptions options;
    options.json = true;
    CliRun r{cli::run_parse(paths, out, err, rules(), options), {}, err.str()};
    std::istringstream in(out.str());
    std::string line;
    while (std::getline(in, line)) r.lines.push_back(nlohmann::json::parse(line));
    return r;
}

fs::path temp_dir(const std::string& name) {
    const fs::path d = fs::path(::testing::TempDir()) / name;
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
}

void write(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

}  // namespace

TEST(CliParse, ContractFieldsAndNotBounce) {
    const auto d = temp_dir("bg_parse_files");
    write(d / "1.eml", postfix_dsn);
    write(d / "2.eml", "From: a@example.org\nTo: b@example.org\nSubject: hi\n\nhello\n");
    const auto r = run({d.string()});
    EXPECT_EQ(r.status, 0);
    ASSERT_EQ(r.lines.size(), 2u);
    for (const char* key : {"file", "recipient", "status", "reply_code", "diagnostic", "remote_mta", "category",
                            "blame", "decision", "rule"})
        EXPECT_TRUE(r.lines[0].contains(key)) << key;
    EXPECT_EQ(r.lines[0]["recipient"], "u@example.net");
    EXPECT_EQ(r.lines[0]["status"], "5.1.1");
    EXPECT_EQ(r.lines[0]["reply_code"], "550");
    EXPECT_EQ(r.lines[0]["stage"], "rcpt");
    EXPECT_EQ(r.lines[0]["action"], "failed");
    EXPECT_EQ(r.lines[1]["category"], "not_bounce");
    EXPECT_EQ(r.lines[1]["decision"], "none");
}

TEST(CliParse, BrokenAndMissingFilesDoNotStopTheRun) {
    const auto d = temp_dir("bg_parse_broken");
    write(d / "a.eml", "");
    write(d / "b.eml", postfix_dsn);
    const auto r = run({(d / "missing.eml").string(), d.string()});
    EXPECT_EQ(r.status, 1);
    ASSERT_EQ(r.lines.size(), 1u);
    EXPECT_EQ(r.lines[0]["recipient"], "u@example.net");
    EXPECT_NE(r.err.find("missing.eml"), std::string::npos);
    EXPECT_NE(r.err.find("a.eml"), std::string::npos);
}

TEST(CliParse, MaildirAndMbox) {
    const auto d = temp_dir("bg_parse_maildir");
    fs::create_directories(d / "cur");
    fs::create_directories(d / "new");
    fs::create_directories(d / "tmp");
    write(d / "cur" / "1.host:2,S", postfix_dsn);
    write(d / "new" / "2.host", postfix_dsn);
    write(d / "tmp" / "3.host", postfix_dsn);  // a delivery in progress: not read
    auto r = run({d.string()});
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(r.lines.size(), 2u);

    const auto m = temp_dir("bg_parse_mbox");
    write(m / "mbox", "From MAILER-DAEMON Mon Jan  1 00:00:00 2024\n" + postfix_dsn +
                          "\nFrom a@example.org Mon Jan  1 00:00:01 2024\nFrom: a@example.org\nSubject: hi\n\n"
                          ">From the desk of a\n\nFrom MAILER-DAEMON Mon Jan  1 00:00:02 2024\n" + postfix_dsn);
    r = run({(m / "mbox").string()});
    EXPECT_EQ(r.status, 0);
    ASSERT_EQ(r.lines.size(), 3u);
    EXPECT_EQ(r.lines[0]["message"], 1);
    EXPECT_EQ(r.lines[1]["category"], "not_bounce");
    EXPECT_EQ(r.lines[2]["message"], 3);
    EXPECT_EQ(r.lines[2]["recipient"], "u@example.net");
}

}  // namespace bg

namespace bg {
namespace {

// The human-readable part must agree with a hard record; otherwise the verdict is soft.
TEST(DsnParser, ContradictoryExplanationMakesAHardVerdictSoft) {
    const auto agree = parsed(postfix_dsn);
    ASSERT_EQ(agree.records.size(), 1U);
    EXPECT_EQ(agree.records[0].verdict.decision, Decision::Hard);

    std::string contradicted = postfix_dsn;
    const std::string human =
        "<u@example.net>: host mx.example.net[192.0.2.1] said: 550 5.1.1 <u@example.net>:\n"
        "    Recipient address rejected: User unknown (in reply to RCPT TO command)\n";
    const auto at = contradicted.find(human);
    ASSERT_NE(at, std::string::npos);
    contradicted.replace(at, human.size(), "Your message to <u> was automatically rejected:\nNot enough disk space\n");
    const auto b = parsed(contradicted);
    ASSERT_EQ(b.records.size(), 1U);
    EXPECT_EQ(b.records[0].verdict.category, Category::UserUnknown);
    EXPECT_EQ(b.records[0].verdict.decision, Decision::Soft);
    EXPECT_FALSE(b.records[0].verdict.adjustment.empty());

    // Boilerplate that names no specific reason does not weaken it.
    std::string boilerplate = postfix_dsn;
    boilerplate.replace(boilerplate.find(human), human.size(),
                        "This is the mail system at host mx.example.org.\nYour message could not be delivered.\n");
    const auto c = parsed(boilerplate);
    ASSERT_EQ(c.records.size(), 1U);
    EXPECT_EQ(c.records[0].verdict.decision, Decision::Hard);
}

}  // namespace
}  // namespace bg
