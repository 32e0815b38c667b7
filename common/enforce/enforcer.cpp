// enforcer.cpp - see enforcer.hpp.
#include "enforce/enforcer.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <ctime>

#include "config/config.hpp"
#include "metrics/metrics.hpp"
#include "smtp/address.hpp"
#include "util/text.hpp"

namespace bg {

namespace {

constexpr std::size_t max_reply_field = 200;  // bytes of one substituted value
constexpr std::size_t max_template_reply_bytes = 500;  // RFC 5321 4.5.3.1.5: a reply line is at most 512

std::string iso_date(UnixTime t) {
    if (t <= 0) return "never";
    const auto tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    return buf;
}

// The configuration loader lower-cases string lists, so names are compared without case
// ("ORIGINATING" in main.cf, "originating" in the list).
bool contains(const std::vector<std::string>& list, std::string_view v) {
    return std::any_of(list.begin(), list.end(), [&](const std::string& x) { return text::iequals(x, v); });
}

}  // namespace

std::string_view to_string(EnforceVerdict v) noexcept {
    switch (v) {
        case EnforceVerdict::Pass: return "pass";
        case EnforceVerdict::Reject: return "reject";
        case EnforceVerdict::Defer: return "defer";
        case EnforceVerdict::Warn: return "warn";
        case EnforceVerdict::Tempfail: return "tempfail";
    }
    return "pass";
}

std::string status_for(Category c, int code_class) {
    std::string_view tail = "7.1";
    switch (c) {
        case Category::UserUnknown: tail = "1.1"; break;
        case Category::DomainUnknown: tail = "1.2"; break;
        case Category::HasMoved: tail = "1.6"; break;
        case Category::MailboxDisabled: tail = "2.1"; break;
        case Category::MailboxFull: tail = "2.2"; break;
        default: break;
    }
    return std::to_string(code_class) + "." + std::string(tail);
}

Result<ReplyTemplate> parse_reply_template(std::string_view spec, int want_class) {
    spec = text::trim(spec);
    ReplyTemplate t;
    const auto bad = [&](const std::string& why) {
        return Error{"reply \"" + text::printable(text::clip(spec, 80)) + "\": " + why};
    };
    if (spec.size() < 3 || std::from_chars(spec.data(), spec.data() + 3, t.code).ptr != spec.data() + 3)
        return bad("must start with a three-digit SMTP code");
    if (t.code / 100 != want_class || t.code % 100 > 59)
        return bad("the code must be " + std::to_string(want_class) + "xx");
    if (spec.size() > 3 && spec[3] != ' ') return bad("the code must be followed by a space");
    for (const char ch : spec)
        if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) return bad("control characters are not allowed");
    std::string_view rest = spec.size() > 3 ? text::trim(spec.substr(4)) : std::string_view{};
    // An optional enhanced status "X.Y.Z" whose class matches the code.
    const auto sp = rest.find(' ');
    const std::string_view first = rest.substr(0, sp);
    if (first.size() >= 5 && first[1] == '.' && first[0] >= '2' && first[0] <= '5') {
        if (first[0] - '0' != want_class)
            return bad("the enhanced status class must match the code (" + std::to_string(want_class) + ".X.Y)");
        t.status = std::string(first);
        rest = sp == std::string_view::npos ? std::string_view{} : text::trim(rest.substr(sp));
    } else if (first == "{status}") {
        // The category's status right after the code: what an empty status gives anyway.
        rest = sp == std::string_view::npos ? std::string_view{} : text::trim(rest.substr(sp));
    }
    t.text = std::string(rest);
    if (t.text.empty()) return bad("a reply needs a text after the code");
    if (t.text.size() > max_template_reply_bytes) return bad("longer than " + std::to_string(max_template_reply_bytes) + " bytes");
    return t;
}

Result<Network> parse_network(std::string_view cidr) {
    Network n;
    std::string_view host = text::trim(cidr);
    const auto slash = host.find('/');
    std::string addr(host.substr(0, slash));
    n.v6 = addr.find(':') != std::string::npos;
    const int bits = n.v6 ? 128 : 32;
    n.prefix = bits;
    if (slash != std::string_view::npos) {
        const auto p = host.substr(slash + 1);
        int v = -1;
        if (p.empty() || std::from_chars(p.data(), p.data() + p.size(), v).ptr != p.data() + p.size() || v < 0 ||
            v > bits)
            return Error{"network \"" + text::printable(text::clip(cidr, 80)) + "\": bad prefix length"};
        n.prefix = v;
    }
    if (inet_pton(n.v6 ? AF_INET6 : AF_INET, addr.c_str(), n.addr.data()) != 1)
        return Error{"network \"" + text::printable(text::clip(cidr, 80)) + "\": not an IPv4 or IPv6 address"};
    return n;
}

