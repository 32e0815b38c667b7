// session.hpp - bounceguard-milter's logic, free of libmilter types so that unit tests drive it
// directly (callbacks.cpp only translates). One Session per MTA connection holds one immutable
// Snapshot (configuration, enforcer, rules, store, token key) for its whole life: a SIGHUP
// reload is picked up by the next connection.
//
// Per message:
//   - outbound mail (enforce/enforcer.hpp decides what is outbound) is checked at RCPT: a
//     suppressed recipient is refused with the configured reply, deferred, or only logged;
//   - Postfix non-SMTP mail ({daemon_name} in milter.local_daemon_names) is never refused at
//     RCPT (Postfix treats that as a configuration error and leaves the mail in maildrop): the
//     suppressed recipients are removed at end of message, and if none is left the message is
//     refused as a whole;
//   - mail with the null sender is never refused (those are bounces; their recipients are our
//     own senders); if it is a bounce it is parsed, classified and recorded through the decision
//     engine: our MTA's own bounces ({daemon_name} in milter.bounce_daemon_names) are trusted,
//     remote ones only with a valid outbound token for that recipient (token.hpp);
//   - outbound mail gets the token header (and a Message-ID when it has none, so that the token
//     can bind to it).
// Failure modes: store errors follow enforce.on_store_error, internal errors
// milter.on_internal_error: continue or a 4xx, never a 5xx.
// SECURITY: everything from the MTA is client-controlled text: envelope addresses, headers and
// bodies. A bounce is buffered only up to milter.max_bounce_bytes and parsed under BounceLimits.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <spdlog/logger.h>

#include "config/config.hpp"
#include "dsn/bounce_parser.hpp"
#include "enforce/enforcer.hpp"
#include "store/suppression_store.hpp"
#include "util/result.hpp"

namespace bg::milter {

// The store, opened on first use and re-opened (at most every few seconds) after a failed open,
// so that a milter started while the database is down recovers without a restart.
class StoreHandle {
public:
    // snapshot_ms: store.lookup_snapshot_ms, applied when the store is opened.
    explicit StoreHandle(std::string uri, std::int64_t snapshot_ms = 0)
        : uri_(std::move(uri)), snapshot_ms_(snapshot_ms) {}
    StoreHandle(const StoreHandle&) = delete;
    StoreHandle& operator=(const StoreHandle&) = delete;
    const std::string& uri() const noexcept { return uri_; }
    // The open store, or the reason it is not available.
    Result<SuppressionStore*> get(UnixTime now);

private:
    std::mutex mu_;
    std::string uri_;
    std::int64_t snapshot_ms_ = 0;
    std::unique_ptr<SuppressionStore> store_;
    UnixTime next_try_ = 0;
    std::string last_error_;
};

// Counters over the process's life, logged with each event they count.
struct Counters {
    std::atomic<std::uint64_t> refused{0}, removed{0}, bounces{0}, learned{0}, unverified{0}, errors{0};
};

// Everything a connection needs, immutable once built.
struct Snapshot {
    std::shared_ptr<const Config> config;
    Enforcer enforcer;
    std::shared_ptr<const RuleSet> rules;
    std::shared_ptr<StoreHandle> store;
    std::string token_key;  // "" = no token
    BounceLimits limits;
    std::shared_ptr<spdlog::logger> log;
    std::shared_ptr<Counters> counters;
    UnixTime (*clock)() = nullptr;  // now(); injectable for tests

    // Builds a snapshot: the enforcer and rules from the config, the token key from its file.
    // `store` is reused when its URI is the config's (a reload keeps the open store).
    static Result<std::shared_ptr<const Snapshot>> make(std::shared_ptr<const Config> config,
                                                        std::shared_ptr<StoreHandle> store,
                                                        std::shared_ptr<spdlog::logger> log,
                                                        std::shared_ptr<Counters> counters);
    UnixTime now() const noexcept;
};

// What the callback returns to the MTA.
enum class Step { Continue, Accept, Reject, Tempfail, Skip };
struct Reply {
    Step step = Step::Continue;
    std::string code, xcode, text;  // for smfi_setreply when step is Reject or Tempfail ("" = MTA default)
    static Reply cont() { return {}; }
};

// Header changes and recipient removals at end of message, in the order they are applied.
struct EomResult {
    std::vector<std::string> delete_rcpts;  // exactly as the MTA gave them
    int delete_token_headers = 0;            // X-Bounceguard-Token headers to delete (indexes 1..n)
    std::vector<std::pair<std::string, std::string>> insert_headers;  // at the top, in this order
    std::vector<std::pair<std::string, std::string>> add_headers;     // at the end
    Reply reply;
};

struct ConnectInfo {
    std::string hostname;
    std::string address;    // "" when not an IP client
    int port = -1;
    std::string daemon_name;
    std::string myhostname;  // macro j
};

class Session {
public:
    explicit Session(std::shared_ptr<const Snapshot> snapshot);
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    Reply connect(ConnectInfo info);
    // sender as the MTA gives it ("<a@b>", "a@b", "<>", ""); auth_authen = {auth_authen}.
    Reply mail_from(std::string_view sender, std::string_view auth_authen, std::string_view queue_id);
    Reply rcpt(std::string_view recipient);
    Reply header(std::string_view name, std::string_view value);
    Reply body(std::string_view chunk);
    EomResult eom();
    void abort();  // the message is over (RSET, or after EOM); the connection goes on

    bool is_local() const noexcept { return local_; }
    bool is_bounce_service() const noexcept { return bounce_service_; }
    const Snapshot& snapshot() const noexcept { return *snap_; }
    // The reply for an internal error, as milter.on_internal_error says.
    Reply internal_error(std::string_view where, std::string_view what);

private:
    struct Pending {
        std::string raw;  // as the MTA gave it (for smfi_delrcpt)
        std::string normalised;
        EnforceResult result;
    };
    RcptRequest request(std::string_view recipient) const;
    Reply store_error_reply(std::string_view what);
    EomResult eom_enforce();
    Reply learn(EomResult& out);
    void sign(EomResult& out);
    void append_raw_header(std::string_view name, std::string_view value);

    std::shared_ptr<const Snapshot> snap_;
    ConnectInfo conn_;
    std::string daemon_lower_;
    bool local_ = false;
    bool bounce_service_ = false;
    // The message.
    std::string sender_, auth_, queue_id_;
    bool null_sender_ = false;
    bool outbound_ = false;
    bool tempfail_message_ = false;
    std::vector<Pending> rcpts_;
    std::string message_id_;
    int token_headers_ = 0;
    std::string raw_;  // a bounce: headers and body as received, up to max_bounce_bytes
    bool raw_full_ = false;
    bool in_body_ = false;
};

// "inet:127.0.0.1:9901" => "inet:9901@127.0.0.1", "unix:/run/x.sock" => "unix:/run/x.sock"
// (libmilter's notation); "inet:[::1]:9901" => "inet6:9901@::1".
Result<std::string> to_libmilter_socket(std::string_view postfix_notation);

}  // namespace bg::milter
