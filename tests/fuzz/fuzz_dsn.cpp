// fuzz_dsn - libFuzzer target for the bounce parser: the input is one raw message; it is parsed
// (MIME through GMime, RFC 3464/5965 fields, text heuristics, SES JSON) and every record is
// classified. Seeds: tests/corpus/dsn/*.eml and shared/corpus/sisimai-dev/emails/*.eml.
//   fuzz_dsn -max_len=262144 -timeout=5 corpus_dir/
// Small limits make the caps (recipients, depth, parts, field sizes) reachable by the fuzzer.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dsn/bounce_parser.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const auto rules = bg::RuleSet::with_defaults({}).value();
    static const bg::BounceLimits limits = [] {
        bg::BounceLimits l;
        l.max_message_bytes = 1024 * 1024;
        l.max_mime_depth = 8;
        l.max_mime_parts = 32;
        l.max_recipients = 50;
        l.max_text_bytes = 64 * 1024;
        l.max_field_bytes = 512;
        l.max_diagnostic_bytes = 1024;
        return l;
    }();
    const std::string_view raw(reinterpret_cast<const char*>(data), size);
    auto parsed = bg::parse_bounce(raw, limits);
    if (!parsed) return 0;
    bg::classify_bounce(*parsed, *rules);
    if (parsed->records.size() > limits.max_recipients) __builtin_trap();
    for (const auto& r : parsed->records)
        if (r.diagnostic.size() > limits.max_diagnostic_bytes) __builtin_trap();
    return 0;
}
