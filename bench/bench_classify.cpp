// bench_classify - classification throughput (replies per second, one core) over the realistic
// mix of tests/corpus/replies.tsv: parse_reply + classify, the work done per rejection.
//   build/bench/bench_classify [--benchmark_min_time=2]
#include <benchmark/benchmark.h>

#include <fstream>
#include <string>
#include <vector>

#include "classify/classifier.hpp"
#include "util/text.hpp"

namespace {

std::vector<std::string> load_mix() {
    std::ifstream in(std::string(BG_SOURCE_DIR) + "/tests/corpus/replies.tsv");
    std::vector<std::string> replies;
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
        const auto tab = line.find('\t');
        std::string r;
        const std::string_view field = std::string_view(line).substr(0, tab);
        for (std::size_t k = 0; k < field.size(); ++k) {
            if (field[k] == '\\' && k + 1 < field.size() && field[k + 1] == 'n') {
                r.push_back('\n');
                ++k;
            } else {
                r.push_back(field[k]);
            }
        }
        if (!r.empty()) replies.push_back(std::move(r));
    }
    return replies;
}

const std::vector<std::string>& mix() {
    static const auto m = load_mix();
    return m;
}

void BM_ParseAndClassify(benchmark::State& state) {
    const auto rules = bg::RuleSet::with_defaults({}).value();
    const auto& replies = mix();
    std::size_t i = 0, bytes = 0;
    for (auto _ : state) {
        const auto& raw = replies[i++ % replies.size()];
        auto reply = bg::parse_reply(raw);
        auto v = bg::classify(*reply, *rules);
        benchmark::DoNotOptimize(v);
        bytes += raw.size();
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
    state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_ParseAndClassify);

void BM_ClassifyOnly(benchmark::State& state) {
    const auto rules = bg::RuleSet::with_defaults({}).value();
    std::vector<bg::SmtpReply> parsed;
    for (const auto& r : mix()) parsed.push_back(bg::parse_reply(r).value());
    std::size_t i = 0;
    for (auto _ : state) {
        auto v = bg::classify(parsed[i++ % parsed.size()], *rules);
        benchmark::DoNotOptimize(v);
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_ClassifyOnly);

void BM_ParseOnly(benchmark::State& state) {
    const auto& replies = mix();
    std::size_t i = 0;
    for (auto _ : state) {
        auto r = bg::parse_reply(replies[i++ % replies.size()]);
        benchmark::DoNotOptimize(r);
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_ParseOnly);

}  // namespace

BENCHMARK_MAIN();
