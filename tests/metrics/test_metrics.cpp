// test_metrics.cpp - the metrics registry and table (common/metrics/metrics.hpp), the text format
// renderer (golden text, escaping), counter arithmetic under threads, the textfile written
// atomically, the HTTP endpoint over a real loopback socket (exporter.hpp: 200 with the 0.0.4
// content type, 404, 405, junk, an oversized request, a silent client timed out), the counting
// the core does (record_event, Enforcer), and the Grafana dashboard (valid JSON, every metric it
// queries is in the table).
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "config/config.hpp"
#include "enforce/enforcer.hpp"
#include "metrics/exporter.hpp"
#include "metrics/metrics.hpp"
#include "policy/recorder.hpp"
#include "store/suppression_store.hpp"
#include "test_store_support.hpp"

namespace {

using namespace bg;
using namespace bg::metrics;
using namespace std::chrono_literals;

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

using bg::testing_support::TempDir;

bool is_name_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; }

bool is_name(std::string_view s) {
    if (s.empty() || !(s[0] >= 'a' && s[0] <= 'z')) return false;
    for (const char c : s)
        if (!is_name_char(c)) return false;
    return true;
}

// NAME VALUE or NAME{label="value",...} VALUE, values escaped, VALUE an integer.
bool is_sample_line(std::string_view line) {
    std::size_t i = 0;
    while (i < line.size() && is_name_char(line[i])) ++i;
    if (!is_name(line.substr(0, i)) || i == line.size()) return false;
    if (line[i] == '{') {
        ++i;
        for (;;) {
            const std::size_t start = i;
            while (i < line.size() && is_name_char(line[i])) ++i;
            if (i == start || line.substr(i, 2) != "=\"") return false;
            i += 2;
            while (i < line.size() && line[i] != '"') {
                if (line[i] == '\\') {
                    if (i + 1 >= line.size() || (line[i + 1] != '\\' && line[i + 1] != '"' && line[i + 1] != 'n'))
                        return false;
                    ++i;
                }
                if (line[i] == '\n') return false;
                ++i;
            }
            if (i >= line.size()) return false;
            ++i;  // the closing quote
            if (i < line.size() && line[i] == ',') {
                ++i;
                continue;
            }
            if (i >= line.size() || line[i] != '}') return false;
            ++i;
            break;
        }
    }
    if (i >= line.size() || line[i] != ' ') return false;
    auto value = line.substr(i + 1);
    if (value.starts_with("-")) value.remove_prefix(1);
    if (value.empty()) return false;
    for (const char c : value)
        if (c < '0' || c > '9') return false;
    return true;
}

// Every "bounceguard_..." name in a query.
std::vector<std::string> metric_names_in(std::string_view expr) {
    std::vector<std::string> out;
    for (auto p = expr.find("bounceguard_"); p != std::string_view::npos; p = expr.find("bounceguard_", p + 1)) {
        if (p > 0 && is_name_char(expr[p - 1])) continue;
        std::size_t e = p;
        while (e < expr.size() && is_name_char(expr[e])) ++e;
        out.emplace_back(expr.substr(p, e - p));
        p = e - 1;
    }
    return out;
}

TEST(MetricsTestHelpers, SampleLineAndNameScanner) {
    EXPECT_TRUE(is_sample_line("bounceguard_x_total 3"));
    EXPECT_TRUE(is_sample_line("bounceguard_x{a=\"b\\\"c\",d=\"\"} -1"));
    EXPECT_FALSE(is_sample_line("bounceguard_x{a=\"b} 3"));
    EXPECT_FALSE(is_sample_line("bounceguard_x 3.5"));
    EXPECT_FALSE(is_sample_line("Bounceguard_x 3"));
    EXPECT_EQ(metric_names_in("sum(rate(bounceguard_a_total[5m])) / bounceguard_b"),
              (std::vector<std::string>{"bounceguard_a_total", "bounceguard_b"}));
}

// --- the table -------------------------------------------------------------------------------

TEST(MetricsTable, NamesAreUniqueValidAndDocumented) {
    std::set<std::string> names;
    for (const auto& m : metric_table) {
        EXPECT_TRUE(names.insert(full_name(m)).second) << "duplicate " << full_name(m);
        EXPECT_TRUE(is_name(m.name)) << m.name;
        EXPECT_FALSE(m.name.ends_with("_total")) << m.name << ": the renderer adds _total to counters";
        EXPECT_FALSE(m.help.empty()) << m.name;
        EXPECT_EQ(m.help.find('\n'), std::string_view::npos) << m.name;
    }
    EXPECT_EQ(full_name(info(Metric::Refused)), "bounceguard_refused_total");
    EXPECT_EQ(full_name(info(Metric::Connections)), "bounceguard_connections");
}

