// config.hpp - bounceguard's configuration as typed structs, and the one key table that
// declares every key (name, type, default, bounds, one-line doc). The loader, `check-config`,
// `dump-config` and conf/bounceguard.toml all follow that table (a unit test keeps the sample
// file in step with it).
// SECURITY: the configuration is operator input; every value is validated against the table,
// unknown keys are errors, and errors name file:line.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "classify/rule_set.hpp"
#include "policy/thresholds.hpp"
#include "util/result.hpp"

namespace bg {

struct LogConfig {
    std::string target;    // "stderr" or "syslog"
    std::string level;     // trace, debug, info, warn, error, off
    std::string facility;  // mail, local0..local7
    std::string ident;     // syslog identifier
};

struct ClassifyConfig {
    bool default_rules = true;       // append the shipped rules after the site's own
    std::string rules_file;          // extra [[rule]] file, tried before the shipped rules
    std::int64_t max_reply_bytes = 0;
};

struct StoreConfig {
    std::string uri;                 // sqlite:PATH or postgresql://...
    std::int64_t event_retention = 0;  // seconds events are kept (`bounceguard expire`)
    std::int64_t lookup_snapshot_ms = 0;  // daemons: lookups share a read snapshot this long
};

// [enforce]: who is checked at RCPT TO and what a suppressed recipient gets (enforce/enforcer.hpp).
struct EnforceConfig {
    std::string scope;                        // "outbound" or "all"
    bool sasl_authenticated = true;           // SASL-authenticated clients are outbound
    std::vector<std::string> networks;        // client networks (CIDR) that are outbound
    std::vector<std::string> policy_contexts; // Postfix policy_context values that are outbound
    std::vector<std::string> daemon_names;    // milter {daemon_name} values that are outbound
    std::string action;                       // reject, defer or warn
    std::string reject_reply;
    std::string defer_reply;
    std::string on_store_error;               // continue or tempfail
    std::string tempfail_reply;
};

// [milter]: bounceguard-milter only (milter/): its socket, user, the {daemon_name} split, how
// bounces are learned and trusted (the outbound token), and its limits.
struct MilterConfig {
    std::string listen;                          // unix:PATH or inet:HOST:PORT (Postfix notation)
    std::string user;                            // drop privileges to this user after binding; "" = stay
    std::vector<std::string> local_daemon_names; // {daemon_name} of Postfix non-SMTP mail (no RCPT reject)
    std::vector<std::string> bounce_daemon_names;// {daemon_name} of the MTA's own bounces (trusted)
    std::string token_key_file;                  // HMAC key for the outbound token; "" = no token
    bool sign_outbound = true;                   // add the token header to outbound mail
    std::int64_t token_max_age = 0;              // seconds a returned token stays valid
    std::int64_t token_max_recipients = 0;       // per-recipient tags in one token header
    std::string unverified_bounces;              // log or apply
    bool learned_header = false;                 // add X-Bounceguard-Learned to learned bounces
    std::string on_internal_error;               // continue or tempfail
    std::int64_t max_bounce_bytes = 0;           // bytes of a bounce read; the rest is not parsed
    std::int64_t max_bounce_recipients = 0;      // recipients of one bounce that are recorded
    std::int64_t max_mime_depth = 0;             // MIME nesting of a bounce that is parsed
    std::int64_t timeout = 0;                    // seconds libmilter waits on the MTA
};

// [policyd]: bounceguard-policyd, the Postfix policy daemon (policyd/server.hpp).
struct PolicydConfig {
    std::vector<std::string> listen;   // "unix:PATH" or "inet:HOST:PORT" (Postfix notation)
    std::string user;                  // service user after binding, when started as root ("" = stay)
    std::int64_t workers = 0;          // threads answering requests (0 = one per CPU)
    std::int64_t max_connections = 0;  // connections served at once
    std::int64_t idle_timeout = 0;     // seconds a connection may wait between requests
    std::int64_t request_timeout = 0;  // seconds from a request's first byte to its end
    std::int64_t max_line_bytes = 0;   // longest name=value line
    std::int64_t max_attributes = 0;   // attributes per request
    std::int64_t sqlite_memory_mb = 0; // soft limit on the SQLite page cache of all workers
};

// [maillog]: `bounceguard ingest-log` (common/maillog/).
struct MaillogConfig {
    std::string state_file;               // where --follow keeps its position in the log
    std::int64_t poll_interval_ms = 0;    // how often --follow looks for new lines
    std::int64_t max_line_bytes = 0;      // a longer log line is cut
    std::int64_t max_queue_ids = 0;       // queue ids remembered to join a sender to its deliveries
    std::vector<std::string> hop_relays;  // relay= globs whose status=sent is a hop, not a delivery
};

// [metrics]: how each program shows its counters to Prometheus (metrics/exporter.hpp).
struct MetricsConfig {
    std::string policyd_listen;      // HTTP GET /metrics on HOST:PORT; "" = off
    std::string milter_listen;
    std::string ingest_log_listen;
    std::string textfile;            // node_exporter textfile, "{program}" replaced; "" = off
    std::int64_t textfile_interval = 0;  // seconds between rewrites
};

struct Config {
    LogConfig log;
    StoreConfig store;
    ClassifyConfig classify;
    PolicyConfig policy;             // [policy], [breaker], [suppress.*]
    EnforceConfig enforce;           // [enforce]
    MaillogConfig maillog;           // [maillog]
    PolicydConfig policyd;           // [policyd]
    MilterConfig milter;             // [milter]
    MetricsConfig metrics;           // [metrics]
    std::vector<RuleSpec> rules;     // inline [[rule]] tables of the configuration file
    std::string source;              // the file it came from, or "" for built-in defaults
};

enum class KeyType { String, Bool, Integer, Duration, Choice, StringList };

using KeyValue = std::variant<std::string, bool, std::int64_t, std::vector<std::string>>;

struct ConfigKey {
    std::string_view name;           // "log.level", "suppress.mailbox_full.count"
    KeyType type;
    std::string_view default_value;  // as it is written in TOML: "\"info\"", "true", "16384"
    std::string_view doc;            // one line
    std::int64_t min = 0;            // Integer/Duration bounds (inclusive)
    std::int64_t max = 0;
    std::string_view choices;        // Choice: "stderr|syslog"
    void (*set)(Config&, const KeyValue&);
    KeyValue (*get)(const Config&);
};

// THE key table, in the order dump-config prints it. The section of a key is all of its name
// before the last dot ("suppress.mailbox_full" for "suppress.mailbox_full.count").
std::span<const ConfigKey> config_keys() noexcept;

// The configuration with every key at its default and no rules.
Config default_config();

// Where the programs look when --config is not given.
constexpr std::string_view default_config_path = "/etc/bounceguard/bounceguard.toml";

// Reads and validates a configuration file (max 1 MiB). Errors read "FILE:LINE: key: reason".
Result<Config> load_config(const std::string& path);
// The same, from text (for tests and fuzzing); `source` names it in errors.
Result<Config> parse_config(std::string_view toml_text, std::string_view source);

// Compiles the rules the configuration asks for: inline rules, then rules_file, then defaults.
Result<std::shared_ptr<const RuleSet>> build_rule_set(const Config& config);

// The effective configuration as TOML, every key with its doc (like `postconf`).
std::string dump_config(const Config& config);
// One value as TOML ("\"info\"", "true", "16384", "\"7d\"").
std::string to_toml_value(const ConfigKey& key, const KeyValue& value);

}  // namespace bg
