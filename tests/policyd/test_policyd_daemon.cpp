// test_policyd_daemon.cpp - the real bounceguard-policyd binary over real sockets (TCP on a port
// it picks on 127.0.0.1, and a unix socket in a temporary directory): captured Postfix 3.7
// requests, pipelining, many connections at once, a request split into one-byte TCP segments,
// a 1 MB line, junk bytes, a silent client, a client that leaves mid-request, the connection
// cap, SIGHUP reload on a live connection, SIGTERM, a store that cannot be opened, the spawn
// mode and the privilege drop. Every test starts its own daemon and stops it.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "store/suppression_store.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string fixture(const std::string& name) {
    return read_file(std::string(BG_SOURCE_DIR) + "/tests/policyd/fixtures/" + name);
}

// The captured request with another recipient (and optionally another client address).
std::string with_recipient(std::string req, const std::string& rcpt) {
    const auto p = req.find("\nrecipient=");
    const auto e = req.find('\n', p + 1);
    return req.replace(p + 1, e - p - 1, "recipient=" + rcpt);
}

size_t count_of(const std::string& hay, const std::string& needle) {
    size_t n = 0;
    for (auto p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
    return n;
}

class TempDir {
public:
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "bg-policyd-XXXXXX").string();
        path_ = ::mkdtemp(tmpl.data());
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

// A client connection with its own read buffer.
class Client {
public:
    static Client tcp(int port) {
        Client c;
        c.fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(static_cast<uint16_t>(port));
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(c.fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) c.close();
        const int one = 1;
        if (c.ok()) ::setsockopt(c.fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        return c;
    }
    static Client unix_socket(const std::string& path) {
        Client c;
        c.fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path.c_str());
        if (::connect(c.fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) c.close();
        return c;
    }
    Client() = default;
    Client(Client&& o) noexcept : fd_(std::exchange(o.fd_, -1)), buf_(std::move(o.buf_)) {}
    Client& operator=(Client&& o) noexcept {
        close();
        fd_ = std::exchange(o.fd_, -1);
        buf_ = std::move(o.buf_);
        return *this;
    }
    ~Client() { close(); }
    bool ok() const { return fd_ >= 0; }
    void close() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }
    void shutdown_write() { ::shutdown(fd_, SHUT_WR); }
    bool send(std::string_view data) {
        while (!data.empty()) {
            const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
            if (n <= 0) return false;
            data.remove_prefix(static_cast<size_t>(n));
        }
        return true;
    }
    // The next answer without its "\n\n" ("action=DUNNO"), or "" on EOF/timeout.
    std::string answer(std::chrono::milliseconds timeout = 5000ms) {
        const auto end = Clock::now() + timeout;
        for (;;) {
            if (const auto p = buf_.find("\n\n"); p != std::string::npos) {
                std::string a = buf_.substr(0, p);
                buf_.erase(0, p + 2);
                return a;
            }
            if (!fill(end)) return "";
        }
    }
    // True when the daemon closes the connection before the timeout (reading what it sends).
    bool closed_within(std::chrono::milliseconds timeout) {
        const auto end = Clock::now() + timeout;
        while (fill(end)) {
        }
        return eof_;
    }

private:
    bool fill(Clock::time_point end) {
        if (fd_ < 0 || eof_) return false;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
        if (left <= 0) return false;
        pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
        if (::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
        char b[65536];
        const ssize_t n = ::recv(fd_, b, sizeof b, 0);
        if (n <= 0) {
            eof_ = true;
            return false;
        }
        buf_.append(b, static_cast<size_t>(n));
        return true;
    }
    int fd_ = -1;
    std::string buf_;
    bool eof_ = false;
};

// bounceguard-policyd in the foreground on inet:127.0.0.1:0 and a unix socket; stderr to a file.
class Daemon {
public:
    Daemon(const std::string& dir, const std::string& toml, std::vector<std::string> extra = {},
           std::string store_uri = "", const std::string& user = "")
        : dir_(dir) {
        config_ = dir + "/policyd.toml";
        std::ofstream(config_) << "[log]\nlevel = \"debug\"\n[policyd]\nuser = \"" << user << "\"\nworkers = 2\n"
                               << toml;
        unix_path_ = dir + "/policyd.sock";
        log_path_ = dir + "/policyd.log";
        if (store_uri.empty()) store_uri = "sqlite:" + dir + "/store.db";
        std::vector<std::string> args{BG_POLICYD_PATH, "--config", config_, "--store", store_uri,
                                      "--listen", "inet:127.0.0.1:0", "--listen", "unix:" + unix_path_,
                                      "--foreground"};
        args.insert(args.end(), extra.begin(), extra.end());
        std::filesystem::remove(log_path_);  // an earlier daemon's "listening on" must not be read
        pid_ = ::fork();
        if (pid_ == 0) {
            std::vector<char*> argv;
            for (auto& a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            const int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            ::dup2(fd, 2);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        // Ready when it says where it listens.
        const auto end = Clock::now() + 10s;
        while (Clock::now() < end) {
            const std::string log = this->log();
            const auto p = log.find("listening on inet:127.0.0.1:");
            if (p != std::string::npos) {
                port_ = std::atoi(log.c_str() + p + 28);
                break;
            }
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                exited_ = true;
                status_ = status;
                break;
            }
            std::this_thread::sleep_for(10ms);
        }
    }
    ~Daemon() { stop(); }
    bool ready() const { return port_ > 0 && !exited_; }
    int port() const { return port_; }
    pid_t pid() const { return pid_; }
    const std::string& unix_path() const { return unix_path_; }
    const std::string& config_path() const { return config_; }
    std::string log() const { return read_file(log_path_); }
    bool wait_log(const std::string& needle, std::chrono::milliseconds timeout = 5000ms) const {
        const auto end = Clock::now() + timeout;
        while (Clock::now() < end) {
            if (log().find(needle) != std::string::npos) return true;
            std::this_thread::sleep_for(10ms);
        }
        return false;
    }
    // SIGTERM, then SIGKILL after 5 s; the exit status (or -1 when it had to be killed).
    int stop() {
        if (exited_) return WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
        ::kill(pid_, SIGTERM);
        const auto end = Clock::now() + 5s;
        while (Clock::now() < end) {
            if (::waitpid(pid_, &status_, WNOHANG) == pid_) {
                exited_ = true;
                return WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
            }
            std::this_thread::sleep_for(10ms);
        }
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status_, 0);
        exited_ = true;
        return -1;
    }

private:
    std::string dir_, config_, unix_path_, log_path_;
    pid_t pid_ = -1;
    int port_ = 0;
    bool exited_ = false;
    int status_ = 0;
};

constexpr bg::UnixTime day = 86400;

struct PolicydTest : ::testing::Test {
    TempDir dir;
    std::string smtpd = fixture("postfix-3.7-rcpt-smtpd.txt");          // unknown@example.test
    std::string submission = fixture("postfix-3.7-rcpt-submission.txt");  // full@example.test

    void SetUp() override {
        ASSERT_FALSE(smtpd.empty());
        auto s = bg::open_store("sqlite:" + dir.path() + "/store.db");
        ASSERT_TRUE(s) << s.error().message;
        const bg::UnixTime now = std::time(nullptr);
        ASSERT_TRUE((*s)->put({.key = "unknown@example.test", .category = bg::Category::UserUnknown,
                               .first_seen = now - day, .last_seen = now - day, .count = 1}));
        ASSERT_TRUE((*s)->put({.key = "@gone.example", .category = bg::Category::DomainUnknown,
                               .first_seen = now - day, .last_seen = now, .count = 2, .expires = now + 30 * day}));
    }
};

TEST_F(PolicydTest, CapturedPostfixRequestsOverTcpAndUnix) {
    Daemon d(dir.path(), "");
    ASSERT_TRUE(d.ready()) << d.log();
    for (int kind = 0; kind < 2; ++kind) {
        Client c = kind == 0 ? Client::tcp(d.port()) : Client::unix_socket(d.unix_path());
        ASSERT_TRUE(c.ok());
        ASSERT_TRUE(c.send(smtpd));
        const std::string a = c.answer();
        EXPECT_EQ(a.rfind("action=550 5.1.1 ", 0), 0U) << a;
        EXPECT_NE(a.find("unknown@example.test"), std::string::npos) << a;
        EXPECT_NE(a.find("user_unknown"), std::string::npos) << a;
        ASSERT_TRUE(c.send(submission));  // not suppressed
        EXPECT_EQ(c.answer(), "action=DUNNO");
        ASSERT_TRUE(c.send(with_recipient(submission, "Someone@Gone.Example")));  // domain entry
        EXPECT_EQ(c.answer().rfind("action=550 5.1.2 ", 0), 0U);
    }
    // Each refusal is logged once, with the sender, client and reason.
    d.stop();
    const std::string log = d.log();
    EXPECT_EQ(count_of(log, "refused to=<unknown@example.test> from=<alice@sender.test> client=127.0.0.1"), 2U)
        << log;
}

TEST_F(PolicydTest, UnknownMissingAttributesAndOtherStatesAreDunno) {
    Daemon d(dir.path(), "");
    ASSERT_TRUE(d.ready()) << d.log();
    Client c = Client::tcp(d.port());
    // Unknown attributes (a later Postfix) are ignored: the request is still decided.
    ASSERT_TRUE(c.send("future_attribute=1\nx_another=\n" + smtpd));
    EXPECT_EQ(c.answer().rfind("action=550 ", 0), 0U);
    const std::string base = "request=smtpd_access_policy\nclient_address=127.0.0.1\nrecipient=unknown@example.test\n";
    for (const std::string& req : {base + "\n",                                          // no protocol_state
                                  base + "protocol_state=DATA\n\n",                     // another state
                                  base + "protocol_state=END-OF-MESSAGE\n\n",
                                  std::string("protocol_state=RCPT\nrecipient=unknown@example.test\n\n"),  // no request=
                                  std::string("request=smtpd_access_policy\nprotocol_state=RCPT\n\n"),     // no recipient
                                  std::string("\n")}) {                                 // an empty request
        ASSERT_TRUE(c.send(req));
        EXPECT_EQ(c.answer(), "action=DUNNO") << req;
    }
}

TEST_F(PolicydTest, PipelinedRequestsAreAnsweredInOrder) {
    Daemon d(dir.path(), "");
    ASSERT_TRUE(d.ready()) << d.log();
    Client c = Client::unix_socket(d.unix_path());
    std::string batch;
    for (int i = 0; i < 300; ++i) batch += i % 3 == 0 ? smtpd : with_recipient(smtpd, "r" + std::to_string(i) + "@example.test");
    ASSERT_TRUE(c.send(batch));
    c.shutdown_write();  // the answers still come
    for (int i = 0; i < 300; ++i) {
        const std::string a = c.answer();
        if (i % 3 == 0) EXPECT_EQ(a.rfind("action=550 ", 0), 0U) << i << ": " << a;
        else EXPECT_EQ(a, "action=DUNNO") << i;
    }
    EXPECT_TRUE(c.closed_within(2000ms));
}

TEST_F(PolicydTest, ManyConnectionsAtOnceStayOpen) {
    Daemon d(dir.path(), "");
    ASSERT_TRUE(d.ready()) << d.log();
    std::vector<Client> clients;
    for (int i = 0; i < 300; ++i) {
        clients.push_back(i % 2 ? Client::tcp(d.port()) : Client::unix_socket(d.unix_path()));
        ASSERT_TRUE(clients.back().ok()) << i;
    }
    for (int round = 0; round < 3; ++round) {
        for (size_t i = 0; i < clients.size(); ++i)
            ASSERT_TRUE(clients[i].send(i % 2 ? smtpd : submission));
        for (size_t i = 0; i < clients.size(); ++i) {
            const std::string a = clients[i].answer();
            if (i % 2) EXPECT_EQ(a.rfind("action=550 ", 0), 0U) << i << ": " << a;
            else EXPECT_EQ(a, "action=DUNNO") << i;
        }
    }
}

TEST_F(PolicydTest, RequestSplitIntoOneByteSegments) {
    Daemon d(dir.path(), "");
    ASSERT_TRUE(d.ready()) << d.log();
    Client c = Client::tcp(d.port());
    const std::string req = smtpd + smtpd;
    for (size_t i = 0; i < req.size(); ++i) {
        ASSERT_TRUE(c.send(req.substr(i, 1)));
        if (i % 8 == 0) std::this_thread::sleep_for(200us);  // separate segments (TCP_NODELAY)
    }
    EXPECT_EQ(c.answer().rfind("action=550 ", 0), 0U);
    EXPECT_EQ(c.answer().rfind("action=550 ", 0), 0U);
}

TEST_F(PolicydTest, OneMegabyteLineIsDroppedAndTheConnectionServed) {
    Daemon d(dir.path(), "");
    ASSERT_TRUE(d.ready()) << d.log();
    Client other = Client::tcp(d.port());
    Client c = Client::tcp(d.port());
    // A 1 MB ccert_subject in the middle of a request; the rest of it still decides.
    std::string req = smtpd;
    req.insert(req.find("ccert_subject="), "ccert_subject=" + std::string(1 << 20, 'A') + "\n");
    ASSERT_TRUE(c.send(req));
    EXPECT_EQ(c.answer().rfind("action=550 ", 0), 0U);
    ASSERT_TRUE(c.send(submission));
    EXPECT_EQ(c.answer(), "action=DUNNO");
    ASSERT_TRUE(other.send(smtpd));
    EXPECT_EQ(other.answer().rfind("action=550 ", 0), 0U);
    EXPECT_TRUE(d.wait_log("malformed request from 127.0.0.1:"));
}

TEST_F(PolicydTest, JunkBytesDoNotHurtTheDaemon) {
    Daemon d(dir.path(), "");
    ASSERT_TRUE(d.ready()) << d.log();
    std::mt19937 rng(12345);  // fixed: the same junk every run
    std::string junk(256 * 1024, '\0');
    for (auto& ch : junk) ch = static_cast<char>(rng() & 0xff);
    Client c = Client::tcp(d.port());
    ASSERT_TRUE(c.send(junk + "\n\n" + smtpd));
    c.shutdown_write();
    // Whatever the junk "requests" got, they are DUNNO, and the real request after them is refused.
    std::string a, last;
    int answers = 0;
    while (!(a = c.answer()).empty()) {
        if (!last.empty()) {
            EXPECT_EQ(last, "action=DUNNO");
        }
        last = a;
        ++answers;
    }
    EXPECT_GE(answers, 2);
    EXPECT_EQ(last.rfind("action=550 ", 0), 0U) << last;
    Client fresh = Client::unix_socket(d.unix_path());
    ASSERT_TRUE(fresh.send(smtpd));
    EXPECT_EQ(fresh.answer().rfind("action=550 ", 0), 0U);
}

TEST_F(PolicydTest, SilentAndStalledClientsTimeOut) {
    Daemon d(dir.path(), "idle_timeout = \"1s\"\nrequest_timeout = \"1s\"\n");
    ASSERT_TRUE(d.ready()) << d.log();
    Client silent = Client::tcp(d.port());
    Client stalled = Client::tcp(d.port());
    ASSERT_TRUE(stalled.send(smtpd.substr(0, 100)));  // half a request, then nothing
    Client busy = Client::unix_socket(d.unix_path());
    const auto t0 = Clock::now();
    // Meanwhile another client is served.
    for (int i = 0; i < 5; ++i) {
        ASSERT_TRUE(busy.send(smtpd));
        EXPECT_EQ(busy.answer().rfind("action=550 ", 0), 0U);
        std::this_thread::sleep_for(100ms);
    }
    EXPECT_TRUE(silent.closed_within(4000ms));
    EXPECT_TRUE(stalled.closed_within(4000ms));
    EXPECT_GE(Clock::now() - t0, 900ms);  // not before the timeout
    EXPECT_TRUE(d.wait_log("idle for policyd.idle_timeout"));
    EXPECT_TRUE(d.wait_log("request not complete within policyd.request_timeout"));
}

TEST_F(PolicydTest, ClientLeavingMidRequestClosesOnlyItsConnection) {
    Daemon d(dir.path(), "");
    ASSERT_TRUE(d.ready()) << d.log();
    Client keep = Client::tcp(d.port());
    ASSERT_TRUE(keep.send(smtpd));
    EXPECT_EQ(keep.answer().rfind("action=550 ", 0), 0U);
    for (int i = 0; i < 20; ++i) {
        Client c = i % 2 ? Client::tcp(d.port()) : Client::unix_socket(d.unix_path());
        ASSERT_TRUE(c.send(smtpd.substr(0, 50 + i * 10)));
    }  // closed here, mid-request
    EXPECT_TRUE(d.wait_log("client disconnected in the middle of a request"));
    ASSERT_TRUE(keep.send(smtpd));
    EXPECT_EQ(keep.answer().rfind("action=550 ", 0), 0U);
}

TEST_F(PolicydTest, ConnectionsPastTheCapAreClosed) {
    Daemon d(dir.path(), "max_connections = 4\n");
    ASSERT_TRUE(d.ready()) << d.log();
    std::vector<Client> in;
    for (int i = 0; i < 4; ++i) {
        in.push_back(Client::tcp(d.port()));
        ASSERT_TRUE(in.back().send(smtpd));
        EXPECT_EQ(in.back().answer().rfind("action=550 ", 0), 0U);
    }
    Client extra = Client::tcp(d.port());
    EXPECT_TRUE(extra.closed_within(3000ms));
    EXPECT_TRUE(d.wait_log("policyd.max_connections=4 reached"));
    for (auto& c : in) {
        ASSERT_TRUE(c.send(submission));
        EXPECT_EQ(c.answer(), "action=DUNNO");
    }
    in.pop_back();  // room again
    std::this_thread::sleep_for(200ms);
    Client later = Client::tcp(d.port());
    ASSERT_TRUE(later.send(smtpd));
    EXPECT_EQ(later.answer().rfind("action=550 ", 0), 0U);
}

TEST_F(PolicydTest, ObserveModeAndSighupReloadOnALiveConnection) {
    Daemon d(dir.path(), "");
    ASSERT_TRUE(d.ready()) << d.log();
    Client c = Client::tcp(d.port());
    ASSERT_TRUE(c.send(smtpd));
    EXPECT_EQ(c.answer().rfind("action=550 ", 0), 0U);
    // Observe mode: Postfix logs the WARN and delivers; we log "would refuse" once.
    std::ofstream(d.config_path(), std::ios::app) << "[policy]\nmode = \"observe\"\n";
    ::kill(d.pid(), SIGHUP);
    ASSERT_TRUE(d.wait_log("configuration reloaded"));
    ASSERT_TRUE(c.send(smtpd));
    const std::string a = c.answer();
    EXPECT_EQ(a.rfind("action=WARN ", 0), 0U) << a;
    EXPECT_NE(a.find("550 5.1.1"), std::string::npos) << a;
    // A broken file on reload: logged, the running configuration stays.
    std::ofstream(d.config_path(), std::ios::app) << "[enforce]\nreject_reply = \"450 not a 5xx\"\n";
    ::kill(d.pid(), SIGHUP);
    ASSERT_TRUE(d.wait_log("reload failed"));
    ASSERT_TRUE(c.send(smtpd));
    EXPECT_EQ(c.answer().rfind("action=WARN ", 0), 0U);
    EXPECT_EQ(d.stop(), 0);
    EXPECT_EQ(count_of(d.log(), "would refuse (not enforced) to=<unknown@example.test>"), 2U) << d.log();
}

TEST_F(PolicydTest, SigtermStopsCleanly) {
    Daemon d(dir.path(), "");
    ASSERT_TRUE(d.ready()) << d.log();
    Client c = Client::tcp(d.port());
    ASSERT_TRUE(c.send(smtpd));
    EXPECT_FALSE(c.answer().empty());
    EXPECT_EQ(d.stop(), 0);
    EXPECT_TRUE(c.closed_within(1000ms));
    EXPECT_FALSE(std::filesystem::exists(d.unix_path()));
    EXPECT_NE(d.log().find("stopped: 1 requests, 1 refused"), std::string::npos) << d.log();
}

TEST_F(PolicydTest, StoreThatCannotBeOpenedFailsOpenOrTempfails) {
    const std::string missing = "sqlite:" + dir.path() + "/no/such/dir/store.db";
    {
        Daemon d(dir.path(), "", {}, missing);
        ASSERT_TRUE(d.ready()) << d.log();
        Client c = Client::tcp(d.port());
        ASSERT_TRUE(c.send(smtpd));
        EXPECT_EQ(c.answer(), "action=DUNNO");
        EXPECT_TRUE(d.wait_log("cannot open the store"));
    }
    Daemon d(dir.path(), "[enforce]\non_store_error = \"tempfail\"\n", {}, missing);
    ASSERT_TRUE(d.ready()) << d.log();
    Client c = Client::tcp(d.port());
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(c.send(smtpd));
        EXPECT_EQ(c.answer().rfind("action=451 4.3.0 ", 0), 0U);
    }
    ASSERT_TRUE(c.send(with_recipient(smtpd, "not-an-address")));
    EXPECT_EQ(c.answer(), "action=DUNNO");
}

TEST_F(PolicydTest, BadConfigurationIsRefusedAtStart) {
    Daemon d(dir.path(), "max_connections = 0\n");
    EXPECT_FALSE(d.ready());
    EXPECT_EQ(d.stop(), 2);
    EXPECT_NE(d.log().find("policyd.max_connections"), std::string::npos) << d.log();
}

TEST_F(PolicydTest, SpawnModeServesOneConnectionOnStdio) {
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    const std::string config = dir.path() + "/spawn.toml";
    std::ofstream(config) << "[log]\nlevel = \"info\"\n";
    const std::string log_path = dir.path() + "/spawn.log";
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(sv[1], 0);
        ::dup2(sv[1], 1);
        const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(fd, 2);
        const std::string store = "sqlite:" + dir.path() + "/store.db";
        ::execl(BG_POLICYD_PATH, BG_POLICYD_PATH, "--spawn", "--foreground", "--config", config.c_str(), "--store",
                store.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::close(sv[1]);
    const auto send_all = [&](std::string_view s) { return ::send(sv[0], s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size()); };
    std::string got;
    const auto read_answers = [&](int n) {
        const auto end = Clock::now() + 5s;
        while (count_of(got, "\n\n") < static_cast<size_t>(n) && Clock::now() < end) {
            pollfd p{.fd = sv[0], .events = POLLIN, .revents = 0};
            if (::poll(&p, 1, 100) <= 0) continue;
            char b[4096];
            const ssize_t r = ::recv(sv[0], b, sizeof b, 0);
            if (r <= 0) break;
            got.append(b, static_cast<size_t>(r));
        }
    };
    ASSERT_TRUE(send_all(smtpd + submission));
    read_answers(2);
    EXPECT_EQ(got.rfind("action=550 5.1.1 ", 0), 0U) << got;
    EXPECT_NE(got.find("\n\naction=DUNNO\n\n"), std::string::npos) << got;
    ::shutdown(sv[0], SHUT_WR);
    int status = -1;
    const auto end = Clock::now() + 5s;
    while (::waitpid(pid, &status, WNOHANG) != pid && Clock::now() < end) std::this_thread::sleep_for(10ms);
    if (Clock::now() >= end) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
    }
    ::close(sv[0]);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << read_file(log_path);
    EXPECT_NE(read_file(log_path).find("refused to=<unknown@example.test>"), std::string::npos);
}

TEST_F(PolicydTest, DropsRootToTheServiceUser) {
    const passwd* pw = ::getpwnam("nobody");
    ASSERT_NE(pw, nullptr);
    // As root it becomes nobody; otherwise there is nothing to drop and it runs as it is.
    const uid_t want = ::geteuid() == 0 ? pw->pw_uid : ::geteuid();
    if (::geteuid() == 0) {
        // The service user owns the store's directory (SQLite writes -wal and -shm beside the file).
        for (const auto& e : std::filesystem::directory_iterator(dir.path()))
            ASSERT_EQ(::chown(e.path().c_str(), pw->pw_uid, pw->pw_gid), 0);
        ASSERT_EQ(::chown(dir.path().c_str(), pw->pw_uid, pw->pw_gid), 0);
    }
    Daemon d(dir.path(), "", {}, "", "nobody");
    ASSERT_TRUE(d.ready()) << d.log();
    const std::string status = read_file("/proc/" + std::to_string(d.pid()) + "/status");
    const auto p = status.find("\nUid:");
    ASSERT_NE(p, std::string::npos);
    std::istringstream uids(status.substr(p + 5, 80));
    unsigned real = 0, effective = 0, saved = 0;
    uids >> real >> effective >> saved;
    EXPECT_EQ(real, want);
    EXPECT_EQ(effective, want);
    EXPECT_EQ(saved, want);
    Client c = Client::unix_socket(d.unix_path());
    ASSERT_TRUE(c.send(smtpd));
    EXPECT_EQ(c.answer().rfind("action=550 ", 0), 0U);
    if (::geteuid() == 0) {
        EXPECT_TRUE(d.wait_log("running as user nobody"));
    }
    EXPECT_EQ(d.stop(), 0);
}

}  // namespace
