// delivery_event.hpp - one delivery record from the mail log -> the event the decision engine
// records: the reply is parsed and classified by the same core as a reply in a DSN
// (parse_reply, completed from the dsn= field, the stage wording and the relay; then classify),
// so a log line and the bounce it caused give the same verdict. status=sent is a successful
// delivery (category delivered), which lifts a suppression and restarts the soft counts.
// SECURITY: the record's text is untrusted: it is cleaned and clipped before it is stored.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "classify/rule_set.hpp"
#include "classify/verdict.hpp"
#include "maillog/maillog_parser.hpp"
#include "store/records.hpp"

namespace bg::maillog {

struct LearnOptions {
    // relay= values (globs, as policy.allow_patterns) whose status=sent is a hop to a content
    // filter or another local service, not a delivery to the recipient.
    std::vector<std::string> hop_relays;
};

struct Learned {
    Event event;          // source maillog; recipient normalised; time from the line, never after now
    Decision decision = Decision::None;
    Verdict verdict;      // points into the RuleSet
};

// nullopt when there is nothing to learn: no usable recipient address, or a status=sent
// through a hop relay.
std::optional<Learned> learn(const DeliveryRecord& r, const RuleSet& rules, const LearnOptions& options,
                             UnixTime now);

}  // namespace bg::maillog
