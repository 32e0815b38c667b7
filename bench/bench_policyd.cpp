// bench_policyd - load generator for bounceguard-policyd: starts the real daemon on a store of
// N suppressions (10 million by default), opens C persistent connections (TCP on 127.0.0.1, as
// check_policy_service inet:..., and a unix socket, as unix:private/...) and sends full Postfix
// 3.7 RCPT requests (the 29 attributes Postfix sends) back to back on each, one in flight per
// connection as smtpd waits for its answer, a share of them for suppressed recipients, checking
// every answer (550 for a suppressed recipient, DUNNO for the others). Reports requests/s,
// latency p50/p99/p99.9 per transport and connection count, the CPU time per request of the
// daemon and of this generator (robust on a loaded machine; the generator is one epoll thread,
// so that it leaves the cores to the daemon), and the daemon's peak resident memory (VmHWM).
// A program, not a test.
//
//   bench_policyd [--dir DIR] [--entries N] [--seconds S] [--connections 1,8,64] [--hit-share F]
//                 [--transport tcp,unix] [--rate R] [--workers W] [--daemon PATH] [--no-op]
// Closed loop by default (each connection sends its next request when its answer is in: the
// daemon's capacity). --rate R: open loop, R requests/s offered by all connections together
// (each connection paced; latency counted from when a request was due): the latency an MTA
// sees below saturation. In closed loop the mean latency is connections / rate (Little's law).
// The store is built once into DIR (default: bench-work/ under the current directory) with the
// store's put_all in batches of 100,000, and reused by later runs (delete the file to rebuild);
// each run first reads it once into the page cache (a daemon in service has its pages there).
// --no-op: the same run against a server that answers each request without any policy work (one
// epoll thread, no parsing, lookup or logging): the floor that this machine's wake-ups, system
// calls and scheduling set for any daemon, to compare the daemon's figures with.
// Targets (issue 5, 2 cores): >= 50,000 req/s at 8 connections, p99 < 1 ms at 64, < 50 MB.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "store/suppression_store.hpp"

