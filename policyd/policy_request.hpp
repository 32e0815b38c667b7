// policy_request.hpp - the Postfix SMTPD access policy delegation protocol, request side: an
// incremental parser for "name=value" lines ended by an empty line (Postfix SMTPD_POLICY_README,
// "Protocol description"). Bytes may arrive in any split (one byte at a time, many requests in
// one read); the parser keeps only the attributes the policy daemon uses.
// SECURITY: every byte comes from the network. A line longer than max_line_bytes is dropped
// (without buffering it), attributes past max_attributes are dropped, and a line that is not
// "name=value" is dropped; each is counted so the caller can log it. Memory per parser is
// bounded by max_line_bytes plus the kept values (each at most max_line_bytes).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace bg::policyd {

struct ParserLimits {
    std::size_t max_line_bytes = 8192;  // including the name, the '=' and the value
    std::size_t max_attributes = 100;
};

// The attributes of one request that the daemon looks at; every other one is ignored, as the
// protocol asks ("the policy server must ignore attributes it does not care about").
struct PolicyRequest {
    std::string request;         // "smtpd_access_policy"
    std::string protocol_state;  // "RCPT", "DATA", "END-OF-MESSAGE", ...
    std::string recipient;
    std::string sender;
    std::string client_address;
    std::string client_name;
    std::string sasl_username;
    std::string policy_context;
    std::string queue_id;
    std::string instance;

    std::size_t attributes = 0;       // name=value lines read (known or not)
    std::size_t dropped_long = 0;     // lines longer than max_line_bytes
    std::size_t dropped_excess = 0;   // attributes past max_attributes
    std::size_t dropped_junk = 0;     // lines that are not name=value (or an empty name)

    bool has_dropped() const noexcept { return dropped_long + dropped_excess + dropped_junk > 0; }
    void clear() noexcept;  // keeps the strings' capacity
};

class RequestParser {
public:
    explicit RequestParser(ParserLimits limits = {}) noexcept : limits_(limits) {}

    // Consumes bytes of `in` up to and including the empty line that ends a request, and returns
    // how many it consumed (all of `in` when no request ended in it). When complete() turns true
    // the request is in request(); call next() before feeding the rest.
    std::size_t feed(std::string_view in);

    bool complete() const noexcept { return complete_; }
    const PolicyRequest& request() const noexcept { return req_; }
    // True when bytes of an unfinished request have been read (for the request timeout).
    bool in_request() const noexcept { return started_ && !complete_; }
    // Forget the finished request and start the next one.
    void next() noexcept;

    void set_limits(ParserLimits limits) noexcept { limits_ = limits; }

private:
    void line(std::string_view text);

    ParserLimits limits_;
    PolicyRequest req_;
    std::string partial_;     // the start of a line whose end has not arrived
    bool discarding_ = false; // inside an over-long line: skip up to its newline
    bool started_ = false;
    bool complete_ = false;
};

}  // namespace bg::policyd
