// rule_set.hpp - classification rules as ordered data, and their compiled form.
// A rule fires when every condition it has holds: one of its phrases or patterns occurs in the
// reply text (case-insensitive), the enhanced status matches one of its status patterns
// ("5.1.1", "x.1.1", "5.7.*"), the basic code matches one of its code patterns ("550", "55x",
// "4xx"), and the stage is one of its stages. Rules are tried in order; the first that fires wins.
// SECURITY: rule files are operator input: every field is validated and errors name file:line.
// Phrases are compiled once into one Aho-Corasick automaton (PhraseMatcher) and patterns into one
// RE2::Set: both linear time, no backtracking.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/phrase_matcher.hpp"
#include "classify/verdict.hpp"
#include "smtp/reply.hpp"
#include "util/result.hpp"

namespace bg {

// "5.1.1", "x.1.1", "5.7.*", "5.*.*": a part is a number, or 'x'/'*' for any.
struct StatusPattern {
    int klass = -1, subject = -1, detail = -1;  // -1 = any
    bool matches(const EnhancedStatus& s) const noexcept {
        return (klass < 0 || klass == s.klass) && (subject < 0 || subject == s.subject) &&
               (detail < 0 || detail == s.detail);
    }
    bool operator==(const StatusPattern&) const = default;
};
std::optional<StatusPattern> parse_status_pattern(std::string_view s) noexcept;

// "550", "55x", "5xx": each digit or 'x'.
struct CodePattern {
    char digits[3] = {'x', 'x', 'x'};
    bool matches(int code) const noexcept;
    bool operator==(const CodePattern&) const = default;
};
std::optional<CodePattern> parse_code_pattern(std::string_view s) noexcept;

struct RuleSpec {
    std::string id;
    Category category = Category::Unknown;
    std::vector<std::string> phrases;   // literal, case-insensitive substrings
    std::vector<std::string> patterns;  // RE2 syntax, case-insensitive
    std::vector<StatusPattern> status;
    std::vector<CodePattern> codes;
    std::vector<SmtpStage> stages;
    std::optional<Decision> decision;   // overrides the category's default
    std::string explanation;            // overrides the category's meaning
    std::string advice;                 // overrides the category's advice
    std::string origin;                 // "rules.toml:42", for errors and `explain`
};

// Reads `[[rule]]` tables from TOML text. `source` names the text in errors ("rules.toml").
// Other top-level keys are errors unless allow_other_keys (a configuration file holds both).
Result<std::vector<RuleSpec>> parse_rules_toml(std::string_view toml_text, std::string_view source,
                                               bool allow_other_keys = false);

// The rules shipped with bounceguard (conf/rules.toml, compiled in).
std::string_view default_rules_toml() noexcept;

class RuleSet {
public:
    // Compiles the rules in order. Errors: duplicate ids, rules without conditions, bad RE2.
    static Result<std::shared_ptr<const RuleSet>> compile(std::vector<RuleSpec> rules);
    // User rules first, then (if with_defaults) the shipped defaults.
    static Result<std::shared_ptr<const RuleSet>> with_defaults(std::vector<RuleSpec> user_rules,
                                                                bool with_defaults = true);

    RuleSet(const RuleSet&) = delete;
    RuleSet& operator=(const RuleSet&) = delete;
    ~RuleSet();

    const std::vector<RuleSpec>& rules() const noexcept { return rules_; }
    const RuleSpec* find(std::string_view id) const noexcept;

    // Index of the first rule that fires for the reply, or -1.
    int first_match(const SmtpReply& reply) const;

private:
    RuleSet();
    std::vector<RuleSpec> rules_;
    PhraseMatcher phrases_;                // every rule's phrases, tagged with the rule index
    struct Matcher;                        // the RE2::Set of every rule's regex patterns
    std::unique_ptr<Matcher> set_;
    std::vector<int> pattern_rule_;        // RE2::Set pattern index -> rule index
    std::vector<std::uint8_t> has_text_;   // per rule: has phrase/pattern conditions
};

}  // namespace bg
