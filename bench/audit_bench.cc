// Audit append throughput: records through Writer into SQLite (WAL, synchronous=NORMAL) and,
// when WARDEN_BENCH_PG_URL names a PostgreSQL database, into PostgreSQL. Each iteration appends
// a batch of records and waits for them to be durable (Flush); items/s is records per second.
//
//   build/bench/warden_audit_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only
#include <benchmark/benchmark.h>
#include <stdlib.h>
#include <time.h>

#include <filesystem>

#include "warden/audit.h"

namespace {

using namespace warden;

audit::Record TypicalRecord(int i) {
  audit::Record r;
  r.request_id = "req-" + std::to_string(i);
  r.key = "team-a";
  r.tenant = "acme";
  r.action = i % 10 == 0 ? Action::kBlock : Action::kAllow;
  r.rule = i % 10 == 0 ? "block-secrets" : "";
  r.scores = {{"jailbreak", 0.02f}, {"prompt_injection", 0.01f}, {"secrets", 0.0f}};
  if (i % 10 == 0) r.findings.push_back({"secrets", "aws_access_key", 10, 30, 1.0f, ""});
  return r;
}

double ProcessCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

// What the gateway's default policy records for one chat message: the classifier scores all
// nineteen labels, and MakeRecord keeps those of at least kMinRecordedScore (here two, with one
// finding; most benign traffic keeps none).
audit::Record GatewayRecord(int i) {
  Verdict v;
  for (const char* label :
       {"child_exploitation", "code_abuse", "defamation", "elections", "harassment", "hate",
        "intellectual_property", "jailbreak", "misinformation", "nonviolent_crimes", "privacy",
        "prompt_injection", "self_harm", "sex_crimes", "sexual_content", "specialized_advice",
        "unsafe", "violent_crimes", "weapons_cbrne"}) {
    v.scores.emplace_back(label, 0.0004f * static_cast<float>(i % 20));
  }
  v.scores[4].second = 0.7f;    // harassment
  v.scores[16].second = 0.05f;  // unsafe
  v.findings.push_back(Finding{.scanner = "classifier", .type = "harassment", .start = 0,
                               .end = 28, .score = 0.7f, .label = "harassment"});
  const std::string request_id = "req_af7f93d53436e435ba63be" + std::to_string(i % 100);
  const Message m{.direction = i % 2 ? Direction::kInput : Direction::kOutput};
  return audit::MakeRecord(v, m, {.request_id = request_id});
}

void RunAppend(benchmark::State& state, const std::string& url, bool sign,
               audit::Record (*make)(int) = TypicalRecord) {
  auto store = audit::OpenStore(url, audit::OpenMode::kCreate);
  if (!store.ok()) {
    state.SkipWithError(store.status().ToString().c_str());
    return;
  }
  audit::WriterOptions o;
  const std::string key = std::filesystem::temp_directory_path() / "warden-audit-bench-key.pem";
  if (sign) {
    std::filesystem::remove(key);
    std::filesystem::remove(key + ".pub");
    (void)audit::GenerateKeyPair(key, key + ".pub");
    o.signer = *audit::Signer::LoadPem(key);
  }
  auto writer = audit::Writer::Start(std::move(*store), o);
  if (!writer.ok()) {
    state.SkipWithError(writer.status().ToString().c_str());
    return;
  }
  const int batch = static_cast<int>(state.range(0));
  int i = 0;
  const double cpu0 = ProcessCpuSeconds();
  for (auto _ : state) {
    for (int j = 0; j < batch; ++j) {
      if (!(*writer)->Append(make(++i)).ok()) state.SkipWithError("append failed");
    }
    if (!(*writer)->Flush().ok()) state.SkipWithError("flush failed");
  }
  state.SetItemsProcessed(int64_t{state.iterations()} * batch);
  // CPU of every thread (the writer's included) per record: steadier than wall time on a busy
  // machine, and what the gateway pays.
  state.counters["cpu_us_per_record"] =
      (ProcessCpuSeconds() - cpu0) * 1e6 / (double(state.iterations()) * batch);
  (void)(*writer)->Close();
}

void BM_AppendSqlite(benchmark::State& state) {
  const auto dir = std::filesystem::temp_directory_path() / "warden-audit-bench";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  RunAppend(state, "sqlite:" + (dir / "audit.db").string(), /*sign=*/true);
  std::filesystem::remove_all(dir);
}
// 10,000 records per Flush: throughput; 1 per Flush: the latency of one durable record.
BENCHMARK(BM_AppendSqlite)->Arg(10000)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// Gateway records (GatewayRecord) in the groups a loaded gateway commits (records per
// transaction, see warden_audit_batches_total): the writer's cost per record in the gateway.
void BM_AppendSqliteGatewayGroups(benchmark::State& state) {
  const auto dir = std::filesystem::temp_directory_path() / "warden-audit-bench-groups";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  RunAppend(state, "sqlite:" + (dir / "audit.db").string(), /*sign=*/true, GatewayRecord);
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_AppendSqliteGatewayGroups)->Arg(25)->Arg(50)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_AppendPostgres(benchmark::State& state) {
  const char* url = getenv("WARDEN_BENCH_PG_URL");
  if (!url) {
    state.SkipWithError("set WARDEN_BENCH_PG_URL=postgresql://… to measure PostgreSQL");
    return;
  }
  RunAppend(state, url, /*sign=*/true);
}
BENCHMARK(BM_AppendPostgres)->Arg(10000)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// Hashing alone (serialize + SHA-256), the writer thread's CPU cost per record.
void BM_HashRecord(benchmark::State& state) {
  audit::Record r = TypicalRecord(10);
  for (auto _ : state) benchmark::DoNotOptimize(audit::ComputeRecordHash(r));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HashRecord);

}  // namespace

BENCHMARK_MAIN();
