// config_keys.cpp - THE key table: every configuration key, once. Adding a key means adding a
// row here and a line to conf/bounceguard.toml (test_config checks that the two agree).
#include <array>

#include "config/config.hpp"

namespace bg {

namespace {

const std::string& str(const KeyValue& v) { return std::get<std::string>(v); }

constexpr std::int64_t kib = 1024;

const std::array<ConfigKey, 7> keys{{
    {"log.target", KeyType::Choice, R"("stderr")",
     "where log lines go: stderr, or syslog (the programs' --foreground forces stderr)", 0, 0, "stderr|syslog",
     [](Config& c, const KeyValue& v) { c.log.target = str(v); },
     [](const Config& c) -> KeyValue { return c.log.target; }},
    {"log.level", KeyType::Choice, R"("info")", "least severe level that is logged", 0, 0,
     "trace|debug|info|warn|error|off",
     [](Config& c, const KeyValue& v) { c.log.level = str(v); },
     [](const Config& c) -> KeyValue { return c.log.level; }},
    {"log.syslog_facility", KeyType::Choice, R"("mail")", "syslog facility, as for the MTA's own logs", 0, 0,
     "mail|daemon|local0|local1|local2|local3|local4|local5|local6|local7",
     [](Config& c, const KeyValue& v) { c.log.facility = str(v); },
     [](const Config& c) -> KeyValue { return c.log.facility; }},
    {"log.syslog_ident", KeyType::String, R"("bounceguard")", "syslog identifier; the program name is appended",
     0, 0, "",
     [](Config& c, const KeyValue& v) { c.log.ident = str(v); },
     [](const Config& c) -> KeyValue { return c.log.ident; }},
    {"classify.default_rules", KeyType::Bool, "true",
     "try the shipped rules after the site's own; false leaves only the site's rules", 0, 0, "",
     [](Config& c, const KeyValue& v) { c.classify.default_rules = std::get<bool>(v); },
     [](const Config& c) -> KeyValue { return c.classify.default_rules; }},
    {"classify.rules_file", KeyType::String, R"("")",
     "a file of [[rule]] tables tried after this file's own rules and before the shipped ones", 0, 0, "",
     [](Config& c, const KeyValue& v) { c.classify.rules_file = str(v); },
     [](const Config& c) -> KeyValue { return c.classify.rules_file; }},
    {"classify.max_reply_bytes", KeyType::Integer, "16384",
     "bytes of one SMTP reply that are looked at; the rest is ignored", 512, 1024 * kib, "",
     [](Config& c, const KeyValue& v) { c.classify.max_reply_bytes = std::get<std::int64_t>(v); },
     [](const Config& c) -> KeyValue { return c.classify.max_reply_bytes; }},
}};

}  // namespace

std::span<const ConfigKey> config_keys() noexcept { return keys; }

}  // namespace bg
