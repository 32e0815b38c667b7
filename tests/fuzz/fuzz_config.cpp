// fuzz_config - libFuzzer target: the configuration loader (TOML, key table, inline rules) and
// the rule compiler. Operator input, but it must still fail cleanly on anything.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    auto config = bg::parse_config(input, "fuzz.toml");
    if (!config) return 0;
    config->classify.rules_file.clear();  // no file access from the fuzzer
    auto rules = bg::build_rule_set(*config);
    (void)rules;
    return 0;
}