TEST(MetricsTable, SlotIndexesAreDistinctAndInRange) {
    std::set<std::size_t> seen;
    for (std::size_t c = 0; c <= static_cast<std::size_t>(Category::Unknown); ++c)
        for (std::size_t b = 0; b <= static_cast<std::size_t>(Blame::Unknown); ++b)
            for (std::size_t s = 0; s <= static_cast<std::size_t>(EventSource::Import); ++s) {
                const auto i = index(static_cast<Category>(c), static_cast<Blame>(b), static_cast<EventSource>(s));
                EXPECT_LT(i, slots(LabelSet::CategoryBlameSource));
                EXPECT_TRUE(seen.insert(i).second);
            }
    EXPECT_EQ(seen.size(), slots(LabelSet::CategoryBlameSource));
}

// --- counter arithmetic ----------------------------------------------------------------------

TEST(MetricsRegistry, CountsAddsSetsAndIgnoresSlotsPastTheLabelSet) {
    Registry r;
    EXPECT_EQ(r.value(Metric::Refused, index(Category::UserUnknown)), 0);
    r.add(Metric::Refused, index(Category::UserUnknown));
    r.add(Metric::Refused, index(Category::UserUnknown), 4);
    r.add(Metric::Refused, index(Category::MailboxFull));
    EXPECT_EQ(r.value(Metric::Refused, index(Category::UserUnknown)), 5);
    EXPECT_EQ(r.value(Metric::Refused, index(Category::MailboxFull)), 1);
    EXPECT_EQ(r.value(Metric::WouldRefuse, index(Category::UserUnknown)), 0);  // a neighbour untouched
    r.add(Metric::Connections, 0, 3);
    r.add(Metric::Connections, 0, -2);
    EXPECT_EQ(r.value(Metric::Connections), 1);
    r.add(Metric::RecordErrors, 1);  // RecordErrors has one slot: ignored, not the next metric's
    EXPECT_EQ(r.value(Metric::RecordErrors), 0);
    EXPECT_EQ(r.value(Metric::RcptChecks, 0), 0);
    r.add(Metric::Refused, 10000);
    EXPECT_EQ(r.value(Metric::Refused, 10000), 0);
    EXPECT_EQ(r.value(Metric::BuildInfo), 1);
    EXPECT_GT(r.value(Metric::StartTimeSeconds), 1'600'000'000);
}

TEST(MetricsRegistry, ConcurrentIncrementsAreNotLost) {
    Registry r;
    constexpr int threads = 4, per_thread = 100000;
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t)
        ts.emplace_back([&] {
            for (int i = 0; i < per_thread; ++i) {
                r.add(Metric::RcptChecks, index(EnforceVerdict::Pass));
                r.add(Metric::Learned, index(Category::UserUnknown, Blame::Recipient, EventSource::Maillog));
            }
        });
    for (auto& t : ts) t.join();
    EXPECT_EQ(r.value(Metric::RcptChecks, index(EnforceVerdict::Pass)), threads * per_thread);
    EXPECT_EQ(r.value(Metric::Learned, index(Category::UserUnknown, Blame::Recipient, EventSource::Maillog)),
              threads * per_thread);
}

// --- the renderer ----------------------------------------------------------------------------

