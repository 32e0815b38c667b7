// bench_parse - bounce parsing throughput (messages per second, one core) over every message of
// shared/corpus/sisimai-dev: parse_bounce (GMime, DSN fields, text heuristics) + classify_bounce,
// the whole work done per bounce. Peak memory (getrusage ru_maxrss) is reported as a counter.
// BM_GMimeOnly is the floor under it: GMime alone building each message's object tree (what
// parse_bounce must at least do, as MIME is read through GMime), with nothing done with it.
//   build/bench/bench_parse [--benchmark_min_time=2]
#include <benchmark/benchmark.h>
#include <gmime/gmime.h>
#include <sys/resource.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "dsn/bounce_parser.hpp"

namespace {

std::vector<std::string> load_corpus() {
    namespace fs = std::filesystem;
    const fs::path dir = fs::path(BG_SOURCE_DIR) / ".." / "shared" / "corpus" / "sisimai-dev" / "emails";
    std::vector<fs::path> files;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        if (it->path().extension() == ".eml") files.push_back(it->path());
    std::sort(files.begin(), files.end());
    std::vector<std::string> msgs;
    for (const auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        std::ostringstream s;
        s << in.rdbuf();
        msgs.push_back(s.str());
    }
    return msgs;
}

const std::vector<std::string>& corpus() {
    static const auto c = load_corpus();
    return c;
}

double peak_rss_mib() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

void report(benchmark::State& state, std::size_t bytes, std::size_t records) {
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
    state.SetBytesProcessed(static_cast<int64_t>(bytes));
    state.counters["records/msg"] = state.iterations() ? static_cast<double>(records) / static_cast<double>(state.iterations()) : 0;
    state.counters["peak_rss_MiB"] = peak_rss_mib();
}

// Parses every corpus message in turn; with_classify also classifies each record.
void run_parse(benchmark::State& state, bool with_classify) {
    const auto rules = bg::RuleSet::with_defaults({}).value();
    const auto& msgs = corpus();
    if (msgs.empty()) {
        state.SkipWithError("corpus not found: shared/corpus/sisimai-dev/emails");
        return;
    }
    std::size_t i = 0, bytes = 0, records = 0;
    for (auto _ : state) {
        const auto& raw = msgs[i++ % msgs.size()];
        auto parsed = bg::parse_bounce(raw);
        if (parsed) {
            if (with_classify) bg::classify_bounce(*parsed, *rules);
            records += parsed->records.size();
        }
        benchmark::DoNotOptimize(parsed);
        bytes += raw.size();
    }
    report(state, bytes, records);
}

void BM_ParseAndClassify(benchmark::State& state) { run_parse(state, true); }
BENCHMARK(BM_ParseAndClassify);

void BM_ParseOnly(benchmark::State& state) { run_parse(state, false); }
BENCHMARK(BM_ParseOnly);

// GMime alone: each message parsed into its object tree (one parser, re-initialised per message,
// as parse_bounce does) and freed. No header trimming, no walk, no DSN fields, no text scan.
void BM_GMimeOnly(benchmark::State& state) {
    const auto& msgs = corpus();
    if (msgs.empty()) {
        state.SkipWithError("corpus not found: shared/corpus/sisimai-dev/emails");
        return;
    }
    (void)bg::parse_bounce(msgs.front());  // GMime initialised the way the parser does it
    GMimeParser* parser = g_mime_parser_new();
    std::size_t i = 0, bytes = 0;
    for (auto _ : state) {
        const auto& raw = msgs[i++ % msgs.size()];
        GMimeStream* stream = g_mime_stream_mem_new_with_buffer(raw.data(), raw.size());
        g_mime_parser_init_with_stream(parser, stream);
        GMimeMessage* msg = g_mime_parser_construct_message(parser, nullptr);
        benchmark::DoNotOptimize(msg);
        if (msg) g_object_unref(msg);
        g_object_unref(stream);
        bytes += raw.size();
    }
    g_object_unref(parser);
    report(state, bytes, 0);
}
BENCHMARK(BM_GMimeOnly);

}  // namespace

BENCHMARK_MAIN();
