// bench_maillog.cpp - mail log lines per second on one core: `bounceguard ingest-log` without
// the store. A realistic mixed log is generated from the shapes of tests/corpus/maillog
// (Postfix: smtpd connect/client/disconnect, cleanup message-id, qmgr from/removed, smtp
// deliveries mostly sent, some deferred and bounced with real-world replies, bounce notices;
// a share of Sendmail lines), then read (a) by the parser alone (prefix, join, fields) and
// (b) by the parser and the classifier (every delivery line becomes a classified event), the
// work ingest-log does per line before it touches the store. Best of several passes, timed in
// CPU time of the one thread (so other load on the machine does not count).
// Usage: bench_maillog [LINES] [--write FILE]   (default 1000000 lines; --write also saves the
// generated log, e.g. to time `bounceguard ingest-log --stats FILE` with a store)
#include <algorithm>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "classify/rule_set.hpp"
#include "maillog/delivery_event.hpp"
#include "maillog/maillog_parser.hpp"

namespace {

using bg::maillog::DeliveryRecord;
using bg::maillog::MaillogParser;

const char* const replies[] = {
    "host mx.remote.example[192.0.2.10] said: 550 5.1.1 <{r}>: Recipient address rejected: User unknown in "
    "local recipient table (in reply to RCPT TO command)",
    "host gmail-smtp-in.l.google.com[142.250.1.26] said: 550-5.1.1 The email account that you tried to reach "
    "does not exist. Please try 550-5.1.1 double-checking the recipient's email address for typos or 550 5.1.1 "
    "unnecessary spaces. https://support.google.com/mail/?p=NoSuchUser x1si2 - gsmtp (in reply to RCPT TO command)",
    "host mx.big.example[203.0.113.5] said: 452 4.2.2 The email account that you tried to reach is over quota. "
    "(in reply to RCPT TO command)",
    "host mx.remote.example[192.0.2.10] said: 554 5.7.1 Service unavailable; Client host [198.51.100.7] blocked "
    "using zen.spamhaus.org; https://www.spamhaus.org/query/ip/198.51.100.7 (in reply to RCPT TO command)",
    "host mx.remote.example[192.0.2.10] said: 450 4.7.1 <{r}>: Recipient address rejected: Greylisted, see "
    "http://postgrey.schweikert.ch/help/remote.example.html (in reply to RCPT TO command)",
    "connect to mx.slow.example[192.0.2.99]:25: Connection timed out",
    "host mx.outlook.example[52.101.1.1] said: 550 5.4.1 Recipient address rejected: Access denied. "
    "[AM0PR01MB1234.eurprd01.prod.outlook.com] (in reply to RCPT TO command)",
};

std::string qid(std::mt19937& rng) {
    static const char hex[] = "0123456789ABCDEF";
    std::string s;
    for (int i = 0; i < 11; ++i) s += hex[rng() % 16];
    return s;
}

std::vector<std::string> make_log(std::size_t n) {
    std::mt19937 rng(42);  // fixed: the same log every run
    std::vector<std::string> out;
    out.reserve(n + 16);
    const std::string pfx = "Nov 25 15:36:33 mta ";
    while (out.size() < n) {
        const std::string q = qid(rng);
        const std::string sender = "user" + std::to_string(rng() % 5000) + "@sender.test";
        const int pid = 10000 + static_cast<int>(rng() % 20000);
        if (rng() % 10 == 0) {  // a Sendmail message
            const std::string sq = "6APF" + q.substr(0, 6) + "002708";
            out.push_back("<22>" + pfx.substr(0, 16) + "sm-mta[" + std::to_string(pid) + "]: " + sq + ": from=<" +
                          sender + ">, size=2210, class=0, nrcpts=1, msgid=<" + q + "@sender.test>, proto=ESMTP, "
                          "daemon=MTA, relay=app.sender.test [10.0.0.5]");
            const bool bad = rng() % 10 == 0;
            out.push_back("<22>" + pfx.substr(0, 16) + "sm-mta[" + std::to_string(pid + 1) + "]: " + sq +
                          ": to=<r" + std::to_string(rng() % 100000) + "@far.example>, delay=00:00:01, "
                          "xdelay=00:00:01, mailer=esmtp, pri=122210, relay=mx.far.example. [192.0.2.30], " +
                          (bad ? "dsn=5.1.1, reply=550 5.1.1 <x@far.example>... User unknown, stat=User unknown"
                               : "dsn=2.0.0, stat=Sent (OK id=1abc)"));
            continue;
        }
        out.push_back(pfx + "postfix/smtpd[" + std::to_string(pid) + "]: connect from app[10.0.0.5]");
        out.push_back(pfx + "postfix/smtpd[" + std::to_string(pid) + "]: " + q + ": client=app[10.0.0.5]");
        out.push_back(pfx + "postfix/cleanup[" + std::to_string(pid + 1) + "]: " + q + ": message-id=<" + q +
                      "@sender.test>");
        const int nrcpt = 1 + static_cast<int>(rng() % 3);
        out.push_back(pfx + "postfix/qmgr[900]: " + q + ": from=<" + sender + ">, size=4123, nrcpt=" +
                      std::to_string(nrcpt) + " (queue active)");
        out.push_back(pfx + "postfix/smtpd[" + std::to_string(pid) +
                      "]: disconnect from app[10.0.0.5] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5");
        for (int k = 0; k < nrcpt; ++k) {
            const std::string r = "r" + std::to_string(rng() % 100000) + "@example.net";
            const unsigned roll = rng() % 100;
            std::string line = pfx + "postfix/smtp[" + std::to_string(pid + 2) + "]: " + q + ": to=<" + r +
                               ">, relay=mx.example.net[192.0.2.1]:25, delay=0.62, delays=0.1/0/0.21/0.31, ";
            if (roll < 85) {
                line += "dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4BX7yQ1Z3Nz9sW1)";
            } else {
                std::string reply = replies[rng() % std::size(replies)];
                if (const auto at = reply.find("{r}"); at != std::string::npos) reply.replace(at, 3, r);
                const bool temp = reply.find(" 4") != std::string::npos && reply.find(" said: 4") != std::string::npos;
                line += std::string(temp ? "dsn=4.0.0, status=deferred (" : "dsn=5.0.0, status=bounced (") + reply + ")";
            }
            out.push_back(std::move(line));
        }
        out.push_back(pfx + "postfix/qmgr[900]: " + q + ": removed");
    }
    out.resize(n);
    return out;
}

// CPU seconds of this thread: "per second on one core" even on a machine busy with other work.
double cpu_now() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double wall_now() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

struct Timing {
    double cpu = 1e9, wall = 1e9;
};

template <class F>
Timing best_seconds(int passes, F&& f) {
    Timing best;
    for (int i = 0; i < passes; ++i) {
        const double c0 = cpu_now(), w0 = wall_now();
        f();
        best.cpu = std::min(best.cpu, cpu_now() - c0);
        best.wall = std::min(best.wall, wall_now() - w0);
    }
    return best;
}

}  // namespace

