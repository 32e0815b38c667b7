// server.cpp - see server.hpp.
#include "server.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "metrics/metrics.hpp"
#include "store/suppression_store.hpp"

namespace bg::policyd {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::size_t read_chunk = 16 * 1024;
// Answers waiting for a client that does not read them; past this it is not read from either.
constexpr std::size_t max_pending_output = 64 * 1024;
constexpr auto sweep_interval = 250ms;
constexpr auto store_retry_interval = 5s;
constexpr int accepts_per_wakeup = 64;

// What the acceptor and the workers share.
struct Shared {
    std::mutex mu;
    std::shared_ptr<const Snapshot> snapshot;  // under mu
    std::atomic<std::uint64_t> generation{1};
    std::atomic<bool> stop{false};
    std::atomic<int> connections{0};
    std::shared_ptr<spdlog::logger> log;
    std::mutex counters_mu;
    Counters totals;  // under counters_mu, added by each worker when it stops

    std::shared_ptr<const Snapshot> current() {
        std::lock_guard lock(mu);
        return snapshot;
    }
};

struct Conn {
    UniqueFd fd;
    Session session;
    std::string peer;
    std::string out;
    std::size_t out_off = 0;
    Clock::time_point last;           // last byte read or written
    Clock::time_point request_start;  // first byte of the unfinished request
    bool started = false;
    std::uint32_t interest = 0;

    std::size_t pending() const noexcept { return out.size() - out_off; }
};

class Worker {
public:
    explicit Worker(Shared& shared) : shared_(shared) {}
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    Result<void> start();
    void hand_over(int fd, std::string peer);
    void wake() noexcept;
    void join();
    int load() const noexcept { return count_.load(std::memory_order_relaxed); }

private:
    void run();
    void refresh(Clock::time_point now);
    void open_store(Clock::time_point now);
    void adopt(Clock::time_point now);
    void on_event(Conn& c, std::uint32_t events, Clock::time_point now);
    void read_from(Conn& c, Clock::time_point now);
    bool flush(Conn& c, Clock::time_point now);
    void set_interest(Conn& c);
    void close(Conn& c, spdlog::level::level_enum level, std::string_view why);
    void sweep(Clock::time_point now);

    Shared& shared_;
    UniqueFd ep_;
    UniqueFd wake_;
    std::mutex in_mu_;
    std::vector<std::pair<int, std::string>> incoming_;  // under in_mu_
    std::unordered_map<Conn*, std::unique_ptr<Conn>> conns_;
    std::atomic<int> count_{0};
    std::thread thread_;

    SessionContext ctx_;
    std::unique_ptr<SuppressionStore> store_;
    std::string store_uri_;
    std::uint64_t generation_ = 0;
    Clock::time_point next_store_try_{};
    char buf_[read_chunk];
};

Result<void> Worker::start() {
    ep_.reset(::epoll_create1(EPOLL_CLOEXEC));
    if (!ep_) return Error{std::string("epoll_create1: ") + std::strerror(errno)};
    wake_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (!wake_) return Error{std::string("eventfd: ") + std::strerror(errno)};
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr;  // the wake-up
    if (::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, wake_.get(), &ev) != 0)
        return Error{std::string("epoll_ctl: ") + std::strerror(errno)};
    ctx_.log = shared_.log.get();
    refresh(Clock::now());  // the snapshot and the store, before the first connection
    thread_ = std::thread([this] { run(); });
    return Ok{};
}

void Worker::hand_over(int fd, std::string peer) {
    {
        std::lock_guard lock(in_mu_);
        incoming_.emplace_back(fd, std::move(peer));
    }
    count_.fetch_add(1, std::memory_order_relaxed);
    wake();
}

void Worker::wake() noexcept {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(wake_.get(), &one, sizeof one);  // a full counter still wakes
}

void Worker::join() {
    if (thread_.joinable()) thread_.join();
}

