// recorder.cpp - see recorder.hpp.
#include "policy/recorder.hpp"

namespace bg {

namespace {

std::string domain_of(const std::string& address) {
    const auto at = address.rfind('@');
    return at == std::string::npos ? std::string() : address.substr(at + 1);
}

}  // namespace

Result<Recorded> record_event(SuppressionStore& store, const PolicyConfig& config, Event event, Decision decision,
                              UnixTime now) {
    History history;
    const CategoryPolicy* p = config.for_category(event.category);
    if (event.category == Category::Delivered) {
        // A success lifts the address's own entry (not a domain-wide one).
        auto existing = store.get(event.recipient);
        if (!existing) return existing.error();
        history.existing = *existing;
    } else if (p && decision != Decision::None) {
        auto last_success = store.count_events(event.recipient, Category::Delivered, 0);
        if (!last_success) return last_success.error();
        const UnixTime since = counting_since(*p, last_success->newest, event.time);
        auto prior = store.count_events(event.recipient, event.category, since);
        if (!prior) return prior.error();
        history.prior_count = prior->count;
        history.oldest_prior = prior->oldest;
        auto existing = store.get(suppression_key(event.recipient, *p));
        if (!existing) return existing.error();
        history.existing = *existing;
    }

    auto ids = store.record_events({&event, 1});
    if (!ids) return ids.error();
    event.id = ids->front();

    if (p && decision != Decision::None && config.breaker.enabled) {
        auto n = store.count_domain_recipients(domain_of(event.recipient), event.category,
                                               event.time - config.breaker.window);
        if (!n) return n.error();
        history.destination_recipients = *n;
    }

    Recorded r{event.id, decide(event, decision, history, config, now)};
    if (r.outcome.action == Action::Suppress) {
        if (auto put = store.put(*r.outcome.suppression); !put) return put.error();
    } else if (r.outcome.action == Action::Lift) {
        if (auto rm = store.remove(r.outcome.suppression->key); !rm) return rm.error();
    }
    return r;
}

}  // namespace bg
