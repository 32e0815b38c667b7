// fuzz_reply - libFuzzer target: SMTP reply parsing + classification with the shipped rules.
// Invariants checked: never crash; every verdict names a rule; only recipient blame suppresses.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "classify/classifier.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const auto rules = bg::RuleSet::with_defaults({}).value();
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    auto reply = bg::parse_reply(input);
    if (!reply) return 0;
    if (reply->text.size() > bg::max_reply_bytes) std::abort();
    const bg::Verdict v = bg::classify(*reply, *rules);
    if (v.rule_id.empty()) std::abort();
    if (v.decision != bg::Decision::None && v.blame != bg::Blame::Recipient) std::abort();
    return 0;
}