void Worker::open_store(Clock::time_point now) {
    store_.reset();
    ctx_.store = nullptr;
    store_uri_ = ctx_.snapshot->config.store.uri;
    auto s = bg::open_store(store_uri_);
    if (s) {
        store_ = std::move(*s);
        store_->set_lookup_snapshot(std::chrono::milliseconds(ctx_.snapshot->config.store.lookup_snapshot_ms));
        ctx_.store = store_.get();
        ctx_.store_error.clear();
        return;
    }
    const bool first = ctx_.store_error.empty();
    ctx_.store_error = s.error().message;
    next_store_try_ = now + store_retry_interval;
    if (first)
        shared_.log->error("cannot open the store: {}; retrying every {}s, meanwhile enforce.on_store_error={} "
                           "applies",
                           ctx_.store_error, store_retry_interval.count(),
                           ctx_.snapshot->config.enforce.on_store_error);
}

void Worker::refresh(Clock::time_point now) {
    const auto g = shared_.generation.load(std::memory_order_acquire);
    if (g != generation_) {
        generation_ = g;
        ctx_.snapshot = shared_.current();
        for (auto& [p, c] : conns_) c->session.set_limits(ctx_.snapshot->limits);
        if (ctx_.snapshot->config.store.uri != store_uri_) open_store(now);
        else if (store_)
            store_->set_lookup_snapshot(std::chrono::milliseconds(ctx_.snapshot->config.store.lookup_snapshot_ms));
    }
    if (!store_ && now >= next_store_try_) {
        open_store(now);
        if (store_) shared_.log->info("store open again: {}", redact_store_uri(store_uri_));
    }
}

void Worker::adopt(Clock::time_point now) {
    std::uint64_t n = 0;
    [[maybe_unused]] const auto r = ::read(wake_.get(), &n, sizeof n);
    std::vector<std::pair<int, std::string>> fresh;
    {
        std::lock_guard lock(in_mu_);
        fresh.swap(incoming_);
    }
    for (auto& [fd, peer] : fresh) {
        auto c = std::make_unique<Conn>(Conn{.fd = UniqueFd(fd), .session = Session(ctx_.snapshot->limits),
                                             .peer = std::move(peer), .last = now});
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLRDHUP;
        ev.data.ptr = c.get();
        if (::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
            shared_.log->error("epoll_ctl: {}", std::strerror(errno));
            count_.fetch_sub(1, std::memory_order_relaxed);
            shared_.connections.fetch_sub(1, std::memory_order_relaxed);
            metrics::registry().add(metrics::Metric::Connections, 0, -1);
            continue;  // c closes the descriptor
        }
        c->interest = ev.events;
        Conn* key = c.get();
        conns_.emplace(key, std::move(c));
    }
}

void Worker::close(Conn& c, spdlog::level::level_enum level, std::string_view why) {
    shared_.log->log(level, "{} {}", why, c.peer);
    count_.fetch_sub(1, std::memory_order_relaxed);
    shared_.connections.fetch_sub(1, std::memory_order_relaxed);
    metrics::registry().add(metrics::Metric::Connections, 0, -1);
    conns_.erase(&c);  // closes the descriptor, which also leaves the epoll set
}