namespace {

using Clock = std::chrono::steady_clock;

// The local part of every suppressed address starts so (the others with "someone"); the no-op
// server tells them apart by it.
constexpr std::string_view suppressed_prefix = "user";

std::string key_of(std::int64_t i) {
    // Zero-padded so that keys come in sorted order (a fast bulk load); 5,000 domains.
    char b[64];
    std::snprintf(b, sizeof b, "%s%09lld@mx%04lld.example", suppressed_prefix.data(), static_cast<long long>(i),
                  static_cast<long long>(i % 5000));
    return b;
}

std::string miss_of(std::int64_t i) {
    char b[64];
    std::snprintf(b, sizeof b, "someone%09lld@mx%04lld.example", static_cast<long long>(i),
                  static_cast<long long>(i % 5000));
    return b;
}

// A request as Postfix 3.7.11 sent it at RCPT TO on the plain smtpd port (captured).
std::string request_for(const std::string& rcpt, int n) {
    std::string r;
    r.reserve(700);
    r += "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\nclient_address=127.0.0.1\n"
         "client_name=localhost\nclient_port=";
    r += std::to_string(40000 + n % 20000);
    r += "\nreverse_client_name=localhost\nserver_address=127.0.0.1\nserver_port=25\nhelo_name=app.example.org\n"
         "sender=newsletter@example.org\nrecipient=";
    r += rcpt;
    r += "\nrecipient_count=0\nqueue_id=\ninstance=30ec.6b070081.6009b.";
    r += std::to_string(n);
    r += "\nsize=0\netrn_domain=\nstress=\nsasl_method=\nsasl_username=\nsasl_sender=\nccert_subject=\n"
         "ccert_issuer=\nccert_fingerprint=\nccert_pubkey_fingerprint=\nencryption_protocol=\n"
         "encryption_cipher=\nencryption_keysize=0\npolicy_context=\n\n";
    return r;
}

bool build_store(const std::string& path, std::int64_t n) {
    auto s = bg::open_store("sqlite:" + path);
    if (!s) {
        std::fprintf(stderr, "bench_policyd: %s\n", s.error().message.c_str());
        return false;
    }
    const auto t0 = Clock::now();
    const bg::UnixTime now = std::time(nullptr);
    constexpr std::int64_t batch = 100000;
    std::vector<bg::Suppression> v;
    v.reserve(batch);
    for (std::int64_t i = 0; i < n; i += batch) {
        v.clear();
        for (std::int64_t j = i; j < std::min(n, i + batch); ++j)
            v.push_back({.key = key_of(j), .category = bg::Category::UserUnknown, .first_seen = now - 86400,
                         .last_seen = now - 86400, .count = 1, .added_by = "bench"});
        if (auto r = (*s)->put_all(v); !r) {
            std::fprintf(stderr, "bench_policyd: put_all: %s\n", r.error().message.c_str());
            return false;
        }
        if ((i / batch) % 10 == 9)
            std::fprintf(stderr, "  %lld entries, %.0f s\n", static_cast<long long>(i + batch),
                         std::chrono::duration<double>(Clock::now() - t0).count());
    }
    std::fprintf(stderr, "store built: %lld entries in %.1f s\n", static_cast<long long>(n),
                 std::chrono::duration<double>(Clock::now() - t0).count());
    return true;
}

std::string read_file(const std::string& p) {
    std::ifstream in(p);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

long status_kb(pid_t pid, const char* field) {
    const std::string s = read_file("/proc/" + std::to_string(pid) + "/status");
    const auto p = s.find(field);
    return p == std::string::npos ? -1 : std::atol(s.c_str() + p + std::strlen(field));
}

// utime + stime of the process, in seconds (/proc/PID/stat fields 14 and 15).
double cpu_seconds(pid_t pid) {
    const std::string s = read_file("/proc/" + std::to_string(pid) + "/stat");
    const auto close = s.rfind(')');
    if (close == std::string::npos) return 0;
    std::istringstream in(s.substr(close + 2));
    std::string field;
    unsigned long long ut = 0, st = 0;
    for (int i = 3; i <= 15 && in >> field; ++i) {
        if (i == 14) ut = std::stoull(field);
        if (i == 15) st = std::stoull(field);
    }
    return static_cast<double>(ut + st) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// Context switches of all the daemon's threads (voluntary: it slept, mostly in epoll_wait;
// involuntary: it was preempted), from /proc/PID/task/*/status.
double context_switches(pid_t pid) {
    double n = 0;
    std::error_code ec;
    for (const auto& t : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
        const std::string s = read_file(t.path().string() + "/status");
        for (const char* f : {"voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:"})
            if (const auto p = s.find(f); p != std::string::npos) n += std::atof(s.c_str() + p + std::strlen(f));
    }
    return n;
}

// CPU time (user + system) of this process, in seconds.
double own_cpu_seconds() {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    const auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
    return sec(ru.ru_utime) + sec(ru.ru_stime);
}

// The addresses the daemon (or the no-op server) listens on: 127.0.0.1:port, and a unix socket.
sockaddr_in loopback_address(int port) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<std::uint16_t>(port));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sa;
}

sockaddr_un unix_address(const std::string& path) {
    sockaddr_un su{};
    su.sun_family = AF_UNIX;
    std::snprintf(su.sun_path, sizeof su.sun_path, "%s", path.c_str());
    return su;
}

// A connected socket to the daemon (TCP port, or unix socket path), or -1.
int connect_to(int port, const std::string& unix_path) {
    if (!unix_path.empty()) {
        const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const sockaddr_un sa = unix_address(unix_path);
        if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
            ::close(fd);
            return -1;
        }
        return fd;
    }
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const sockaddr_in sa = loopback_address(port);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
        ::close(fd);
        return -1;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // as Postfix's smtpd does
    return fd;
}

struct Conn {
    int fd = -1;
    std::size_t next = 0;  // index into the request pool
    std::size_t sent_index = 0;
    Clock::time_point sent;  // when the request in flight was due (open loop) or sent (closed loop)
    Clock::time_point due;   // open loop: when the next request is due
    bool waiting = false;    // a request is in flight
    std::string in;
};

struct Result {
    double seconds = 0;
    std::uint64_t requests = 0;
    std::uint64_t wrong = 0;
    std::vector<std::uint32_t> latency_ns;
    std::vector<Clock::time_point> sent_at;  // of each latency
};

