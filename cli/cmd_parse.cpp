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
#include "dsn/bounce_parser.hpp"
#include "util/text.hpp"
#include "verdict_json.hpp"

namespace bg::cli {

namespace {

namespace fs = std::filesystem;

constexpr int max_folder_depth = 8;

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

// Reads at most `max` bytes of a file (the parser cuts what is past its own cap anyway).
bool read_capped(const fs::path& path, std::size_t max, std::string& out, std::string& error) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        error = "cannot open: " + std::string(std::strerror(errno));
        return false;
    }
    out.assign(max, '\0');
    in.read(out.data(), static_cast<std::streamsize>(max));
    out.resize(static_cast<std::size_t>(in.gcount()));
    if (in.bad()) {
        error = "read error";
        return false;
    }
    return true;
}

bool is_mbox_separator(std::string_view line) { return line.starts_with("From "); }

// Streams an mbox file: messages start at "From " lines (after a blank line or at the start);
// ">From " quoting (mboxrd) is undone; each message is capped at `max` bytes.
bool read_mbox(std::istream& in, std::size_t max, const std::function<bool(long, std::string_view)>& each) {
    std::string line, msg;
    long index = 0;
    bool ok = true, prev_blank = true, started = false, over = false;
    auto flush = [&] {
        if (started) ok = each(index, msg) && ok;
        msg.clear();
        over = false;
    };
    while (std::getline(in, line)) {
        if (prev_blank && is_mbox_separator(line)) {
            flush();
            ++index;
            started = true;
            prev_blank = false;
            continue;
        }
        prev_blank = line.empty() || line == "\r";
        if (!started) continue;
        std::string_view l = line;
        std::size_t q = 0;
        while (q < l.size() && l[q] == '>') ++q;
        if (q > 0 && l.substr(q).starts_with("From ")) l.remove_prefix(1);
        if (over) continue;
        if (msg.size() + l.size() + 1 > max) {
            over = true;
            continue;
        }
        msg.append(l);
        msg.push_back('\n');
    }
    flush();
    return ok;
}

class Walker {
public:
    Walker(Printer& printer, std::ostream& err, const ParseOptions& options)
        : printer_(printer), err_(err), options_(options) {}

    bool path(const fs::path& p, int depth) {
        std::error_code ec;
        const auto st = fs::status(p, ec);
        if (ec || !fs::exists(st)) {
            err_ << "bounceguard: parse: " << p.string() << ": no such file or folder\n";
            return false;
        }
        if (fs::is_directory(st)) return folder(p, depth);
        return file(p);
    }

private:
    bool folder(const fs::path& dir, int depth) {
        if (depth > max_folder_depth) {
            err_ << "bounceguard: parse: " << dir.string() << ": folders nested too deep, skipped\n";
            return false;
        }
        std::error_code ec;
        // A maildir: its messages are in new/ and cur/ (tmp/ holds deliveries in progress).
        if (fs::is_directory(dir / "cur", ec) || fs::is_directory(dir / "new", ec)) {
            bool ok = true;
            for (const char* sub : {"new", "cur"})
                if (fs::is_directory(dir / sub, ec)) ok = entries(dir / sub, depth, false) && ok;
            return ok;
        }
        return entries(dir, depth, true);
    }

    bool entries(const fs::path& dir, int depth, bool recurse) {
        std::error_code ec;
        std::vector<fs::path> items;
        for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
            const auto name = it->path().filename().string();
            if (name.empty() || name.front() == '.') continue;
            items.push_back(it->path());
        }
        if (ec) {
            err_ << "bounceguard: parse: " << dir.string() << ": " << ec.message() << "\n";
            return false;
        }
        std::sort(items.begin(), items.end());
        bool ok = true;
        for (const auto& p : items) {
            std::error_code e2;
            const auto st = fs::symlink_status(p, e2);
            if (fs::is_directory(st)) {
                if (recurse) ok = folder(p, depth + 1) && ok;
            } else if (fs::is_regular_file(st) || fs::is_symlink(st)) {
                ok = file(p) && ok;
            }
        }
        return ok;
    }

    bool file(const fs::path& p) {
        const std::string name = p.string();
        std::ifstream in(p, std::ios::binary);
        if (!in) {
            err_ << "bounceguard: parse: " << name << ": cannot open: " << std::strerror(errno) << "\n";
            return false;
        }
        char head[5] = {};
        in.read(head, 5);
        const bool mbox = in.gcount() == 5 && std::string_view(head, 5) == "From ";
        in.clear();
        in.seekg(0);
        if (mbox) {
            return read_mbox(in, options_.limits.max_message_bytes + 1,
                             [&](long index, std::string_view msg) { return printer_.message(name, index, msg); });
        }
        std::string raw, error;
        if (!read_capped(p, options_.limits.max_message_bytes + 1, raw, error)) {
            err_ << "bounceguard: parse: " << name << ": " << error << "\n";
            return false;
        }
        return printer_.message(name, 0, raw);
    }

    Printer& printer_;
    std::ostream& err_;
    const ParseOptions& options_;
};

}  // namespace

int run_parse(const std::vector<std::string>& paths, std::ostream& out, std::ostream& err, const RuleSet& rules,
              const ParseOptions& options) {
    Printer printer(out, err, rules, options);
    Walker walker(printer, err, options);
    bool ok = true;
    for (const auto& p : paths) ok = walker.path(p, 0) && ok;
    out.flush();
    return ok ? 0 : 1;
}

}  // namespace bg::cli
