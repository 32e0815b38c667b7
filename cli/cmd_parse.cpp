// cmd_parse.cpp - `bounceguard parse [--json] FILE|DIR...`: reads bounce messages (a message
// file, a maildir folder or any folder of message files, an mbox file) and prints one line per
// recipient: a JSON object with --json (shared/docs/DESIGN.md "Contracts"), else a short
// tab-separated summary. A message that is not a bounce gives one "not_bounce" line; a file that
// cannot be read is reported on stderr, the run goes on, and the exit status is 1.
// SECURITY: every file is untrusted: messages are read with a size cap (an mbox is split while
// it is streamed, never loaded whole), folders are walked to a bounded depth without following
// symlinked folders, and the parser itself bounds everything else (BounceLimits).
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "message_walker.hpp"
#include "dsn/bounce_parser.hpp"
#include "util/text.hpp"
#include "verdict_json.hpp"

namespace bg::cli {

namespace {

namespace fs = std::filesystem;


// "path:3" for the third message of an mbox, "path" otherwise. (Appends instead of operator+,
// which GCC 12 -O3 flags with a false -Wrestrict.)
std::string location(const std::string& file, long index) {
    std::string s = file;
    if (index > 0) {
        s.push_back(':');
        s.append(std::to_string(index));
    }
    return s;
}

nlohmann::ordered_json str_or_null(std::string_view s) {
    if (s.empty()) return nullptr;
    return std::string(s);
}

class Printer {
public:
    Printer(std::ostream& out, std::ostream& err, const RuleSet& rules, const ParseOptions& options)
        : out_(out), err_(err), rules_(rules), options_(options) {}

    // Parses and prints one message; false when it could not be read as a message.
    bool message(const std::string& file, long index, std::string_view raw) {
        auto parsed = parse_bounce(raw, options_.limits);
        const std::string where = location(file, index);
        if (!parsed) {
            err_ << "bounceguard: parse: " << where << ": " << parsed.error().message << "\n";
            return false;
        }
        classify_bounce(*parsed, rules_);
        for (const auto& w : parsed->warnings) err_ << "bounceguard: parse: " << where << ": " << w << "\n";
        if (parsed->records.empty()) {
            print_not_bounce(file, index, *parsed);
        } else {
            for (const auto& r : parsed->records) print(file, index, *parsed, r);
        }
        return true;
    }

private:
    void print(const std::string& file, long index, const ParsedBounce& b, const BounceRecord& r) {
        if (!options_.json) {
            out_ << location(file, index) << '\t' << text::valid_utf8(r.recipient) << '\t'
                 << (r.reply.status ? r.reply.status->to_string() : std::string("-")) << '\t'
                 << (r.reply.code ? std::to_string(r.reply.code) : std::string("-")) << '\t'
                 << to_string(r.verdict.category) << '\t' << to_string(r.verdict.decision) << '\t'
                 << r.verdict.rule_id << '\n';
            return;
        }
        nlohmann::ordered_json j;
        j["file"] = file;
        if (index > 0) j["message"] = index;
        j["recipient"] = str_or_null(r.recipient);
        j["original_recipient"] = str_or_null(r.original_recipient);
        j["action"] = str_or_null(r.action);
        j["remote_mta"] = str_or_null(r.remote_mta);
        j.update(verdict_json(r.reply, r.verdict));
        j["diagnostic"] = str_or_null(text::clip(text::printable(r.diagnostic), 1000));
        j["dsn_status"] = str_or_null(r.status);
        j["reporting_mta"] = str_or_null(r.reporting_mta);
        j["arrival_date"] = str_or_null(r.arrival_date);
        j["last_attempt_date"] = str_or_null(r.last_attempt_date);
        if (!r.feedback_type.empty()) j["feedback_type"] = r.feedback_type;
        j["kind"] = std::string(to_string(b.kind));
        original(j, b);
        out_ << json_line(j) << "\n";
    }

    void print_not_bounce(const std::string& file, long index, const ParsedBounce& b) {
        if (!options_.json) {
            out_ << location(file, index) << "\t-\t-\t-\tnot_bounce\tnone\t"
                 << "dsn.not_bounce\n";
            return;
        }
        const auto& ci = info(Category::NotBounce);
        nlohmann::ordered_json j;
        j["file"] = file;
        if (index > 0) j["message"] = index;
        j["recipient"] = nullptr;
        j["status"] = nullptr;
        j["reply_code"] = nullptr;
        j["diagnostic"] = nullptr;
        j["remote_mta"] = nullptr;
        j["category"] = std::string(to_string(ci.category));
        j["blame"] = std::string(to_string(ci.blame));
        j["decision"] = std::string(to_string(ci.decision));
        j["rule"] = "dsn.not_bounce";
        j["kind"] = "not_bounce";
        original(j, b);
        out_ << json_line(j) << "\n";
    }

    void original(nlohmann::ordered_json& j, const ParsedBounce& b) {
        j["message_id"] = str_or_null(b.original.message_id);
        j["original_from"] = str_or_null(b.original.from);
        j["original_to"] = str_or_null(b.original.to);
        j["original_subject"] = str_or_null(b.original.subject);
        if (!b.original.token.empty()) j["token"] = b.original.token;
        if (b.truncated) j["truncated"] = true;
    }

    std::ostream& out_;
    std::ostream& err_;
    const RuleSet& rules_;
    const ParseOptions& options_;
};

}  // namespace

int run_parse(const std::vector<std::string>& paths, std::ostream& out, std::ostream& err, const RuleSet& rules,
              const ParseOptions& options) {
    Printer printer(out, err, rules, options);
    const bool ok = walk_messages(paths, options.limits.max_message_bytes, "parse", err,
                                  [&](const std::string& file, long index, std::string_view raw) {
                                      return printer.message(file, index, raw);
                                  });
    out.flush();
    return ok ? 0 : 1;
}

}  // namespace bg::cli