bool Worker::flush(Conn& c, Clock::time_point now) {
    while (c.pending() > 0) {
        const ssize_t n = ::send(c.fd.get(), c.out.data() + c.out_off, c.pending(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            c.out_off += static_cast<std::size_t>(n);
            c.last = now;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        return false;
    }
    if (c.pending() == 0) {
        c.out.clear();
        c.out_off = 0;
        if (c.out.capacity() > max_pending_output) std::string().swap(c.out);  // after a burst
    }
    return true;
}

void Worker::set_interest(Conn& c) {
    // Not reading while answers pile up (nor watching for the half-close, which would keep
    // reporting itself); EPOLLHUP and EPOLLERR are always reported.
    std::uint32_t want = 0;
    if (c.pending() < max_pending_output) want |= EPOLLIN | EPOLLRDHUP;
    if (c.pending() > 0) want |= EPOLLOUT;
    if (want == c.interest) return;
    epoll_event ev{};
    ev.events = want;
    ev.data.ptr = &c;
    if (::epoll_ctl(ep_.get(), EPOLL_CTL_MOD, c.fd.get(), &ev) == 0) c.interest = want;
}

void Worker::read_from(Conn& c, Clock::time_point now) {
    const ssize_t n = ::recv(c.fd.get(), buf_, sizeof buf_, 0);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
        close(c, spdlog::level::info, std::string("read error (") + std::strerror(errno) + "), closed");
        return;
    }
    if (n == 0) {
        const bool mid = c.session.in_request();
        (void)flush(c, now);  // answers to requests that did end before the close
        close(c, mid ? spdlog::level::info : spdlog::level::debug,
              mid ? "client disconnected in the middle of a request:" : "client disconnected:");
        return;
    }
    c.last = now;
    c.session.on_input(std::string_view(buf_, static_cast<std::size_t>(n)), ctx_, c.out, c.peer);
    if (c.session.in_request()) {
        if (!c.started) c.request_start = now;
        c.started = true;
    } else {
        c.started = false;
    }
    if (!flush(c, now)) {
        close(c, spdlog::level::info, "write error, closed");
        return;
    }
    set_interest(c);
}

void Worker::on_event(Conn& c, std::uint32_t events, Clock::time_point now) {
    if (events & EPOLLOUT) {
        if (!flush(c, now)) {
            close(c, spdlog::level::info, "write error, closed");
            return;
        }
        set_interest(c);
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        if (!(c.interest & EPOLLIN) && !(events & (EPOLLHUP | EPOLLERR))) return;  // output first
        read_from(c, now);
    }
}

void Worker::sweep(Clock::time_point now) {
    const auto& pc = ctx_.snapshot->config.policyd;
    const auto idle = std::chrono::seconds(pc.idle_timeout);
    const auto request = std::chrono::seconds(pc.request_timeout);
    std::vector<std::pair<Conn*, const char*>> expired;
    for (auto& [p, c] : conns_) {
        if (c->pending() > 0 && now - c->last > request)
            expired.emplace_back(p, "timeout: the client does not read its answers, closed");
        else if (c->session.in_request() && now - c->request_start > request)
            expired.emplace_back(p, "timeout: request not complete within policyd.request_timeout, closed");
        else if (!c->session.in_request() && now - c->last > idle)
            expired.emplace_back(p, "idle for policyd.idle_timeout, closed");
    }
    for (auto& [p, why] : expired) close(*p, spdlog::level::info, why);
}

void Worker::run() {
    epoll_event events[128];
    auto next_sweep = Clock::now() + sweep_interval;
    while (!shared_.stop.load(std::memory_order_acquire)) {
        const int n = ::epoll_wait(ep_.get(), events, 128, static_cast<int>(sweep_interval / 1ms));
        const auto now = Clock::now();
        refresh(now);
        for (int i = 0; i < n; ++i) {
            auto* c = static_cast<Conn*>(events[i].data.ptr);
            if (!c) {
                adopt(now);
                continue;
            }
            try {
                on_event(*c, events[i].events, now);
            } catch (const std::exception& e) {
                // Out of memory and the like: this connection only.
                if (conns_.count(c)) close(*c, spdlog::level::err, std::string("internal error (") + e.what() + "), closed");
            }
        }
        if (now >= next_sweep) {
            sweep(now);
            next_sweep = now + sweep_interval;
        }
    }
    // Stop: the answers already made go out if the client takes them now; then close.
    const auto now = Clock::now();
    adopt(now);
    for (auto& [p, c] : conns_) (void)flush(*c, now);
    const int left = static_cast<int>(conns_.size());
    conns_.clear();
    count_.fetch_sub(left, std::memory_order_relaxed);
    shared_.connections.fetch_sub(left, std::memory_order_relaxed);
    metrics::registry().add(metrics::Metric::Connections, 0, -left);
    std::lock_guard lock(shared_.counters_mu);
    shared_.totals.requests += ctx_.counters.requests;
    shared_.totals.refused += ctx_.counters.refused;
    shared_.totals.warned += ctx_.counters.warned;
    shared_.totals.store_errors += ctx_.counters.store_errors;
}

std::string peer_name(const sockaddr_storage& ss) {
    char host[INET6_ADDRSTRLEN] = "";
    if (ss.ss_family == AF_INET) {
        const auto* sin = reinterpret_cast<const sockaddr_in*>(&ss);
        ::inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
        return std::string(host) + ":" + std::to_string(ntohs(sin->sin_port));
    }
    if (ss.ss_family == AF_INET6) {
        const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&ss);
        ::inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
        return "[" + std::string(host) + "]:" + std::to_string(ntohs(sin6->sin6_port));
    }
    return "unix-socket client";
}