TEST(MetricsRender, GoldenTextForKnownValues) {
    Registry r;
    r.set_program("pol\"icy\\d\nx");  // escaped as a label value
    r.add(Metric::RecordErrors, 0, 7);
    r.add(Metric::RcptChecks, index(EnforceVerdict::Reject), 2);
    r.add(Metric::RcptChecks, index(EnforceVerdict::Warn));
    r.add(Metric::ConfigReloads, index(ReloadResult::Failed));
    r.add(Metric::Connections, 0, 12);
    std::string out;
    r.render(out, Metric::RecordErrors);
    r.render(out, Metric::RcptChecks);
    r.render(out, Metric::ConfigReloads);
    r.render(out, Metric::Connections);
    r.render(out, Metric::BuildInfo);
    const std::string golden =
        "# HELP bounceguard_record_errors_total events that could not be recorded because the store failed\n"
        "# TYPE bounceguard_record_errors_total counter\n"
        "bounceguard_record_errors_total 7\n"
        "# HELP bounceguard_rcpt_checks_total outbound RCPT TO recipients checked (policy daemon, milter), by "
        "verdict: pass, reject, defer, warn (would refuse), tempfail (store error under on_store_error = tempfail)\n"
        "# TYPE bounceguard_rcpt_checks_total counter\n"
        "bounceguard_rcpt_checks_total{verdict=\"pass\"} 0\n"
        "bounceguard_rcpt_checks_total{verdict=\"reject\"} 2\n"
        "bounceguard_rcpt_checks_total{verdict=\"defer\"} 0\n"
        "bounceguard_rcpt_checks_total{verdict=\"warn\"} 1\n"
        "bounceguard_rcpt_checks_total{verdict=\"tempfail\"} 0\n"
        "# HELP bounceguard_config_reloads_total configuration reloads (SIGHUP), by result; a failed one keeps the "
        "running configuration\n"
        "# TYPE bounceguard_config_reloads_total counter\n"
        "bounceguard_config_reloads_total{result=\"ok\"} 0\n"
        "bounceguard_config_reloads_total{result=\"failed\"} 1\n"
        "# HELP bounceguard_connections client connections open now (policy daemon: Postfix smtpd processes; "
        "milter: MTA connections)\n"
        "# TYPE bounceguard_connections gauge\n"
        "bounceguard_connections 12\n"
        "# HELP bounceguard_build_info always 1; the labels say the version and the program\n"
        "# TYPE bounceguard_build_info gauge\n"
        "bounceguard_build_info{version=\"" +
        std::string(version()) + "\",program=\"pol\\\"icy\\\\d\\nx\"} 1\n";
    EXPECT_EQ(out, golden);
}

TEST(MetricsRender, CategoryLabelsEveryCategoryAndLearnedShowsOtherBlamesOnlyOnceSeen) {
    Registry r;
    r.add(Metric::Refused, index(Category::DomainUnknown), 3);
    r.add(Metric::Learned, index(Category::Blocklisted, Blame::Reputation, EventSource::Maillog), 2);
    r.add(Metric::Learned, index(Category::UserUnknown, Blame::Content, EventSource::DsnRemote));
    const std::string out = r.render();
    EXPECT_NE(out.find("bounceguard_refused_total{category=\"domain_unknown\"} 3\n"), std::string::npos);
    EXPECT_NE(out.find("bounceguard_refused_total{category=\"user_unknown\"} 0\n"), std::string::npos);
    EXPECT_NE(out.find("bounceguard_refused_total{category=\"unknown\"} 0\n"), std::string::npos);
    EXPECT_NE(out.find("bounceguard_learned_total{category=\"blocklisted\",blame=\"reputation\",source=\"maillog\"} 2\n"),
              std::string::npos);
    // The taxonomy's blame of a category is always there; another one only when counted.
    EXPECT_NE(out.find("bounceguard_learned_total{category=\"user_unknown\",blame=\"recipient\",source=\"maillog\"} 0\n"),
              std::string::npos);
    EXPECT_NE(out.find("bounceguard_learned_total{category=\"user_unknown\",blame=\"content\",source=\"dsn-remote\"} 1\n"),
              std::string::npos);
    EXPECT_EQ(out.find("bounceguard_learned_total{category=\"user_unknown\",blame=\"content\",source=\"maillog\"}"),
              std::string::npos);
    // Every metric of the table has its HELP and TYPE once, in the table's order.
    std::size_t at = 0;
    for (const auto& m : metric_table) {
        const auto p = out.find("# HELP " + full_name(m) + " ", at);
        ASSERT_NE(p, std::string::npos) << full_name(m);
        EXPECT_NE(out.find("# TYPE " + full_name(m) + (m.type == Type::Counter ? " counter\n" : " gauge\n"), p),
                  std::string::npos);
        at = p;
    }
    // Every sample line is NAME{...} VALUE or NAME VALUE.
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);)
        if (!line.starts_with("#")) {
            EXPECT_TRUE(is_sample_line(line)) << line;
        }
}

