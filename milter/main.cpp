// main.cpp - bounceguard-milter(8): the milter for Postfix (smtpd_milters, non_smtpd_milters) and
// Sendmail (INPUT_MAIL_FILTER). Reads the configuration, binds the socket, drops privileges,
// then serves libmilter connections; SIGHUP reloads the configuration (the next connections get
// it; a configuration that does not load leaves the running one in place), SIGTERM stops.
//   bounceguard-milter [--config FILE] [--store URI] [--listen unix:PATH|inet:HOST:PORT] [--foreground]
// Exit codes: 0 stopped by a signal, 1 operational error, 2 usage or configuration error.
// SECURITY: starts as root only to bind the socket and read the token key; every connection is
// served as milter.user. LIMITATION: libmilter stops on a SIGHUP it receives itself; the reload
// works because the main thread keeps SIGHUP unblocked, so Linux delivers a process-directed
// SIGHUP to it (libmilter's own signal thread only gets it if the main thread cannot take it).
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <thread>

#include "callbacks.hpp"
#include "listen_socket.hpp"
#include "log/logging.hpp"
#include "metrics/exporter.hpp"

namespace {

using namespace bg;

int wake_pipe[2] = {-1, -1};

extern "C" void on_sighup(int) {
    const char b = 'h';
    [[maybe_unused]] auto n = write(wake_pipe[1], &b, 1);
}

struct Options {
    std::string config_path, store_uri, listen;
    bool foreground = false;
};

Result<Config> load(const Options& o) {
    Result<Config> c = [&]() -> Result<Config> {
        if (!o.config_path.empty()) return load_config(o.config_path);
        const std::string def(default_config_path);
        std::error_code ec;
        if (std::filesystem::exists(def, ec)) return load_config(def);
        return default_config();
    }();
    if (!c) return c;
    if (!o.store_uri.empty()) c->store.uri = o.store_uri;
    if (!o.listen.empty()) c->milter.listen = o.listen;
    return c;
}

// setgid/initgroups/setuid to the configured user, and check that root cannot be regained.
Result<void> drop_privileges(const std::string& user, const std::string& socket_path) {
    if (user.empty() || geteuid() != 0) return {};
    const passwd* pw = getpwnam(user.c_str());
    if (!pw) return Error{"milter.user: no such user '" + user + "' (create it, or set user = \"\")"};
    if (!socket_path.empty() && chown(socket_path.c_str(), pw->pw_uid, pw->pw_gid) != 0)
        return Error{"cannot chown " + socket_path + ": " + std::strerror(errno)};
    if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
        return Error{"cannot switch to user '" + user + "': " + std::strerror(errno)};
    if (setuid(0) == 0) return Error{"privileges were not dropped: setuid(0) still works"};
    return {};
}

int serve(const Options& opt) {
    auto cfg = load(opt);
    if (!cfg) {
        std::cerr << "bounceguard-milter: " << cfg.error().message << "\n";
        return 2;
    }
    auto log = make_logger(cfg->log, "milter", opt.foreground);
    if (!log) {
        std::cerr << "bounceguard-milter: " << log.error().message << "\n";
        return 2;
    }
    auto logger = *log;
    auto counters = std::make_shared<milter::Counters>();
    auto config = std::make_shared<const Config>(std::move(*cfg));
    auto snap = milter::Snapshot::make(config, nullptr, logger, counters);
    if (!snap) {
        std::cerr << "bounceguard-milter: " << snap.error().message << "\n";
        return 2;
    }
    auto conn = milter::to_libmilter_socket(config->milter.listen);
    if (!conn) {
        std::cerr << "bounceguard-milter: " << conn.error().message << "\n";
        return 2;
    }
    milter::set_current_snapshot(*snap);
    const auto tcp_port = milter::tcp_port_of(*conn);  // none for a unix socket
    milter::set_answer_data(tcp_port.has_value());     // callbacks.hpp

    // Bind as root, with a umask that lets the MTA's group use a unix socket.
    const mode_t old_mask = umask(0007);
    if (smfi_setconn(conn->data()) != MI_SUCCESS || smfi_settimeout(static_cast<int>(config->milter.timeout)) != MI_SUCCESS ||
        smfi_register(milter::filter_description()) != MI_SUCCESS || smfi_opensocket(true) != MI_SUCCESS) {
        std::cerr << "bounceguard-milter: cannot listen on " << config->milter.listen
                  << " (in use, or the directory is missing?)\n";
        return 1;
    }
    umask(old_mask);
    // Over TCP, no Nagle delay on the connections (listen_socket.hpp).
    if (tcp_port && milter::set_nodelay_on_listeners(*tcp_port) == 0)
        logger->warn("could not set TCP_NODELAY on the listening socket of {}", config->milter.listen);
    const std::string socket_path = conn->starts_with("unix:") ? conn->substr(5) : std::string();
    if (auto d = drop_privileges(config->milter.user, socket_path); !d) {
        std::cerr << "bounceguard-milter: " << d.error().message << "\n";
        return 1;
    }
    if (!opt.foreground && daemon(0, 0) != 0) {
        std::cerr << "bounceguard-milter: cannot detach: " << std::strerror(errno) << "\n";
        return 1;
    }
    // The store is opened now (as the service user), and re-opened later if it is down.
    const auto now = static_cast<UnixTime>(std::time(nullptr));
    if (auto s = (*snap)->store->get(now); !s)
        logger->error("store unavailable at start: {}; enforce.on_store_error = {} applies until it is back",
                      s.error().message, config->enforce.on_store_error);
    logger->info("started listen={} store={} user={} mode={}", config->milter.listen,
                 redact_store_uri(config->store.uri),
                 config->milter.user.empty() ? std::string("(unchanged)") : config->milter.user,
                 config->policy.observe ? "observe" : "enforce");

    if (pipe2(wake_pipe, O_CLOEXEC) != 0) return 1;
    // libmilter's signal thread takes SIGTERM/SIGINT (stop); this thread takes SIGHUP (reload).
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    pthread_sigmask(SIG_BLOCK, &block, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
    // After daemon() and with the signals blocked: the exporter's thread takes none of them.
    auto exporter = metrics::start_for_program(*config, "milter", logger);
    int rc = 0;
    std::thread milter_thread([&] {
        rc = smfi_main() == MI_SUCCESS ? 0 : 1;
        const char b = 'x';
        [[maybe_unused]] auto n = write(wake_pipe[1], &b, 1);
    });
    struct sigaction sa{};
    sa.sa_handler = on_sighup;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGHUP, &sa, nullptr);
    sigset_t hup;
    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    pthread_sigmask(SIG_UNBLOCK, &hup, nullptr);

    for (;;) {
        char b = 0;
        const auto n = read(wake_pipe[0], &b, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 || b == 'x') break;
        auto next = load(opt);
        if (!next) {
            logger->error("reload failed, keeping the running configuration: {}", next.error().message);
            metrics::registry().add(metrics::Metric::ConfigReloads, metrics::index(metrics::ReloadResult::Failed));
            continue;
        }
        auto fresh = milter::Snapshot::make(std::make_shared<const Config>(std::move(*next)),
                                            milter::current_snapshot()->store, logger, counters);
        if (!fresh) {
            logger->error("reload failed, keeping the running configuration: {}", fresh.error().message);
            metrics::registry().add(metrics::Metric::ConfigReloads, metrics::index(metrics::ReloadResult::Failed));
            continue;
        }
        milter::set_current_snapshot(*fresh);
        metrics::registry().add(metrics::Metric::ConfigReloads, metrics::index(metrics::ReloadResult::Ok));
        logger->info("reloaded store={} mode={}", redact_store_uri((*fresh)->config->store.uri),
                     (*fresh)->config->policy.observe ? "observe" : "enforce");
    }
    milter_thread.join();
    exporter.reset();  // the textfile a last time
    logger->info("stopped refused={} removed={} bounces={} learned={} unverified={} errors={}",
                 counters->refused.load(), counters->removed.load(), counters->bounces.load(),
                 counters->learned.load(), counters->unverified.load(), counters->errors.load());
    return rc;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"bounceguard-milter - refuse suppressed recipients, learn from bounces (Postfix, Sendmail)"};
    Options opt;
    app.add_option("--config", opt.config_path, "configuration file (default /etc/bounceguard/bounceguard.toml)");
    app.add_option("--store", opt.store_uri, "suppression store: sqlite:PATH or postgresql://...");
    app.add_option("--listen", opt.listen, "socket: unix:PATH or inet:HOST:PORT (default milter.listen)");
    app.add_flag("--foreground", opt.foreground, "do not detach; log to stderr");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        return rc == 0 ? 0 : 2;
    }
    try {
        return serve(opt);
    } catch (const std::exception& e) {
        std::cerr << "bounceguard-milter: " << e.what() << "\n";
        return 1;
    }
}
