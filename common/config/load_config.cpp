// load_config.cpp - TOML (toml++) -> Config, driven by the key table in config_keys.cpp.
// SECURITY: the file is capped at 1 MiB; toml++ exceptions stop here and become Errors.
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <toml++/toml.h>

#include "config/config.hpp"
#include "enforce/enforcer.hpp"
#include "metrics/metrics.hpp"
#include "util/duration.hpp"
#include "util/text.hpp"

namespace bg {

namespace {

constexpr std::size_t max_config_bytes = 1024 * 1024;

const ConfigKey* find_key(std::string_view name) {
    for (const auto& k : config_keys())
        if (k.name == name) return &k;
    return nullptr;
}

std::string type_name(const ConfigKey& k) {
    switch (k.type) {
        case KeyType::String: return "a string";
        case KeyType::Bool: return "true or false";
        case KeyType::Integer:
            return "an integer from " + std::to_string(k.min) + " to " + std::to_string(k.max);
        case KeyType::Duration:
            return "a duration from " + format_duration(k.min) + " to " + format_duration(k.max) + " (e.g. \"7d\")";
        case KeyType::Choice: return "one of " + std::string(k.choices);
        case KeyType::StringList: return "an array of strings";
    }
    return "?";
}

// Converts and checks one TOML value against its key; the error is the reason only.
Result<KeyValue> convert(const ConfigKey& k, const toml::node& node) {
    const auto bad = [&] { return Error{"expected " + type_name(k)}; };
    switch (k.type) {
        case KeyType::String: {
            auto s = node.as_string();
            if (!s) return bad();
            return KeyValue{s->get()};
        }
        case KeyType::Choice: {
            auto s = node.as_string();
            if (!s) return bad();
            for (auto c : text::split(k.choices, '|'))
                if (c == s->get()) return KeyValue{s->get()};
            return Error{"'" + s->get() + "' is not " + type_name(k)};
        }
        case KeyType::Bool: {
            auto b = node.as_boolean();
            if (!b) return bad();
            return KeyValue{b->get()};
        }
        case KeyType::Integer: {
            auto i = node.as_integer();
            if (!i || i->get() < k.min || i->get() > k.max) return bad();
            return KeyValue{std::int64_t{i->get()}};
        }
        case KeyType::StringList: {
            const auto* arr = node.as_array();
            if (!arr || arr->size() > 10000) return bad();
            std::vector<std::string> out;
            for (const auto& el : *arr) {
                auto str = el.as_string();
                if (!str || str->get().empty()) return bad();
                out.push_back(text::to_lower(str->get()));
            }
            return KeyValue{std::move(out)};
        }
        case KeyType::Duration: {
            std::int64_t seconds = 0;
            if (auto s = node.as_string()) {
                auto d = parse_duration(s->get());
                if (!d) return Error{d.error().message};
                seconds = *d;
            } else if (auto i = node.as_integer()) {
                seconds = i->get();
            } else {
                return bad();
            }
            if (seconds < k.min || seconds > k.max) return bad();
            return KeyValue{seconds};
        }
    }
    return bad();
}

std::string line_of(const toml::node& n, std::string_view source) {
    return std::string(source) + ":" + std::to_string(n.source().begin.line);
}

}  // namespace

Config default_config() {
    Config c;
    for (const auto& k : config_keys()) {
        // The defaults are TOML literals, parsed like any configuration value.
        auto doc = toml::parse("v = " + std::string(k.default_value));
        auto v = convert(k, *doc.get("v"));
        k.set(c, v.value());  // a broken default is a programming error; the unit test catches it
    }
    return c;
}

Result<Config> parse_config(std::string_view toml_text, std::string_view source) {
    Config c = default_config();
    c.source = std::string(source);
    toml::table doc;
    try {
        doc = toml::parse(toml_text, source);
    } catch (const toml::parse_error& e) {
        return Error{std::string(source) + ":" + std::to_string(e.source().begin.line) + ": " +
                     std::string(e.description())};
    }
    // Keys are dotted paths of nested tables ("suppress.mailbox_full.count"), at most 3 deep.
    const auto walk = [&](const auto& self, const toml::table& table, const std::string& prefix,
                          int depth) -> Result<void> {
        for (const auto& [key, value] : table) {
            const std::string name = prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
            if (name == "rule") continue;  // [[rule]] tables: parse_rules_toml below
            if (const ConfigKey* k = find_key(name)) {
                auto v = convert(*k, value);
                if (!v) return Error{line_of(value, source) + ": " + name + ": " + v.error().message};
                k->set(c, *v);
            } else if (const auto* sub = value.as_table(); sub && depth < 3) {
                if (auto r = self(self, *sub, name, depth + 1); !r) return r;
            } else {
                return Error{line_of(value, source) + ": unknown key '" + name + "'"};
            }
        }
        return Ok{};
    };
    if (auto r = walk(walk, doc, "", 1); !r) return r.error();
    auto rules = parse_rules_toml(toml_text, source, true);
    if (!rules) return rules.error();
    c.rules = std::move(*rules);
    // [enforce] values the key table cannot check alone: networks and reply templates.
    if (auto e = Enforcer::create(c); !e) return Error{std::string(source) + ": " + e.error().message};
    // [metrics] endpoints: numeric HOST:PORT (the exporter binds them when its program starts).
    for (const auto& [name, value] : {std::pair{"metrics.policyd_listen", &c.metrics.policyd_listen},
                                      std::pair{"metrics.milter_listen", &c.metrics.milter_listen},
                                      std::pair{"metrics.ingest_log_listen", &c.metrics.ingest_log_listen}})
        if (!value->empty())
            if (auto a = metrics::parse_listen(*value); !a)
                return Error{std::string(source) + ": " + name + ": " + a.error().message};
    return c;
}

Result<Config> load_config(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error{path + ": cannot open: " + std::strerror(errno)};
    std::string text;
    text.resize(max_config_bytes + 1);
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_config_bytes) return Error{path + ": larger than 1 MiB; refusing to read it"};
    return parse_config(text, path);
}

