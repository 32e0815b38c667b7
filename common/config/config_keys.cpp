// config_keys.cpp - THE key table: every configuration key, once. Adding a key means adding a
// row here and a line to conf/bounceguard.toml (test_config checks that the two agree).
#include <vector>

#include "config/config.hpp"

namespace bg {

namespace {

const std::string& str(const KeyValue& v) { return std::get<std::string>(v); }
const std::vector<std::string>& list(const KeyValue& v) { return std::get<std::vector<std::string>>(v); }

constexpr std::int64_t kib = 1024;
constexpr std::int64_t day = 86400;
constexpr std::int64_t year = 365 * day;

// Per-category keys of [suppress.CATEGORY], generated from pointers to the members.
template <CategoryPolicy PolicyConfig::*Cat, std::int64_t CategoryPolicy::*Field>
void set_i64(Config& c, const KeyValue& v) { (c.policy.*Cat).*Field = std::get<std::int64_t>(v); }
template <CategoryPolicy PolicyConfig::*Cat, std::int64_t CategoryPolicy::*Field>
KeyValue get_i64(const Config& c) { return (c.policy.*Cat).*Field; }
template <CategoryPolicy PolicyConfig::*Cat>
void set_count(Config& c, const KeyValue& v) { (c.policy.*Cat).count = static_cast<int>(std::get<std::int64_t>(v)); }
template <CategoryPolicy PolicyConfig::*Cat>
KeyValue get_count(const Config& c) { return std::int64_t{(c.policy.*Cat).count}; }

struct CategoryDefaults {
    std::string_view count, window, min_span, ttl, ttl_max;
};

template <CategoryPolicy PolicyConfig::*Cat>
void add_category(std::vector<ConfigKey>& keys, std::string_view name_count, std::string_view name_window,
                  std::string_view name_span, std::string_view name_ttl, std::string_view name_ttl_max,
                  const CategoryDefaults& d) {
    keys.push_back({name_count, KeyType::Integer, d.count,
                    "soft verdicts: events needed within the window before the address is suppressed", 1, 1000, "",
                    set_count<Cat>, get_count<Cat>});
    keys.push_back({name_window, KeyType::Duration, d.window, "how far back events are counted", 0, 10 * year, "",
                    set_i64<Cat, &CategoryPolicy::window>, get_i64<Cat, &CategoryPolicy::window>});
    keys.push_back({name_span, KeyType::Duration, d.min_span,
                    "soft verdicts: the counted events must be spread over at least this long", 0, 10 * year, "",
                    set_i64<Cat, &CategoryPolicy::min_span>, get_i64<Cat, &CategoryPolicy::min_span>});
    keys.push_back({name_ttl, KeyType::Duration, d.ttl, "how long the suppression lasts; \"0s\" = for good", 0,
                    100 * year, "", set_i64<Cat, &CategoryPolicy::ttl>, get_i64<Cat, &CategoryPolicy::ttl>});
    keys.push_back({name_ttl_max, KeyType::Duration, d.ttl_max,
                    "a repeat after expiry doubles the lifetime up to this; \"0s\" = no doubling", 0, 100 * year, "",
                    set_i64<Cat, &CategoryPolicy::ttl_max>, get_i64<Cat, &CategoryPolicy::ttl_max>});
}

std::vector<ConfigKey> make_keys() {
    std::vector<ConfigKey> keys{
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
    {"store.uri", KeyType::String, R"("sqlite:/var/lib/bounceguard/bounceguard.db")",
     "the suppression store: sqlite:PATH, or postgresql://user@host:5432/db for several MTAs", 0, 0, "",
     [](Config& c, const KeyValue& v) { c.store.uri = str(v); },
     [](const Config& c) -> KeyValue { return c.store.uri; }},
    {"store.event_retention", KeyType::Duration, R"("400d")",
     "how long recorded events are kept as evidence (`bounceguard expire` purges older ones)", 86400, 100 * year, "",
     [](Config& c, const KeyValue& v) { c.store.event_retention = std::get<std::int64_t>(v); },
     [](const Config& c) -> KeyValue { return c.store.event_retention; }},
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
    {"policy.mode", KeyType::Choice, R"("enforce")",
     "enforce, or observe: decide and log everything, suppress nothing (like Postfix warn_if_reject)", 0, 0,
     "enforce|observe",
     [](Config& c, const KeyValue& v) { c.policy.observe = str(v) == "observe"; },
     [](const Config& c) -> KeyValue { return std::string(c.policy.observe ? "observe" : "enforce"); }},
    {"policy.own_domains", KeyType::StringList, "[]", "the site's own domains (and their subdomains): never suppressed",
     0, 0, "",
     [](Config& c, const KeyValue& v) { c.policy.own_domains = list(v); },
     [](const Config& c) -> KeyValue { return c.policy.own_domains; }},
    {"policy.allow_addresses", KeyType::StringList, "[]", "addresses that are never suppressed", 0, 0, "",
     [](Config& c, const KeyValue& v) { c.policy.allow_addresses = list(v); },
     [](const Config& c) -> KeyValue { return c.policy.allow_addresses; }},
    {"policy.allow_domains", KeyType::StringList, "[]", "domains (and their subdomains) that are never suppressed", 0,
     0, "",
     [](Config& c, const KeyValue& v) { c.policy.allow_domains = list(v); },
     [](const Config& c) -> KeyValue { return c.policy.allow_domains; }},
    {"policy.allow_patterns", KeyType::StringList, "[]",
     "address patterns (* and ?, case-insensitive) that are never suppressed", 0, 0, "",
     [](Config& c, const KeyValue& v) { c.policy.allow_patterns = list(v); },
     [](const Config& c) -> KeyValue { return c.policy.allow_patterns; }},
    {"enforce.scope", KeyType::Choice, R"("outbound")",
     "which mail is checked at RCPT TO: outbound (as the keys below say) or all", 0, 0, "outbound|all",
     [](Config& c, const KeyValue& v) { c.enforce.scope = str(v); },
     [](const Config& c) -> KeyValue { return c.enforce.scope; }},
    {"enforce.sasl_authenticated", KeyType::Bool, "true", "mail from SASL-authenticated clients is outbound", 0, 0,
     "",
     [](Config& c, const KeyValue& v) { c.enforce.sasl_authenticated = std::get<bool>(v); },
     [](const Config& c) -> KeyValue { return c.enforce.sasl_authenticated; }},
    {"enforce.networks", KeyType::StringList, R"(["127.0.0.0/8", "::1/128"])",
     "mail from clients in these networks (CIDR) is outbound, like Postfix mynetworks", 0, 0, "",
     [](Config& c, const KeyValue& v) { c.enforce.networks = list(v); },
     [](const Config& c) -> KeyValue { return c.enforce.networks; }},
    {"enforce.policy_contexts", KeyType::StringList, "[]",
     "policy daemon: mail whose policy_context is one of these is outbound (smtpd_policy_service_policy_context)",
     0, 0, "",
     [](Config& c, const KeyValue& v) { c.enforce.policy_contexts = list(v); },
     [](const Config& c) -> KeyValue { return c.enforce.policy_contexts; }},
    {"enforce.daemon_names", KeyType::StringList, "[]",
     "milter: mail whose {daemon_name} is one of these is outbound (e.g. \"ORIGINATING\", \"LOCAL\")", 0, 0,
     "",
     [](Config& c, const KeyValue& v) { c.enforce.daemon_names = list(v); },
     [](const Config& c) -> KeyValue { return c.enforce.daemon_names; }},
    {"enforce.action", KeyType::Choice, R"("reject")",
     "what a suppressed outbound recipient gets: reject (5xx), defer (4xx) or warn (log only)", 0, 0,
     "reject|defer|warn",
     [](Config& c, const KeyValue& v) { c.enforce.action = str(v); },
     [](const Config& c) -> KeyValue { return c.enforce.action; }},
    {"enforce.reject_reply", KeyType::String,
     R"("550 {status} <{recipient}> suppressed since {since}: {category}")",
     "5xx reply for a suppressed recipient; {recipient} {category} {since} {expires} {status} {reason}", 0, 0, "",
     [](Config& c, const KeyValue& v) { c.enforce.reject_reply = str(v); },
     [](const Config& c) -> KeyValue { return c.enforce.reject_reply; }},
    {"enforce.defer_reply", KeyType::String,
     R"("450 {status} <{recipient}> suppressed since {since}: {category}")",
     "4xx reply when enforce.action is defer; the same placeholders", 0, 0, "",
     [](Config& c, const KeyValue& v) { c.enforce.defer_reply = str(v); },
     [](const Config& c) -> KeyValue { return c.enforce.defer_reply; }},
    {"enforce.on_store_error", KeyType::Choice, R"("continue")",
     "when the store cannot answer: continue (let the mail through) or tempfail (4xx); never a 5xx", 0, 0,
     "continue|tempfail",
     [](Config& c, const KeyValue& v) { c.enforce.on_store_error = str(v); },
     [](const Config& c) -> KeyValue { return c.enforce.on_store_error; }},
    {"enforce.tempfail_reply", KeyType::String,
     R"("451 4.3.0 suppression list temporarily unavailable, try again later")",
     "4xx reply when on_store_error is tempfail", 0, 0, "",
     [](Config& c, const KeyValue& v) { c.enforce.tempfail_reply = str(v); },
     [](const Config& c) -> KeyValue { return c.enforce.tempfail_reply; }},
    {"policyd.listen", KeyType::StringList, R"(["inet:127.0.0.1:10045"])",
     "where the policy daemon listens: unix:PATH and/or inet:HOST:PORT (Postfix notation; --listen overrides)", 0, 0,
     "",
     [](Config& c, const KeyValue& v) { c.policyd.listen = list(v); },
     [](const Config& c) -> KeyValue { return c.policyd.listen; }},
    {"policyd.user", KeyType::String, R"("bounceguard")",
     "after binding its sockets as root, the policy daemon runs as this user (and its group); \"\" = stay", 0, 0, "",
     [](Config& c, const KeyValue& v) { c.policyd.user = str(v); },
     [](const Config& c) -> KeyValue { return c.policyd.user; }},
    {"policyd.workers", KeyType::Integer, "0",
     "threads answering requests, each with its own store connection; 0 = one per CPU", 0, 64, "",
     [](Config& c, const KeyValue& v) { c.policyd.workers = std::get<std::int64_t>(v); },
     [](const Config& c) -> KeyValue { return c.policyd.workers; }},
    {"policyd.max_connections", KeyType::Integer, "1000",
     "connections served at once (Postfix opens one per smtpd process); further ones are closed at once", 1,
     100000, "",
     [](Config& c, const KeyValue& v) { c.policyd.max_connections = std::get<std::int64_t>(v); },
     [](const Config& c) -> KeyValue { return c.policyd.max_connections; }},
    {"policyd.idle_timeout", KeyType::Duration, R"("10m")",
     "a connection with no request in progress is closed after this (Postfix closes its own after 300s)", 1,
     day, "",
     [](Config& c, const KeyValue& v) { c.policyd.idle_timeout = std::get<std::int64_t>(v); },
     [](const Config& c) -> KeyValue { return c.policyd.idle_timeout; }},
    {"policyd.request_timeout", KeyType::Duration, R"("10s")",
     "a request must be complete this long after its first byte, or the connection is closed", 1, 3600, "",
     [](Config& c, const KeyValue& v) { c.policyd.request_timeout = std::get<std::int64_t>(v); },
     [](const Config& c) -> KeyValue { return c.policyd.request_timeout; }},
    {"policyd.max_line_bytes", KeyType::Integer, "8192",
     "longest name=value line of a request; a longer line is dropped and the request decided without it", 256,
     1024 * kib, "",
     [](Config& c, const KeyValue& v) { c.policyd.max_line_bytes = std::get<std::int64_t>(v); },
     [](const Config& c) -> KeyValue { return c.policyd.max_line_bytes; }},
    {"policyd.max_attributes", KeyType::Integer, "100",
     "attributes read per request (Postfix 3.7 sends about 30); further ones are dropped", 10, 10000, "",
     [](Config& c, const KeyValue& v) { c.policyd.max_attributes = std::get<std::int64_t>(v); },
     [](const Config& c) -> KeyValue { return c.policyd.max_attributes; }},
    {"maillog.state_file", KeyType::String, R"("/var/lib/bounceguard/ingest-log.position")",
     "where `ingest-log --follow` keeps its position in the log (inode, offset, hash), written atomically", 0, 0, "",
     [](Config& c, const KeyValue& v) { c.maillog.state_file = str(v); },
     [](const Config& c) -> KeyValue { return c.maillog.state_file; }},
    {"maillog.poll_interval_ms", KeyType::Integer, "200",
     "milliseconds `ingest-log --follow` waits before looking for new lines again", 10, 10000, "",
     [](Config& c, const KeyValue& v) { c.maillog.poll_interval_ms = std::get<std::int64_t>(v); },
     [](const Config& c) -> KeyValue { return c.maillog.poll_interval_ms; }},
    {"maillog.max_line_bytes", KeyType::Integer, "16384",
     "a longer log line is cut there and the rest of it skipped", 1024, 1024 * kib, "",
     [](Config& c, const KeyValue& v) { c.maillog.max_line_bytes = std::get<std::int64_t>(v); },
     [](const Config& c) -> KeyValue { return c.maillog.max_line_bytes; }},
    {"maillog.max_queue_ids", KeyType::Integer, "50000",
     "queue ids remembered to join a sender to its delivery lines; past it the oldest are forgotten", 100,
     10000000, "",
     [](Config& c, const KeyValue& v) { c.maillog.max_queue_ids = std::get<std::int64_t>(v); },
     [](const Config& c) -> KeyValue { return c.maillog.max_queue_ids; }},
    {"maillog.hop_relays", KeyType::StringList, "[]",
     "relay= globs whose status=sent is a hop (content filter), not a delivery, e.g. \"*]:10024\"", 0, 0, "",
     [](Config& c, const KeyValue& v) { c.maillog.hop_relays = list(v); },
     [](const Config& c) -> KeyValue { return c.maillog.hop_relays; }},
    {"breaker.enabled", KeyType::Bool, "true",
     "hold suppressions back when one destination rejects many recipients alike (a block of us)", 0, 0, "",
     [](Config& c, const KeyValue& v) { c.policy.breaker.enabled = std::get<bool>(v); },
     [](const Config& c) -> KeyValue { return c.policy.breaker.enabled; }},
    {"breaker.distinct_recipients", KeyType::Integer, "25",
     "distinct recipients at one destination with the same category that trip the breaker", 2, 100000, "",
     [](Config& c, const KeyValue& v) { c.policy.breaker.distinct_recipients = static_cast<int>(std::get<std::int64_t>(v)); },
     [](const Config& c) -> KeyValue { return std::int64_t{c.policy.breaker.distinct_recipients}; }},
    {"breaker.window", KeyType::Duration, R"("10m")", "the time within which those recipients are counted", 1,
     7 * day, "",
     [](Config& c, const KeyValue& v) { c.policy.breaker.window = std::get<std::int64_t>(v); },
     [](const Config& c) -> KeyValue { return c.policy.breaker.window; }},
    };
    add_category<&PolicyConfig::user_unknown>(keys, "suppress.user_unknown.count", "suppress.user_unknown.window",
        "suppress.user_unknown.min_span", "suppress.user_unknown.ttl", "suppress.user_unknown.ttl_max",
        {"3", R"("7d")", R"("1d")", R"("180d")", R"("730d")"});
    add_category<&PolicyConfig::domain_unknown>(keys, "suppress.domain_unknown.count", "suppress.domain_unknown.window",
        "suppress.domain_unknown.min_span", "suppress.domain_unknown.ttl", "suppress.domain_unknown.ttl_max",
        {"2", R"("3d")", R"("1h")", R"("7d")", R"("60d")"});
    add_category<&PolicyConfig::has_moved>(keys, "suppress.has_moved.count", "suppress.has_moved.window",
        "suppress.has_moved.min_span", "suppress.has_moved.ttl", "suppress.has_moved.ttl_max",
        {"3", R"("7d")", R"("1d")", R"("365d")", R"("0s")"});
    add_category<&PolicyConfig::mailbox_full>(keys, "suppress.mailbox_full.count", "suppress.mailbox_full.window",
        "suppress.mailbox_full.min_span", "suppress.mailbox_full.ttl", "suppress.mailbox_full.ttl_max",
        {"3", R"("14d")", R"("3d")", R"("30d")", R"("180d")"});
    add_category<&PolicyConfig::mailbox_disabled>(keys, "suppress.mailbox_disabled.count",
        "suppress.mailbox_disabled.window", "suppress.mailbox_disabled.min_span", "suppress.mailbox_disabled.ttl",
        "suppress.mailbox_disabled.ttl_max", {"3", R"("14d")", R"("2d")", R"("60d")", R"("365d")"});
    add_category<&PolicyConfig::complaint>(keys, "suppress.complaint.count", "suppress.complaint.window",
        "suppress.complaint.min_span", "suppress.complaint.ttl", "suppress.complaint.ttl_max",
        {"1", R"("0s")", R"("0s")", R"("0s")", R"("0s")"});
    keys.push_back({"suppress.complaint.sticky", KeyType::Bool, "true",
                    "a complaint's suppression is not lifted by a later successful delivery", 0, 0, "",
                    [](Config& c, const KeyValue& v) { c.policy.complaint.sticky = std::get<bool>(v); },
                    [](const Config& c) -> KeyValue { return c.policy.complaint.sticky; }});
    return keys;
}

}  // namespace

std::span<const ConfigKey> config_keys() noexcept {
    static const std::vector<ConfigKey> keys = make_keys();
    return keys;
}

}  // namespace bg