class Acceptor {
public:
    Acceptor(Shared& shared, std::vector<Listener>& listeners, std::vector<std::unique_ptr<Worker>>& workers,
             const Reloader& reload)
        : shared_(shared), listeners_(listeners), workers_(workers), reload_(reload) {}

    Result<void> run();

private:
    void accept_from(const Listener& l);
    void reload();

    Shared& shared_;
    std::vector<Listener>& listeners_;
    std::vector<std::unique_ptr<Worker>>& workers_;
    const Reloader& reload_;
    LogLimiter full_limiter_;
};

void Acceptor::accept_from(const Listener& l) {
    const auto max = shared_.current()->config.policyd.max_connections;
    for (int i = 0; i < accepts_per_wakeup; ++i) {
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        const int fd = ::accept4(l.fd.get(), reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                std::uint64_t held = 0;
                if (full_limiter_.allow(Clock::now(), held))
                    shared_.log->error("{}: accept: {} (raise the open files limit or lower "
                                       "policyd.max_connections)",
                                       l.name, std::strerror(errno));
                std::this_thread::sleep_for(50ms);  // the backlog waits; level-triggered, so no spinning
            }
            return;
        }
        if (shared_.connections.load(std::memory_order_relaxed) >= max) {
            ::close(fd);
            std::uint64_t held = 0;
            if (full_limiter_.allow(Clock::now(), held))
                shared_.log->warn("{}: policyd.max_connections={} reached, connection closed{}", l.name, max,
                                  held ? " (" + std::to_string(held) + " more not logged)" : std::string());
            continue;
        }
        if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) {
            const int one = 1;
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        }
        shared_.connections.fetch_add(1, std::memory_order_relaxed);
        metrics::registry().add(metrics::Metric::Connections);
        Worker* best = workers_.front().get();
        for (auto& w : workers_)
            if (w->load() < best->load()) best = w.get();
        best->hand_over(fd, peer_name(ss));
    }
}

void Acceptor::reload() {
    auto fresh = reload_();
    if (!fresh) {
        shared_.log->error("reload failed, the running configuration stays: {}", fresh.error().message);
        metrics::registry().add(metrics::Metric::ConfigReloads, metrics::index(metrics::ReloadResult::Failed));
        return;
    }
    const auto old = shared_.current();
    const auto& oc = old->config.policyd;
    const auto& nc = (*fresh)->config.policyd;
    if (oc.listen != nc.listen || oc.user != nc.user || oc.workers != nc.workers ||
        oc.sqlite_memory_mb != nc.sqlite_memory_mb)
        shared_.log->warn("reload: policyd.listen, policyd.user, policyd.workers and policyd.sqlite_memory_mb take "
                          "effect at the next start");
    shared_.log->set_level(spdlog::level::from_str((*fresh)->config.log.level));
    {
        std::lock_guard lock(shared_.mu);
        shared_.snapshot = *fresh;
    }
    shared_.generation.fetch_add(1, std::memory_order_release);
    metrics::registry().add(metrics::Metric::ConfigReloads, metrics::index(metrics::ReloadResult::Ok));
    for (auto& w : workers_) w->wake();
    shared_.log->info("configuration reloaded from {}", (*fresh)->config.source.empty() ? "built-in defaults"
                                                                                       : (*fresh)->config.source);
}

