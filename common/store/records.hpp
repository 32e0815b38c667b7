// records.hpp - what the suppression store keeps: rejection events (the evidence) and
// suppressions (per address, or per domain for domain-level categories). Plain value types
// shared by the store drivers, the decision engine and the CLI.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "classify/verdict.hpp"

namespace bg {

// Where an event came from. dsn-internal: a bounce our own MTA wrote; dsn-remote: a DSN that
// came back from outside (counted only when verified); maillog: a delivery log line; manual:
// an operator's `bounceguard add`; import: a list moved in from elsewhere.
enum class EventSource { DsnInternal, DsnRemote, Maillog, Manual, Import };
std::string_view to_string(EventSource s) noexcept;  // "dsn-internal", "dsn-remote", ...
std::optional<EventSource> parse_event_source(std::string_view s) noexcept;

// Times are seconds since the Unix epoch (UTC).
using UnixTime = std::int64_t;

// One recorded rejection (or success, for category `delivered`), with its evidence.
struct Event {
    std::int64_t id = 0;              // assigned by the store
    UnixTime time = 0;
    std::string recipient;            // normalised (see normalize_address)
    std::string sender;
    EventSource source = EventSource::Maillog;
    int reply_code = 0;               // 0 when none
    std::string status;               // "5.1.1" or ""
    std::string text;                 // the reply text, cleaned and clipped
    std::string stage;                // "rcpt", "data", ... or "unknown"
    std::string remote_mta;
    std::string queue_id;
    std::string message_id;
    Category category = Category::Unknown;
    Blame blame = Blame::Unknown;
    std::string rule_id;

    bool operator==(const Event&) const = default;
};

// A suppressed address ("joe@example.com") or domain ("@example.com").
struct Suppression {
    std::string key;                  // normalised address, or "@" + domain for domain entries
    Category category = Category::Unknown;
    UnixTime first_seen = 0;
    UnixTime last_seen = 0;
    int count = 0;                    // events that counted towards it
    UnixTime expires = 0;             // 0 = permanent
    std::int64_t event_id = 0;        // the event that triggered it (0 for manual entries)
    std::string added_by;             // "rule:<rule id>" or "operator:<name>"
    std::string reason;               // free text from the operator, or the verdict's explanation

    bool is_domain() const noexcept { return !key.empty() && key.front() == '@'; }
    bool operator==(const Suppression&) const = default;
};

}  // namespace bg
