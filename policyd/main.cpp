// main.cpp - bounceguard-policyd(8): the Postfix SMTPD access policy delegation server that
// refuses suppressed recipients at RCPT TO (check_policy_service). Two ways to run:
//   - a daemon: binds policyd.listen (or --listen), drops to policyd.user when started as root,
//     and serves many persistent connections (server.hpp); SIGHUP reloads, SIGTERM stops;
//   - --spawn: one connection on stdin/stdout, for a master.cf "spawn" service; exits when
//     Postfix closes it or after policyd.idle_timeout.
// Options (shared/docs/DESIGN.md "Contracts"): --config FILE, --store URI, --listen SOCKET
// (repeatable; replaces policyd.listen), --foreground (no detaching; log to stderr). Without
// --foreground it logs to syslog, whatever log.target says (stderr is gone or is the client).
// Exit codes: 0 clean stop, 1 operational error (bind, privileges), 2 usage or configuration.
// SECURITY: binds, then drops root before reading a byte from any client or opening the store.
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <csignal>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "log/logging.hpp"
#include "metrics/exporter.hpp"
#include "server.hpp"
#include "store/suppression_store.hpp"

namespace {

using namespace bg;
using namespace bg::policyd;

struct Options {
    std::string config_path;
    std::string store_uri;
    std::vector<std::string> listen;
    bool foreground = false;
    bool spawn = false;
};

Result<Config> load(const Options& o) {
    Result<Config> c = Error{""};
    if (!o.config_path.empty()) {
        c = load_config(o.config_path);
    } else {
        const std::string def(default_config_path);
        std::error_code ec;
        c = std::filesystem::exists(def, ec) ? load_config(def) : Result<Config>(default_config());
    }
    if (!c) return c;
    if (!o.store_uri.empty()) c->store.uri = o.store_uri;
    if (!o.listen.empty()) c->policyd.listen = o.listen;
    return c;
}

Result<std::shared_ptr<const Snapshot>> load_snapshot(const Options& o) {
    auto c = load(o);
    if (!c) return c.error();
    return Snapshot::make(std::move(*c));
}

// --spawn (one connection): its SQLite page cache counts against a soft limit of
// policyd.sqlite_memory_mb (the store's own cache_size would otherwise apply).
void limit_store_memory(const Config& c) {
    sqlite3_soft_heap_limit64(c.policyd.sqlite_memory_mb * 1024 * 1024);
}

// The daemon: the SQLite page cache of all workers' store connections comes from one pool of
// policyd.sqlite_memory_mb (SQLITE_CONFIG_PAGECACHE); when the pool runs low, a connection reuses
// its least recently used pages instead of growing. SQLite's memory statistics, which a soft heap
// limit needs, are turned off: with them every SQLite allocation takes one process-wide mutex,
// and the workers' lookups waited for it (futex waits on most requests at 8 connections).
// Before SQLite initialises (no store open yet), so once per start: a reload cannot resize it.
// A slot holds one page of the store file as it is at start (8 KiB for a store this version
// created, 4 KiB for an older one). LIMITATION: a store file replaced while the daemon runs by
// one with larger pages takes its cache from the heap, bounded by the store's cache_size per
// connection, until the next start. The pool is reserved at start (SQLite links every slot into
// its free list).
void pool_store_memory(const Config& c, spdlog::logger& log) {
    const auto path = sqlite_path_of(c.store.uri);
    if (!path) return;  // PostgreSQL: no SQLite page cache to pool
    const int page = sqlite_store_page_size(*path);
    int header = 0;
    if (sqlite3_config(SQLITE_CONFIG_PCACHE_HDRSZ, &header) != SQLITE_OK) header = 512;
    const int slot = (page + header + 7) & ~7;
    const auto bytes = static_cast<std::size_t>(c.policyd.sqlite_memory_mb) * 1024 * 1024;
    const auto slots = bytes / static_cast<std::size_t>(slot);
    const std::size_t length = slots * static_cast<std::size_t>(slot);
    void* pool = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (pool != MAP_FAILED &&
        sqlite3_config(SQLITE_CONFIG_PAGECACHE, pool, slot, static_cast<int>(slots)) == SQLITE_OK) {
        if (sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK) return;
    } else if (pool != MAP_FAILED) {
        ::munmap(pool, length);
    }
    // Not fatal: the soft limit bounds the cache as well, at the price of the shared mutex.
    log.warn("cannot set up a {} MiB SQLite page cache pool; using a soft heap limit", c.policyd.sqlite_memory_mb);
    limit_store_memory(c);
}

// setgid/initgroups/setuid to the service user; nothing when not root.
Result<void> drop_privileges(const std::string& user, spdlog::logger& log) {
    if (::geteuid() != 0) return Ok{};
    if (user.empty()) {
        log.warn("running as root: set policyd.user to a service user");
        return Ok{};
    }
    errno = 0;
    const passwd* pw = ::getpwnam(user.c_str());
    if (!pw)
        return Error{"policyd.user: no user '" + user + "'" + (errno ? std::string(": ") + std::strerror(errno) : "") +
                     " (create it, or set policyd.user = \"\" to keep running as root)"};
    const uid_t uid = pw->pw_uid;
    const gid_t gid = pw->pw_gid;
    if (uid == 0) return Ok{};
    if (::initgroups(user.c_str(), gid) != 0) return Error{std::string("initgroups: ") + std::strerror(errno)};
    if (::setgid(gid) != 0) return Error{std::string("setgid: ") + std::strerror(errno)};
    if (::setuid(uid) != 0) return Error{std::string("setuid: ") + std::strerror(errno)};
    if (::setuid(0) == 0) return Error{"setuid: root privileges could be regained; refusing to run"};
    log.info("running as user {} (uid {}, gid {})", user, uid, gid);
    return Ok{};
}

// Detaches from the terminal: the parent exits 0 once the child runs.
Result<void> daemonize() {
    const pid_t pid = ::fork();
    if (pid < 0) return Error{std::string("fork: ") + std::strerror(errno)};
    if (pid > 0) ::_exit(0);
    if (::setsid() < 0) return Error{std::string("setsid: ") + std::strerror(errno)};
    if (::chdir("/") != 0) return Error{std::string("chdir /: ") + std::strerror(errno)};
    const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0) return Error{std::string("/dev/null: ") + std::strerror(errno)};
    for (int fd = 0; fd <= 2; ++fd) ::dup2(null, fd);
    if (null > 2) ::close(null);
    return Ok{};
}

bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

// --spawn: one client on stdin/stdout (master.cf spawn). Stderr may be the same socket, so the
// logger never writes there unless --foreground asked for it.
int run_spawn(std::shared_ptr<const Snapshot> snap, spdlog::logger& log) {
    using Clock = std::chrono::steady_clock;
    SessionContext ctx;
    ctx.snapshot = snap;
    ctx.log = &log;
    std::unique_ptr<SuppressionStore> store;
    if (auto s = open_store(snap->config.store.uri)) {
        store = std::move(*s);
        store->set_lookup_snapshot(std::chrono::milliseconds(snap->config.store.lookup_snapshot_ms));
        ctx.store = store.get();
    } else {
        ctx.store_error = s.error().message;
        log.error("cannot open the store: {}; enforce.on_store_error={} applies", ctx.store_error,
                  snap->config.enforce.on_store_error);
    }
    Session session(snap->limits);
    std::string out;
    char buf[16384];
    auto deadline_base = Clock::now();
    for (;;) {
        const auto limit = std::chrono::seconds(session.in_request() ? snap->config.policyd.request_timeout
                                                                      : snap->config.policyd.idle_timeout);
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_base + limit - Clock::now());
        if (left.count() <= 0) {
            log.info("spawn: {}, exiting", session.in_request() ? "request timeout" : "idle timeout");
            return 0;
        }
        pollfd p{.fd = 0, .events = POLLIN, .revents = 0};
        const int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 60000)));
        if (r < 0 && errno != EINTR) return 1;
        if (r <= 0) continue;
        const ssize_t n = ::read(0, buf, sizeof buf);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) {
            if (session.in_request()) log.info("spawn: client disconnected in the middle of a request");
            break;
        }
        const bool was_in_request = session.in_request();
        session.on_input(std::string_view(buf, static_cast<std::size_t>(n)), ctx, out, "stdin");
        if (!was_in_request || !session.in_request()) deadline_base = Clock::now();
        if (!out.empty()) {
            if (!write_all(1, out)) {
                log.info("spawn: write error ({}), exiting", std::strerror(errno));
                return 0;
            }
            out.clear();
        }
    }
    log.debug("spawn: {} requests, {} refused, {} would-refuse", ctx.counters.requests, ctx.counters.refused,
              ctx.counters.warned);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"bounceguard-policyd - Postfix policy service: refuse suppressed recipients at RCPT TO"};
    Options o;
    app.add_option("--config", o.config_path, "configuration file (default /etc/bounceguard/bounceguard.toml)");
    app.add_option("--store", o.store_uri, "suppression store: sqlite:PATH or postgresql://...");
    app.add_option("--listen", o.listen, "unix:PATH or inet:HOST:PORT; repeat for several (replaces policyd.listen)");
    app.add_flag("--foreground", o.foreground, "do not detach; log to stderr");
    app.add_flag("--spawn", o.spawn, "serve one connection on stdin/stdout (master.cf spawn service)");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }

    auto snap = load_snapshot(o);
    if (!snap) {
        std::cerr << "bounceguard-policyd: " << snap.error().message << "\n";
        return 2;
    }
    // Detached, stderr is /dev/null; under spawn it may be the client's socket: syslog then.
    LogConfig lc = (*snap)->config.log;
    if (!o.foreground) lc.target = "syslog";
    auto log = make_logger(lc, "policyd", o.foreground);
    if (!log) {
        std::cerr << "bounceguard-policyd: " << log.error().message << "\n";
        return 2;
    }
    if (o.spawn) {
        std::signal(SIGPIPE, SIG_IGN);
        limit_store_memory((*snap)->config);
        return run_spawn(*snap, **log);
    }
    pool_store_memory((*snap)->config, **log);

    std::vector<Listener> listeners;
    for (const auto& spec : (*snap)->config.policyd.listen) {
        auto a = parse_listen_address(spec);
        if (!a) {
            std::cerr << "bounceguard-policyd: policyd.listen: " << a.error().message << "\n";
            return 2;
        }
        auto l = open_listener(*a);
        if (!l) {
            (*log)->error("cannot listen: {}", l.error().message);
            std::cerr << "bounceguard-policyd: cannot listen: " << l.error().message << "\n";
            return 1;
        }
        listeners.push_back(std::move(*l));
    }
    if (listeners.empty()) {
        std::cerr << "bounceguard-policyd: policyd.listen is empty: nothing to listen on\n";
        return 2;
    }
    if (auto r = drop_privileges((*snap)->config.policyd.user, **log); !r) {
        (*log)->error("{}", r.error().message);
        std::cerr << "bounceguard-policyd: " << r.error().message << "\n";
        return 1;
    }
    if (!o.foreground) {
        if (auto r = daemonize(); !r) {
            std::cerr << "bounceguard-policyd: " << r.error().message << "\n";
            return 1;
        }
    }
    block_signals();
    // After daemonize(): the exporter's thread must be the child's. Not in --spawn mode (one
    // process per connection).
    auto exporter = metrics::start_for_program((*snap)->config, "policyd", *log);
    const Reloader reload = [&o]() { return load_snapshot(o); };
    const int rc = run_server(std::move(listeners), *snap, reload, *log);
    exporter.reset();  // the textfile a last time
    return rc;
}