Result<std::shared_ptr<const RuleSet>> build_rule_set(const Config& config) {
    std::vector<RuleSpec> rules = config.rules;
    if (!config.classify.rules_file.empty()) {
        const auto& path = config.classify.rules_file;
        std::ifstream in(path, std::ios::binary);
        if (!in) return Error{path + ": cannot open rules file: " + std::strerror(errno)};
        std::ostringstream ss;
        ss << in.rdbuf();
        if (ss.str().size() > max_config_bytes) return Error{path + ": larger than 1 MiB; refusing to read it"};
        auto more = parse_rules_toml(ss.str(), path);
        if (!more) return more.error();
        for (auto& r : *more) rules.push_back(std::move(r));
    }
    return RuleSet::with_defaults(std::move(rules), config.classify.default_rules);
}

namespace {

// A TOML basic string: quotes, backslashes and control characters escaped.
std::string toml_string(std::string_view value) {
    std::string out = "\"";
    for (const char c : value) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(c);
        } else if (u < 0x20 || u == 0x7f) {
            static constexpr char hex[] = "0123456789ABCDEF";
            out += "\\u00";
            out.push_back(hex[u >> 4]);
            out.push_back(hex[u & 15]);
        } else {
            out.push_back(c);
        }
    }
    out.push_back('"');
    return out;
}

}  // namespace

std::string to_toml_value(const ConfigKey& key, const KeyValue& value) {
    if (key.type == KeyType::StringList) {
        std::string out = "[";
        for (const auto& v : std::get<std::vector<std::string>>(value)) out += (out.size() > 1 ? ", " : "") + toml_string(v);
        return out + "]";
    }
    if (key.type == KeyType::Bool) return std::get<bool>(value) ? "true" : "false";
    if (key.type == KeyType::Integer) return std::to_string(std::get<std::int64_t>(value));
    if (key.type == KeyType::Duration) return "\"" + format_duration(std::get<std::int64_t>(value)) + "\"";
    return toml_string(std::get<std::string>(value));
}

std::string dump_config(const Config& config) {
    std::string out;
    std::string_view section;
    for (const auto& k : config_keys()) {
        const auto dot = k.name.rfind('.');
        const auto sec = k.name.substr(0, dot);
        if (sec != section) {
            out += (out.empty() ? "[" : "\n[") + std::string(sec) + "]\n";
            section = sec;
        }
        out += "# " + std::string(k.doc) + "\n";
        out += std::string(k.name.substr(dot + 1)) + " = " + to_toml_value(k, k.get(config)) + "\n";
    }
    if (!config.rules.empty())
        out += "\n# " + std::to_string(config.rules.size()) + " [[rule]] table(s) from " + config.source +
               " (list them with `bounceguard rules`)\n";
    return out;
}

}  // namespace bg