TEST(MetricsRender, Escaping) {
    EXPECT_EQ(escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    EXPECT_EQ(escape_help("a\"b\\c\nd"), "a\"b\\\\c\\nd");
    EXPECT_EQ(escape_label_value("plain"), "plain");
}

// --- addresses, paths, the textfile ----------------------------------------------------------

TEST(MetricsListen, ParsesNumericAddressesOnly) {
    auto a = parse_listen("127.0.0.1:9466");
    ASSERT_TRUE(a) << a.error().message;
    EXPECT_EQ(a->host, "127.0.0.1");
    EXPECT_EQ(a->port, 9466);
    EXPECT_FALSE(a->v6);
    auto b = parse_listen("[::1]:0");
    ASSERT_TRUE(b) << b.error().message;
    EXPECT_TRUE(b->v6);
    EXPECT_EQ(b->host, "::1");
    EXPECT_TRUE(parse_listen("inet:127.0.0.1:9466"));
    for (const char* bad : {"", "9466", "localhost:9466", "127.0.0.1:", "127.0.0.1:70000", "127.0.0.1:9x",
                            "[::1]9466", "::1:9466", "[::1:9466"})
        EXPECT_FALSE(parse_listen(bad)) << bad;
}

TEST(MetricsConfig, BadListenIsAConfigurationErrorAndProgramsGetTheirOwnKeys) {
    auto bad = parse_config("[metrics]\nmilter_listen = \"localhost:9467\"\n", "t.toml");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("metrics.milter_listen"), std::string::npos) << bad.error().message;
    auto c = parse_config("[metrics]\npolicyd_listen = \"127.0.0.1:9466\"\nmilter_listen = \"127.0.0.1:9467\"\n"
                          "textfile = \"/x/bg-{program}.prom\"\ntextfile_interval = \"1m\"\n",
                          "t.toml");
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(exporter_options(c->metrics, "policyd").listen, "127.0.0.1:9466");
    EXPECT_EQ(exporter_options(c->metrics, "milter").listen, "127.0.0.1:9467");
    EXPECT_EQ(exporter_options(c->metrics, "ingest-log").listen, "");
    EXPECT_EQ(exporter_options(c->metrics, "milter").textfile, "/x/bg-milter.prom");
    EXPECT_EQ(exporter_options(c->metrics, "milter").textfile_interval, 60s);
    // The defaults export nothing.
    const Config d = default_config();
    EXPECT_TRUE(exporter_options(d.metrics, "policyd").listen.empty());
    EXPECT_TRUE(exporter_options(d.metrics, "policyd").textfile.empty());
}

TEST(MetricsTextfile, ExpandsTheProgramAndReplacesTheFileAtomically) {
    EXPECT_EQ(expand_program("/a/{program}-{program}.prom", "milter"), "/a/milter-milter.prom");
    EXPECT_EQ(expand_program("/a/b.prom", "milter"), "/a/b.prom");
    TempDir dir;
    const std::string path = dir.path() + "/bg.prom";
    ASSERT_TRUE(write_textfile(path, "first\n"));
    // A reader holding the old file keeps reading the old content: the new one is a new inode.
    std::ifstream old(path);
    struct stat before{};
    ASSERT_EQ(::stat(path.c_str(), &before), 0);
    const auto mask = ::umask(077);
    ASSERT_TRUE(write_textfile(path, "second\n"));
    ::umask(mask);
    struct stat after{};
    ASSERT_EQ(::stat(path.c_str(), &after), 0);
    EXPECT_NE(before.st_ino, after.st_ino);
    EXPECT_EQ(after.st_mode & 0777, 0644u);  // node_exporter reads it whatever the umask
    std::string line;
    std::getline(old, line);
    EXPECT_EQ(line, "first");
    EXPECT_EQ(read_file(path), "second\n");
    // Nothing else is left in the directory (no temporary file).
    std::size_t files = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++files;
    EXPECT_EQ(files, 1u);
    // A directory that does not exist is an error value, not a crash.
    auto r = write_textfile(dir.path() + "/missing/bg.prom", "x");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("cannot create"), std::string::npos);
}

// --- the HTTP endpoint -----------------------------------------------------------------------

int connect_to(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// Everything the server sends until it closes (or the timeout); `closed` says whether it closed.
std::string read_all(int fd, std::chrono::milliseconds timeout, bool* closed = nullptr) {
    std::string out;
    const auto end = std::chrono::steady_clock::now() + timeout;
    if (closed) *closed = false;
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now()).count();
        if (left <= 0) return out;
        pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
        if (::poll(&p, 1, static_cast<int>(left)) <= 0) return out;
        char buf[65536];
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
            if (closed) *closed = true;
            return out;
        }
        out.append(buf, static_cast<std::size_t>(n));
    }
}

