// classifier.cpp - see classifier.hpp.
#include "classify/classifier.hpp"

namespace bg {

namespace {

constexpr std::string_view unmatched_rule = "unmatched";

bool is_temporary(const SmtpReply& reply) noexcept {
    if (reply.code >= 400 && reply.code < 500) return true;
    return reply.code == 0 && reply.status && reply.status->klass == 4;
}

// The stage shows the rule's recipient category cannot apply: the verdict becomes category c,
// keeping the rule that matched (and its explanation) so that `explain` can show both.
Verdict recategorise(Verdict v, Category c, std::string_view why) noexcept {
    const auto& ci = info(c);
    v.category = ci.category;
    v.blame = ci.blame;
    v.decision = ci.decision;
    v.advice = ci.advice;
    v.adjustment = why;
    return v;
}

}  // namespace

Verdict classify(const SmtpReply& reply, const RuleSet& rules) {
    Verdict v;
    const int idx = rules.first_match(reply);
    if (idx < 0) {
        const auto& ci = info(Category::Unknown);
        v = Verdict{Category::Unknown, ci.blame, ci.decision, unmatched_rule, ci.meaning, ci.advice, {}};
        return v;
    }
    const RuleSpec& rule = rules.rules()[static_cast<std::size_t>(idx)];
    const auto& ci = info(rule.category);
    v.category = rule.category;
    v.blame = ci.blame;
    v.decision = rule.decision.value_or(ci.decision);
    v.rule_id = rule.id;
    v.explanation = rule.explanation.empty() ? ci.meaning : std::string_view(rule.explanation);
    v.advice = rule.advice.empty() ? ci.advice : std::string_view(rule.advice);

    if (v.blame != Blame::Recipient) return v;
    switch (reply.stage) {
        case SmtpStage::Mail:
            return recategorise(v, Category::SenderRejected,
                                "the reply answered MAIL FROM, so it is about our sender address, not the recipient");
        case SmtpStage::Connect:
        case SmtpStage::Helo:
            // A host that refuses all mail at its greeting (RFC 7504 521) is a dead domain.
            if (reply.stage == SmtpStage::Connect && v.category == Category::DomainUnknown) break;
            return recategorise(v, Category::Unknown,
                                "the reply came before any recipient was named, so it cannot be about the recipient");
        case SmtpStage::Data:
            if (v.decision == Decision::Hard) {
                v.decision = Decision::Soft;
                v.adjustment = "rejected after DATA, which is weak evidence: it counts only when repeated";
            }
            return v;
        case SmtpStage::Rcpt:
        case SmtpStage::Unknown:
            break;
    }
    if (v.decision == Decision::Hard && is_temporary(reply)) {
        v.decision = Decision::Soft;
        v.adjustment = "the code is temporary (4xx): the server itself says to try again";
    }
    return v;
}

}  // namespace bg
