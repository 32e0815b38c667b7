// thresholds.cpp - see thresholds.hpp.
#include "policy/thresholds.hpp"

#include <algorithm>

#include "util/duration.hpp"
#include "util/text.hpp"

namespace bg {

const CategoryPolicy* PolicyConfig::for_category(Category c) const noexcept {
    switch (c) {
        case Category::UserUnknown: return &user_unknown;
        case Category::DomainUnknown: return &domain_unknown;
        case Category::HasMoved: return &has_moved;
        case Category::MailboxFull: return &mailbox_full;
        case Category::MailboxDisabled: return &mailbox_disabled;
        case Category::Complaint: return &complaint;
        default: return nullptr;
    }
}

std::string_view to_string(Action a) noexcept {
    switch (a) {
        case Action::Ignore: return "ignore";
        case Action::Count: return "count";
        case Action::Suppress: return "suppress";
        case Action::Lift: return "lift";
        case Action::Allowed: return "allowed";
        case Action::Held: return "held";
        case Action::Observed: return "observed";
    }
    return "?";
}

UnixTime counting_since(const CategoryPolicy& p, UnixTime last_success, UnixTime now) noexcept {
    return std::max(now - p.window, last_success + 1);
}

namespace {

std::string_view domain_of(std::string_view address) noexcept {
    const auto at = address.rfind('@');
    return at == std::string_view::npos ? std::string_view{} : address.substr(at + 1);
}

// "mail.example.com" is within "example.com"; "badexample.com" is not.
bool within_domain(std::string_view domain, std::string_view parent) noexcept {
    if (parent.empty() || domain.size() < parent.size()) return false;
    if (!text::iequals(domain.substr(domain.size() - parent.size()), parent)) return false;
    return domain.size() == parent.size() || domain[domain.size() - parent.size() - 1] == '.';
}

}  // namespace

std::string suppression_key(std::string_view recipient, const CategoryPolicy& p) {
    if (p.domain) return "@" + text::to_lower(domain_of(recipient));
    return std::string(recipient);
}

bool glob_match(std::string_view pattern, std::string_view s) noexcept {
    std::size_t p = 0, i = 0, star = std::string_view::npos, mark = 0;
    while (i < s.size()) {
        if (p < pattern.size() && (pattern[p] == '?' || text::ascii_lower(pattern[p]) == text::ascii_lower(s[i]))) {
            ++p;
            ++i;
        } else if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            mark = i;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            i = ++mark;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
}

bool is_allowed(std::string_view address, const PolicyConfig& config) {
    const auto domain = domain_of(address);
    for (const auto& d : config.own_domains)
        if (within_domain(domain, d)) return true;
    for (const auto& d : config.allow_domains)
        if (within_domain(domain, d)) return true;
    for (const auto& a : config.allow_addresses)
        if (text::iequals(a, address)) return true;
    for (const auto& g : config.allow_patterns)
        if (glob_match(g, address)) return true;
    return false;
}

Outcome decide(const Event& event, Decision decision, const History& history, const PolicyConfig& config,
               UnixTime now) {
    Outcome out;
    const auto& existing = history.existing;
    const bool active = existing && (existing->expires == 0 || existing->expires > now);

    if (event.category == Category::Delivered) {
        const CategoryPolicy* ep = active ? config.for_category(existing->category) : nullptr;
        if (active && (!ep || !ep->sticky)) {
            out.action = Action::Lift;
            out.suppression = existing;
            out.why = "delivered: lifts the " + std::string(to_string(existing->category)) + " suppression";
        } else {
            out.why = active ? "delivered, but the suppression is sticky" : "delivered";
        }
        return out;
    }

    const CategoryPolicy* p = config.for_category(event.category);
    if (!p || decision == Decision::None) {
        out.why = std::string(to_string(event.category)) + " never suppresses";
        return out;
    }

    const int counted = history.prior_count + 1;
    if (decision == Decision::Soft) {
        const UnixTime first = history.prior_count > 0 ? history.oldest_prior : event.time;
        const UnixTime span = event.time - first;
        if (counted < p->count || span < p->min_span) {
            out.action = Action::Count;
            out.why = "soft " + std::to_string(counted) + "/" + std::to_string(p->count) + " within " +
                      format_duration(p->window) + (p->min_span ? ", over at least " + format_duration(p->min_span) : "");
            return out;
        }
    }

    Suppression s;
    s.key = suppression_key(event.recipient, *p);
    s.category = event.category;
    s.first_seen = active ? existing->first_seen : (history.prior_count > 0 ? history.oldest_prior : event.time);
    s.last_seen = std::max(event.time, active ? existing->last_seen : 0);
    s.count = (active ? existing->count : 0) + (active ? 1 : counted);
    s.event_id = event.id;
    s.added_by = "rule:" + event.rule_id;
    s.reason = std::string(info(event.category).meaning);
    std::int64_t ttl = p->ttl;
    if (ttl > 0 && p->ttl_max > 0 && existing && !active && existing->expires > existing->last_seen) {
        // A repeat after an earlier suppression expired: twice the earlier lifetime, up to ttl_max.
        ttl = std::min(std::max(ttl, 2 * (existing->expires - existing->last_seen)), p->ttl_max);
    }
    if (active && existing->expires == 0) s.expires = 0;  // permanent stays permanent
    else s.expires = ttl > 0 ? std::max(now, event.time) + ttl : 0;
    out.suppression = std::move(s);

    const std::string what = (decision == Decision::Hard ? "hard " : "soft ") + std::string(to_string(event.category));
    if (is_allowed(event.recipient, config)) {
        out.action = Action::Allowed;
        out.why = what + ", but the address is allow-listed or ours: never suppressed";
    } else if (config.breaker.enabled && history.destination_recipients >= config.breaker.distinct_recipients) {
        out.action = Action::Held;
        out.why = what + ", held by the circuit breaker: " + std::to_string(history.destination_recipients) +
                  " or more distinct recipients at this destination within " + format_duration(config.breaker.window) +
                  " look like a block of our mail, not dead mailboxes";
    } else if (config.observe) {
        out.action = Action::Observed;
        out.why = what + ": would suppress (observe mode)";
    } else {
        out.action = Action::Suppress;
        out.why = what + (active ? ": suppression extended" : ": suppressed");
    }
    return out;
}

}  // namespace bg