std::string exchange(std::uint16_t port, std::string_view request, bool* closed = nullptr) {
    const int fd = connect_to(port);
    if (fd < 0) return "connect failed";
    ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    std::string out = read_all(fd, 5s, closed);
    ::close(fd);
    return out;
}

struct ExporterTest : ::testing::Test {
    Registry registry;
    std::unique_ptr<Exporter> exporter;

    void start(ExporterOptions o) {
        o.listen = "127.0.0.1:0";
        auto e = Exporter::start(registry, std::move(o), nullptr);
        ASSERT_TRUE(e) << e.error().message;
        exporter = std::move(*e);
        ASSERT_NE(exporter->port(), 0);
    }
};

TEST_F(ExporterTest, GetMetricsIs200WithTheTextFormatAndCloses) {
    start({});
    registry.add(Metric::Refused, index(Category::UserUnknown), 41);
    bool closed = false;
    const std::string r = exchange(exporter->port(), "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n", &closed);
    EXPECT_TRUE(r.starts_with("HTTP/1.1 200 OK\r\n")) << r.substr(0, 200);
    EXPECT_NE(r.find("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"), std::string::npos);
    EXPECT_NE(r.find("\r\nConnection: close\r\n"), std::string::npos);
    const auto body_at = r.find("\r\n\r\n");
    ASSERT_NE(body_at, std::string::npos);
    const std::string body = r.substr(body_at + 4);
    EXPECT_NE(r.find("Content-Length: " + std::to_string(body.size()) + "\r\n"), std::string::npos);
    EXPECT_EQ(body, registry.render());
    EXPECT_NE(body.find("bounceguard_refused_total{category=\"user_unknown\"} 41\n"), std::string::npos);
    EXPECT_TRUE(closed);
    // A query string is ignored; HEAD has the headers only.
    EXPECT_TRUE(exchange(exporter->port(), "GET /metrics?x=1 HTTP/1.0\r\n\r\n").starts_with("HTTP/1.1 200 OK"));
    const std::string head = exchange(exporter->port(), "HEAD /metrics HTTP/1.0\r\n\r\n");
    EXPECT_TRUE(head.starts_with("HTTP/1.1 200 OK"));
    EXPECT_TRUE(head.ends_with("\r\n\r\n"));
}