// One generator thread: its connections, each with one request in flight (as smtpd waits).
// interval 0: closed loop, each connection sends its next request as soon as the answer is in
// (the daemon's capacity; latency then grows with the queue: about connections / rate).
// Otherwise open loop: each connection sends one request per interval (phases spread), as
// smtpd processes do between their clients' commands; a request that cannot go out on time
// (the previous answer is late) goes as soon as it can, and its latency counts from when it was
// due, so a slow daemon cannot hide its queue (no coordinated omission).
void drive(std::vector<Conn>& conns, const std::vector<std::string>& pool, const std::vector<bool>& hit,
           Clock::time_point start_measure, Clock::time_point end, Clock::duration interval, Result& out) {
    const int ep = ::epoll_create1(0);
    for (std::size_t i = 0; i < conns.size(); ++i) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = i;
        ::epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
    }
    const bool open_loop = interval.count() > 0;
    // Wake when a request is due, not up to 50 us later (the default timer slack), which the
    // latencies counted from the due time would include.
    if (open_loop) ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    const auto send_next = [&](Conn& c, Clock::time_point now) {
        c.sent_index = c.next;
        c.next = (c.next + 7919) % pool.size();
        c.sent = open_loop ? c.due : now;
        c.waiting = true;
        const std::string& r = pool[c.sent_index];
        if (::send(c.fd, r.data(), r.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(r.size())) ++out.wrong;
    };
    const auto t0 = Clock::now();
    for (std::size_t i = 0; i < conns.size(); ++i) {
        conns[i].due = t0 + interval * static_cast<long>(i) / static_cast<long>(conns.size());
        if (!open_loop) send_next(conns[i], t0);
    }
    epoll_event events[128];
    char buf[16384];
    for (;;) {
        auto now = Clock::now();
        if (now >= end) break;
        timespec wait{0, 100'000'000};
        if (open_loop) {
            // Send what is due; sleep until the next one is.
            auto next = now + std::chrono::milliseconds(100);
            for (auto& c : conns) {
                if (c.waiting || c.fd < 0) continue;
                if (c.due <= now) send_next(c, now);
                else next = std::min(next, c.due);
            }
            const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(next - now).count();
            wait = timespec{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
        }
        const int n = ::epoll_pwait2(ep, events, 128, &wait, nullptr);
        for (int i = 0; i < n; ++i) {
            Conn& c = conns[events[i].data.u64];
            const ssize_t r = ::recv(c.fd, buf, sizeof buf, 0);
            if (r <= 0) {
                ++out.wrong;
                ::epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
                ::close(c.fd);
                c.fd = -1;
                c.waiting = true;
                continue;
            }
            c.in.append(buf, static_cast<std::size_t>(r));
            const auto p = c.in.find("\n\n");
            if (p == std::string::npos) continue;
            const auto done = Clock::now();
            const bool refused = c.in.compare(0, 11, "action=550 ") == 0;
            const bool dunno = c.in.compare(0, p, "action=DUNNO") == 0;
            if (hit[c.sent_index] ? !refused : !dunno) ++out.wrong;
            c.in.erase(0, p + 2);
            c.waiting = false;
            if (c.sent >= start_measure) {
                ++out.requests;
                out.sent_at.push_back(c.sent);
                out.latency_ns.push_back(static_cast<std::uint32_t>(
                    std::min<long long>(std::chrono::duration_cast<std::chrono::nanoseconds>(done - c.sent).count(),
                                        4'000'000'000LL)));
            }
            if (!open_loop) {
                send_next(c, done);
            } else {
                c.due += interval;
                if (c.due <= done) send_next(c, done);  // late: at once, its latency counted from c.due
            }
        }
    }
    ::close(ep);
}

// Reads the file once (into the page cache); the seconds it took, or -1 if it cannot be read.
double warm_page_cache(const std::string& path) {
    const auto t0 = std::chrono::steady_clock::now();
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    std::vector<char> buf(1 << 20);
    ssize_t n = 0;
    while ((n = ::read(fd, buf.data(), buf.size())) > 0) {
    }
    ::close(fd);
    if (n < 0) return -1;
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// --no-op: a server that does no policy work, in place of the daemon, on the same two sockets:
// one epoll thread reads each request and answers it at once, with no parsing, no lookup and
// no logging (it tells the suppressed recipients of the pool by suppressed_prefix, so
// that the generator checks its answers as usual). What it measures is the floor of this
// machine and kernel: the wake-ups, system calls and scheduling that any daemon on these
// sockets pays, which the daemon's figures can be compared with.
[[noreturn]] void run_no_op_server(const std::string& unix_path) {
    const int tcp = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in sa = loopback_address(0);  // any free port, read back below
    socklen_t len = sizeof sa;
    const int uds = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const sockaddr_un su = unix_address(unix_path);
    ::unlink(unix_path.c_str());
    if (::bind(tcp, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(tcp, 1024) != 0 ||
        ::getsockname(tcp, reinterpret_cast<sockaddr*>(&sa), &len) != 0 ||
        ::bind(uds, reinterpret_cast<const sockaddr*>(&su), sizeof su) != 0 || ::listen(uds, 1024) != 0) {
        std::fprintf(stderr, "no-op server: %s\n", std::strerror(errno));
        ::_exit(1);
    }
    const int ep = ::epoll_create1(EPOLL_CLOEXEC);
    for (const int l : {tcp, uds}) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = l;
        ::epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
    }
    std::fprintf(stderr, "listening on inet:127.0.0.1:%d\n", ntohs(sa.sin_port));
    std::vector<std::string> in(65536);
    epoll_event events[128];
    char buf[16384];
    for (;;) {
        const int n = ::epoll_wait(ep, events, 128, -1);
        for (int i = 0; i < n; ++i) {
            const int fd = events[i].data.fd;
            if (fd == tcp || fd == uds) {
                const int c = ::accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (c < 0 || c >= static_cast<int>(in.size())) {
                    if (c >= 0) ::close(c);
                    continue;
                }
                if (fd == tcp) {
                    const int one = 1;
                    ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                }
                epoll_event ev{};
                ev.events = EPOLLIN;
                ev.data.fd = c;
                ::epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
                in[static_cast<std::size_t>(c)].clear();
                continue;
            }
            const ssize_t r = ::recv(fd, buf, sizeof buf, 0);
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN) continue;
                ::close(fd);  // leaves the epoll set
                continue;
            }
            std::string& s = in[static_cast<std::size_t>(fd)];
            s.append(buf, static_cast<std::size_t>(r));
            std::string out;
            for (std::size_t end; (end = s.find("\n\n")) != std::string::npos; s.erase(0, end + 2)) {
                constexpr std::string_view attr = "\nrecipient=";
                const auto p = s.find(attr);
                const bool hit = p < end && s.compare(p + attr.size(), suppressed_prefix.size(), suppressed_prefix) == 0;
                out += hit ? "action=550 5.1.1 suppressed\n\n" : "action=DUNNO\n\n";
            }
            if (!out.empty()) (void)::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::string dir = "bench-work";
    std::int64_t entries = 10'000'000;
    double seconds = 5;
    std::vector<int> levels{1, 8, 64};
    std::vector<std::string> transports{"tcp", "unix"};
    double hit_share = 0.1;
    double rate = 0;  // requests/s offered by all connections together; 0: closed loop
    int workers = 0;
    bool no_op = false;
    std::string daemon = BG_POLICYD_PATH;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const auto val = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
        if (a == "--dir") dir = val();
        else if (a == "--entries") entries = std::atoll(val().c_str());
        else if (a == "--seconds") seconds = std::atof(val().c_str());
        else if (a == "--hit-share") hit_share = std::atof(val().c_str());
        else if (a == "--rate") rate = std::atof(val().c_str());
        else if (a == "--workers") workers = std::atoi(val().c_str());
        else if (a == "--daemon") daemon = val();
        else if (a == "--no-op") no_op = true;
        else if (a == "--connections") {
            levels.clear();
            std::stringstream ss(val());
            for (std::string x; std::getline(ss, x, ',');) levels.push_back(std::atoi(x.c_str()));
        } else if (a == "--transport") {
            transports.clear();
            std::stringstream ss(val());
            for (std::string x; std::getline(ss, x, ',');) transports.push_back(x);
        } else {
            levels.clear();  // the usage below
        }
    }
    const auto known = [](const std::string& t) { return t == "tcp" || t == "unix"; };
    if (levels.empty() || transports.empty() || rate < 0 || !std::all_of(transports.begin(), transports.end(), known)) {
        std::fprintf(stderr, "usage: bench_policyd [--dir DIR] [--entries N] [--seconds S] [--connections 1,8,64] "
                             "[--hit-share F] [--transport tcp,unix] [--rate R] [--workers W] [--daemon PATH] "
                             "[--no-op]\n");
        return 2;
    }
    std::filesystem::create_directories(dir);
    const std::string store = dir + "/policyd-" + std::to_string(entries) + ".db";
    const std::string done_marker = store + ".complete";
    if (!std::filesystem::exists(done_marker)) {
        std::filesystem::remove(store);
        std::fprintf(stderr, "building the store %s (%lld entries, once)\n", store.c_str(),
                     static_cast<long long>(entries));
        if (!build_store(store, entries)) return 1;
        std::ofstream(done_marker) << entries << "\n";
    }

    // The store's pages in the page cache, as on an MTA where the daemon has served for a while:
    // a store copied or built earlier may have been partly evicted, and random lookups on cold
    // pages measure the disk (p99 at 5,000 requests/s: 6.8 ms cold, 0.9 ms warm on the test VM).
    const double read_s = warm_page_cache(store);
    if (read_s < 0) {
        std::fprintf(stderr, "bench_policyd: cannot read %s\n", store.c_str());
        return 1;
    }
    std::fprintf(stderr, "store read into the page cache in %.1f s\n", read_s);

    // The daemon, as an operator would run it (log level info: every refusal is logged).
    const std::string config = dir + "/policyd-bench.toml";
    std::ofstream(config) << "[log]\nlevel = \"info\"\n[policyd]\nuser = \"\"\nworkers = " << workers << "\n";
    const std::string log = dir + "/policyd-bench.log";
    std::filesystem::remove(log);  // the last run's "listening on" must not be read
    // A unix socket as Postfix's unix:private/... (the path must fit in sockaddr_un).
    const std::string unix_path = std::filesystem::absolute(dir + "/policyd.sock").string();
    const std::string unix_listen = "unix:" + unix_path;
    const pid_t pid = ::fork();
    if (pid == 0) {
        const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(fd, 2);
        if (no_op) run_no_op_server(unix_path);
        const std::string s = "sqlite:" + store;
        ::execl(daemon.c_str(), daemon.c_str(), "--config", config.c_str(), "--store", s.c_str(), "--listen",
                "inet:127.0.0.1:0", "--listen", unix_listen.c_str(), "--foreground", static_cast<char*>(nullptr));
        ::_exit(127);
    }
    int port = 0;
    for (int i = 0; i < 1000 && port == 0; ++i) {
        const std::string l = read_file(log);
        if (const auto p = l.find("listening on inet:127.0.0.1:"); p != std::string::npos)
            port = std::atoi(l.c_str() + p + 28);
        else std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (port == 0) {
        std::fprintf(stderr, "bench_policyd: the daemon did not start:\n%s\n", read_file(log).c_str());
        ::kill(pid, SIGKILL);
        return 1;
    }

    // The request pool: a share of suppressed recipients spread over the whole store.
    std::mt19937_64 rng(42);
    std::vector<std::string> pool;
    std::vector<bool> hit;
    constexpr int pool_size = 200000;
    for (int i = 0; i < pool_size; ++i) {
        const bool h = std::uniform_real_distribution<double>(0, 1)(rng) < hit_share;
        const auto k = static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(entries));
        pool.push_back(request_for(h ? key_of(k) : miss_of(k), i));
        hit.push_back(h);
    }

    std::printf("bench_policyd: %lld suppressions (SQLite), %.0f%% of requests for suppressed recipients, "
                "%zu-byte requests, %.0f s per level, daemon workers %s\n",
                static_cast<long long>(entries), hit_share * 100, pool[0].size(), seconds,
                workers ? std::to_string(workers).c_str() : "= CPUs");
    if (no_op)
        std::printf("NO-OP SERVER in place of the daemon (--no-op): no parsing, lookup or logging; the floor of this "
                    "machine\n");
    if (rate > 0)
        std::printf("open loop: %.0f requests/s offered by all connections together; latency from when a request "
                    "was due to its answer\n", rate);
    else
        std::printf("closed loop: each connection sends its next request when the answer is in; latency from send "
                    "to answer\n");
    std::printf("CPU us: CPU time per request of the daemon and of this generator; daemon cs: the daemon's "
                "context switches per request\n");
    std::printf("%9s %11s %11s %9s %9s %9s %13s %13s %10s %6s\n", "transport", "connections", "requests/s", "p50 us",
                "p99 us", "p99.9 us", "daemon CPU us", "client CPU us", "daemon cs", "wrong");
    bool all_right = true;
    for (const auto& transport : transports)
    for (const int n : levels) {
        std::vector<Conn> conns(static_cast<std::size_t>(n));
        for (auto& c : conns) {
            c.fd = connect_to(port, transport == "unix" ? unix_path : std::string());
            if (c.fd < 0) {
                std::perror("connect");
                ::kill(pid, SIGKILL);
                ::waitpid(pid, nullptr, 0);
                return 1;
            }
            c.next = static_cast<std::size_t>(rng() % pool.size());
        }
        const auto t0 = Clock::now();
        const auto warm = t0 + std::chrono::milliseconds(500);
        const auto end = warm + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
        Result r;
        r.latency_ns.reserve(1 << 20);
        r.sent_at.reserve(1 << 20);
        const double cpu0 = cpu_seconds(pid);
        const double own0 = own_cpu_seconds();
        const double cs0 = context_switches(pid);
        const auto interval = rate > 0 ? std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(n / rate))
                                       : Clock::duration::zero();
        drive(conns, pool, hit, t0, end, interval, r);  // counts from t0, for the CPU time per request
        const double cpu = cpu_seconds(pid) - cpu0;
        const double own = own_cpu_seconds() - own0;
        const double cs = context_switches(pid) - cs0;
        const double cpu_us = r.requests ? cpu * 1e6 / static_cast<double>(r.requests) : 0;
        const double own_us = r.requests ? own * 1e6 / static_cast<double>(r.requests) : 0;
        const double cs_per = r.requests ? cs / static_cast<double>(r.requests) : 0;
        // Only the requests sent after the warm-up count for the rate and the latencies.
        r.requests = 0;
        {
            std::vector<std::uint32_t> kept;
            for (std::size_t i = 0; i < r.latency_ns.size(); ++i)
                if (r.sent_at[i] >= warm) kept.push_back(r.latency_ns[i]);
            r.latency_ns.swap(kept);
            r.requests = r.latency_ns.size();
        }
        r.seconds = std::chrono::duration<double>(end - warm).count();
        std::sort(r.latency_ns.begin(), r.latency_ns.end());
        const auto pct = [&](double q) {
            if (r.latency_ns.empty()) return 0.0;
            return r.latency_ns[std::min(r.latency_ns.size() - 1, static_cast<std::size_t>(q * r.latency_ns.size()))] /
                   1000.0;
        };
        std::printf("%9s %11d %11.0f %9.1f %9.1f %9.1f %13.1f %13.1f %10.2f %6llu\n", transport.c_str(), n,
                    static_cast<double>(r.requests) / r.seconds, pct(0.50), pct(0.99), pct(0.999), cpu_us, own_us,
                    cs_per, static_cast<unsigned long long>(r.wrong));
        std::fflush(stdout);
        if (r.wrong) all_right = false;
        for (auto& c : conns) ::close(c.fd);
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    const long hwm = status_kb(pid, "VmHWM:");
    const long rss = status_kb(pid, "VmRSS:");
    std::printf("%s memory: peak RSS (VmHWM) %.1f MB, RSS now %.1f MB\n", no_op ? "no-op server" : "daemon",
                hwm / 1024.0, rss / 1024.0);
    ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!all_right) std::printf("WRONG ANSWERS: see above\n");
    // The daemon stops cleanly on SIGTERM; the no-op server just dies of it.
    const bool stopped = no_op ? WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM
                               : WIFEXITED(status) && WEXITSTATUS(status) == 0;
    return all_right && stopped ? 0 : 1;
}