bool network_contains(const Network& net, std::string_view address) noexcept {
    if (address.empty() || address.size() > 64) return false;
    char buf[65];
    std::copy(address.begin(), address.end(), buf);
    buf[address.size()] = '\0';
    std::array<std::uint8_t, 16> a{};
    bool v6 = std::find(address.begin(), address.end(), ':') != address.end();
    if (inet_pton(v6 ? AF_INET6 : AF_INET, buf, a.data()) != 1) return false;
    // An IPv4-mapped IPv6 client ("::ffff:192.0.2.1") matches IPv4 networks.
    if (v6 && !net.v6) {
        static constexpr std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (!std::equal(mapped, mapped + 12, a.begin())) return false;
        std::copy(a.begin() + 12, a.end(), a.begin());
        v6 = false;
    }
    if (v6 != net.v6) return false;
    const int full = net.prefix / 8;
    if (!std::equal(a.begin(), a.begin() + full, net.addr.begin())) return false;
    const int rest = net.prefix % 8;
    if (rest == 0) return true;
    const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
    return (a[static_cast<std::size_t>(full)] & mask) == (net.addr[static_cast<std::size_t>(full)] & mask);
}

Result<Enforcer> Enforcer::create(const Config& config) {
    const auto& ec = config.enforce;
    Enforcer e;
    e.all_ = ec.scope == "all";
    e.sasl_ = ec.sasl_authenticated;
    e.observe_ = config.policy.observe;
    e.tempfail_on_error_ = ec.on_store_error == "tempfail";
    e.action_ = ec.action == "defer" ? Action::Defer : ec.action == "warn" ? Action::Warn : Action::Reject;
    for (const auto& n : ec.networks) {
        auto net = parse_network(n);
        if (!net) return Error{"enforce.networks: " + net.error().message};
        e.networks_.push_back(*net);
    }
    e.contexts_ = ec.policy_contexts;
    e.daemon_names_ = ec.daemon_names;
    auto r = parse_reply_template(ec.reject_reply, 5);
    if (!r) return Error{"enforce.reject_reply: " + r.error().message};
    e.reject_ = std::move(*r);
    auto d = parse_reply_template(ec.defer_reply, 4);
    if (!d) return Error{"enforce.defer_reply: " + d.error().message};
    e.defer_ = std::move(*d);
    auto t = parse_reply_template(ec.tempfail_reply, 4);
    if (!t) return Error{"enforce.tempfail_reply: " + t.error().message};
    e.tempfail_ = std::move(*t);
    return e;
}

bool Enforcer::is_outbound(const RcptRequest& rq) const noexcept {
    if (all_) return true;
    if (sasl_ && !rq.sasl_username.empty()) return true;
    if (!rq.policy_context.empty() && contains(contexts_, rq.policy_context)) return true;
    if (!rq.daemon_name.empty() && contains(daemon_names_, rq.daemon_name)) return true;
    for (const auto& n : networks_)
        if (network_contains(n, rq.client_address)) return true;
    return false;
}

std::string Enforcer::format_reply(const ReplyTemplate& tpl, std::string_view recipient,
                                   const Suppression& s) const {
    const std::string status = tpl.status.empty() ? status_for(s.category, tpl.code / 100) : tpl.status;
    std::string out = std::to_string(tpl.code) + " " + status + " ";
    const std::string_view in = tpl.text;
    for (std::size_t i = 0; i < in.size();) {
        if (in[i] == '{') {
            const auto close = in.find('}', i);
            if (close != std::string_view::npos) {
                const auto name = in.substr(i + 1, close - i - 1);
                std::string value;
                bool known = true;
                if (name == "recipient") value = std::string(recipient);
                else if (name == "category") value = std::string(to_string(s.category));
                else if (name == "since") value = iso_date(s.first_seen);
                else if (name == "expires") value = s.expires == 0 ? "never" : iso_date(s.expires);
                else if (name == "status") value = status;
                else if (name == "reason") value = s.reason;
                else known = false;
                if (known) {
                    out += text::printable(text::clip(value, max_reply_field));
                    i = close + 1;
                    continue;
                }
            }
        }
        out.push_back(in[i]);
        ++i;
    }
    return std::string(text::clip(out, max_template_reply_bytes));
}

