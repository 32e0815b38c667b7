// bench_store - the suppression store under load: bulk load of N suppressed addresses, database
// bytes per address, lookup latency (p50/p99/p99.9) and throughput for hits and misses, and the
// rate of events recorded in batches, alone and through the decision engine. A program, not a test (tests/ holds the tests).
//
//   bench_store [--store URI] [--addresses N] [--lookups M] [--events E] [--batch B] [--snapshot-ms MS]
//   bench_store --pg [...]
// Defaults: a fresh SQLite file in a temporary directory, N = 1,000,000, M = 200,000,
// E = 200,000, B = 1,000, MS = 100 (store.lookup_snapshot_ms, as the daemons run). The issue's
// full run: --addresses 10000000. For PostgreSQL, --pg starts a private cluster (initdb + pg_ctl in a temporary directory, 127.0.0.1 on a free port, as the store
// tests do; built when the tests are) and removes it at the end; or pass --store postgresql://...
// of an EMPTY database (the benchmark fills it). A --store that already holds N or more
// suppressions is reused as it is (no load), to repeat the lookups on a large store quickly.
// Targets (issue 4, SQLite): lookup p99 < 20 us, >= 50,000 events/s in batches, < 200 bytes/address.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "config/config.hpp"
#include "policy/recorder.hpp"
#include "store/suppression_store.hpp"
#ifdef BG_BENCH_PRIVATE_PG
#include "test_store_support.hpp"
#endif

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string address(std::int64_t i) {
    // ~26 bytes, 10,000 domains: close to real lists.
    return "user" + std::to_string(i) + ".name@d" + std::to_string(i % 10000) + ".example";
}

struct Percentiles {
    double p50, p99, p999, max;
};

Percentiles percentiles(std::vector<double>& ns) {
    std::sort(ns.begin(), ns.end());
    auto at = [&](double q) { return ns[std::min(ns.size() - 1, static_cast<std::size_t>(q * static_cast<double>(ns.size())))]; };
    return {at(0.50) / 1000, at(0.99) / 1000, at(0.999) / 1000, ns.back() / 1000};
}

long arg(int argc, char** argv, const char* name, long def) {
    for (int i = 1; i + 1 < argc; ++i)
        if (std::string(argv[i]) == name) return std::strtol(argv[i + 1], nullptr, 10);
    return def;
}

// Loads n suppressed addresses, 10,000 per transaction.
bool load(bg::SuppressionStore& store, long n) {
    const auto t0 = Clock::now();
    std::vector<bg::Suppression> chunk;
    for (long i = 0; i < n; ++i) {
        bg::Suppression s;
        s.key = address(i);
        s.category = bg::Category::UserUnknown;
        s.first_seen = s.last_seen = 1'700'000'000 + i;
        s.added_by = "import";
        chunk.push_back(std::move(s));
        if (static_cast<long>(chunk.size()) == 10'000 || i + 1 == n) {
            if (auto r = store.put_all(chunk); !r) {
                std::fprintf(stderr, "bench_store: load: %s\n", r.error().message.c_str());
                return false;
            }
            chunk.clear();
        }
    }
    const double s = seconds_since(t0);
    std::printf("load: %ld suppressions in %.1f s = %.0f /s (put_all, 10,000 per transaction)\n", n, s,
                static_cast<double>(n) / s);
    return true;
}

bool size(bg::SuppressionStore& store) {
    auto st = store.stats();
    if (!st) {
        std::fprintf(stderr, "bench_store: stats: %s\n", st.error().message.c_str());
        return false;
    }
    std::printf("size: %.1f MB for %lld suppressions = %.1f bytes per address (whole database)\n",
                static_cast<double>(st->bytes) / 1e6, static_cast<long long>(st->suppressions),
                static_cast<double>(st->bytes) / static_cast<double>(std::max<std::int64_t>(1, st->suppressions)));
    return true;
}

