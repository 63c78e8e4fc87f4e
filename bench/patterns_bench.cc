// PatternEngine::Scan over the raw view: the cost every request pays for pii, secrets and
// attack patterns together.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "scanners/patterns/pattern_engine.h"

namespace {

using warden::scanners::PatternEngine;

const PatternEngine& Engine() {
  static const auto engine = [] {
    const std::string rules = std::string(WARDEN_SOURCE_DIR) + "/rules/";
    auto e = PatternEngine::Compile({{.kind = "pii", .pack_path = rules + "pii.yaml"},
                                     {.kind = "secrets", .pack_path = rules + "secrets.yaml"},
                                     {.kind = "attacks", .pack_path = rules + "attacks.yaml"}});
    if (!e.ok()) std::abort();
    return *e;
  }();
  return *engine;
}

std::string Prose(size_t bytes) {
  static const char kText[] =
      "The quarterly review covers shipping times, the new onboarding flow and the support "
      "backlog. Customers asked for clearer invoices and a faster refund process; the team "
      "agreed to publish a short guide before the end of the month. ";
  std::string s;
  while (s.size() < bytes) s += kText;
  s.resize(bytes);
  return s;
}

void Run(benchmark::State& state, const std::string& text) {
  const PatternEngine& engine = Engine();
  std::vector<warden::text::View> views(1);
  views[0].name = "raw";
  views[0].text = text;
  std::vector<warden::Finding> out;
  for (auto _ : state) {
    out.clear();
    engine.Scan(views, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * text.size());
  state.counters["findings"] = static_cast<double>(out.size());
}

void BM_Prose1KiB(benchmark::State& state) { Run(state, Prose(1024)); }

void BM_Prose1KiBWithPii(benchmark::State& state) {
  std::string s = Prose(1024 - 120);
  s.insert(100, " mail jane.doe@example.com ");
  s.insert(400, " card 4111 1111 1111 1111 ");
  s.insert(700, " call +44 20 7946 0958 ");
  s.insert(900, " from 192.0.2.10 ");
  Run(state, s);
}

void BM_Prose16KiB(benchmark::State& state) { Run(state, Prose(16 * 1024)); }

BENCHMARK(BM_Prose1KiB);
BENCHMARK(BM_Prose1KiBWithPii);
BENCHMARK(BM_Prose16KiB);

}  // namespace
