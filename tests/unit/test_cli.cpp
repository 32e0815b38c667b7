// Tests of the CLI: the subcommands over streams, and the real binary's exit codes.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "commands.hpp"
#include "store/suppression_store.hpp"

namespace bg::cli {

namespace {

const RuleSet& defaults() {
    static const auto rs = RuleSet::with_defaults({}).value();
    return *rs;
}

struct Run {
    int status;
    std::string out;
};

// Runs the real binary through the shell; returns its exit status and stdout.
Run run_cli(const std::string& args, const std::string& stdin_text = "") {
    // One input file per call: ctest runs the tests of this binary in parallel processes.
    static int calls = 0;
    const std::string in = ::testing::TempDir() + "bg_cli_in_" + std::to_string(::getpid()) + "_" +
                           std::to_string(++calls) + ".txt";
    std::ofstream(in) << stdin_text;
    const std::string cmd = std::string(BG_CLI_PATH) + " " + args + " < " + in + " 2>/dev/null";
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    std::size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int rc = pclose(p);
    std::remove(in.c_str());
    return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, out};
}

}  // namespace

TEST(CliClassify, OneJsonObjectPerReplyLine) {
    std::istringstream in("550 5.1.1 <a@example.com>: Recipient address rejected: User unknown\n\n"
                          "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org\n");
    std::ostringstream out, err;
    ASSERT_EQ(run_classify(in, out, err, defaults(), {}), 0);
    std::istringstream lines(out.str());
    std::string line;
    std::vector<nlohmann::json> objs;
    while (std::getline(lines, line)) objs.push_back(nlohmann::json::parse(line));
    ASSERT_EQ(objs.size(), 2u);
    EXPECT_EQ(objs[0]["category"], "user_unknown");
    EXPECT_EQ(objs[0]["blame"], "recipient");
    EXPECT_EQ(objs[0]["decision"], "hard");
    EXPECT_EQ(objs[0]["reply_code"], "550");
    EXPECT_EQ(objs[0]["status"], "5.1.1");
    EXPECT_EQ(objs[0]["rule"], "user_unknown.text");
    EXPECT_EQ(objs[1]["category"], "blocklisted");
    EXPECT_EQ(objs[1]["decision"], "none");
}

TEST(CliClassify, JsonInputWithStageAndErrors) {
    std::istringstream in(R"({"reply":"550 5.1.1 user unknown","stage":"mail"})" "\n"
                          "not json\n"
                          R"({"reply":"452 4.2.2 mailbox full"})" "\n");
    std::ostringstream out, err;
    EXPECT_EQ(run_classify(in, out, err, defaults(), ClassifyOptions{true, std::nullopt, max_reply_bytes}), 1);
    std::istringstream lines(out.str());
    std::string a, b, c;
    std::getline(lines, a);
    std::getline(lines, b);
    std::getline(lines, c);
    EXPECT_EQ(nlohmann::json::parse(a)["category"], "sender_rejected");
    EXPECT_EQ(nlohmann::json::parse(b)["error"], "not a JSON object");
    EXPECT_EQ(nlohmann::json::parse(c)["category"], "mailbox_full");
    EXPECT_NE(err.str().find("line 2"), std::string::npos);
}

TEST(CliClassify, HostileLinesStillAnswer) {
    std::string input = "550 5.1.1 " + std::string(3 << 20, 'x') + "\n";  // a 3 MB line
    input += std::string("550 5.1.1 bad \xff\xfe bytes\n");
    input += std::string("\0\0\0", 3) + "\n";
    std::istringstream in(input);
    std::ostringstream out, err;
    run_classify(in, out, err, defaults(), {});
    std::istringstream lines(out.str());
    std::string line;
    int n = 0;
    while (std::getline(lines, line)) {
        auto j = nlohmann::json::parse(line);  // valid JSON even for invalid UTF-8 input
        ++n;
        if (n == 1) {
            EXPECT_EQ(j["truncated"], true);
        }
    }
    EXPECT_EQ(n, 3);
}

TEST(CliExplain, SaysWhatWhoseSideDecisionRuleAdvice) {
    std::ostringstream out, err;
    ASSERT_EQ(run_explain("554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
                          std::nullopt, out, err, defaults(), 16384),
              0);
    const std::string s = out.str();
    for (const char* want : {"Category:   blocklisted", "Whose side: reputation", "Decision:   none",
                             "Rule:       blocklisted.list", "Advice:"})
        EXPECT_NE(s.find(want), std::string::npos) << want << "\n" << s;
}

