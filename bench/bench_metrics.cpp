// bench_metrics - what a metrics increment costs on the hot path (common/metrics/metrics.hpp), and
// what a scrape costs: nanoseconds per Registry::add() from one thread, and from T threads
// hammering the same counter (the worst case: the policy daemon's workers all counting
// policy_requests{action="dunno"} on one cache line), and microseconds per render(). A program,
// not a test.
//
//   bench_metrics [--increments N] [--threads T]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "metrics/metrics.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using bg::metrics::Metric;

double ns_per_add(bg::metrics::Registry& r, int threads, long n) {
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t)
        ts.emplace_back([&] {
            ready.fetch_add(1);
            while (!go.load()) {
            }
            for (long i = 0; i < n; ++i) r.add(Metric::PolicyRequests, 0);
        });
    while (ready.load() < threads) {
    }
    const auto t0 = Clock::now();
    go.store(true);
    for (auto& t : ts) t.join();
    const auto ns = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
    return ns / static_cast<double>(n);  // wall time per add of one thread: what each request pays
}

}  // namespace

int main(int argc, char** argv) {
    long n = 50'000'000;
    int threads = 2;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--increments") == 0) n = std::atol(argv[i + 1]);
        else if (std::strcmp(argv[i], "--threads") == 0) threads = std::atoi(argv[i + 1]);
    }
    bg::metrics::Registry r;
    std::printf("add(), 1 thread:            %.2f ns\n", ns_per_add(r, 1, n));
    std::printf("add(), %d threads, 1 counter: %.2f ns per add per thread\n", threads, ns_per_add(r, threads, n));
    const auto t0 = Clock::now();
    std::size_t bytes = 0;
    constexpr int renders = 2000;
    for (int i = 0; i < renders; ++i) bytes += r.render().size();
    const auto us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / renders;
    std::printf("render():                   %.1f us, %zu bytes\n", us, bytes / renders);
    return 0;
}
