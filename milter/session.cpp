// session.cpp - see session.hpp.
#include "session.hpp"

#include <ctime>
#include <random>

#include "log/logging.hpp"
#include "metrics/metrics.hpp"
#include "policy/recorder.hpp"
#include "smtp/address.hpp"
#include "token.hpp"
#include "util/text.hpp"

namespace bg::milter {

namespace {

constexpr UnixTime reopen_interval = 5;           // seconds between attempts to open a failed store
constexpr std::size_t max_learned_header = 900;   // bytes of the X-Bounceguard-Learned value
constexpr std::size_t max_header_name = 256;

UnixTime system_now() { return static_cast<UnixTime>(std::time(nullptr)); }

// "<a@b>" => "a@b"; "<>" => "".
std::string_view strip_brackets(std::string_view s) {
    s = text::trim(s);
    if (s.size() >= 2 && s.front() == '<' && s.back() == '>') s = s.substr(1, s.size() - 2);
    return text::trim(s);
}

// The configuration loader stores lists in lower case; {daemon_name} is compared without case.
bool contains(const std::vector<std::string>& list, std::string_view v) {
    for (const auto& x : list)
        if (text::iequals(x, v)) return true;
    return false;
}

// "550 5.1.1 text" => {Reject, "550", "5.1.1", "text"}.
Reply to_reply(Step step, std::string_view line) {
    Reply r;
    r.step = step;
    line = text::trim(line);
    r.code = std::string(line.substr(0, 3));
    line = line.size() > 3 ? text::trim(line.substr(3)) : std::string_view{};
    const auto sp = line.find(' ');
    const auto first = line.substr(0, sp);
    if (first.size() >= 5 && first[1] == '.' && text::is_digit(first[0])) {
        r.xcode = std::string(first);
        line = sp == std::string_view::npos ? std::string_view{} : text::trim(line.substr(sp));
    }
    r.text = std::string(line);
    return r;
}

std::string new_message_id(std::string_view host) {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    char buf[64];
    std::snprintf(buf, sizeof buf, "%lld.%016llx", static_cast<long long>(system_now()),
                  static_cast<unsigned long long>(rng()));
    std::string h = text::printable(text::clip(host, 200));
    if (h.empty() || h.find(' ') != std::string::npos) h = "localhost";
    return "<" + std::string(buf) + ".bounceguard@" + h + ">";
}

}  // namespace

Result<SuppressionStore*> StoreHandle::get(UnixTime now) {
    std::lock_guard lock(mu_);
    if (store_) return store_.get();
    if (now < next_try_) return Error{last_error_};
    auto opened = open_store(uri_);
    if (!opened) {
        last_error_ = "store " + redact_store_uri(uri_) + ": " + opened.error().message;
        next_try_ = now + reopen_interval;
        return Error{last_error_};
    }
    store_ = std::move(*opened);
    store_->set_lookup_snapshot(std::chrono::milliseconds(snapshot_ms_));
    return store_.get();
}

Result<std::shared_ptr<const Snapshot>> Snapshot::make(std::shared_ptr<const Config> config,
                                                       std::shared_ptr<StoreHandle> store,
                                                       std::shared_ptr<spdlog::logger> log,
                                                       std::shared_ptr<Counters> counters) {
    auto enforcer = Enforcer::create(*config);
    if (!enforcer) return enforcer.error();
    auto rules = build_rule_set(*config);
    if (!rules) return rules.error();
    auto s = std::make_shared<Snapshot>(Snapshot{config, std::move(*enforcer), std::move(*rules), nullptr, "", {},
                                                 std::move(log), std::move(counters), system_now});
    const auto& m = config->milter;
    if (!m.token_key_file.empty()) {
        auto key = read_token_key(m.token_key_file);
        if (!key) return Error{"milter.token_key_file: " + key.error().message};
        s->token_key = std::move(*key);
    }
    s->store = store && store->uri() == config->store.uri
                   ? std::move(store)
                   : std::make_shared<StoreHandle>(config->store.uri, config->store.lookup_snapshot_ms);
    s->limits.max_message_bytes = static_cast<std::size_t>(m.max_bounce_bytes);
    s->limits.max_recipients = static_cast<std::size_t>(m.max_bounce_recipients);
    s->limits.max_mime_depth = static_cast<std::size_t>(m.max_mime_depth);
    if (!s->counters) s->counters = std::make_shared<Counters>();
    return std::shared_ptr<const Snapshot>(std::move(s));
}

UnixTime Snapshot::now() const noexcept { return clock ? clock() : system_now(); }

Session::Session(std::shared_ptr<const Snapshot> snapshot) : snap_(std::move(snapshot)) {}

Reply Session::connect(ConnectInfo info) {
    conn_ = std::move(info);
    const auto& m = snap_->config->milter;
    snap_->log->debug("connect host={} addr={} port={} daemon_name={}", log_value(conn_.hostname, 100), conn_.address, conn_.port, log_value(conn_.daemon_name, 100));
    daemon_lower_ = text::to_lower(conn_.daemon_name);
    local_ = contains(m.local_daemon_names, conn_.daemon_name);
    bounce_service_ = contains(m.bounce_daemon_names, conn_.daemon_name);
    return Reply::cont();
}

RcptRequest Session::request(std::string_view recipient) const {
    RcptRequest rq;
    rq.recipient = recipient;
    rq.sender = sender_;
    rq.client_address = conn_.address;
    rq.sasl_username = auth_;
    rq.daemon_name = daemon_lower_;  // enforce.daemon_names is stored in lower case
    return rq;
}

Reply Session::mail_from(std::string_view sender, std::string_view auth_authen, std::string_view queue_id) {
    abort();
    sender_ = std::string(text::clip(strip_brackets(sender), max_address_bytes + 2));
    auth_ = std::string(text::clip(auth_authen, 256));
    queue_id_ = std::string(text::clip(queue_id, 64));
    null_sender_ = sender_.empty();
    outbound_ = snap_->enforcer.is_outbound(request({}));
    metrics::registry().add(metrics::Metric::MilterMessages);
    // Inbound mail that is not a bounce: nothing to check, sign or learn.
    if (!outbound_ && !null_sender_) return Reply{Step::Accept, {}, {}, {}};
    return Reply::cont();
}

Reply Session::rcpt(std::string_view recipient) {
    // Never block the recipients of a bounce: they are our own senders.
    if (null_sender_) return Reply::cont();
    const std::string raw(text::clip(recipient, max_address_bytes + 2));
    const std::string_view bare = strip_brackets(raw);
    const UnixTime now = snap_->now();
    auto store = snap_->store->get(now);
    Pending p{raw, {}, store ? snap_->enforcer.check(**store, request(bare), now)
                             : snap_->enforcer.unavailable(request(bare), store.error().message)};
    if (auto n = normalize_address(raw)) p.normalised = std::move(*n);
    const auto& r = p.result;
    auto& log = *snap_->log;
    if (!r.error.empty() && r.lookup == LookupStatus::TempError) {
        ++snap_->counters->errors;
        log.error("store-error {} queue={}", Enforcer::describe(request(bare), r), log_value(queue_id_, 64));
    }
    switch (r.verdict) {
        case EnforceVerdict::Pass: break;
        case EnforceVerdict::Warn:
            log.warn("rcpt {} queue={}", Enforcer::describe(request(bare), r), log_value(queue_id_, 64));
            break;
        case EnforceVerdict::Reject:
        case EnforceVerdict::Defer:
        case EnforceVerdict::Tempfail:
            if (local_) {
                // Non-SMTP mail: decided at end of message (session.hpp).
                if (r.verdict == EnforceVerdict::Tempfail) tempfail_message_ = true;
                if (r.verdict == EnforceVerdict::Defer)
                    log.warn("rcpt {} (non-SMTP mail cannot defer one recipient: delivered) queue={}",
                             Enforcer::describe(request(bare), r), log_value(queue_id_, 64));
                break;
            }
            if (r.verdict != EnforceVerdict::Tempfail) ++snap_->counters->refused;
            log.info("rcpt {} queue={} refused_total={}", Enforcer::describe(request(bare), r),
                     log_value(queue_id_, 64), snap_->counters->refused.load());
            return to_reply(r.verdict == EnforceVerdict::Reject ? Step::Reject : Step::Tempfail, r.reply);
    }
    rcpts_.push_back(std::move(p));
    return Reply::cont();
}

void Session::append_raw_header(std::string_view name, std::string_view value) {
    const auto max = snap_->limits.max_message_bytes;
    if (raw_full_) return;
    std::string line(name);
    line += ": ";
    // Folded values arrive with bare LF inside (Postfix): make every line end CRLF.
    for (std::size_t i = 0; i < value.size(); ++i) {
        if (value[i] == '\n' && (i == 0 || value[i - 1] != '\r')) line += '\r';
        line += value[i];
    }
    line += "\r\n";
    if (raw_.size() + line.size() > max) {
        raw_full_ = true;
        return;
    }
    raw_ += line;
}

Reply Session::header(std::string_view name, std::string_view value) {
    name = text::clip(name, max_header_name);
    if (text::iequals(name, "Message-ID") && message_id_.empty())
        message_id_ = std::string(text::clip(text::trim(value), 998));
    if (text::iequals(name, token_header)) ++token_headers_;
    if (null_sender_) append_raw_header(name, value);
    return Reply::cont();
}

Reply Session::body(std::string_view chunk) {
    if (!null_sender_) return Reply{Step::Skip, {}, {}, {}};
    if (!in_body_) {
        in_body_ = true;
        if (!raw_full_) raw_ += "\r\n";
    }
    const auto max = snap_->limits.max_message_bytes;
    if (raw_full_ || raw_.size() >= max) {
        raw_full_ = true;
        return Reply{Step::Skip, {}, {}, {}};
    }
    raw_.append(chunk.substr(0, max - raw_.size()));
    if (raw_.size() >= max) raw_full_ = true;
    return raw_full_ ? Reply{Step::Skip, {}, {}, {}} : Reply::cont();
}

EomResult Session::eom() {
    EomResult out;
    if (null_sender_) {
        out.reply = learn(out);
    } else {
        if (local_) out = eom_enforce();
        if (out.reply.step == Step::Continue) sign(out);
    }
    abort();
    return out;
}

EomResult Session::eom_enforce() {
    EomResult out;
    auto& log = *snap_->log;
    if (tempfail_message_) {
        out.reply = to_reply(Step::Tempfail, snap_->config->enforce.tempfail_reply);
        log.warn("message tempfailed (store error, enforce.on_store_error = tempfail) queue={}",
                 log_value(queue_id_, 64));
        return out;
    }
    std::size_t removed = 0;
    const Pending* first = nullptr;
    for (const auto& p : rcpts_) {
        if (p.result.verdict != EnforceVerdict::Reject) continue;
        out.delete_rcpts.push_back(p.raw);
        if (!first) first = &p;
        ++removed;
        ++snap_->counters->removed;
        metrics::registry().add(metrics::Metric::MilterRecipientsRemoved);
        log.info("rcpt removed (non-SMTP mail) {} queue={}", Enforcer::describe(request(strip_brackets(p.raw)), p.result),
                 log_value(queue_id_, 64));
    }
    if (removed > 0 && removed == rcpts_.size()) {
        // Nothing left to deliver: refuse the message as a whole (the MTA tells the sender).
        out.delete_rcpts.clear();
        const Reply r = to_reply(Step::Reject, first->result.reply);
        out.reply = Reply{Step::Reject, r.code, r.xcode,
                          "all recipients are suppressed (" + std::to_string(removed) + "); " + r.text};
        log.info("message refused (non-SMTP mail, every recipient suppressed) queue={}", log_value(queue_id_, 64));
    }
    // The removed recipients get no token tag.
    std::erase_if(rcpts_, [](const Pending& p) { return p.result.verdict == EnforceVerdict::Reject; });
    return out;
}

void Session::sign(EomResult& out) {
    const auto& m = snap_->config->milter;
    if (!outbound_ || !m.sign_outbound || snap_->token_key.empty() || rcpts_.empty()) return;
    std::vector<std::string> rcpts;
    for (const auto& p : rcpts_)
        if (!p.normalised.empty()) rcpts.push_back(p.normalised);
    std::string id = message_id_;
    if (text::trim(id).empty()) {
        id = new_message_id(conn_.myhostname);
        out.insert_headers.emplace_back("Message-ID", id);
    }
    // A token that came with the message (a loop, or a client's attempt) is replaced by ours.
    out.delete_token_headers = token_headers_;
    out.insert_headers.emplace_back(std::string(token_header),
                                    make_token(snap_->token_key, snap_->now(), id, rcpts,
                                               static_cast<std::size_t>(m.token_max_recipients)));
}

Reply Session::store_error_reply(std::string_view what) {
    ++snap_->counters->errors;
    snap_->log->error("store-error while learning a bounce: {} queue={}", log_value(what, 300),
                      log_value(queue_id_, 64));
    if (snap_->config->enforce.on_store_error == "tempfail")
        return to_reply(Step::Tempfail, snap_->config->enforce.tempfail_reply);
    return Reply::cont();
}

Reply Session::learn(EomResult& out) {
    auto& log = *snap_->log;
    const auto& m = snap_->config->milter;
    const UnixTime now = snap_->now();
    auto parsed = parse_bounce(raw_, snap_->limits);
    if (!parsed) {
        log.info("null-sender message not parsed: {} queue={}", log_value(parsed.error().message, 200),
                 log_value(queue_id_, 64));
        return Reply::cont();
    }
    if (parsed->truncated || raw_full_)
        log.warn("bounce partly read (limits) queue={} bytes={} kind={} warnings={}", log_value(queue_id_, 64),
                 raw_.size(), to_string(parsed->kind),
                 log_value(parsed->warnings.empty() ? std::string("size") : parsed->warnings.front(), 200));
    if (parsed->kind == BounceKind::NotBounce || parsed->kind == BounceKind::AutoReply) return Reply::cont();
    ++snap_->counters->bounces;
    metrics::registry().add(metrics::Metric::MilterBounces);
    classify_bounce(*parsed, *snap_->rules);
    auto store = snap_->store->get(now);
    std::string learned;
    const EventSource source = bounce_service_ ? EventSource::DsnInternal : EventSource::DsnRemote;
    for (const auto& r : parsed->records) {
        auto rcpt = normalize_address(r.recipient);
        if (!rcpt) continue;  // a record without a usable recipient teaches nothing
        std::string trust = "local-mta";
        if (!bounce_service_) {
            const auto check = check_token(snap_->token_key, parsed->original.token, parsed->original.message_id,
                                           *rcpt, now, m.token_max_age);
            trust = "token-" + std::string(to_string(check));
            if (!is_verified(check) && m.unverified_bounces != "apply") {
                ++snap_->counters->unverified;
                metrics::registry().add(metrics::Metric::UnverifiedBounces);
                log.warn("unverified-bounce rcpt=<{}> category={} token={} original_id=<{}> bounce_from={} queue={} "
                         "unverified_total={}: not recorded",
                         log_value(*rcpt), to_string(r.verdict.category), to_string(check),
                         log_value(parsed->original.message_id, 200), log_value(parsed->from, 200),
                         log_value(queue_id_, 64), snap_->counters->unverified.load());
                continue;
            }
        }
        if (!store) return store_error_reply(store.error().message);
        Event e;
        e.time = now;
        e.recipient = *rcpt;
        e.sender = std::string(text::clip(text::printable(parsed->original.from), 320));
        e.source = source;
        e.reply_code = r.reply.code;
        e.status = r.reply.status ? r.reply.status->to_string() : r.status;
        e.text = text::valid_utf8(text::clip(text::printable(r.diagnostic), 1000));
        e.stage = std::string(to_string(r.reply.stage));
        e.remote_mta = text::valid_utf8(text::clip(text::printable(r.remote_mta), 255));
        e.message_id = text::valid_utf8(text::clip(text::printable(parsed->original.message_id), 255));
        e.category = r.verdict.category;
        e.blame = r.verdict.blame;
        e.rule_id = std::string(r.verdict.rule_id);
        auto rec = record_event(**store, snap_->config->policy, std::move(e), r.verdict.decision, now);
        if (!rec) return store_error_reply(rec.error().message);
        ++snap_->counters->learned;
        const auto action = to_string(rec->outcome.action);
        log.info("decision rcpt=<{}> category={} blame={} action={} rule={} source={} trust={} queue={}: {}",
                 log_value(*rcpt), to_string(r.verdict.category), to_string(r.verdict.blame), action,
                 r.verdict.rule_id, to_string(source), trust, log_value(queue_id_, 64), rec->outcome.why);
        if (!learned.empty()) learned += "; ";
        learned += *rcpt + " " + std::string(to_string(r.verdict.category)) + " " + std::string(action);
    }
    if (m.learned_header && !learned.empty())
        out.add_headers.emplace_back("X-Bounceguard-Learned", std::string(text::clip(learned, max_learned_header)));
    return Reply::cont();
}

void Session::abort() {
    sender_.clear();
    auth_.clear();
    queue_id_.clear();
    null_sender_ = outbound_ = tempfail_message_ = false;
    rcpts_.clear();
    message_id_.clear();
    token_headers_ = 0;
    raw_.clear();
    raw_.shrink_to_fit();
    raw_full_ = in_body_ = false;
}

Reply Session::internal_error(std::string_view where, std::string_view what) {
    metrics::registry().add(metrics::Metric::InternalErrors);
    ++snap_->counters->errors;
    snap_->log->error("internal-error in {}: {} queue={}", where, log_value(what, 300), log_value(queue_id_, 64));
    if (snap_->config->milter.on_internal_error == "tempfail")
        return Reply{Step::Tempfail, "451", "4.3.0", "bounceguard: internal error, try again later"};
    return Reply::cont();
}

Result<std::string> to_libmilter_socket(std::string_view spec) {
    spec = text::trim(spec);
    if (spec.starts_with("unix:") && spec.size() > 5) return std::string(spec);
    if (spec.starts_with("local:") && spec.size() > 6) return "unix:" + std::string(spec.substr(6));
    if (spec.starts_with("inet:")) {
        const auto rest = spec.substr(5);
        const auto colon = rest.rfind(':');
        if (colon == std::string_view::npos || colon == 0 || colon + 1 == rest.size())
            return Error{"listen \"" + text::printable(spec) + "\": expected inet:HOST:PORT"};
        const auto host = rest.substr(0, colon), port = rest.substr(colon + 1);
        for (const char c : port)
            if (!text::is_digit(c)) return Error{"listen \"" + text::printable(spec) + "\": bad port"};
        if (host.front() == '[' && host.back() == ']')
            return "inet6:" + std::string(port) + "@" + std::string(host.substr(1, host.size() - 2));
        return "inet:" + std::string(port) + "@" + std::string(host);
    }
    return Error{"listen \"" + text::printable(text::clip(spec, 100)) + "\": expected unix:PATH or inet:HOST:PORT"};
}

}  // namespace bg::milter