TEST_F(ExporterTest, OtherPathsMethodsAndJunkAreRefused) {
    start({});
    EXPECT_TRUE(exchange(exporter->port(), "GET / HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404 Not Found\r\n"));
    EXPECT_TRUE(exchange(exporter->port(), "GET /metricsx HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
    const std::string post = exchange(exporter->port(), "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    EXPECT_TRUE(post.starts_with("HTTP/1.1 405 Method Not Allowed\r\n")) << post;
    EXPECT_NE(post.find("\r\nAllow: GET, HEAD\r\n"), std::string::npos);
    bool closed = false;
    const std::string junk = exchange(exporter->port(), std::string("\x16\x03\x01\x02\0\x01\n\n", 8), &closed);
    EXPECT_TRUE(junk.starts_with("HTTP/1.1 400 Bad Request\r\n")) << junk;
    EXPECT_TRUE(closed);
    EXPECT_TRUE(exchange(exporter->port(), "GET /metrics\r\n\r\n").starts_with("HTTP/1.1 400"));
    // Still serving after all that.
    EXPECT_TRUE(exchange(exporter->port(), "GET /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 200 OK"));
}

TEST_F(ExporterTest, OversizedRequestIsRefusedAndClosed) {
    ExporterOptions o;
    o.max_request_bytes = 1024;
    start(o);
    const int fd = connect_to(exporter->port());
    ASSERT_GE(fd, 0);
    const std::string big = "GET /metrics HTTP/1.1\r\nX-Pad: " + std::string(64 * 1024, 'a');
    ::send(fd, big.data(), big.size(), MSG_NOSIGNAL);  // may stop short once the server closes
    bool closed = false;
    const std::string r = read_all(fd, 5s, &closed);
    ::close(fd);
    EXPECT_TRUE(closed);
    EXPECT_TRUE(r.empty() || r.starts_with("HTTP/1.1 431")) << r.substr(0, 100);
    EXPECT_TRUE(exchange(exporter->port(), "GET /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 200 OK"));
}

TEST_F(ExporterTest, SilentClientIsTimedOutAndDoesNotBlockTheNextScrapeForLong) {
    ExporterOptions o;
    o.io_timeout = 300ms;
    start(o);
    const int silent = connect_to(exporter->port());
    ASSERT_GE(silent, 0);
    ::send(silent, "GET /metr", 9, MSG_NOSIGNAL);  // and nothing more
    const auto t0 = std::chrono::steady_clock::now();
    bool closed = false;
    EXPECT_EQ(read_all(silent, 3s, &closed), "");
    EXPECT_TRUE(closed);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
    ::close(silent);
    EXPECT_TRUE(exchange(exporter->port(), "GET /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 200 OK"));
}

TEST(Exporter, TextfileIsWrittenPeriodicallyAndAtStop) {
    TempDir dir;
    Registry registry;
    ExporterOptions o;
    o.textfile = dir.path() + "/bg-policyd.prom";
    o.textfile_interval = 3600s;  // only the first write and the one at stop
    auto e = Exporter::start(registry, o, nullptr);
    ASSERT_TRUE(e) << e.error().message;
    for (int i = 0; i < 200 && !std::filesystem::exists(o.textfile); ++i) std::this_thread::sleep_for(10ms);
    EXPECT_NE(read_file(o.textfile).find("bounceguard_record_errors_total 0\n"), std::string::npos);
    registry.add(Metric::RecordErrors, 0, 9);
    (*e)->stop();
    EXPECT_NE(read_file(o.textfile).find("bounceguard_record_errors_total 9\n"), std::string::npos);
    EXPECT_EQ((*e)->port(), 0);
}

TEST(Exporter, AnAddressInUseIsAnErrorValue) {
    Registry registry;
    ExporterOptions o;
    o.listen = "127.0.0.1:0";
    auto first = Exporter::start(registry, o, nullptr);
    ASSERT_TRUE(first);
    o.listen = "127.0.0.1:" + std::to_string((*first)->port());
    auto second = Exporter::start(registry, o, nullptr);
    ASSERT_FALSE(second);
    EXPECT_NE(second.error().message.find("bind"), std::string::npos) << second.error().message;
}

// --- what the core counts --------------------------------------------------------------------

TEST(MetricsCore, RecordEventAndEnforcerCountIntoTheProcessRegistry) {
    TempDir dir;
    auto store = open_store("sqlite:" + dir.path() + "/s.db");
    ASSERT_TRUE(store) << store.error().message;
    Config config = default_config();
    auto& m = registry();
    const auto learned = [&](Category c, Blame b) { return m.value(Metric::Learned, index(c, b, EventSource::Maillog)); };
    const auto l0 = learned(Category::UserUnknown, Blame::Recipient);
    const auto b0 = learned(Category::Blocklisted, Blame::Reputation);
    const auto added0 = m.value(Metric::SuppressionsAdded, index(Category::UserUnknown));
    const auto ext0 = m.value(Metric::SuppressionsExtended, index(Category::UserUnknown));
    const UnixTime now = 1'800'000'000;
    Event e;
    e.time = now;
    e.recipient = "gone@example.net";
    e.source = EventSource::Maillog;
    e.category = Category::UserUnknown;
    e.blame = Blame::Recipient;
    e.rule_id = "t";
    ASSERT_TRUE(record_event(**store, config.policy, e, Decision::Hard, now));
    ASSERT_TRUE(record_event(**store, config.policy, e, Decision::Hard, now + 1));
    Event b = e;
    b.recipient = "ok@example.org";
    b.category = Category::Blocklisted;
    b.blame = Blame::Reputation;
    ASSERT_TRUE(record_event(**store, config.policy, b, Decision::None, now));
    EXPECT_EQ(learned(Category::UserUnknown, Blame::Recipient) - l0, 2);
    EXPECT_EQ(learned(Category::Blocklisted, Blame::Reputation) - b0, 1);
    EXPECT_EQ(m.value(Metric::SuppressionsAdded, index(Category::UserUnknown)) - added0, 1);
    EXPECT_EQ(m.value(Metric::SuppressionsExtended, index(Category::UserUnknown)) - ext0, 1);

    auto enforcer = Enforcer::create(config);
    ASSERT_TRUE(enforcer) << enforcer.error().message;
    const auto rej0 = m.value(Metric::RcptChecks, index(EnforceVerdict::Reject));
    const auto pass0 = m.value(Metric::RcptChecks, index(EnforceVerdict::Pass));
    const auto ref0 = m.value(Metric::Refused, index(Category::UserUnknown));
    const auto err0 = m.value(Metric::LookupErrors);
    const RcptRequest out_dead{.recipient = "gone@example.net", .client_address = "127.0.0.1"};
    const RcptRequest out_ok{.recipient = "fine@example.net", .client_address = "127.0.0.1"};
    const RcptRequest inbound{.recipient = "gone@example.net", .client_address = "192.0.2.1"};
    EXPECT_EQ(enforcer->check(**store, out_dead, now + 2).verdict, EnforceVerdict::Reject);
    EXPECT_EQ(enforcer->check(**store, out_ok, now + 2).verdict, EnforceVerdict::Pass);
    EXPECT_EQ(enforcer->check(**store, inbound, now + 2).verdict, EnforceVerdict::Pass);  // not counted
    EXPECT_EQ(enforcer->unavailable(out_ok, "down").verdict, EnforceVerdict::Pass);
    EXPECT_EQ(m.value(Metric::RcptChecks, index(EnforceVerdict::Reject)) - rej0, 1);
    EXPECT_EQ(m.value(Metric::RcptChecks, index(EnforceVerdict::Pass)) - pass0, 2);
    EXPECT_EQ(m.value(Metric::Refused, index(Category::UserUnknown)) - ref0, 1);
    EXPECT_EQ(m.value(Metric::LookupErrors) - err0, 1);
}

// --- the Grafana dashboard -------------------------------------------------------------------

void collect_exprs(const nlohmann::json& j, std::vector<std::string>& out) {
    if (j.is_object()) {
        for (const auto& [k, v] : j.items()) {
            if (k == "expr" && v.is_string()) out.push_back(v.get<std::string>());
            else collect_exprs(v, out);
        }
    } else if (j.is_array()) {
        for (const auto& v : j) collect_exprs(v, out);
    }
}

TEST(GrafanaDashboard, IsValidJsonAndQueriesOnlyMetricsOfTheTable) {
    const std::string text = read_file(std::string(BG_SOURCE_DIR) + "/conf/grafana/bounceguard-dashboard.json");
    ASSERT_FALSE(text.empty());
    nlohmann::json j;
    ASSERT_NO_THROW(j = nlohmann::json::parse(text));
    EXPECT_TRUE(j.contains("panels"));
    EXPECT_TRUE(j.contains("title"));
    std::set<std::string> known;
    for (const auto& m : metric_table) known.insert(full_name(m));
    std::vector<std::string> exprs;
    collect_exprs(j, exprs);
    ASSERT_GE(exprs.size(), 8u);
    std::set<std::string> used;
    for (const auto& e : exprs) {
        const auto names = metric_names_in(e);
        EXPECT_FALSE(names.empty()) << "a query without a bounceguard metric: " << e;
        for (const auto& n : names) {
            used.insert(n);
            EXPECT_TRUE(known.count(n)) << n << " (in " << e << ") is not in metric_table";
        }
    }
    // The panels the issue asks for are there.
    for (const char* m : {"bounceguard_refused_total", "bounceguard_would_refuse_total", "bounceguard_learned_total",
                          "bounceguard_lookup_errors_total", "bounceguard_record_errors_total",
                          "bounceguard_unverified_bounces_total", "bounceguard_breaker_held_total"})
        EXPECT_TRUE(used.count(m)) << m << " is not on the dashboard";
}

}  // namespace

namespace {

TEST(MetricsDocs, InstallMdNamesOnlyMetricsOfTheTable) {
    const std::string text = read_file(std::string(BG_SOURCE_DIR) + "/INSTALL.md");
    ASSERT_FALSE(text.empty());
    std::set<std::string> known;
    for (const auto& m : metric_table) known.insert(full_name(m));
    std::size_t named = 0;
    for (const auto& n : metric_names_in(text)) {
        if (n == "bounceguard_") continue;  // bounceguard_*.deb
        ++named;
        EXPECT_TRUE(known.count(n)) << n << " (INSTALL.md) is not in metric_table";
    }
    EXPECT_GE(named, 5u) << "INSTALL.md's Monitoring section names the metrics to alert on";
}

}  // namespace