Result<void> Acceptor::run() {
    UniqueFd ep(::epoll_create1(EPOLL_CLOEXEC));
    if (!ep) return Error{std::string("epoll_create1: ") + std::strerror(errno)};
    sigset_t mask;
    sigemptyset(&mask);
    for (int s : {SIGHUP, SIGTERM, SIGINT}) sigaddset(&mask, s);
    UniqueFd sfd(::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC));
    if (!sfd) return Error{std::string("signalfd: ") + std::strerror(errno)};
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = listeners_.size();  // the signals
    if (::epoll_ctl(ep.get(), EPOLL_CTL_ADD, sfd.get(), &ev) != 0)
        return Error{std::string("epoll_ctl: ") + std::strerror(errno)};
    for (std::size_t i = 0; i < listeners_.size(); ++i) {
        ev.data.u64 = i;
        if (::epoll_ctl(ep.get(), EPOLL_CTL_ADD, listeners_[i].fd.get(), &ev) != 0)
            return Error{std::string("epoll_ctl: ") + std::strerror(errno)};
    }
    epoll_event events[16];
    for (;;) {
        const int n = ::epoll_wait(ep.get(), events, 16, -1);
        if (n < 0 && errno != EINTR) return Error{std::string("epoll_wait: ") + std::strerror(errno)};
        for (int i = 0; i < n; ++i) {
            const auto idx = events[i].data.u64;
            if (idx < listeners_.size()) {
                accept_from(listeners_[idx]);
                continue;
            }
            signalfd_siginfo si{};
            while (::read(sfd.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
                if (si.ssi_signo == SIGHUP) {
                    shared_.log->info("SIGHUP: reloading the configuration");
                    reload();
                } else {
                    shared_.log->info("{}: shutting down", si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
                    return Ok{};
                }
            }
        }
    }
}

}  // namespace

void block_signals() {
    sigset_t mask;
    sigemptyset(&mask);
    for (int s : {SIGHUP, SIGTERM, SIGINT}) sigaddset(&mask, s);
    pthread_sigmask(SIG_BLOCK, &mask, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
}

int worker_count(const Config& config) {
    if (config.policyd.workers > 0) return static_cast<int>(config.policyd.workers);
    const unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 2 : static_cast<int>(std::min(n, 64U));
}

int run_server(std::vector<Listener> listeners, std::shared_ptr<const Snapshot> snapshot, const Reloader& reload,
               std::shared_ptr<spdlog::logger> log) {
    Shared shared;
    shared.snapshot = snapshot;
    shared.log = log;
    const int n = worker_count(snapshot->config);
    std::vector<std::unique_ptr<Worker>> workers;
    int rc = 0;
    for (int i = 0; i < n; ++i) {
        workers.push_back(std::make_unique<Worker>(shared));
        if (auto r = workers.back()->start(); !r) {
            log->error("cannot start a worker: {}", r.error().message);
            workers.pop_back();
            rc = 1;
            break;
        }
    }
    if (rc == 0) {
        std::string names;
        for (const auto& l : listeners) names += (names.empty() ? "" : ", ") + l.name;
        log->info("listening on {} with {} worker(s), store {}", names, n,
                  redact_store_uri(snapshot->config.store.uri));
        Acceptor acceptor(shared, listeners, workers, reload);
        if (auto r = acceptor.run(); !r) {
            log->error("{}", r.error().message);
            rc = 1;
        }
    }
    shared.stop.store(true, std::memory_order_release);
    for (auto& w : workers) w->wake();
    for (auto& w : workers) w->join();
    for (const auto& l : listeners) remove_socket_file(l);
    const auto& t = shared.totals;
    log->info("stopped: {} requests, {} refused, {} would-refuse (not enforced), {} store errors", t.requests,
              t.refused, t.warned, t.store_errors);
    log->flush();
    return rc;
}

}  // namespace bg::policyd
