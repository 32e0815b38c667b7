// verdict_json.cpp - see verdict_json.hpp.
#include "verdict_json.hpp"

#include "classify/rule_set.hpp"
#include "util/text.hpp"

namespace bg::cli {

nlohmann::ordered_json verdict_json(const SmtpReply& reply, const Verdict& verdict) {
    nlohmann::ordered_json j;
    j["reply_code"] = reply.code ? nlohmann::ordered_json(std::to_string(reply.code)) : nlohmann::ordered_json();
    j["status"] = reply.status ? nlohmann::ordered_json(reply.status->to_string()) : nlohmann::ordered_json();
    j["stage"] = std::string(to_string(reply.stage));
    if (!reply.remote_host.empty()) j["remote_mta"] = reply.remote_host;
    j["category"] = std::string(to_string(verdict.category));
    j["blame"] = std::string(to_string(verdict.blame));
    j["decision"] = std::string(to_string(verdict.decision));
    j["rule"] = std::string(verdict.rule_id);
    j["explanation"] = std::string(verdict.explanation);
    if (!verdict.adjustment.empty()) j["adjustment"] = std::string(verdict.adjustment);
    if (reply.truncated) j["truncated"] = true;
    return j;
}

std::string json_line(const nlohmann::ordered_json& j) {
    return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

namespace {

std::string decision_text(Decision d) {
    switch (d) {
        case Decision::Hard: return "hard: bounceguard suppresses the address at once";
        case Decision::Soft:
            return "soft: counts towards a suppression; the address is suppressed only after repeated "
                   "failures (thresholds in bounceguard.toml)";
        case Decision::None: break;
    }
    return "none: the address is never suppressed for this";
}

}  // namespace

std::string explain_text(std::string_view raw, const SmtpReply& reply, const Verdict& verdict,
                         const RuleSpec* rule) {
    std::string out;
    auto line = [&](std::string_view label, std::string_view value) {
        out += std::string(label);
        out.append(label.size() < 12 ? 12 - label.size() : 1, ' ');
        out += std::string(value) + "\n";
    };
    line("Reply:", text::valid_utf8(text::clip(text::printable(raw), 300)) + (raw.size() > 300 ? " ..." : ""));
    std::string parsed = reply.code ? "code " + std::to_string(reply.code) : std::string("no reply code");
    if (reply.status) {
        parsed += ", status " + reply.status->to_string();
        if (auto d = describe(*reply.status); !d.empty()) parsed += " (" + std::string(d) + ")";
    }
    parsed += ", stage " + std::string(to_string(reply.stage));
    line("Parsed:", parsed);
    if (!reply.remote_host.empty()) line("Remote MTA:", reply.remote_host);
    line("Category:", std::string(to_string(verdict.category)));
    line("Meaning:", verdict.explanation);
    line("Whose side:", std::string(to_string(verdict.blame)) + " (" + std::string(describe(verdict.blame)) + ")");
    line("Decision:", decision_text(verdict.decision));
    std::string why = std::string(verdict.rule_id);
    if (rule) why += " (" + rule->origin + ")";
    else why += " (no rule matched)";
    line("Rule:", why);
    if (!verdict.adjustment.empty()) line("Adjusted:", verdict.adjustment);
    line("Advice:", verdict.advice);
    return out;
}

}  // namespace bg::cli