namespace {

// Counts one RCPT TO decision (metrics.hpp) on its way out.
EnforceResult counted(EnforceResult r) noexcept {
    if (!r.outbound) return r;  // inbound mail is not checked
    auto& m = metrics::registry();
    m.add(metrics::Metric::RcptChecks, metrics::index(r.verdict));
    if (r.lookup == LookupStatus::TempError) m.add(metrics::Metric::LookupErrors);
    if (r.verdict == EnforceVerdict::Reject || r.verdict == EnforceVerdict::Defer)
        m.add(metrics::Metric::Refused, metrics::index(r.suppression.category));
    else if (r.verdict == EnforceVerdict::Warn)
        m.add(metrics::Metric::WouldRefuse, metrics::index(r.suppression.category));
    return r;
}

}  // namespace

EnforceResult Enforcer::check(SuppressionStore& store, const RcptRequest& rq, UnixTime now) const noexcept {
    EnforceResult r;
    try {
        r.outbound = is_outbound(rq);
        if (!r.outbound) return counted(std::move(r));
        auto key = normalize_address(rq.recipient);
        if (!key) {
            r.error = "recipient not checked: " + key.error().message;
            return counted(std::move(r));
        }
        auto found = store.lookup(*key, now);
        r.lookup = found.status;
        if (found.status == LookupStatus::TempError) {
            store_error(r, std::move(found.error));
            return counted(std::move(r));
        }
        if (found.status != LookupStatus::Found) return counted(std::move(r));
        r.suppression = std::move(found.suppression);
        if (observe_ || action_ == Action::Warn) {
            r.verdict = EnforceVerdict::Warn;
            r.reply = format_reply(reject_, *key, r.suppression);
        } else if (action_ == Action::Defer) {
            r.verdict = EnforceVerdict::Defer;
            r.reply = format_reply(defer_, *key, r.suppression);
        } else {
            r.verdict = EnforceVerdict::Reject;
            r.reply = format_reply(reject_, *key, r.suppression);
        }
    } catch (const std::exception& e) {
        // Out of memory and the like: never let it become a refusal.
        r = EnforceResult{};
        r.error = std::string("internal error: ") + e.what();
        metrics::registry().add(metrics::Metric::InternalErrors);
    }
    return counted(std::move(r));
}

void Enforcer::store_error(EnforceResult& r, std::string error) const {
    r.lookup = LookupStatus::TempError;
    r.error = std::move(error);
    if (tempfail_on_error_) {
        r.verdict = EnforceVerdict::Tempfail;
        r.reply = std::to_string(tempfail_.code) + " " +
                  (tempfail_.status.empty() ? std::string("4.3.0") : tempfail_.status) + " " + tempfail_.text;
    }
}

EnforceResult Enforcer::unavailable(const RcptRequest& rq, std::string_view error) const noexcept {
    EnforceResult r;
    try {
        r.outbound = is_outbound(rq);
        if (!r.outbound) return counted(std::move(r));
        if (auto key = normalize_address(rq.recipient); !key) {
            r.error = "recipient not checked: " + key.error().message;
            return counted(std::move(r));
        }
        store_error(r, std::string(error));
    } catch (const std::exception& e) {
        r = EnforceResult{};
        r.error = std::string("internal error: ") + e.what();
        metrics::registry().add(metrics::Metric::InternalErrors);
    }
    return counted(std::move(r));
}

std::string Enforcer::describe(const RcptRequest& rq, const EnforceResult& r) {
    std::string out;
    switch (r.verdict) {
        case EnforceVerdict::Reject: out = "refused"; break;
        case EnforceVerdict::Defer: out = "deferred"; break;
        case EnforceVerdict::Warn: out = "would refuse (not enforced)"; break;
        case EnforceVerdict::Tempfail: out = "tempfail (store error)"; break;
        case EnforceVerdict::Pass: out = "passed"; break;
    }
    const auto field = [&](std::string_view name, std::string_view v) {
        out += " ";
        out += name;
        out += "=<";
        out += text::printable(text::clip(v, max_reply_field));
        out += ">";
    };
    field("to", rq.recipient);
    field("from", rq.sender);
    out += " client=" + (rq.client_address.empty() ? std::string("local")
                                                   : text::printable(text::clip(rq.client_address, 64)));
    if (r.lookup == LookupStatus::Found) {
        out += " entry=" + r.suppression.key + " category=" + std::string(to_string(r.suppression.category)) +
               " since=" + iso_date(r.suppression.first_seen) + " added_by=" +
               text::printable(text::clip(r.suppression.added_by, max_reply_field));
        if (!r.suppression.reason.empty())
            out += " reason=\"" + text::printable(text::clip(r.suppression.reason, max_reply_field)) + "\"";
    }
    if (!r.error.empty()) out += " error=\"" + text::printable(text::clip(r.error, max_reply_field)) + "\"";
    if (!r.reply.empty()) out += " reply=\"" + r.reply + "\"";
    return out;
}

}  // namespace bg
