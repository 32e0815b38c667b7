// thresholds.hpp - the decision engine: one classified event + what the store knows about the
// recipient + the thresholds from the configuration + now -> what to do. Pure: no I/O, no
// clock (now is an argument), no logging, so that tests can walk it through time.
//
// What a careful postmaster signs by default (conf/bounceguard.toml, [suppress.*]):
//   - a hard verdict (user unknown, dead domain, moved, closed account) suppresses at once;
//   - a soft one (full or disabled mailbox, a 4xx or after-DATA "user unknown") only after
//     `count` events within `window`, spread over at least `min_span`;
//   - sender-side, reputation, content and transient verdicts never suppress;
//   - complaints suppress for good (sticky), and a later success does not lift them;
//   - a later successful delivery lifts other suppressions and restarts the soft counts;
//   - the site's own domains and the allow-lists are never suppressed;
//   - the circuit breaker holds suppressions back when one destination rejects many distinct
//     recipients with the same kind of reply in a short time: that is a block of us;
//   - observe mode decides everything but suppresses nothing ("would suppress").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "classify/verdict.hpp"
#include "store/records.hpp"

namespace bg {

struct CategoryPolicy {
    int count = 1;               // soft verdicts: events needed within window
    std::int64_t window = 0;     // seconds
    std::int64_t min_span = 0;   // soft verdicts: the counted events span at least this long
    std::int64_t ttl = 0;        // lifetime of the suppression; 0 = permanent
    std::int64_t ttl_max = 0;    // on repeat the TTL doubles up to this; 0 = no escalation
    bool domain = false;         // the entry is for the whole domain ("@example.com")
    bool sticky = false;         // not lifted by a later successful delivery
};

struct BreakerPolicy {
    bool enabled = true;
    int distinct_recipients = 25;  // distinct recipients at one destination, same category...
    std::int64_t window = 600;     // ...within this many seconds trip the breaker
};

struct PolicyConfig {
    bool observe = false;
    std::vector<std::string> own_domains;      // never suppressed (lower case)
    std::vector<std::string> allow_addresses;  // never suppressed (normalised)
    std::vector<std::string> allow_domains;    // never suppressed, subdomains included
    std::vector<std::string> allow_patterns;   // glob (* and ?) over the whole address
    BreakerPolicy breaker;
    // Per category; only the recipient categories can ever suppress.
    CategoryPolicy user_unknown, domain_unknown{.domain = true}, has_moved, mailbox_full, mailbox_disabled,
        complaint{.sticky = true};

    const CategoryPolicy* for_category(Category c) const noexcept;  // nullptr: never suppresses
};

// What the store knows, gathered by the caller for this event's recipient and category.
struct History {
    // Earlier events of this category for this recipient since counting_since(...), oldest first
    // time of them (0 when none), and how many (not counting this event).
    int prior_count = 0;
    UnixTime oldest_prior = 0;
    // The suppression on the key this event would create (active or expired), if any.
    std::optional<Suppression> existing;
    // Distinct recipients at this event's destination with the same category within the breaker
    // window, this event's recipient included.
    int destination_recipients = 1;
};

enum class Action {
    Ignore,    // nothing to count (not a failure, or a never-suppress category): event recorded only
    Count,     // a soft event counted towards a suppression, threshold not reached yet
    Suppress,  // create or extend the suppression in Outcome::suppression
    Lift,      // a successful delivery: remove Outcome::suppression (the existing one)
    Allowed,   // would suppress, but the address is allow-listed or one of our own domains
    Held,      // would suppress, but the circuit breaker holds it back
    Observed,  // would suppress, but observe mode suppresses nothing
};
std::string_view to_string(Action a) noexcept;

struct Outcome {
    Action action = Action::Ignore;
    std::optional<Suppression> suppression;  // for Suppress, Lift, and what Allowed/Held/Observed would write
    std::string why;                          // one line for the log
};

// The earliest time from which earlier events count for this category: the window back from
// now, but never before the last successful delivery (which restarts the count).
UnixTime counting_since(const CategoryPolicy& p, UnixTime last_success, UnixTime now) noexcept;

// The key a suppression for this recipient and category is stored under.
std::string suppression_key(std::string_view recipient, const CategoryPolicy& p);

// True when the address must never be suppressed (own domains, allow-lists).
bool is_allowed(std::string_view address, const PolicyConfig& config);

// Glob over a whole string: '*' any run, '?' one byte; ASCII case-insensitive. Iterative.
bool glob_match(std::string_view pattern, std::string_view text) noexcept;

Outcome decide(const Event& event, Decision decision, const History& history, const PolicyConfig& config,
               UnixTime now);

}  // namespace bg
