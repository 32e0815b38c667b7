// verdict_json.hpp - the JSON and human renderings of a classified reply, shared by
// `classify`, `explain` and (later) `parse`, so the field names are defined once
// (shared/docs/DESIGN.md "Contracts").
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "classify/rule_set.hpp"
#include "classify/verdict.hpp"
#include "smtp/reply.hpp"

namespace bg::cli {

// {"reply_code":"550","status":"5.1.1","stage":"rcpt","category":...,"blame":...,
//  "decision":...,"rule":...,"explanation":...} (reply_code/status null when absent).
nlohmann::ordered_json verdict_json(const SmtpReply& reply, const Verdict& verdict);

// Serialises one object on one line; invalid UTF-8 in untrusted text becomes U+FFFD.
std::string json_line(const nlohmann::ordered_json& j);

// The `explain` text for a person.
std::string explain_text(std::string_view raw, const SmtpReply& reply, const Verdict& verdict,
                         const RuleSpec* rule);

}  // namespace bg::cli
