// exporter.cpp - see exporter.hpp. Plain sockets and poll(2): one listening socket, one client at
// a time, an eventfd to stop.
#include "metrics/exporter.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>

#include "util/unique_fd.hpp"

namespace bg::metrics {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

int ms_until(Clock::time_point t) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(t - Clock::now()).count();
    return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 60000));
}

Result<UniqueFd> bind_endpoint(const ListenAddress& a) {
    UniqueFd fd(::socket(a.v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return Error{std::string("socket: ") + std::strerror(errno)};
    const int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (a.v6) {
        auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(a.port);
        ::inet_pton(AF_INET6, a.host.c_str(), &sin6->sin6_addr);
        len = sizeof *sin6;
    } else {
        auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
        sin->sin_family = AF_INET;
        sin->sin_port = htons(a.port);
        ::inet_pton(AF_INET, a.host.c_str(), &sin->sin_addr);
        len = sizeof *sin;
    }
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0)
        return Error{"bind: " + std::string(std::strerror(errno))};
    if (::listen(fd.get(), 16) != 0) return Error{"listen: " + std::string(std::strerror(errno))};
    return fd;
}

std::uint16_t bound_port(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
    if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
    return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

std::string response(std::string_view status, std::string_view content_type, std::string_view extra,
                     std::string_view body, bool head) {
    std::string out = "HTTP/1.1 ";
    out += status;
    out += "\r\nContent-Type: ";
    out += content_type;
    out += "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    out += extra;
    out += "Connection: close\r\n\r\n";
    if (!head) out += body;
    return out;
}

std::string plain(std::string_view status, std::string_view extra = {}) {
    return response(status, "text/plain; charset=utf-8", extra, std::string(status) + "\n", false);
}

// The answer to a complete request head (the request line is all we look at).
std::string answer(std::string_view head, const Registry& registry) {
    const auto eol = head.find('\n');
    std::string_view line = head.substr(0, eol);
    if (line.ends_with('\r')) line.remove_suffix(1);
    const auto sp1 = line.find(' ');
    const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp1 == 0 || sp2 == std::string_view::npos || !line.substr(sp2 + 1).starts_with("HTTP/"))
        return plain("400 Bad Request");
    const auto method = line.substr(0, sp1);
    auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    if (const auto q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
    const bool head_only = method == "HEAD";
    if (method != "GET" && !head_only) return plain("405 Method Not Allowed", "Allow: GET, HEAD\r\n");
    if (target != "/metrics") return plain("404 Not Found");
    return response("200 OK", "text/plain; version=0.0.4; charset=utf-8", "", registry.render(), head_only);
}

// Reads a request head, answers, closes; all within deadline.
void serve(UniqueFd client, const Registry& registry, const ExporterOptions& o) {
    const auto deadline = Clock::now() + o.io_timeout;
    std::string in;
    std::string out;
    char buf[2048];
    for (;;) {
        pollfd p{.fd = client.get(), .events = POLLIN, .revents = 0};
        const int r = ::poll(&p, 1, ms_until(deadline));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return;  // timed out: closed without an answer
        const ssize_t n = ::recv(client.get(), buf, sizeof buf, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
        if (n <= 0) return;
        in.append(buf, static_cast<std::size_t>(n));
        const bool complete = in.find("\r\n\r\n") != std::string::npos || in.find("\n\n") != std::string::npos;
        if (complete) {
            out = answer(in, registry);
            break;
        }
        if (in.size() >= o.max_request_bytes) {
            out = plain("431 Request Header Fields Too Large");
            break;
        }
    }
    std::string_view left = out;
    while (!left.empty()) {
        pollfd p{.fd = client.get(), .events = POLLOUT, .revents = 0};
        const int r = ::poll(&p, 1, ms_until(deadline));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return;
        const ssize_t n = ::send(client.get(), left.data(), left.size(), MSG_NOSIGNAL);
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
        if (n <= 0) return;
        left.remove_prefix(static_cast<std::size_t>(n));
    }
    // Half-close and take what the client still sends for a moment, so that closing with unread
    // bytes does not reset the connection before the answer is read.
    ::shutdown(client.get(), SHUT_WR);
    const auto drain_until = std::min(deadline, Clock::now() + 200ms);
    for (int i = 0; i < 64; ++i) {
        pollfd p{.fd = client.get(), .events = POLLIN, .revents = 0};
        if (::poll(&p, 1, ms_until(drain_until)) <= 0) return;
        if (::recv(client.get(), buf, sizeof buf, 0) <= 0) return;
    }
}

}  // namespace

struct Exporter::Impl {
    UniqueFd listen;
    UniqueFd wake;
    std::thread thread;
    bool textfile_failing = false;
};

ExporterOptions exporter_options(const MetricsConfig& c, std::string_view program) {
    ExporterOptions o;
    if (program == "policyd") o.listen = c.policyd_listen;
    else if (program == "milter") o.listen = c.milter_listen;
    else if (program == "ingest-log") o.listen = c.ingest_log_listen;
    if (!c.textfile.empty()) o.textfile = expand_program(c.textfile, program);
    if (c.textfile_interval > 0) o.textfile_interval = std::chrono::seconds(c.textfile_interval);
    return o;
}

Exporter::Exporter(const Registry& registry, ExporterOptions options, std::shared_ptr<spdlog::logger> log)
    : registry_(registry), options_(std::move(options)), log_(std::move(log)), impl_(std::make_unique<Impl>()) {}

Result<std::unique_ptr<Exporter>> Exporter::start(const Registry& registry, ExporterOptions options,
                                                  std::shared_ptr<spdlog::logger> log) {
    std::unique_ptr<Exporter> e(new Exporter(registry, std::move(options), std::move(log)));
    auto& impl = *e->impl_;
    if (!e->options_.listen.empty()) {
        auto a = parse_listen(e->options_.listen);
        if (!a) return a.error();
        auto fd = bind_endpoint(*a);
        if (!fd) return Error{"metrics endpoint " + e->options_.listen + ": " + fd.error().message};
        impl.listen = std::move(*fd);
        e->port_ = bound_port(impl.listen.get());
    }
    impl.wake.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (!impl.wake) return Error{std::string("eventfd: ") + std::strerror(errno)};
    Exporter* self = e.get();
    impl.thread = std::thread([self] {
        auto& im = *self->impl_;
        const auto& o = self->options_;
        const auto write_file = [&] {
            if (o.textfile.empty()) return;
            auto r = write_textfile(o.textfile, self->registry_.render());
            if (!r && !im.textfile_failing && self->log_)
                self->log_->error("metrics textfile: {}", r.error().message);
            else if (r && im.textfile_failing && self->log_)
                self->log_->info("metrics textfile {} written again", o.textfile);
            im.textfile_failing = !r;
        };
        auto next_write = Clock::now();
        for (;;) {
            if (!o.textfile.empty() && Clock::now() >= next_write) {
                write_file();
                next_write = Clock::now() + o.textfile_interval;
            }
            pollfd p[2] = {{.fd = im.wake.get(), .events = POLLIN, .revents = 0},
                           {.fd = im.listen ? im.listen.get() : -1, .events = POLLIN, .revents = 0}};
            const int r = ::poll(p, 2, o.textfile.empty() ? -1 : ms_until(next_write));
            if (r < 0 && errno != EINTR) break;
            if (r <= 0) continue;
            if (p[0].revents) break;
            if (p[1].revents & POLLIN) {
                UniqueFd client(::accept4(im.listen.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
                if (client) {
                    try {
                        serve(std::move(client), self->registry_, o);
                    } catch (const std::exception& ex) {
                        // Out of memory and the like: this scrape only.
                        if (self->log_) self->log_->error("metrics endpoint: {}", ex.what());
                    }
                } else if (errno == EMFILE || errno == ENFILE) {
                    std::this_thread::sleep_for(100ms);  // level-triggered: do not spin
                }
            }
        }
        try {
            write_file();  // at exit
        } catch (const std::exception& ex) {
            if (self->log_) self->log_->error("metrics textfile: {}", ex.what());
        }
    });
    return e;
}

void Exporter::stop() noexcept {
    if (!impl_ || !impl_->thread.joinable()) return;
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(impl_->wake.get(), &one, sizeof one);
    impl_->thread.join();
}

Exporter::~Exporter() { stop(); }

namespace {

std::unique_ptr<Exporter> start_or_throw(const Config& config, std::string_view program,
                                         const std::shared_ptr<spdlog::logger>& log) {
    auto options = exporter_options(config.metrics, program);
    if (options.listen.empty() && options.textfile.empty()) return nullptr;
    registry().set_program(program);
    const std::string listen = options.listen;
    const std::string textfile = options.textfile;
    auto e = Exporter::start(registry(), options, log);
    if (!e && !textfile.empty()) {
        if (log) log->error("metrics endpoint not started: {} (mail flow goes on)", e.error().message);
        options.listen.clear();
        e = Exporter::start(registry(), std::move(options), log);
    }
    if (!e) {
        if (log) log->error("metrics not exported: {} (mail flow goes on)", e.error().message);
        return nullptr;
    }
    if (log) {
        // The port actually bound (listen may ask for port 0).
        std::string url;
        if ((*e)->port() != 0) {
            const auto a = parse_listen(listen);
            url = "http://" + (a->v6 ? "[" + a->host + "]" : a->host) + ":" + std::to_string((*e)->port()) +
                  "/metrics";
        }
        log->info("metrics: {}{}{}", url, !url.empty() && !textfile.empty() ? ", " : "",
                  textfile.empty() ? std::string() : "textfile " + textfile);
    }
    return std::move(*e);
}

}  // namespace

std::unique_ptr<Exporter> start_for_program(const Config& config, std::string_view program,
                                            std::shared_ptr<spdlog::logger> log) {
    try {
        return start_or_throw(config, program, log);
    } catch (const std::exception& e) {
        // No thread (resources exhausted): the program runs on without metrics.
        if (log) log->error("metrics not exported: {} (mail flow goes on)", e.what());
        return nullptr;
    }
}

}  // namespace bg::metrics
