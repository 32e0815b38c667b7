// verdict.hpp - the classifier's vocabulary (shared/docs/DESIGN.md "Taxonomy"): category, blame,
// decision, and the Verdict value that classify() returns.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace bg {

enum class Blame { Recipient, SenderConfig, Reputation, Content, Transient, None, Unknown };

// What bounceguard does with the recipient by default: suppress at once, count towards a
// suppression (soft), or nothing.
enum class Decision { Hard, Soft, None };

enum class Category {
    UserUnknown, DomainUnknown, HasMoved, MailboxFull, MailboxDisabled,
    RelayDenied, AuthRequired, SenderRejected, AuthFailure, Security,
    Blocklisted, RateLimited, SpamContent, Policy, MessageTooBig, ProtocolError,
    TooManyRecipients, Greylisted, RemoteError, Network,
    Complaint, AutoReply, Delivered, NotBounce, Unknown,
};

struct CategoryInfo {
    Category category;
    std::string_view name;         // "user_unknown"
    Blame blame;
    Decision decision;             // default decision
    std::string_view meaning;      // one line: what happened
    std::string_view advice;       // one or two lines: what a postmaster should do
};

std::span<const CategoryInfo> category_table() noexcept;
const CategoryInfo& info(Category c) noexcept;

std::string_view to_string(Category c) noexcept;
std::string_view to_string(Blame b) noexcept;
std::string_view to_string(Decision d) noexcept;
std::string_view describe(Blame b) noexcept;   // "recipient" => "the recipient's address or domain"
std::optional<Category> parse_category(std::string_view name) noexcept;
std::optional<Decision> parse_decision(std::string_view name) noexcept;

// The classifier's answer for one reply. The string views point into the RuleSet that produced
// the verdict (or into static tables), so the RuleSet must outlive the Verdict.
struct Verdict {
    Category category = Category::Unknown;
    Blame blame = Blame::Unknown;
    Decision decision = Decision::None;
    std::string_view rule_id;      // the rule that fired ("user_unknown.text")
    std::string_view explanation;  // what it means, for a person
    std::string_view advice;       // what to do about it
    std::string_view adjustment;   // why the stage or the code changed the rule's verdict, or ""

    bool operator==(const Verdict&) const = default;
};

}  // namespace bg
