// cmd_classify.cpp - `bounceguard classify` and `bounceguard explain`.
// SECURITY: stdin is untrusted: lines are capped (LineReader), JSON is parsed without
// exceptions escaping, and every line gets an answer or an error object; the run goes on.
#include <iostream>
#include <nlohmann/json.hpp>

#include "classify/classifier.hpp"
#include "commands.hpp"
#include "line_reader.hpp"
#include "util/text.hpp"
#include "verdict_json.hpp"

namespace bg::cli {

namespace {

struct Input {
    std::string reply;
    std::optional<SmtpStage> stage;
};

Result<Input> from_json_line(const std::string& line, std::optional<SmtpStage> default_stage) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return Error{"not a JSON object"};
    const auto r = j.find("reply");
    if (r == j.end() || !r->is_string()) return Error{"no \"reply\" string in the object"};
    Input in{r->get<std::string>(), default_stage};
    if (const auto s = j.find("stage"); s != j.end()) {
        if (!s->is_string()) return Error{"\"stage\" must be a string"};
        auto st = parse_stage(s->get<std::string>());
        if (!st) return Error{"unknown stage '" + s->get<std::string>() + "'"};
        in.stage = st;
    }
    return in;
}

}  // namespace

int run_classify(std::istream& in, std::ostream& out, std::ostream& err, const RuleSet& rules,
                 const ClassifyOptions& options) {
    // JSON lines may carry escapes, so they get more room than the reply cap.
    LineReader reader(in, options.json_input ? options.max_reply_bytes * 6 + 1024 : options.max_reply_bytes);
    std::string line;
    bool truncated = false;
    std::size_t lineno = 0;
    int status = 0;
    while (reader.next(line, truncated)) {
        ++lineno;
        if (text::trim(line).empty()) continue;
        Input input{line, options.stage};
        if (options.json_input) {
            auto parsed = from_json_line(line, options.stage);
            if (!parsed) {
                err << "bounceguard: classify: line " << lineno << ": " << parsed.error().message << "\n";
                nlohmann::ordered_json e;
                e["line"] = lineno;
                e["error"] = parsed.error().message;
                out << json_line(e) << "\n";
                status = 1;
                continue;
            }
            input = std::move(*parsed);
        }
        auto reply = parse_reply(input.reply, options.max_reply_bytes);
        nlohmann::ordered_json j;
        j["reply"] = text::clip(input.reply, 1000);
        if (!reply) {
            j["error"] = reply.error().message;
            out << json_line(j) << "\n";
            status = 1;
            continue;
        }
        if (input.stage) reply->stage = *input.stage;
        if (truncated) reply->truncated = true;
        j.update(verdict_json(*reply, classify(*reply, rules)));
        out << json_line(j) << "\n";
    }
    out.flush();
    return status;
}

int run_explain(const std::string& raw, std::optional<SmtpStage> stage, std::ostream& out, std::ostream& err,
                const RuleSet& rules, std::size_t max_bytes) {
    auto reply = parse_reply(raw, max_bytes);
    if (!reply) {
        err << "bounceguard: explain: " << reply.error().message << "\n";
        return 2;
    }
    if (stage) reply->stage = *stage;
    const Verdict v = classify(*reply, rules);
    out << explain_text(raw, *reply, v, rules.find(v.rule_id));
    return 0;
}

}  // namespace bg::cli