// Hits (an address entry) and misses (the address and its domain both looked up).
void lookups(bg::SuppressionStore& store, long n, long count) {
    std::mt19937_64 rng(42);
    std::uniform_int_distribution<long> pick(0, std::max(0L, n - 1));
    for (const bool hit : {true, false}) {
        std::vector<double> ns;
        ns.reserve(static_cast<std::size_t>(count));
        long wrong = 0;
        const auto t0 = Clock::now();
        for (long i = 0; i < count; ++i) {
            // A miss is an address of the same shape that was never loaded, so it lands anywhere in the
            // key order (a shared prefix would keep every miss on a few cached pages).
            const std::string a = hit ? address(pick(rng)) : address(n + pick(rng));
            const auto t = Clock::now();
            const bg::LookupResult r = store.lookup(a, 1'800'000'000);
            ns.push_back(std::chrono::duration<double, std::nano>(Clock::now() - t).count());
            if (r.found() != hit) ++wrong;
        }
        const double s = seconds_since(t0);
        const Percentiles p = percentiles(ns);
        std::printf("lookup %-4s: %ld in %.2f s = %.0f /s; latency p50 %.1f us, p99 %.1f us, p99.9 %.1f us, "
                    "max %.0f us%s\n",
                    hit ? "hit" : "miss", count, s, static_cast<double>(count) / s, p.p50, p.p99, p.p999, p.max,
                    wrong ? " (WRONG ANSWERS)" : "");
    }
}

bg::Event bench_event(long i, long n) {
    bg::Event e;
    e.time = 1'700'000'000 + i;
    e.recipient = address(i % std::max(1L, n));
    e.sender = "news@our.example";
    e.source = bg::EventSource::Maillog;
    e.reply_code = 550;
    e.status = "5.1.1";
    e.text = "550 5.1.1 <" + e.recipient + ">: Recipient address rejected: User unknown in virtual mailbox table";
    e.stage = "rcpt";
    e.remote_mta = "mx1.d7.example";
    e.queue_id = "4Xyz" + std::to_string(i);
    e.category = bg::Category::UserUnknown;
    e.blame = bg::Blame::Recipient;
    e.rule_id = "user_unknown.text";
    return e;
}

bool record(bg::SuppressionStore& store, long n, long events, long batch) {
    std::vector<bg::Event> b;
    const auto t0 = Clock::now();
    for (long i = 0; i < events; ++i) {
        b.push_back(bench_event(i, n));
        if (static_cast<long>(b.size()) == batch || i + 1 == events) {
            if (auto r = store.record_events(b); !r) {
                std::fprintf(stderr, "bench_store: events: %s\n", r.error().message.c_str());
                return false;
            }
            b.clear();
        }
    }
    const double s = seconds_since(t0);
    std::printf("events: %ld in %.2f s = %.0f /s (batches of %ld)\n", events, s, static_cast<double>(events) / s,
                batch);
    return true;
}

// The way ingest-log records: each event through the decision engine (record_event: history
// counts, circuit breaker, the event, the suppression), `batch` of them per store batch. Half the
// events are hard (a suppression each), half soft (counted), over distinct recipients.
bool record_engine(bg::SuppressionStore& store, long events, long batch) {
    const bg::Config config = bg::default_config();
    const auto t0 = Clock::now();
    for (long i = 0; i < events;) {
        const long end = std::min(events, i + batch);
        auto r = store.batch([&]() -> bg::Result<void> {
            for (; i < end; ++i) {
                bg::Event e = bench_event(i, events);
                e.recipient = "engine" + std::to_string(i) + "@d" + std::to_string(i % 10000) + ".example";
                e.time = 1'800'000'000 + i / 1000;
                const bool hard = i % 2 == 0;
                if (!hard) {
                    e.category = bg::Category::MailboxFull;
                    e.status = "4.2.2";
                    e.reply_code = 452;
                }
                auto rec = bg::record_event(store, config.policy, std::move(e),
                                            hard ? bg::Decision::Hard : bg::Decision::Soft, 1'800'000'000 + i / 1000);
                if (!rec) return rec.error();
            }
            return bg::Ok{};
        });
        if (!r) {
            std::fprintf(stderr, "bench_store: events through the engine: %s\n", r.error().message.c_str());
            return false;
        }
    }
    const double s = seconds_since(t0);
    std::printf("events through the decision engine: %ld in %.2f s = %.0f /s (batches of %ld)\n", events, s,
                static_cast<double>(events) / s, batch);
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    std::string uri;
    for (int i = 1; i + 1 < argc; ++i)
        if (std::string(argv[i]) == "--store") uri = argv[i + 1];
    const long n = arg(argc, argv, "--addresses", 1'000'000);
    const long count = arg(argc, argv, "--lookups", 200'000);
    const long events = arg(argc, argv, "--events", 200'000);
    const long batch = std::max(1L, arg(argc, argv, "--batch", 1000));
    // As the daemons run it (store.lookup_snapshot_ms, default 100); 0 = a fresh read per lookup.
    const long snapshot_ms = arg(argc, argv, "--snapshot-ms", 100);

    bool private_pg = false;
    for (int i = 1; i < argc; ++i)
        if (std::string(argv[i]) == "--pg") private_pg = true;
    if (private_pg) {
#ifdef BG_BENCH_PRIVATE_PG
        auto& pg = bg::testing_support::PgCluster::instance();
        if (!pg.ok()) {
            std::fprintf(stderr, "bench_store: the private PostgreSQL cluster did not start: %s\n", pg.error().c_str());
            return 1;
        }
        uri = pg.create_database();
        if (uri.empty()) {
            std::fprintf(stderr, "bench_store: CREATE DATABASE failed\n");
            pg.shutdown();
            return 1;
        }
#else
        std::fprintf(stderr, "bench_store: --pg needs a build with BG_WITH_POSTGRES and BG_BUILD_TESTS\n");
        return 2;
#endif
    }
    std::filesystem::path tmp;
    if (uri.empty()) {
        tmp = std::filesystem::temp_directory_path() / ("bg_bench_store_" + std::to_string(::getpid()));
        std::filesystem::create_directories(tmp);
        uri = "sqlite:" + (tmp / "store.db").string();
    }
    int rc = 1;
    {
        auto opened = bg::open_store(uri);
        if (!opened) {
            std::fprintf(stderr, "bench_store: %s\n", opened.error().message.c_str());
        } else {
            bg::SuppressionStore& store = **opened;
            store.set_lookup_snapshot(std::chrono::milliseconds(snapshot_ms));
            std::printf("store: %s (%s), lookup snapshot %ld ms\n", uri.c_str(), std::string(store.driver()).c_str(),
                        snapshot_ms);
            // A --store that already holds the addresses is reused (the load of 10 million takes a minute).
            auto existing = store.stats();
            const bool reuse = existing && existing->suppressions >= n;
            if (reuse) std::printf("load: reused the %lld suppressions already in the store\n",
                                   static_cast<long long>(existing->suppressions));
            if ((reuse || load(store, n)) && size(store)) {
                lookups(store, n, count);
                if (record(store, n, events, batch) && record_engine(store, events, batch)) rc = 0;
            }
        }
    }
    if (!tmp.empty()) {
        std::error_code ec;
        std::filesystem::remove_all(tmp, ec);
    }
#ifdef BG_BENCH_PRIVATE_PG
    if (private_pg) bg::testing_support::PgCluster::instance().shutdown();
#endif
    return rc;
}
