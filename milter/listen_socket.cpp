// listen_socket.cpp - see listen_socket.hpp.
#include "listen_socket.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>

namespace bg::milter {

std::optional<std::uint16_t> tcp_port_of(std::string_view conn) noexcept {
    std::string_view rest;
    if (conn.starts_with("inet:")) rest = conn.substr(5);
    else if (conn.starts_with("inet6:")) rest = conn.substr(6);
    else return std::nullopt;
    rest = rest.substr(0, rest.find('@'));
    unsigned port = 0;
    const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), port);
    if (ec != std::errc() || end != rest.data() + rest.size() || port == 0 || port > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(port);
}

int set_nodelay_on_listeners(std::uint16_t port) noexcept {
    // Called once at start-up, when the process has few descriptors open.
    rlimit rl{};
    const int max_fd = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                           ? static_cast<int>(std::min<rlim_t>(rl.rlim_cur, 65536))
                           : 65536;
    int done = 0;
    for (int fd = 0; fd < max_fd; ++fd) {
        int listening = 0;
        socklen_t len = sizeof listening;
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) continue;
        sockaddr_storage ss{};
        socklen_t sl = sizeof ss;
        if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &sl) != 0) continue;
        std::uint16_t bound = 0;
        if (ss.ss_family == AF_INET) bound = ntohs(reinterpret_cast<const sockaddr_in*>(&ss)->sin_port);
        else if (ss.ss_family == AF_INET6) bound = ntohs(reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port);
        else continue;
        if (bound != port) continue;
        const int one = 1;
        if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0) ++done;
    }
    return done;
}

}  // namespace bg::milter
