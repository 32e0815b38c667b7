// Tests of `report`, `export` and `import` (store_io.hpp) over a private SQLite store, with the
// sample exports of tests/corpus/import (written after the hosted senders' documented columns),
// the CSV reader, the time forms, and the Postfix access table through the real postmap.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

#include "csv.hpp"
#include "store_io.hpp"
#include "time_text.hpp"

namespace bg::cli {

namespace {

namespace fs = std::filesystem;

const RuleSet& rules() {
    static const auto rs = RuleSet::with_defaults({}).value();
    return *rs;
}

constexpr UnixTime now = 1'764'000'000;  // 2025-11-24

// A fresh directory for one test, removed at the end.
class TempStore {
public:
    TempStore() {
        static int n = 0;
        dir_ = fs::path(::testing::TempDir()) / ("bg_store_io_" + std::to_string(::getpid()) + "_" + std::to_string(++n));
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        auto s = open_store("sqlite:" + (dir_ / "store.db").string());
        if (!s) throw std::runtime_error(s.error().message);
        store_ = std::move(*s);
    }
    ~TempStore() {
        store_.reset();
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    SuppressionStore& operator*() { return *store_; }
    SuppressionStore* operator->() { return store_.get(); }
    const fs::path& dir() const { return dir_; }

private:
    fs::path dir_;
    std::unique_ptr<SuppressionStore> store_;
};

std::string sample(const std::string& name) { return std::string(BG_SOURCE_DIR) + "/tests/corpus/import/" + name; }

struct ImportRun {
    int status;
    std::string out, err;
};

ImportRun import_text(SuppressionStore& store, const std::string& text, ImportOptions o,
                      const PolicyConfig& policy = PolicyConfig{}) {
    std::istringstream in(text);
    std::ostringstream out, err;
    const int rc = run_import(store, policy, rules(), o, in, out, err, now);
    return {rc, out.str(), err.str()};
}

ImportRun import_file(SuppressionStore& store, const std::string& name, const std::string& format,
                      std::optional<ImportKind> kind = std::nullopt) {
    std::ifstream f(sample(name), std::ios::binary);
    EXPECT_TRUE(f) << name;
    std::stringstream ss;
    ss << f.rdbuf();
    ImportOptions o;
    o.format = format;
    o.kind = kind;
    return import_text(store, ss.str(), o);
}

std::optional<Suppression> entry(SuppressionStore& store, const std::string& key) {
    auto g = store.get(key);
    EXPECT_TRUE(g) << g.error().message;
    return g ? *g : std::nullopt;
}

Suppression make(std::string key, Category c, UnixTime seen, UnixTime expires, std::string reason) {
    Suppression s;
    s.key = std::move(key);
    s.category = c;
    s.first_seen = seen;
    s.last_seen = seen + 60;
    s.count = 2;
    s.expires = expires;
    s.added_by = "operator:ann";
    s.reason = std::move(reason);
    return s;
}

std::string export_text(SuppressionStore& store, ExportFormat f, int* status = nullptr) {
    std::ostringstream out, err;
    ListFilter filter;
    filter.now = now;
    const int rc = run_export(store, default_config(), f, filter, out, err, now);
    if (status) *status = rc;
    else EXPECT_EQ(rc, 0) << err.str();
    return out.str();
}

}  // namespace

TEST(Csv, QuotesCrlfMultilineBomAndCaps) {
    std::istringstream in("\xEF\xBB\xBFkey,reason\r\n"
                          "a@x.example,\"said \"\"no\"\", twice\"\r\n"
                          "b@x.example,\"two\nlines\"\n"
                          "\n"
                          "c@x.example,\n"
                          "d@x.example,\"" + std::string(200, 'y') + "\"\n"
                          "e@x.example,\"never closed\n");
    CsvReader csv(in, 100, 8);
    std::vector<std::string> f;
    ASSERT_TRUE(csv.next(f));
    EXPECT_EQ(f, (std::vector<std::string>{"key", "reason"}));  // the byte order mark is skipped
    ASSERT_TRUE(csv.next(f));
    EXPECT_EQ(f, (std::vector<std::string>{"a@x.example", "said \"no\", twice"}));
    EXPECT_EQ(csv.line(), 2);
    ASSERT_TRUE(csv.next(f));
    EXPECT_EQ(f, (std::vector<std::string>{"b@x.example", "two\nlines"}));
    EXPECT_EQ(csv.line(), 3);
    ASSERT_TRUE(csv.next(f));  // the blank line
    EXPECT_EQ(f, (std::vector<std::string>{""}));
    ASSERT_TRUE(csv.next(f));
    EXPECT_EQ(f, (std::vector<std::string>{"c@x.example", ""}));
    EXPECT_EQ(csv.line(), 6);
    ASSERT_TRUE(csv.next(f));  // over the 100-byte cap: reported, not cut into another value
    EXPECT_TRUE(f.empty());
    EXPECT_NE(csv.error().find("longer than 100"), std::string::npos);
    EXPECT_EQ(csv.line(), 7);
    ASSERT_TRUE(csv.next(f));
    EXPECT_TRUE(f.empty());
    EXPECT_NE(csv.error().find("not closed"), std::string::npos);
    EXPECT_FALSE(csv.next(f));

    std::istringstream many(std::string(20, ',') + "\nok@x.example\n");
    CsvReader capped(many, 1000, 8);
    ASSERT_TRUE(capped.next(f));
    EXPECT_NE(capped.error().find("more than 8 fields"), std::string::npos);
    ASSERT_TRUE(capped.next(f));
    EXPECT_EQ(f, (std::vector<std::string>{"ok@x.example"}));

    EXPECT_EQ(csv_field("plain"), "plain");
    EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
    EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    EXPECT_EQ(csv_field(" edge"), "\" edge\"");
}

TEST(TimeText, ExportForms) {
    const UnixTime t = 1'700'000'000;  // 2023-11-14T22:13:20Z
    EXPECT_EQ(iso_time(t), "2023-11-14T22:13:20Z");
    EXPECT_EQ(iso_time(0), "");
    struct Case {
        const char* text;
        std::optional<UnixTime> want;
    } cases[] = {
        {"1700000000", t},
        {"1700000000123", t},
        {"2023-11-14T22:13:20Z", t},
        {"2023-11-14T22:13:20.123000+00:00", t},
        {"2023-11-14T17:13:20-05:00", t},
        {"2023-11-14T23:13:20+0100", t},
        {"2023-11-14 22:13:20", t},
        {"2023-11-14", t - (22 * 3600 + 13 * 60 + 20)},
        {"Tue, 14 Nov 2023 22:13:20 UTC", t},
        {"Tue, 14 Nov 2023 22:13:20 GMT", t},
        {"14 Nov 2023 23:13:20 +0100", t},
        {"  2023-11-14T22:13:20Z  ", t},
        {"", std::nullopt},
        {"yesterday", std::nullopt},
        {"2023-13-14", std::nullopt},
        {"2023-11-14T25:00:00Z", std::nullopt},
        {"2023-11-14T22:13:20 CET", std::nullopt},
        {"Tue, 14 Foo 2023 22:13:20 UTC", std::nullopt},
        {"99999999999999999999", std::nullopt},
    };
    for (const auto& c : cases) EXPECT_EQ(parse_time_text(c.text), c.want) << c.text;
    EXPECT_EQ(parse_since("7d", now), now - 7 * 86400);
    EXPECT_EQ(parse_since("2023-11-14", now), t - (22 * 3600 + 13 * 60 + 20));
    EXPECT_EQ(parse_since("soon", now), std::nullopt);
}

TEST(Export, CsvAndJsonRoundTripThroughImport) {
    TempStore a;
    std::vector<Suppression> entries{
        make("joe@example.com", Category::UserUnknown, 1'700'000'000, 0, "said \"gone\", twice"),
        make("@dead.example", Category::DomainUnknown, 1'700'000'100, now + 86400, "no MX"),
        make("full@example.com", Category::MailboxFull, 1'700'000'200, now + 3600, "over quota, \"twice\""),
        make("old@example.com", Category::UserUnknown, 1'600'000'000, now - 10, "expired"),
    };
    ASSERT_TRUE(a->put_all(entries));
    for (ExportFormat f : {ExportFormat::Csv, ExportFormat::Json}) {
        const std::string text = export_text(*a, f);
        EXPECT_EQ(text.find("old@example.com"), std::string::npos) << "expired entries are not exported";
        TempStore b;
        ImportOptions o;
        o.format = f == ExportFormat::Csv ? "csv" : "json";
        const auto r = import_text(*b, text, o);
        ASSERT_EQ(r.status, 0) << r.err;
        EXPECT_NE(r.out.find("3 suppressed"), std::string::npos) << r.out;
        for (std::size_t i = 0; i < 3; ++i) {
            auto got = entry(*b, entries[i].key);
            ASSERT_TRUE(got) << entries[i].key;
            Suppression want = entries[i];
            want.event_id = got->event_id;  // the import's own evidence
            EXPECT_EQ(*got, want) << o.format << " " << entries[i].key;
            EXPECT_NE(got->event_id, 0);
            if (entries[i].is_domain()) continue;
            auto ev = b->events_for(entries[i].key, 0);
            ASSERT_TRUE(ev && ev->size() == 1u);
            EXPECT_EQ((*ev)[0].source, EventSource::Import);
            EXPECT_EQ((*ev)[0].id, got->event_id);
        }
        // Exporting the imported store gives the same text (the header line of csv aside, equal).
        EXPECT_EQ(export_text(*b, f), text);
    }
}

TEST(Export, PostfixAccessTableWorksWithPostmap) {
    TempStore s;
    ASSERT_TRUE(s->put_all(std::vector<Suppression>{
        make("joe@example.com", Category::UserUnknown, 1'700'000'000, 0, "gone"),
        make("@dead.example", Category::DomainUnknown, 1'700'000'000, 0, "no MX"),
        make("\"john smith\"@example.com", Category::UserUnknown, 1'700'000'000, 0, "quoted"),
    }));
    int status = 0;
    const std::string table = export_text(*s, ExportFormat::Postfix, &status);
    EXPECT_EQ(status, 1) << "the quoted local part with a space cannot be a table key";
    EXPECT_EQ(table.find("john smith"), std::string::npos);
    EXPECT_NE(table.find("\ndead.example 550 5.1.2 "), std::string::npos) << table;

    // The real postmap builds it and answers lookups the way check_recipient_access makes them.
    const fs::path conf = s.dir() / "postfix";
    fs::create_directories(conf);
    std::ofstream(conf / "main.cf") << "";
    std::ofstream(s.dir() / "access") << table;
    const std::string postmap = fs::exists("/usr/sbin/postmap") ? "/usr/sbin/postmap" : "postmap";
    const std::string base = postmap + " -c " + conf.string();
    const std::string map = "hash:" + (s.dir() / "access").string();
    ASSERT_EQ(std::system((base + " " + map + " 2>&1").c_str()), 0) << "postmap could not build the table";
    auto query = [&](const std::string& key) {
        const std::string cmd = base + " -q '" + key + "' " + map + " 2>/dev/null";
        FILE* p = popen(cmd.c_str(), "r");
        std::string out;
        char buf[512];
        std::size_t n;
        while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
        const int rc = pclose(p);
        return std::make_pair(WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, out);
    };
    auto joe = query("joe@example.com");
    EXPECT_EQ(joe.first, 0);
    EXPECT_EQ(joe.second.rfind("550 5.1.1 ", 0), 0u) << joe.second;
    EXPECT_NE(joe.second.find("joe@example.com"), std::string::npos);
    auto upper = query("JOE@Example.COM");  // Postfix folds the lookup key, as the store does
    EXPECT_EQ(upper.first, 0);
    auto dead = query("dead.example");  // the domain step of check_recipient_access
    EXPECT_EQ(dead.first, 0);
    EXPECT_EQ(dead.second.rfind("550 5.1.2 ", 0), 0u) << dead.second;
    EXPECT_EQ(query("jim@example.com").first, 1);  // not found
    EXPECT_EQ(query("example.com").first, 1);
}

TEST(Import, SendGridBouncesAreClassifiedNotTakenBlindly) {
    TempStore s;
    const auto r = import_file(*s, "sendgrid_bounces.csv", "sendgrid");
    EXPECT_EQ(r.status, 1);  // two bad rows
    EXPECT_NE(r.err.find("line 6: 'not-an-address'"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("line 7: no address"), std::string::npos) << r.err;
    EXPECT_NE(r.out.find("6 rows; 2 suppressed"), std::string::npos) << r.out;
    auto gone = entry(*s, "gone@example.com");
    ASSERT_TRUE(gone);
    EXPECT_EQ(gone->category, Category::UserUnknown);
    EXPECT_EQ(gone->first_seen, 1'700'000'000);
    EXPECT_EQ(gone->added_by, "import:sendgrid");
    auto ev = s->events_for("gone@example.com", 0);
    ASSERT_TRUE(ev && ev->size() == 1u);
    EXPECT_EQ((*ev)[0].reply_code, 550);
    EXPECT_EQ((*ev)[0].status, "5.1.1");
    EXPECT_EQ((*ev)[0].source, EventSource::Import);
    // Our blocklisting and a full mailbox are evidence, never a suppression.
    EXPECT_FALSE(entry(*s, "listed@example.net"));
    auto listed = s->events_for("listed@example.net", 0);
    ASSERT_TRUE(listed && listed->size() == 1u);
    EXPECT_EQ((*listed)[0].category, Category::Blocklisted);
    EXPECT_FALSE(entry(*s, "full@example.com"));
    EXPECT_EQ((*s->events_for("full@example.com", 0))[0].category, Category::MailboxFull);
    // No SMTP reply, only the provider's word: a hard bounce.
    auto nocode = entry(*s, "nocode@example.org");
    ASSERT_TRUE(nocode);
    EXPECT_EQ(nocode->category, Category::UserUnknown);
    EXPECT_EQ(nocode->first_seen, 1'700'000'000);
}

TEST(Import, SendGridBlocksSuppressOnlyRecipientVerdicts) {
    TempStore s;
    ImportOptions o;
    o.format = "sendgrid";
    o.kind = ImportKind::Block;
    const auto r = import_text(*s,
                               "email,created,reason,status\n"
                               "a@example.com,1700000000,\"550 5.7.1 Message rejected as spam\",5.7.1\n"
                               "b@example.com,1700000000,\"something odd happened\",\n"
                               "c@example.com,1700000000,\"550 5.1.1 No such user here\",5.1.1\n",
                               o);
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_FALSE(entry(*s, "a@example.com"));
    EXPECT_FALSE(entry(*s, "b@example.com"));  // unknown: a block is more likely about us
    EXPECT_TRUE(entry(*s, "c@example.com"));
    EXPECT_EQ(s->events_for("b@example.com", 0)->size(), 1u);
}

TEST(Import, HostedListsMapToDocumentedCategories) {
    struct Case {
        const char* file;
        const char* format;
        const char* key;
        Category want;
        UnixTime first_seen;  // 0: the time of the import
    } cases[] = {
        {"sendgrid_spam_reports.csv", "sendgrid", "angry@example.com", Category::Complaint, 1'700'000'000},
        {"sendgrid_unsubscribes.csv", "sendgrid", "leaver@example.com", Category::Complaint, 1'700'000'000},
        {"mailgun_bounces.csv", "mailgun", "nouser@example.com", Category::UserUnknown, 1'700'000'000},
        {"mailgun_bounces.csv", "mailgun", "@dead.example", Category::DomainUnknown, 1'700'000'001},
        {"mailgun_bounces.csv", "mailgun", "plain@example.com", Category::UserUnknown, 0},
        {"mailgun_complaints.csv", "mailgun", "spam-clicker@example.com", Category::Complaint, 1'700'000'000},
        {"mailgun_unsubscribes.csv", "mailgun", "bye@example.com", Category::Complaint, 1'700'000'000},
        {"ses_suppressed_destinations.json", "ses", "bounced@example.com", Category::UserUnknown, 1'700'000'000},
        {"ses_suppressed_destinations.json", "ses", "complained@example.com", Category::Complaint, 1'700'000'000},
        {"ses_import.csv", "ses", "bounced2@example.com", Category::UserUnknown, 0},
        {"ses_import.csv", "ses", "complained2@example.com", Category::Complaint, 0},
        {"postmark_dump.json", "postmark", "hard@example.com", Category::UserUnknown, 1'700'000'000},
        {"postmark_dump.json", "postmark", "spam@example.com", Category::Complaint, 1'700'000'000},
        {"postmark_dump.json", "postmark", "manual@example.com", Category::Complaint, 1'700'000'000},
        {"mailchimp_cleaned.csv", "mailchimp", "cleaned@example.com", Category::UserUnknown, 1'700'000'000},
        {"mailchimp_unsubscribed.csv", "mailchimp", "unsub@example.com", Category::Complaint, 1'700'000'000},
    };
    for (const auto& c : cases) {
        TempStore s;
        const auto r = import_file(*s, c.file, c.format);
        auto got = entry(*s, c.key);
        ASSERT_TRUE(got) << c.file << " " << c.key << "\n" << r.out << r.err;
        EXPECT_EQ(got->category, c.want) << c.file << " " << c.key;
        EXPECT_EQ(got->first_seen, c.first_seen ? c.first_seen : now) << c.file << " " << c.key;
        EXPECT_EQ(got->added_by, std::string("import:") + c.format);
        const PolicyConfig policy;  // named: for_category() points into it
        const CategoryPolicy* p = policy.for_category(c.want);
        ASSERT_NE(p, nullptr);
        EXPECT_EQ(got->expires, p->ttl ? now + p->ttl : 0) << "the category's TTL, from the import";
    }
    TempStore s;
    const auto ses = import_file(*s, "ses_suppressed_destinations.json", "ses");
    EXPECT_EQ(ses.status, 1);
    EXPECT_NE(ses.err.find("entry 3: SES reason"), std::string::npos) << ses.err;
    const auto mc = import_file(*s, "mailchimp_unsubscribed.csv", "mailchimp");
    EXPECT_EQ(mc.status, 0) << mc.err;
    EXPECT_NE(entry(*s, "unsub@example.com")->reason.find("I no longer want"), std::string::npos);
}

TEST(Import, DryRunAllowListsExistingEntriesAndSkippedUnsubscribes) {
    TempStore s;
    const std::string text = "address,tags,created_at\n"
                             "bye@example.com,*,\"Tue, 14 Nov 2023 22:13:20 UTC\"\n"
                             "postmaster@our.example,*,\n"
                             "bye@example.com,*,\n"
                             "kept@example.com,*,\n";
    ImportOptions o;
    o.format = "mailgun";
    o.dry_run = true;
    PolicyConfig policy;
    policy.own_domains = {"our.example"};
    auto r = import_text(*s, text, o, policy);
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("would import"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("2 suppressed"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("1 allow-listed"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("1 duplicates"), std::string::npos) << r.out;
    EXPECT_EQ(s->stats()->suppressions, 0);
    EXPECT_EQ(s->stats()->events, 0);

    // An entry already there keeps what it has.
    Suppression existing = make("kept@example.com", Category::UserUnknown, 1'600'000'000, 0, "ours");
    ASSERT_TRUE(s->put(existing));
    o.dry_run = false;
    r = import_text(*s, text, o, policy);
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("1 already suppressed"), std::string::npos) << r.out;
    EXPECT_EQ(*entry(*s, "kept@example.com"), existing);
    EXPECT_FALSE(entry(*s, "postmaster@our.example"));
    EXPECT_TRUE(entry(*s, "bye@example.com"));

    TempStore t;
    o.skip_unsubscribes = true;
    r = import_text(*t, text, o, policy);
    EXPECT_EQ(r.status, 0);
    EXPECT_NE(r.out.find("4 unsubscribes skipped"), std::string::npos) << r.out;
    EXPECT_EQ(t->stats()->suppressions, 0);
}

TEST(Import, HostileAndWrongInputIsReportedNotFatal) {
    TempStore s;
    ImportOptions o;
    o.format = "csv";
    // A file of another format: no key column.
    auto r = import_text(*s, "email,created\na@example.com,1\n", o);
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("names no address column"), std::string::npos) << r.err;
    r = import_text(*s, "", o);
    EXPECT_EQ(r.status, 1);
    // Bad rows are skipped with their line; the good ones still go in, in small batches.
    o.batch = 2;
    r = import_text(*s,
                    "key,category,expires\n"
                    "a@example.com,user_unknown,\n"
                    "b@example.com,no_such_category,\n"
                    "c@example.com,user_unknown,not a time\n"
                    "\"" + std::string(70000, 'x') + "@example.com\",user_unknown,\n"
                    "d@example.com,complaint,\n"
                    "e@example.com,user_unknown,2020-01-01\n",
                    o);
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("line 3: unknown category"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("line 4: unreadable expiry"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("line 5: record longer"), std::string::npos) << r.err;
    EXPECT_NE(r.out.find("1 expired"), std::string::npos) << r.out;
    EXPECT_TRUE(entry(*s, "a@example.com"));
    EXPECT_TRUE(entry(*s, "d@example.com"));
    EXPECT_FALSE(entry(*s, "e@example.com"));
    EXPECT_EQ(s->stats()->suppressions, 2);

    o.format = "json";
    r = import_text(*s, "{\"key\":\"f@example.com\",\"category\":\"user_unknown\"}\nnot json\n[1]\n", o);
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("line 2: not a JSON object"), std::string::npos) << r.err;
    EXPECT_TRUE(entry(*s, "f@example.com"));
    o.format = "postmark";
    r = import_text(*s, "{\"Suppressions\": 5}", o);
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("no list of entries"), std::string::npos) << r.err;
}

TEST(Report, GroupsOurProblemsWithExampleAndAdvice) {
    TempStore s;
    std::vector<Event> ev;
    for (int i = 0; i < 3; ++i) {
        Event e;
        e.time = now - 3600 + i;
        e.recipient = "u" + std::to_string(i % 2) + "@big.example";
        e.source = EventSource::Maillog;
        e.reply_code = 554;
        e.status = "5.7.1";
        e.text = "Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org";
        e.stage = "rcpt";
        e.remote_mta = "mx.big.example";
        e.category = Category::Blocklisted;
        e.blame = Blame::Reputation;
        e.rule_id = "blocklisted.list";
        ev.push_back(e);
    }
    Event dead = ev[0];
    dead.category = Category::UserUnknown;
    dead.blame = Blame::Recipient;
    ev.push_back(dead);
    Event old = ev[0];
    old.time = now - 30 * 86400;
    ev.push_back(old);
    ASSERT_TRUE(s->record_events(ev));

    ReportFilter f;
    f.since = *parse_since("7d", now);
    std::ostringstream out, err;
    ASSERT_EQ(run_report(*s, f, true, out, err), 0) << err.str();
    std::istringstream lines(out.str());
    std::string line;
    std::vector<nlohmann::json> rows;
    while (std::getline(lines, line)) rows.push_back(nlohmann::json::parse(line));
    ASSERT_EQ(rows.size(), 1u) << out.str();
    EXPECT_EQ(rows[0]["domain"], "big.example");
    EXPECT_EQ(rows[0]["category"], "blocklisted");
    EXPECT_EQ(rows[0]["blame"], "reputation");
    EXPECT_EQ(rows[0]["events"], 3);
    EXPECT_EQ(rows[0]["recipients"], 2);
    EXPECT_EQ(rows[0]["first_seen"], iso_time(now - 3600));
    EXPECT_EQ(rows[0]["example"]["reply_code"], "554");
    EXPECT_EQ(rows[0]["example"]["rule"], "blocklisted.list");
    EXPECT_EQ(rows[0]["advice"], std::string(info(Category::Blocklisted).advice));

    std::ostringstream text;
    ASSERT_EQ(run_report(*s, f, false, text, err), 0);
    for (const char* want : {"big.example  blocklisted", "3 events, 2 distinct recipients", "zen.spamhaus.org",
                             "advice:  Look the IP up"})
        EXPECT_NE(text.str().find(want), std::string::npos) << want << "\n" << text.str();
    f.domain = "quiet.example";
    std::ostringstream none;
    ASSERT_EQ(run_report(*s, f, false, none, err), 0);
    EXPECT_NE(none.str().find("0 groups"), std::string::npos) << none.str();
}

TEST(StoreIoBinary, OptionsAndExitCodes) {
    TempStore s;  // a directory for the binary's own store file
    const std::string db = (s.dir() / "cli.db").string();
    const std::string in = (s.dir() / "in.csv").string();
    std::ofstream(in) << "email,created,ip\nangry@example.com,1700000000,192.0.2.1\n";
    auto run = [&](const std::string& args) {
        const std::string cmd = std::string(BG_CLI_PATH) + " --store sqlite:" + db + " " + args + " 2>/dev/null";
        FILE* p = popen(cmd.c_str(), "r");
        std::string out;
        char buf[4096];
        std::size_t n;
        while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
        const int rc = pclose(p);
        return std::make_pair(WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, out);
    };
    EXPECT_EQ(run("report --since soon").first, 2);
    EXPECT_EQ(run("export --format xml").first, 2);
    EXPECT_EQ(run("import --format xml " + in).first, 2);
    EXPECT_EQ(run("import --format sendgrid --kind nosuch " + in).first, 2);
    EXPECT_EQ(run("import").first, 2);
    EXPECT_EQ(run("import " + (s.dir() / "missing.csv").string()).first, 1);
    auto dry = run("import --format sendgrid --dry-run " + in);
    EXPECT_EQ(dry.first, 0);
    EXPECT_NE(dry.second.find("would import"), std::string::npos) << dry.second;
    EXPECT_EQ(run("export").second, "key,category,since,last_seen,expires,count,added_by,reason\n");
    EXPECT_EQ(run("import --format sendgrid - < " + in).first, 0);
    auto csv = run("export --format csv");
    EXPECT_NE(csv.second.find("angry@example.com,complaint,2023-11-14T22:13:20Z"), std::string::npos) << csv.second;
    auto report = run("report --json --since 2000-01-01");
    EXPECT_EQ(report.first, 0);
    EXPECT_EQ(report.second, "");  // a complaint is the recipient's side: nothing to report
}

}  // namespace bg::cli
