// message_walker.cpp - see message_walker.hpp.
#include "message_walker.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

namespace bg::cli {

namespace {

namespace fs = std::filesystem;

constexpr int max_folder_depth = 8;

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
    Walker(const MessageFn& each, std::ostream& err, std::size_t max_bytes, std::string_view command)
        : each_(each), err_(err), max_bytes_(max_bytes), prefix_("bounceguard: " + std::string(command) + ": ") {}

    bool path(const fs::path& p, int depth) {
        std::error_code ec;
        const auto st = fs::status(p, ec);
        if (ec || !fs::exists(st)) {
            err_ << prefix_ << p.string() << ": no such file or folder\n";
            return false;
        }
        if (fs::is_directory(st)) return folder(p, depth);
        return file(p);
    }

private:
    bool folder(const fs::path& dir, int depth) {
        if (depth > max_folder_depth) {
            err_ << prefix_ << dir.string() << ": folders nested too deep, skipped\n";
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
            err_ << prefix_ << dir.string() << ": " << ec.message() << "\n";
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
            err_ << prefix_ << name << ": cannot open: " << std::strerror(errno) << "\n";
            return false;
        }
        char head[5] = {};
        in.read(head, 5);
        const bool mbox = in.gcount() == 5 && std::string_view(head, 5) == "From ";
        in.clear();
        in.seekg(0);
        if (mbox) {
            return read_mbox(in, max_bytes_ + 1, [&](long index, std::string_view msg) { return each_(name, index, msg); });
        }
        std::string raw, error;
        if (!read_capped(p, max_bytes_ + 1, raw, error)) {
            err_ << prefix_ << name << ": " << error << "\n";
            return false;
        }
        return each_(name, 0, raw);
    }

    const MessageFn& each_;
    std::ostream& err_;
    std::size_t max_bytes_;
    std::string prefix_;
};

}  // namespace

bool walk_messages(const std::vector<std::string>& paths, std::size_t max_bytes, std::string_view command,
                   std::ostream& err, const MessageFn& each) {
    Walker walker(each, err, max_bytes, command);
    bool ok = true;
    for (const auto& p : paths) ok = walker.path(p, 0) && ok;
    return ok;
}

}  // namespace bg::cli
