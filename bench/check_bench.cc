#include <map>
// The core path of `warden check`: Guard::Check on one message, one core.
// Targets (issue 2): 1 KiB ASCII <= 10 us median, 1 KiB mixed script <= 40 us, 16 KiB <= 10x 1 KiB.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

#include "warden/guard.h"

namespace {

const char kProse[] =
    "The quarterly planning meeting covered the roadmap for the next two releases. The team "
    "agreed to focus on reliability first, then on the new reporting features that customers "
    "have asked for since spring. Please review the attached notes before Thursday and add "
    "your comments inline, so that we can close the open questions in the next session. ";
const char kMixed[] =
    "Привет! Мы обсудили план на следующий квартал и согласовали сроки. "
    "我们讨论了下一季度的计划，并确定了时间表。 Die Besprechung war produktiv, "
    "und wir haben die nächsten Schritte festgelegt. Café au lait, naïve façade. ";
const char kWithPii[] =
    " Contact jane.doe@example.com or +44 20 7946 0958; the card on file is 4111 1111 1111 1111. ";

std::string Repeat(std::string_view unit, size_t bytes) {
  std::string out;
  while (out.size() < bytes) out.append(unit);
  out.resize(bytes);
  // Never end inside a UTF-8 sequence.
  while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
  if (!out.empty() && static_cast<unsigned char>(out.back()) >= 0xC0) out.pop_back();
  return out;
}

const warden::Guard& GuardFor(const char* policy) {
  static std::map<std::string, warden::Guard*> guards;
  auto it = guards.find(policy);
  if (it != guards.end()) return *it->second;
  auto g = warden::Guard::Open(std::string(WARDEN_SOURCE_DIR "/policies/") + policy);
  if (!g.ok()) {
    std::fprintf(stderr, "%s\n", g.status().ToString().c_str());
    std::exit(1);
  }
  return *guards.emplace(policy, new warden::Guard(std::move(g).value())).first->second;
}

void RunCheck(benchmark::State& state, const char* policy, const std::string& text) {
  const warden::Guard& guard = GuardFor(policy);
  for (auto _ : state) {
    warden::Verdict v = guard.Check({.text = text});
    benchmark::DoNotOptimize(v);
  }
  state.SetBytesProcessed(state.iterations() * text.size());
}

void BM_Patterns_Ascii1K(benchmark::State& s) { RunCheck(s, "patterns.yaml", Repeat(kProse, 1024)); }
void BM_Patterns_Ascii1K_Pii(benchmark::State& s) {
  RunCheck(s, "patterns.yaml", Repeat(std::string(kProse).substr(0, 300) + kWithPii, 1024));
}
void BM_Patterns_Mixed1K(benchmark::State& s) { RunCheck(s, "patterns.yaml", Repeat(kMixed, 1024)); }
void BM_Patterns_Ascii16K(benchmark::State& s) {
  RunCheck(s, "patterns.yaml", Repeat(kProse, 16384));
}
void BM_Patterns_Mixed16K(benchmark::State& s) {
  RunCheck(s, "patterns.yaml", Repeat(kMixed, 16384));
}
void BM_Default_Ascii1K(benchmark::State& s) { RunCheck(s, "default.yaml", Repeat(kProse, 1024)); }
void BM_Default_Mixed1K(benchmark::State& s) { RunCheck(s, "default.yaml", Repeat(kMixed, 1024)); }
// A typical chat turn: what the gateway screens twice per proxied request.
void BM_Default_ShortTurn(benchmark::State& s) {
  RunCheck(s, "default.yaml", "Summarise the plot of Hamlet in two sentences, please.");
}
// The same turn with a counter in it, so every text is new, as in real traffic: the engine's
// score cache cannot answer and the classifier scores each one.
void BM_Default_ShortTurnNew(benchmark::State& state) {
  const warden::Guard& guard = GuardFor("default.yaml");
  uint64_t n = 0;
  std::string text;
  for (auto _ : state) {
    text = "Summarise the plot of Hamlet in two sentences, please (" + std::to_string(++n) + ").";
    warden::Verdict v = guard.Check({.text = text});
    benchmark::DoNotOptimize(v);
  }
}
// The same with the caches flushed before each check (8 MiB written, untimed): in the gateway,
// a request's network and HTTP work runs between two checks and evicts the model's rows, so
// this is closer to a proxied turn's screening cost than the warm loop above.
void ShortTurnNewColdCache(benchmark::State& state, const char* policy) {
  const warden::Guard& guard = GuardFor(policy);
  uint64_t n = 0;
  std::string text;
  std::vector<char> evict(8 << 20, 1);
  for (auto _ : state) {
    state.PauseTiming();
    for (size_t i = 0; i < evict.size(); i += 64) evict[i]++;
    benchmark::ClobberMemory();
    state.ResumeTiming();
    text = "Summarise the plot of Hamlet in two sentences, please (" + std::to_string(++n) + ").";
    warden::Verdict v = guard.Check({.text = text});
    benchmark::DoNotOptimize(v);
  }
}
void BM_Default_ShortTurnNewColdCache(benchmark::State& s) {
  ShortTurnNewColdCache(s, "default.yaml");
}
// Without the classifier: the difference to the above is the classifier's cold cost.
void BM_Patterns_ShortTurnNewColdCache(benchmark::State& s) {
  ShortTurnNewColdCache(s, "patterns.yaml");
}
void BM_Patterns_ShortTurn(benchmark::State& s) {
  RunCheck(s, "patterns.yaml", "Summarise the plot of Hamlet in two sentences, please.");
}

BENCHMARK(BM_Patterns_Ascii1K);
BENCHMARK(BM_Patterns_Ascii1K_Pii);
BENCHMARK(BM_Patterns_Mixed1K);
BENCHMARK(BM_Patterns_Ascii16K);
BENCHMARK(BM_Patterns_Mixed16K);
BENCHMARK(BM_Default_Ascii1K);
BENCHMARK(BM_Default_Mixed1K);
BENCHMARK(BM_Default_ShortTurn);
BENCHMARK(BM_Default_ShortTurnNew);
BENCHMARK(BM_Default_ShortTurnNewColdCache);
BENCHMARK(BM_Patterns_ShortTurn);
BENCHMARK(BM_Patterns_ShortTurnNewColdCache);

}  // namespace

BENCHMARK_MAIN();
