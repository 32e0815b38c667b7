// listener.hpp - the policy daemon's listening sockets, in Postfix's notation: "unix:PATH" or
// "inet:HOST:PORT" ("inet:127.0.0.1:10045", "inet:[::1]:10045"; port 0 picks a free port, whose
// number bound_name() reports).
// SECURITY: only the operator chooses addresses; a unix socket is made 0666 like Postfix's own
// private/ sockets, so the directory it is in decides who may connect. An existing file at a
// unix socket's path is replaced only when it is a socket nobody listens on.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace bg::policyd {

using bg::UniqueFd;

struct ListenAddress {
    bool unix_socket = false;
    std::string path;  // unix
    std::string host;  // inet
    std::string port;  // inet
    std::string spec;  // as written
};

// "unix:/run/bounceguard/policyd.sock" | "inet:127.0.0.1:10045" | "inet:[::1]:10045" | "inet:localhost:10045"
Result<ListenAddress> parse_listen_address(std::string_view spec);

struct Listener {
    ListenAddress address;
    UniqueFd fd;
    std::string name;  // what it is bound to ("inet:127.0.0.1:40123", "unix:/path")
};

// Binds and listens (non-blocking, close-on-exec).
Result<Listener> open_listener(const ListenAddress& address);

// Removes a unix socket's file when it is still ours (at shutdown); inet: nothing.
void remove_socket_file(const Listener& listener) noexcept;

}  // namespace bg::policyd
