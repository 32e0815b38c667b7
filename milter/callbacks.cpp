// callbacks.cpp - the extern "C" callbacks libmilter calls: each one only translates between
// libmilter and Session (session.hpp), and catches everything at the boundary, mapping it to
// milter.on_internal_error. The per-connection context is owned by a unique_ptr: released into
// smfi_setpriv at connect and reclaimed in close, so it cannot be used after it is freed.
// SECURITY: macros, addresses, headers and body come from the MTA, i.e. from the SMTP client.
#include "callbacks.hpp"
#include "metrics/metrics.hpp"
#include "token.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>

namespace bg::milter {

namespace {

std::mutex snapshot_mu;
std::shared_ptr<const Snapshot> snapshot_current;
std::atomic<bool> answer_data{false};  // set_answer_data()

// What the MTA offered and we accepted at option negotiation.
struct Context {
    explicit Context(std::shared_ptr<const Snapshot> s) : session(std::move(s)) {}
    Session session;
    bool skip_ok = false;     // SMFIP_SKIP negotiated
    bool noreply_hdr = false; // SMFIP_NR_HDR negotiated
    bool noreply_conn = false; // SMFIP_NR_CONN negotiated
    bool noreply_mail = false; // SMFIP_NR_MAIL negotiated
    // What MAIL decided but could not answer (accept, or an internal-error tempfail): given at
    // each RCPT instead. Cleared with the message.
    std::optional<Reply> held;
};

Context* context(SMFICTX* ctx) { return static_cast<Context*>(smfi_getpriv(ctx)); }

std::string macro(SMFICTX* ctx, const char* name) {
    const char* v = smfi_getsymval(ctx, const_cast<char*>(name));
    return v ? std::string(v) : std::string();
}

// smfi_setreply treats '%' specially: double it.
std::string escape_percent(const std::string& s) {
    std::string out;
    for (const char c : s) {
        out.push_back(c);
        if (c == '%') out.push_back('%');
    }
    return out;
}

sfsistat translate(SMFICTX* ctx, const Context& c, const Reply& r) {
    switch (r.step) {
        case Step::Continue: return SMFIS_CONTINUE;
        case Step::Accept: return SMFIS_ACCEPT;
        case Step::Skip: return c.skip_ok ? SMFIS_SKIP : SMFIS_CONTINUE;
        case Step::Reject:
        case Step::Tempfail:
            if (!r.code.empty()) {
                const std::string text = escape_percent(r.text);
                smfi_setreply(ctx, const_cast<char*>(r.code.c_str()),
                              r.xcode.empty() ? nullptr : const_cast<char*>(r.xcode.c_str()),
                              const_cast<char*>(text.c_str()));
            }
            return r.step == Step::Reject ? SMFIS_REJECT : SMFIS_TEMPFAIL;
    }
    return SMFIS_CONTINUE;
}

// Runs one step with the boundary catch; a context that is missing is an internal error too.
template <class F>
Reply run_step(Context& c, const char* where, F&& f) {
    try {
        return f(c);
    } catch (const std::exception& e) {
        return c.session.internal_error(where, e.what());
    }
}

template <class F>
sfsistat guarded(SMFICTX* ctx, const char* where, F&& f) {
    Context* c = context(ctx);
    if (!c) return SMFIS_CONTINUE;  // connect failed to set one up: nothing to enforce
    return translate(ctx, *c, run_step(*c, where, std::forward<F>(f)));
}

std::string address_of(const sockaddr* sa, int* port) {
    char buf[INET6_ADDRSTRLEN] = {};
    *port = -1;
    if (!sa) return {};
    if (sa->sa_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
        inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
        *port = ntohs(in->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
        inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
        *port = ntohs(in6->sin6_port);
    }
    return buf;
}

// The context of a connection: made at option negotiation (the first step of a connection) or,
// with an MTA that does not negotiate, at connect.
Context* ensure_context(SMFICTX* ctx) {
    if (Context* c = context(ctx)) return c;
    auto snap = current_snapshot();
    if (!snap) return nullptr;
    auto owned = std::make_unique<Context>(std::move(snap));
    if (smfi_setpriv(ctx, owned.get()) != MI_SUCCESS) return nullptr;  // not stored: freed here
    metrics::registry().add(metrics::Metric::Connections);
    return owned.release();  // owned by libmilter's context until bg_close reclaims it
}

extern "C" sfsistat bg_negotiate(SMFICTX* ctx, unsigned long f0, unsigned long f1, unsigned long, unsigned long,
                                 unsigned long* pf0, unsigned long* pf1, unsigned long* pf2, unsigned long* pf3) {
    // Only the actions and steps the milter uses: add/insert and delete headers, remove
    // recipients; no HELO, unknown-command or end-of-header events, and DATA only over TCP
    // (set_answer_data); no reply to connect, MAIL and each header when the MTA allows it (fewer
    // round trips per message). The body keeps its answer: SKIP after the first chunk of a
    // message that is not a bounce spares the MTA sending the rest. The no-reply steps are asked
    // for only when the context that remembers them exists.
    Context* c = nullptr;
    try {
        c = ensure_context(ctx);
    } catch (const std::exception&) {
        c = nullptr;  // no context: the connection passes unchecked
    }
    unsigned long steps = SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NOEOH | SMFIP_SKIP;
    if (!answer_data.load(std::memory_order_relaxed)) steps |= SMFIP_NODATA;
    if (c) steps |= SMFIP_NR_HDR | SMFIP_NR_CONN | SMFIP_NR_MAIL;
    *pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_DELRCPT);
    *pf1 = f1 & steps;
    *pf2 = 0;
    *pf3 = 0;
    if (c) {
        c->skip_ok = (*pf1 & SMFIP_SKIP) != 0;
        c->noreply_hdr = (*pf1 & SMFIP_NR_HDR) != 0;
        c->noreply_conn = (*pf1 & SMFIP_NR_CONN) != 0;
        c->noreply_mail = (*pf1 & SMFIP_NR_MAIL) != 0;
    }
    return SMFIS_CONTINUE;
}

extern "C" sfsistat bg_connect(SMFICTX* ctx, char* hostname, _SOCK_ADDR* hostaddr) {
    Context* c = context(ctx);
    // connect() always continues: with SMFIP_NR_CONN the MTA does not wait for that answer.
    const sfsistat cont = c && c->noreply_conn ? SMFIS_NOREPLY : SMFIS_CONTINUE;
    try {
        if (!c) c = ensure_context(ctx);  // an MTA that does not negotiate
        if (!c) return cont;
        ConnectInfo info;
        info.hostname = hostname ? hostname : "";
        info.address = address_of(reinterpret_cast<const sockaddr*>(hostaddr), &info.port);
        info.daemon_name = macro(ctx, "{daemon_name}");
        info.myhostname = macro(ctx, "j");
        c->session.connect(std::move(info));
    } catch (const std::exception&) {
        // The connection passes unchecked (the session has nothing to enforce without it).
    }
    return cont;
}

extern "C" sfsistat bg_envfrom(SMFICTX* ctx, char** argv) {
    Context* c = context(ctx);
    if (!c) return SMFIS_CONTINUE;  // connect failed to set one up: nothing to enforce
    c->held.reset();
    Reply r = run_step(*c, "mail", [&](Context& cc) {
        return cc.session.mail_from(argv && argv[0] ? argv[0] : "", macro(ctx, "{auth_authen}"), macro(ctx, "i"));
    });
    if (!c->noreply_mail) return translate(ctx, *c, r);
    if (r.step != Step::Continue) c->held = std::move(r);
    return SMFIS_NOREPLY;
}

extern "C" sfsistat bg_envrcpt(SMFICTX* ctx, char** argv) {
    if (Context* c = context(ctx); c && c->held)
        return translate(ctx, *c, *c->held);  // MAIL's answer (inbound mail, or an internal error)
    return guarded(ctx, "rcpt", [&](Context& cc) { return cc.session.rcpt(argv && argv[0] ? argv[0] : ""); });
}

// DATA, asked for only over TCP (set_answer_data): its answer acknowledges at once the MTA's last
// data before the message content (callbacks.hpp).
extern "C" sfsistat bg_data(SMFICTX*) { return SMFIS_CONTINUE; }

extern "C" sfsistat bg_header(SMFICTX* ctx, char* name, char* value) {
    Context* c = context(ctx);
    if (c) {
        try {
            c->session.header(name ? name : "", value ? value : "");
        } catch (const std::exception& e) {
            c->session.internal_error("header", e.what());
        }
    }
    return c && c->noreply_hdr ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

extern "C" sfsistat bg_body(SMFICTX* ctx, unsigned char* chunk, size_t len) {
    return guarded(ctx, "body", [&](Context& c) {
        return c.session.body(std::string_view(reinterpret_cast<const char*>(chunk), chunk ? len : 0));
    });
}

extern "C" sfsistat bg_eom(SMFICTX* ctx) {
    return guarded(ctx, "eom", [&](Context& c) {
        c.held.reset();
        EomResult r = c.session.eom();
        if (r.reply.step == Step::Continue) {
            for (const auto& rcpt : r.delete_rcpts) smfi_delrcpt(ctx, const_cast<char*>(rcpt.c_str()));
            const std::string token(token_header);
            for (int i = r.delete_token_headers; i >= 1; --i)
                smfi_chgheader(ctx, const_cast<char*>(token.c_str()), i, nullptr);
            for (auto it = r.insert_headers.rbegin(); it != r.insert_headers.rend(); ++it)
                smfi_insheader(ctx, 0, const_cast<char*>(it->first.c_str()), const_cast<char*>(it->second.c_str()));
            for (const auto& [name, value] : r.add_headers)
                smfi_addheader(ctx, const_cast<char*>(name.c_str()), const_cast<char*>(value.c_str()));
        }
        return r.reply;
    });
}

extern "C" sfsistat bg_abort(SMFICTX* ctx) {
    if (Context* c = context(ctx)) {
        c->held.reset();
        c->session.abort();
    }
    return SMFIS_CONTINUE;
}

extern "C" sfsistat bg_close(SMFICTX* ctx) {
    std::unique_ptr<Context> owned(context(ctx));
    smfi_setpriv(ctx, nullptr);
    if (owned) metrics::registry().add(metrics::Metric::Connections, 0, -1);
    return SMFIS_CONTINUE;
}

smfiDesc description = {
    const_cast<char*>("bounceguard"),
    SMFI_VERSION,
    SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_DELRCPT,
    bg_connect,
    nullptr,  // helo
    bg_envfrom,
    bg_envrcpt,
    bg_header,
    nullptr,  // eoh
    bg_body,
    bg_eom,
    bg_abort,
    bg_close,
    nullptr,  // unknown
    bg_data,
    bg_negotiate,
};

}  // namespace

smfiDesc& filter_description() { return description; }

void set_answer_data(bool on) { answer_data.store(on, std::memory_order_relaxed); }

void set_current_snapshot(std::shared_ptr<const Snapshot> snapshot) {
    std::lock_guard lock(snapshot_mu);
    snapshot_current = std::move(snapshot);
}

std::shared_ptr<const Snapshot> current_snapshot() {
    std::lock_guard lock(snapshot_mu);
    return snapshot_current;
}

}  // namespace bg::milter
