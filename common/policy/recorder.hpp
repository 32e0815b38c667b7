// recorder.hpp - records one classified event in the store and applies the decision engine's
// outcome: the single path by which bounces (`bounceguard ingest`, the milter), log lines
// (`bounceguard ingest-log`) and operators' additions become suppressions.
#pragma once

#include <string>

#include "policy/thresholds.hpp"
#include "store/suppression_store.hpp"
#include "util/result.hpp"

namespace bg {

struct Recorded {
    std::int64_t event_id = 0;
    Outcome outcome;
};

// Gathers the recipient's History from the store, decides, records the event and writes the
// suppression (Suppress) or removes it (Lift). `event.recipient` must be normalised.
Result<Recorded> record_event(SuppressionStore& store, const PolicyConfig& config, Event event, Decision decision,
                              UnixTime now);

}  // namespace bg