int main(int argc, char** argv) {
    const std::size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 1000000;
    const auto log = make_log(n);
    if (argc > 3 && std::string(argv[2]) == "--write") {
        FILE* f = std::fopen(argv[3], "w");
        if (!f) {
            std::perror(argv[3]);
            return 1;
        }
        for (const auto& l : log) std::fprintf(f, "%s\n", l.c_str());
        std::fclose(f);
    }
    std::size_t bytes = 0;
    for (const auto& l : log) bytes += l.size() + 1;
    const auto rules = bg::RuleSet::with_defaults({}).value();
    const bg::UnixTime now = 1795651200;

    std::size_t deliveries = 0, events = 0, suppressing = 0;
    std::vector<DeliveryRecord> recs;
    const Timing parse_s = best_seconds(3, [&] {
        MaillogParser p;
        deliveries = 0;
        for (const auto& l : log) {
            recs.clear();
            p.feed(l, now, recs);
            deliveries += recs.size();
        }
    });
    const Timing learn_s = best_seconds(3, [&] {
        MaillogParser p;
        events = suppressing = 0;
        for (const auto& l : log) {
            recs.clear();
            p.feed(l, now, recs);
            for (const auto& r : recs)
                if (auto e = bg::maillog::learn(r, *rules, {}, now)) {
                    ++events;
                    suppressing += e->decision != bg::Decision::None;
                }
        }
    });
    std::printf("log: %zu lines, %.1f MB, %zu delivery records (%zu classified events, %zu recipient-blamed)\n", n,
                static_cast<double>(bytes) / 1e6, deliveries, events, suppressing);
    const auto report = [&](const char* what, const Timing& t) {
        std::printf("%-18s %10.0f lines/s per CPU-second (%.1f MB/s); wall clock: %10.0f lines/s\n", what,
                    static_cast<double>(n) / t.cpu, static_cast<double>(bytes) / 1e6 / t.cpu,
                    static_cast<double>(n) / t.wall);
    };
    report("parse only:", parse_s);
    report("parse + classify:", learn_s);
    return 0;
}
