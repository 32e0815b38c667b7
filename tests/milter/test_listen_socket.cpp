// TCP_NODELAY for the milter's connections: the port of a libmilter connection string, and a
// listening socket found by its port whose accepted connections then have TCP_NODELAY set.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "listen_socket.hpp"
#include "util/unique_fd.hpp"

namespace bg::milter {
namespace {

TEST(ListenSocket, TcpPortOfLibmilterConnectionStrings) {
    EXPECT_EQ(tcp_port_of("inet:8891@127.0.0.1"), 8891);
    EXPECT_EQ(tcp_port_of("inet6:8891@::1"), 8891);
    EXPECT_EQ(tcp_port_of("inet:8891"), 8891);
    EXPECT_FALSE(tcp_port_of("unix:/run/bounceguard/milter.sock"));
    EXPECT_FALSE(tcp_port_of("local:/run/x.sock"));
    EXPECT_FALSE(tcp_port_of("inet:@127.0.0.1"));
    EXPECT_FALSE(tcp_port_of("inet:0@127.0.0.1"));
    EXPECT_FALSE(tcp_port_of("inet:70000@127.0.0.1"));
    EXPECT_FALSE(tcp_port_of("inet:88x1@127.0.0.1"));
}

// A listening loopback socket on a port of the kernel's choosing.
UniqueFd listener(std::uint16_t& port) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd.get(), 4), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    return fd;
}

int nodelay_of_accepted(int listen_fd, std::uint16_t port) {
    UniqueFd c(::socket(AF_INET, SOCK_STREAM, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    EXPECT_EQ(::connect(c.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    UniqueFd s(::accept(listen_fd, nullptr, nullptr));
    int v = -1;
    socklen_t len = sizeof v;
    EXPECT_EQ(::getsockopt(s.get(), IPPROTO_TCP, TCP_NODELAY, &v, &len), 0);
    return v;
}

TEST(ListenSocket, AcceptedConnectionsGetNoDelayFromTheListenerOfThePort) {
    std::uint16_t port = 0, other_port = 0;
    UniqueFd l = listener(port);
    UniqueFd other = listener(other_port);
    ASSERT_TRUE(l);
    ASSERT_TRUE(other);
    EXPECT_EQ(nodelay_of_accepted(l.get(), port), 0);  // the kernel's default: Nagle on
    EXPECT_EQ(set_nodelay_on_listeners(port), 1);
    EXPECT_EQ(nodelay_of_accepted(l.get(), port), 1);
    EXPECT_EQ(nodelay_of_accepted(other.get(), other_port), 0);  // another port is left alone
}

}  // namespace
}  // namespace bg::milter
