// fuzz_policy_request.cpp - libFuzzer target for the policy daemon's protocol side: the request
// parser fed in pieces (the first byte picks the piece size) with small caps, then a session
// (parser + handler, no store: the failure mode answers) over the same bytes. Checks that every
// completed request gets exactly one single-line "action=...\n\n" answer.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "policy_request.hpp"
#include "session.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::size_t step = 1 + data[0] % 64;
    const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
    const bg::policyd::ParserLimits limits{.max_line_bytes = 256, .max_attributes = 10};

    bg::policyd::RequestParser parser(limits);
    std::size_t requests = 0;
    for (std::size_t i = 0; i < in.size(); i += step) {
        std::string_view piece = in.substr(i, step);
        while (!piece.empty()) {
            const std::size_t used = parser.feed(piece);
            if (used > piece.size()) std::abort();
            piece.remove_prefix(used);
            if (!parser.complete()) break;
            const auto& r = parser.request();
            if (r.attributes > limits.max_attributes || r.recipient.size() > limits.max_line_bytes) std::abort();
            ++requests;
            parser.next();
        }
    }

    static const auto snapshot = [] {
        bg::Config c = bg::default_config();
        c.enforce.scope = "all";
        c.enforce.on_store_error = "tempfail";
        c.policyd.max_line_bytes = 256;
        c.policyd.max_attributes = 10;
        return *bg::policyd::Snapshot::make(c);
    }();
    bg::policyd::SessionContext ctx;
    ctx.snapshot = snapshot;
    ctx.store_error = "no store";
    bg::policyd::Session session(snapshot->limits);
    std::string out;
    session.on_input(in, ctx, out, "fuzz");
    if (ctx.counters.requests != requests) std::abort();
    std::size_t answers = 0;
    for (std::size_t pos = 0; pos < out.size(); ++answers) {
        if (out.compare(pos, 7, "action=") != 0) std::abort();
        const auto end = out.find("\n\n", pos);
        if (end == std::string::npos || out.find_first_of("\r\n", pos) != end) std::abort();
        pos = end + 2;
    }
    if (answers != requests) std::abort();
    return 0;
}
