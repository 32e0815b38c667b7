// recorder.cpp - see recorder.hpp.
#include "policy/recorder.hpp"

#include "metrics/metrics.hpp"
#include "smtp/address.hpp"

namespace bg {

namespace {

// Counts what record_event() did (metrics.hpp): the event, and what became of its suppression.
void count(const Event& event, const History& history, const Outcome& outcome, UnixTime now) {
    auto& m = metrics::registry();
    m.add(metrics::Metric::Learned, metrics::index(event.category, event.blame, event.source));
    const auto& s = outcome.suppression;
    const auto cat = metrics::index(s ? s->category : event.category);
    switch (outcome.action) {
        case Action::Suppress: {
            const auto& e = history.existing;
            const bool active = e && (e->expires == 0 || e->expires > now);
            m.add(active ? metrics::Metric::SuppressionsExtended : metrics::Metric::SuppressionsAdded, cat);
            break;
        }
        case Action::Lift: m.add(metrics::Metric::SuppressionsLifted, cat); break;
        case Action::Allowed: m.add(metrics::Metric::AllowListed, cat); break;
        case Action::Held: m.add(metrics::Metric::BreakerHeld, cat); break;
        case Action::Observed: m.add(metrics::Metric::ObserveWouldSuppress, cat); break;
        case Action::Ignore:
        case Action::Count: break;
    }
}

// record_event() without the count of its errors.
Result<Recorded> record(SuppressionStore& store, const PolicyConfig& config, Event event, Decision decision,
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

    Recorded r{event.id, decide(event, decision, history, config, now)};
    // The circuit breaker can only change an outcome that would suppress, and it only asks
    // whether its threshold is reached: the count is made for those events alone and stops at
    // the threshold (unbounded, it grew with every event of a wave at one destination).
    const bool would_suppress = r.outcome.action == Action::Suppress || r.outcome.action == Action::Observed;
    if (would_suppress && config.breaker.enabled) {
        auto n = store.count_domain_recipients(domain_of(event.recipient), event.category,
                                               event.time - config.breaker.window, config.breaker.distinct_recipients);
        if (!n) return n.error();
        history.destination_recipients = *n;
        r.outcome = decide(event, decision, history, config, now);
    }
    if (r.outcome.action == Action::Suppress) {
        if (auto put = store.put(*r.outcome.suppression); !put) return put.error();
    } else if (r.outcome.action == Action::Lift) {
        if (auto rm = store.remove(r.outcome.suppression->key); !rm) return rm.error();
    }
    count(event, history, r.outcome, now);  // only what the store kept
    return r;
}

}  // namespace

Result<Recorded> record_event(SuppressionStore& store, const PolicyConfig& config, Event event, Decision decision,
                              UnixTime now) {
    auto r = record(store, config, std::move(event), decision, now);
    if (!r) metrics::registry().add(metrics::Metric::RecordErrors);
    return r;
}

}  // namespace bg
