// metrics.cpp - the registry, the text format 0.0.4 renderer and the textfile writer (metrics.hpp).
#include "metrics/metrics.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "enforce/enforcer.hpp"

#ifndef BG_VERSION
#define BG_VERSION "unknown"
#endif

namespace bg::metrics {

namespace {

constexpr std::size_t categories = slots(LabelSet::Category);
constexpr std::size_t blames = static_cast<std::size_t>(Blame::Unknown) + 1;
constexpr std::size_t sources = static_cast<std::size_t>(EventSource::Import) + 1;

constexpr std::array<std::string_view, 5> verdict_names{"pass", "reject", "defer", "warn", "tempfail"};
constexpr std::array<std::string_view, 5> action_names{"dunno", "reject", "defer", "warn", "tempfail"};
constexpr std::array<std::string_view, 2> result_names{"ok", "failed"};

void append_sample(std::string& out, std::string_view name, std::string_view labels, std::int64_t v) {
    out += name;
    if (!labels.empty()) {
        out += '{';
        out += labels;
        out += '}';
    }
    out += ' ';
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
    out += '\n';
}

std::string label(std::string_view name, std::string_view value) {
    return std::string(name) + "=\"" + escape_label_value(value) + "\"";
}

}  // namespace

std::size_t index(EnforceVerdict v) noexcept {
    switch (v) {
        case EnforceVerdict::Pass: return 0;
        case EnforceVerdict::Reject: return 1;
        case EnforceVerdict::Defer: return 2;
        case EnforceVerdict::Warn: return 3;
        case EnforceVerdict::Tempfail: return 4;
    }
    return 0;
}

std::string full_name(const MetricInfo& m) {
    std::string out(prefix);
    out += m.name;
    if (m.type == Type::Counter) out += "_total";
    return out;
}

Registry::Registry() noexcept : program_("bounceguard") {
    for (auto& v : values_) v.store(0, std::memory_order_relaxed);
    set(Metric::StartTimeSeconds, static_cast<std::int64_t>(std::time(nullptr)));
    set(Metric::BuildInfo, 1);
}

std::int64_t Registry::value(Metric m, std::size_t slot) const noexcept {
    const auto i = static_cast<std::size_t>(m);
    if (slot >= detail::slot_offsets[i + 1] - detail::slot_offsets[i]) return 0;
    return values_[detail::slot_offsets[i] + slot].load(std::memory_order_relaxed);
}

void Registry::set_program(std::string_view program) { program_ = std::string(program); }

void Registry::render(std::string& out, Metric m) const {
    const MetricInfo& mi = info(m);
    const std::string name = full_name(mi);
    out += "# HELP " + name + " " + escape_help(mi.help) + "\n";
    out += "# TYPE " + name + (mi.type == Type::Counter ? " counter\n" : " gauge\n");
    switch (mi.labels) {
        case LabelSet::None: append_sample(out, name, "", value(m)); break;
        case LabelSet::Category:
            for (std::size_t c = 0; c < categories; ++c)
                append_sample(out, name, label("category", to_string(static_cast<Category>(c))), value(m, c));
            break;
        case LabelSet::CategoryBlameSource:
            // The blame each category has in the taxonomy is always shown (so that rate() sees the
            // first event); another blame only once it has happened.
            for (std::size_t c = 0; c < categories; ++c) {
                const auto cat = static_cast<Category>(c);
                for (std::size_t b = 0; b < blames; ++b) {
                    const auto blame = static_cast<Blame>(b);
                    for (std::size_t s = 0; s < sources; ++s) {
                        const auto src = static_cast<EventSource>(s);
                        const auto v = value(m, index(cat, blame, src));
                        if (v == 0 && blame != bg::info(cat).blame) continue;
                        append_sample(out, name,
                                      label("category", to_string(cat)) + "," + label("blame", to_string(blame)) +
                                          "," + label("source", to_string(src)),
                                      v);
                    }
                }
            }
            break;
        case LabelSet::Verdict:
            for (std::size_t i = 0; i < verdict_names.size(); ++i)
                append_sample(out, name, label("verdict", verdict_names[i]), value(m, i));
            break;
        case LabelSet::PolicyAction:
            for (std::size_t i = 0; i < action_names.size(); ++i)
                append_sample(out, name, label("action", action_names[i]), value(m, i));
            break;
        case LabelSet::Result:
            for (std::size_t i = 0; i < result_names.size(); ++i)
                append_sample(out, name, label("result", result_names[i]), value(m, i));
            break;
        case LabelSet::BuildInfo:
            append_sample(out, name, label("version", version()) + "," + label("program", program_), value(m));
            break;
    }
}

std::string Registry::render() const {
    std::string out;
    out.reserve(32 * 1024);
    for (const auto& m : metric_table) render(out, m.id);
    return out;
}

Registry& registry() noexcept {
    static Registry r;
    return r;
}

std::string_view version() noexcept { return BG_VERSION; }

std::string escape_label_value(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (const char c : v) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string escape_help(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (const char c : v) {
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

Result<ListenAddress> parse_listen(std::string_view spec) {
    const std::string original(spec);
    if (spec.starts_with("inet:")) spec.remove_prefix(5);
    ListenAddress a;
    std::string_view port;
    if (spec.starts_with("[")) {
        const auto close = spec.find(']');
        if (close == std::string_view::npos || close + 1 >= spec.size() || spec[close + 1] != ':')
            return Error{"'" + original + "': expected [IPV6]:PORT"};
        a.host = std::string(spec.substr(1, close - 1));
        a.v6 = true;
        port = spec.substr(close + 2);
    } else {
        const auto colon = spec.rfind(':');
        if (colon == std::string_view::npos || spec.find(':') != colon)
            return Error{"'" + original + "': expected HOST:PORT, e.g. 127.0.0.1:9466, or [::1]:9466"};
        a.host = std::string(spec.substr(0, colon));
        port = spec.substr(colon + 1);
    }
    unsigned char buf[16];
    if (::inet_pton(a.v6 ? AF_INET6 : AF_INET, a.host.c_str(), buf) != 1)
        return Error{"'" + original + "': '" + a.host + "' is not a numeric IP address (no name lookup here)"};
    unsigned n = 0;
    const auto r = std::from_chars(port.data(), port.data() + port.size(), n);
    if (port.empty() || r.ec != std::errc() || r.ptr != port.data() + port.size() || n > 65535)
        return Error{"'" + original + "': the port must be a number from 0 to 65535"};
    a.port = static_cast<std::uint16_t>(n);
    return a;
}

std::string expand_program(std::string_view path, std::string_view program) {
    std::string out;
    constexpr std::string_view token = "{program}";
    for (std::size_t i = 0; i < path.size();) {
        if (path.substr(i).starts_with(token)) {
            out += program;
            i += token.size();
        } else {
            out += path[i++];
        }
    }
    return out;
}

Result<void> write_textfile(const std::string& path, std::string_view content) {
    // The temporary name does not end in ".prom", so the collector never picks it up.
    const std::string tmp = path + "." + std::to_string(::getpid()) + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) return Error{tmp + ": cannot create: " + std::strerror(errno)};
    std::string_view left = content;
    while (!left.empty()) {
        const ssize_t n = ::write(fd, left.data(), left.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const std::string why = std::strerror(errno);
            ::close(fd);
            ::unlink(tmp.c_str());
            return Error{tmp + ": cannot write: " + why};
        }
        left.remove_prefix(static_cast<std::size_t>(n));
    }
    ::fchmod(fd, 0644);  // whatever the umask: node_exporter runs as another user
    if (::close(fd) != 0) {
        const std::string why = std::strerror(errno);
        ::unlink(tmp.c_str());
        return Error{tmp + ": cannot write: " + why};
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const std::string why = std::strerror(errno);
        ::unlink(tmp.c_str());
        return Error{path + ": cannot rename the new file into place: " + why};
    }
    return Ok{};
}

}  // namespace bg::metrics
