// rule_set.cpp - see rule_set.hpp.
#include "classify/rule_set.hpp"

#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <set>
#include <toml++/toml.h>

#include "util/text.hpp"

namespace bg {

std::optional<StatusPattern> parse_status_pattern(std::string_view s) noexcept {
    const auto parts = text::split(text::trim(s), '.');
    if (parts.size() != 3) return std::nullopt;
    int values[3];
    for (int i = 0; i < 3; ++i) {
        const auto p = parts[static_cast<std::size_t>(i)];
        if (p == "x" || p == "X" || p == "*") {
            values[i] = -1;
            continue;
        }
        if (p.empty() || p.size() > 3) return std::nullopt;
        int v = 0;
        for (char c : p) {
            if (!text::is_digit(c)) return std::nullopt;
            v = v * 10 + (c - '0');
        }
        values[i] = v;
    }
    if (values[0] >= 0 && values[0] != 2 && values[0] != 4 && values[0] != 5) return std::nullopt;
    return StatusPattern{values[0], values[1], values[2]};
}

bool CodePattern::matches(int code) const noexcept {
    if (code < 100 || code > 999) return false;
    const char d[3] = {static_cast<char>('0' + code / 100), static_cast<char>('0' + code / 10 % 10),
                       static_cast<char>('0' + code % 10)};
    for (int i = 0; i < 3; ++i)
        if (digits[i] != 'x' && digits[i] != d[i]) return false;
    return true;
}

std::optional<CodePattern> parse_code_pattern(std::string_view s) noexcept {
    s = text::trim(s);
    if (s.size() != 3) return std::nullopt;
    CodePattern p;
    for (int i = 0; i < 3; ++i) {
        const char c = text::ascii_lower(s[static_cast<std::size_t>(i)]);
        if (c != 'x' && !text::is_digit(c)) return std::nullopt;
        p.digits[i] = c;
    }
    if (p.digits[0] != 'x' && (p.digits[0] < '2' || p.digits[0] > '5')) return std::nullopt;
    return p;
}

namespace {

std::string where(const toml::node& node, std::string_view source) {
    const auto& src = node.source();
    return std::string(source) + ":" + std::to_string(src.begin.line);
}

// A string or an array of strings; anything else is an error.
Result<std::vector<std::string>> strings_of(const toml::node& node, std::string_view key,
                                            std::string_view source) {
    std::vector<std::string> out;
    if (auto s = node.as_string()) {
        out.push_back(s->get());
        return out;
    }
    const auto* arr = node.as_array();
    if (!arr) return Error{where(node, source) + ": " + std::string(key) + ": expected a string or an array of strings"};
    for (const auto& el : *arr) {
        auto s = el.as_string();
        if (!s) return Error{where(el, source) + ": " + std::string(key) + ": expected a string"};
        out.push_back(s->get());
    }
    return out;
}

Result<RuleSpec> rule_from_table(const toml::table& t, std::string_view source) {
    RuleSpec r;
    r.origin = where(t, source);
    auto fail = [&](const toml::node& n, std::string_view key, std::string_view why) {
        return Error{where(n, source) + ": rule " + (r.id.empty() ? std::string("?") : "'" + r.id + "'") + ": " +
                     std::string(key) + ": " + std::string(why)};
    };
    if (auto id = t["id"].as_string()) r.id = id->get();
    else return Error{r.origin + ": rule without an 'id' string"};
    if (r.id.empty() || r.id.size() > 100) return fail(t, "id", "must be 1 to 100 characters");
    for (const auto& [k, node] : t) {
        const std::string_view key = k.str();
        if (key == "id") continue;
        if (key == "category") {
            auto s = node.as_string();
            auto c = s ? parse_category(s->get()) : std::nullopt;
            if (!c || *c == Category::NotBounce || *c == Category::Complaint || *c == Category::AutoReply ||
                *c == Category::Delivered)
                return fail(node, key, "not a reply category (see the taxonomy in bounceguard.toml(5))");
            r.category = *c;
        } else if (key == "decision") {
            auto s = node.as_string();
            auto d = s ? parse_decision(s->get()) : std::nullopt;
            if (!d) return fail(node, key, "must be \"hard\", \"soft\" or \"none\"");
            r.decision = d;
        } else if (key == "explain" || key == "advice") {
            auto s = node.as_string();
            if (!s) return fail(node, key, "expected a string");
            (key == "explain" ? r.explanation : r.advice) = s->get();
        } else if (key == "text" || key == "regex" || key == "status" || key == "code" || key == "stage") {
            auto list = strings_of(node, key, source);
            if (!list) return list.error();
            for (auto& v : *list) {
                if (key == "text") {
                    if (v.empty()) return fail(node, key, "empty phrase");
                    r.phrases.push_back(std::move(v));
                } else if (key == "regex") {
                    r.patterns.push_back(std::move(v));
                } else if (key == "status") {
                    auto p = parse_status_pattern(v);
                    if (!p) return fail(node, key, "'" + v + "' is not a status pattern like 5.1.1, x.1.1 or 5.7.*");
                    r.status.push_back(*p);
                } else if (key == "code") {
                    auto p = parse_code_pattern(v);
                    if (!p) return fail(node, key, "'" + v + "' is not a code pattern like 550, 55x or 4xx");
                    r.codes.push_back(*p);
                } else {
                    auto st = parse_stage(v);
                    if (!st) return fail(node, key, "'" + v + "' is not one of connect, helo, mail, rcpt, data, unknown");
                    r.stages.push_back(*st);
                }
            }
        } else {
            return fail(node, key, "unknown key (allowed: id category text regex status code stage decision explain advice)");
        }
    }
    if (r.category == Category::Unknown && !t.contains("category")) return fail(t, "category", "missing");
    if (r.phrases.empty() && r.patterns.empty() && r.status.empty() && r.codes.empty())
        return fail(t, "text", "a rule needs at least one of text, regex, status or code");
    return r;
}

}  // namespace

Result<std::vector<RuleSpec>> parse_rules_toml(std::string_view toml_text, std::string_view source,
                                               bool allow_other_keys) {
    toml::table doc;
    try {
        doc = toml::parse(toml_text, source);
    } catch (const toml::parse_error& e) {
        return Error{std::string(source) + ":" + std::to_string(e.source().begin.line) + ": " +
                     std::string(e.description())};
    }
    std::vector<RuleSpec> rules;
    for (const auto& [k, node] : doc) {
        if (k.str() != "rule" && !allow_other_keys) return Error{where(node, source) + ": unknown key '" + std::string(k.str()) + "' (rules files hold [[rule]] tables)"};
    }
    if (const auto* arr = doc["rule"].as_array()) {
        for (const auto& el : *arr) {
            const auto* t = el.as_table();
            if (!t) return Error{where(el, source) + ": rule: expected a table ([[rule]])"};
            auto r = rule_from_table(*t, source);
            if (!r) return r.error();
            rules.push_back(std::move(*r));
        }
    } else if (doc.contains("rule")) {
        return Error{where(*doc.get("rule"), source) + ": rule: expected an array of tables ([[rule]])"};
    }
    return rules;
}

struct RuleSet::Matcher {
    explicit Matcher(const RE2::Options& opt) : set(opt, RE2::UNANCHORED) {}
    RE2::Set set;
};

RuleSet::RuleSet() = default;
RuleSet::~RuleSet() = default;

Result<std::shared_ptr<const RuleSet>> RuleSet::compile(std::vector<RuleSpec> rules) {
    std::shared_ptr<RuleSet> rs(new RuleSet());
    RE2::Options opt;
    opt.set_case_sensitive(false);
    opt.set_encoding(RE2::Options::EncodingLatin1);
    opt.set_never_capture(true);
    opt.set_log_errors(false);
    opt.set_max_mem(int64_t{256} << 20);
    rs->set_ = std::make_unique<Matcher>(opt);
    std::set<std::string, std::less<>> ids;
    for (std::size_t i = 0; i < rules.size(); ++i) {
        const auto& r = rules[i];
        if (!ids.insert(r.id).second) return Error{r.origin + ": rule '" + r.id + "': duplicate id"};
        auto add = [&](const std::string& pattern) -> Result<void> {
            std::string err;
            const int idx = rs->set_->set.Add(pattern, &err);
            if (idx < 0) return Error{r.origin + ": rule '" + r.id + "': bad regex '" + pattern + "': " + err};
            rs->pattern_rule_.push_back(static_cast<int>(i));
            return Ok{};
        };
        for (const auto& p : r.phrases) rs->phrases_.add(p, static_cast<int>(i));
        for (const auto& p : r.patterns)
            if (auto res = add(p); !res) return res.error();
        rs->has_text_.push_back(!r.phrases.empty() || !r.patterns.empty());
    }
    if (!rs->pattern_rule_.empty() && !rs->set_->set.Compile())
        return Error{"rules: the regex set is too large to compile"};
    if (auto res = rs->phrases_.compile(); !res) return res.error();
    rs->rules_ = std::move(rules);
    return std::shared_ptr<const RuleSet>(std::move(rs));
}

Result<std::shared_ptr<const RuleSet>> RuleSet::with_defaults(std::vector<RuleSpec> user_rules, bool defaults) {
    if (defaults) {
        auto def = parse_rules_toml(default_rules_toml(), "built-in rules.toml");
        if (!def) return def.error();
        for (auto& r : *def) user_rules.push_back(std::move(r));
    }
    return compile(std::move(user_rules));
}

const RuleSpec* RuleSet::find(std::string_view id) const noexcept {
    for (const auto& r : rules_)
        if (r.id == id) return &r;
    return nullptr;
}

namespace {

bool conditions_hold(const RuleSpec& r, const SmtpReply& reply) noexcept {
    if (!r.codes.empty() &&
        std::none_of(r.codes.begin(), r.codes.end(), [&](const CodePattern& p) { return p.matches(reply.code); }))
        return false;
    if (!r.status.empty() && (!reply.status || std::none_of(r.status.begin(), r.status.end(), [&](const StatusPattern& p) {
                                  return p.matches(*reply.status);
                              })))
        return false;
    if (!r.stages.empty() && std::find(r.stages.begin(), r.stages.end(), reply.stage) == r.stages.end()) return false;
    return true;
}

}  // namespace

int RuleSet::first_match(const SmtpReply& reply) const {
    thread_local std::vector<int> hits, regex_hits;  // reused: no allocation per reply
    hits.clear();
    phrases_.match(reply.text, hits);
    if (!pattern_rule_.empty()) {
        set_->set.Match(reply.text, &regex_hits);
        for (int h : regex_hits) hits.push_back(pattern_rule_[static_cast<std::size_t>(h)]);
    }
    std::sort(hits.begin(), hits.end());
    auto hit = hits.begin();
    for (std::size_t i = 0; i < rules_.size(); ++i) {
        if (has_text_[i]) {
            while (hit != hits.end() && static_cast<std::size_t>(*hit) < i) ++hit;
            if (hit == hits.end() || static_cast<std::size_t>(*hit) != i) continue;
        }
        if (conditions_hold(rules_[i], reply)) return static_cast<int>(i);
    }
    return -1;
}

}  // namespace bg
