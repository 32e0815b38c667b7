// listener.cpp - see listener.hpp.
#include "listener.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace bg::policyd {

Result<ListenAddress> parse_listen_address(std::string_view spec) {
    ListenAddress a;
    a.spec = std::string(spec);
    const auto bad = [&](std::string_view why) {
        return Error{"listen address \"" + a.spec + "\": " + std::string(why) +
                     " (expected unix:PATH or inet:HOST:PORT)"};
    };
    if (spec.starts_with("unix:")) {
        a.unix_socket = true;
        a.path = std::string(spec.substr(5));
        if (a.path.empty() || a.path[0] != '/') return bad("the socket path must be absolute");
        if (a.path.size() >= sizeof(sockaddr_un{}.sun_path)) return bad("the socket path is too long");
        return a;
    }
    if (!spec.starts_with("inet:")) return bad("unknown type");
    std::string_view rest = spec.substr(5);
    std::string_view host;
    std::string_view port;
    if (rest.starts_with("[")) {
        const auto close = rest.find("]:");
        if (close == std::string_view::npos) return bad("an IPv6 address needs [ADDR]:PORT");
        host = rest.substr(1, close - 1);
        port = rest.substr(close + 2);
    } else {
        const auto colon = rest.rfind(':');
        if (colon == std::string_view::npos) return bad("no port");
        host = rest.substr(0, colon);
        port = rest.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) return bad("write an IPv6 address as [ADDR]:PORT");
    }
    if (host.empty()) return bad("no host (write 127.0.0.1 for loopback)");
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos ||
        std::stoi(std::string(port)) > 65535)
        return bad("the port must be a number from 0 to 65535");
    a.host = std::string(host);
    a.port = std::string(port);
    return a;
}

namespace {

std::string errno_text(int e) { return std::strerror(e); }

Result<Listener> open_unix(const ListenAddress& a) {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, a.path.c_str(), a.path.size() + 1);
    struct stat st {};
    if (lstat(a.path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) return Error{a.spec + ": a file that is not a socket is in the way"};
        UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (probe && ::connect(probe.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0)
            return Error{a.spec + ": another process is listening on it"};
        ::unlink(a.path.c_str());  // a stale socket of an earlier run
    }
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return Error{a.spec + ": socket: " + errno_text(errno)};
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
        return Error{a.spec + ": bind: " + errno_text(errno)};
    if (::chmod(a.path.c_str(), 0666) != 0) return Error{a.spec + ": chmod: " + errno_text(errno)};
    if (::listen(fd.get(), SOMAXCONN) != 0) return Error{a.spec + ": listen: " + errno_text(errno)};
    return Listener{.address = a, .fd = std::move(fd), .name = "unix:" + a.path};
}

Result<Listener> open_inet(const ListenAddress& a) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* res = nullptr;
    if (const int rc = ::getaddrinfo(a.host.c_str(), a.port.c_str(), &hints, &res); rc != 0)
        return Error{a.spec + ": " + gai_strerror(rc)};
    const std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owned(res, &freeaddrinfo);
    std::string last = "no address";
    for (const addrinfo* ai = res; ai; ai = ai->ai_next) {
        UniqueFd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol));
        if (!fd) {
            last = "socket: " + errno_text(errno);
            continue;
        }
        const int one = 1;
        ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (ai->ai_family == AF_INET6) ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        if (::bind(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
            last = "bind: " + errno_text(errno);
            continue;
        }
        if (::listen(fd.get(), SOMAXCONN) != 0) {
            last = "listen: " + errno_text(errno);
            continue;
        }
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len);
        char host[INET6_ADDRSTRLEN] = "?";
        int port = 0;
        if (ss.ss_family == AF_INET) {
            const auto* sin = reinterpret_cast<const sockaddr_in*>(&ss);
            ::inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
            port = ntohs(sin->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&ss);
            ::inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
            port = ntohs(sin6->sin6_port);
        }
        const std::string h = ss.ss_family == AF_INET6 ? "[" + std::string(host) + "]" : std::string(host);
        return Listener{.address = a, .fd = std::move(fd), .name = "inet:" + h + ":" + std::to_string(port)};
    }
    return Error{a.spec + ": " + last};
}

}  // namespace

Result<Listener> open_listener(const ListenAddress& address) {
    return address.unix_socket ? open_unix(address) : open_inet(address);
}

void remove_socket_file(const Listener& l) noexcept {
    if (!l.address.unix_socket) return;
    struct stat st {};
    if (lstat(l.address.path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(l.address.path.c_str());
}

}  // namespace bg::policyd
