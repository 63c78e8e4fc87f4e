// Audit append throughput: records through Writer into SQLite (WAL, synchronous=NORMAL) and,
// when WARDEN_BENCH_PG_URL names a PostgreSQL database, into PostgreSQL. Each iteration appends
// a batch of records and waits for them to be durable (Flush); items/s is records per second.
//
//   build/bench/warden_audit_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only
#include <benchmark/benchmark.h>
#include <stdlib.h>

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

void RunAppend(benchmark::State& state, const std::string& url, bool sign) {
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
  for (auto _ : state) {
    for (int j = 0; j < batch; ++j) {
      if (!(*writer)->Append(TypicalRecord(++i)).ok()) state.SkipWithError("append failed");
    }
    if (!(*writer)->Flush().ok()) state.SkipWithError("flush failed");
  }
  state.SetItemsProcessed(int64_t{state.iterations()} * batch);
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