TEST(CliBinary, ExitCodes) {
    EXPECT_EQ(run_cli("explain '550 5.1.1 user unknown'").status, 0);
    EXPECT_EQ(run_cli("").status, 2);                                   // no subcommand
    EXPECT_EQ(run_cli("frobnicate").status, 2);                         // unknown subcommand
    EXPECT_EQ(run_cli("explain").status, 2);                            // missing argument
    EXPECT_EQ(run_cli("explain ''").status, 2);                         // empty reply
    EXPECT_EQ(run_cli("--config /nonexistent.toml check-config").status, 2);
    EXPECT_EQ(run_cli("--store ftp://x check-config").status, 2);
    EXPECT_EQ(run_cli("classify --stage quit").status, 2);
    EXPECT_EQ(run_cli("--help").status, 0);
    auto ok = run_cli("--config " + std::string(BG_SOURCE_DIR) + "/conf/bounceguard.toml check-config");
    EXPECT_EQ(ok.status, 0);
    EXPECT_NE(ok.out.find(": OK"), std::string::npos);

    const std::string bad = ::testing::TempDir() + "bg_bad_" + std::to_string(::getpid()) + ".toml";
    std::ofstream(bad) << "[log]\nlevel = \"loud\"\n";
    EXPECT_EQ(run_cli("--config " + bad + " check-config").status, 2);

    auto c = run_cli("classify", "452 4.2.2 Mailbox full\n");
    EXPECT_EQ(c.status, 0);
    EXPECT_EQ(nlohmann::json::parse(c.out)["decision"], "soft");
    auto d = run_cli("dump-config");
    EXPECT_EQ(d.status, 0);
    EXPECT_NE(d.out.find("max_reply_bytes = 16384"), std::string::npos);
}

TEST(CliStore, AddShowListIngestRemove) {
    const std::string db = ::testing::TempDir() + "bg_cli_store_" + std::to_string(::getpid()) + ".db";
    std::remove(db.c_str());
    const std::string store = "--store sqlite:" + db + " ";
    EXPECT_EQ(run_cli(store + "add --note 'asked us' Joe@Example.COM").status, 0);
    EXPECT_EQ(run_cli(store + "add --reason nosuch joe@example.com").status, 2);
    EXPECT_EQ(run_cli(store + "add -", "a@example.org\n# comment\n\nb@example.org\n").out, "added 2 entries\n");

    auto shown = run_cli(store + "show --json joe@example.com");
    ASSERT_EQ(shown.status, 0);
    auto j = nlohmann::json::parse(shown.out);
    EXPECT_EQ(j["address"], "joe@example.com");
    EXPECT_EQ(j["suppressed"], true);
    EXPECT_EQ(j["category"], "user_unknown");
    EXPECT_TRUE(j["expires"].is_null());
    EXPECT_EQ(j["reason"], "asked us");
    ASSERT_EQ(j["evidence"].size(), 1u);
    EXPECT_EQ(j["evidence"][0]["source"], "manual");

    // A bounce teaches: the dead address is suppressed, the full mailbox only counted.
    auto ing = run_cli(store + "ingest " + std::string(BG_SOURCE_DIR) + "/tests/corpus/dsn/postfix.eml");
    EXPECT_EQ(ing.status, 0);
    EXPECT_NE(ing.out.find("bob@example.net user_unknown suppress"), std::string::npos) << ing.out;
    EXPECT_NE(ing.out.find("carol@example.net mailbox_full count"), std::string::npos) << ing.out;
    auto bob = nlohmann::json::parse(run_cli(store + "show --json bob@example.net").out);
    EXPECT_EQ(bob["suppressed"], true);
    EXPECT_EQ(bob["evidence"][0]["status"], "5.1.1");
    EXPECT_EQ(bob["evidence"][0]["stage"], "rcpt");
    EXPECT_EQ(nlohmann::json::parse(run_cli(store + "show --json carol@example.net").out)["suppressed"], false);

    auto listed = run_cli(store + "list --json --category user_unknown");
    EXPECT_EQ(std::count(listed.out.begin(), listed.out.end(), '\n'), 4);
    EXPECT_EQ(run_cli(store + "list --category nosuch").status, 2);

    EXPECT_EQ(run_cli(store + "remove --reason 'customer called' bob@example.net").out, "removed bob@example.net\n");
    EXPECT_EQ(run_cli(store + "remove bob@example.net").out, "not suppressed: bob@example.net\n");
    EXPECT_EQ(nlohmann::json::parse(run_cli(store + "show --json bob@example.net").out)["suppressed"], false);
    EXPECT_EQ(run_cli(store + "show not-an-address").status, 2);
    const std::string schema = std::to_string(migrations().back().version);
    EXPECT_EQ(run_cli(store + "stats").out.rfind("store:         sqlite, schema " + schema + "\n", 0), 0u);
    EXPECT_EQ(run_cli("--store sqlite:/nonexistent/dir/x.db stats").status, 1);
    std::remove(db.c_str());
}

}  // namespace bg::cli
