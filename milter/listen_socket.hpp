// listen_socket.hpp - TCP_NODELAY for the connections libmilter accepts.
// Over TCP, libmilter writes an answer in pieces (a header inserted, a recipient removed, then the
// reply at end of message) and the MTA writes a command's macros and the command itself one
// after the other. With Nagle's algorithm on, each piece after the first waits until the peer
// acknowledges the one before, and the peer delays that ACK (up to 40 ms on Linux) because it has
// nothing to answer yet: a stall per message. Linux gives every accepted socket the listening
// socket's TCP_NODELAY, so setting it on the listening socket covers every connection.
// libmilter does not hand out its listening socket (smfi_opensocket keeps it): it is found among
// the process's open descriptors as the listening TCP socket bound to the configured port.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace bg::milter {

// The port of a libmilter connection string ("inet:PORT@HOST", "inet6:PORT@HOST"); none for
// "unix:" / "local:" sockets.
std::optional<std::uint16_t> tcp_port_of(std::string_view libmilter_conn) noexcept;

// Sets TCP_NODELAY on every listening TCP socket of this process bound to `port`; returns how many.
int set_nodelay_on_listeners(std::uint16_t port) noexcept;

}  // namespace bg::milter
