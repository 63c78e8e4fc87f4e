#include "warden/audit.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>

namespace warden::audit {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kT0 = 1700000000000000;

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "warden-audit-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    db_ = dir_ + "/audit.db";
    ASSERT_TRUE(GenerateKeyPair(dir_ + "/key.pem", dir_ + "/key.pub").ok());
    auto signer = Signer::LoadPem(dir_ + "/key.pem");
    ASSERT_TRUE(signer.ok()) << signer.status().ToString();
    signer_ = *signer;
    auto pub = PublicKey::LoadPem(dir_ + "/key.pub");
    ASSERT_TRUE(pub.ok()) << pub.status().ToString();
    public_key_ = *pub;
  }
  void TearDown() override { fs::remove_all(dir_); }

  WriterOptions Options() {
    WriterOptions o;
    o.signer = signer_;
    o.checkpoint_every_records = 5;
    o.checkpoint_interval = std::chrono::milliseconds(0);
    o.max_batch = 1;  // one record per batch so that checkpoints land exactly every 5
    o.clock = [this] { return now_us_ += 1000000; };
    return o;
  }

  static Record MakeTestRecord(int i) {
    Record r;
    r.time_us = kT0 + int64_t{i} * 1000000;
    r.request_id = "req-" + std::to_string(i);
    r.key = i % 2 ? "key-odd" : "key-even";
    r.tenant = "acme";
    r.direction = i % 3 ? Direction::kInput : Direction::kOutput;
    r.action = i % 4 == 0 ? Action::kBlock : Action::kAllow;
    r.rule = i % 4 == 0 ? "block-secrets" : "";
    r.scores = {{"jailbreak", 0.25f}, {"secrets", i % 4 == 0 ? 1.0f : 0.0f}};
    if (i % 4 == 0) {
      r.findings.push_back({"secrets", "aws_access_key", 3, 23, 1.0f, "[AWS_ACCESS_KEY_1]"});
    }
    return r;
  }

  // Writes records 1..n through a Writer (checkpoints every 5, and one on close).
  void WriteLog(int n) {
    auto store = SqliteStore::Open(db_, OpenMode::kCreate);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto writer = Writer::Start(std::move(*store), Options());
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    for (int i = 1; i <= n; ++i) ASSERT_TRUE((*writer)->Append(MakeTestRecord(i)).ok());
    ASSERT_TRUE((*writer)->Close().ok());
  }

  VerifyReport RunVerify(bool with_key = true) {
    auto store = SqliteStore::Open(db_, OpenMode::kExisting);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    VerifyOptions options;
    if (with_key) options.public_key = public_key_;
    auto report = Verify(**store, options);
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return *report;
  }

  void Sql(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_.c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "") << " in " << sql;
    sqlite3_free(err);
    sqlite3_close(db);
  }

  std::string dir_, db_;
  int64_t now_us_ = 1700000000000000;
  std::shared_ptr<const Signer> signer_;
  std::shared_ptr<const PublicKey> public_key_;
};

TEST_F(AuditTest, RecordSerializationRoundTrips) {
  Record r = MakeTestRecord(4);
  r.seq = 4;
  r.time_us = 123;
  r.prev_hash[0] = 7;
  r.hash = ComputeRecordHash(r);
  auto parsed = ParseRecord(SerializeRecord(r));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, r);
  const std::string body = SerializeRecord(r);
  for (size_t cut = 0; cut < body.size(); ++cut) {
    EXPECT_FALSE(ParseRecord(body.substr(0, cut)).ok()) << cut;
  }
  EXPECT_FALSE(ParseRecord(body + "x").ok());
}

TEST_F(AuditTest, ManyEmptyEntriesRoundTrip) {
  // The smallest possible entries: the reader's count bound must not reject them.
  Record r;
  r.scores.resize(1000);
  r.findings.resize(1000);
  auto parsed = ParseRecord(SerializeRecord(r));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->findings.size(), 1000u);
  EXPECT_EQ(parsed->scores.size(), 1000u);
}

TEST_F(AuditTest, MakeRecordKeepsSpansNotText) {
  const std::string text = "my key is AKIAIOSFODNN7EXAMPLE ok";
  Verdict v;
  v.action = Action::kRedact;
  v.rule = "redact-secrets";
  v.findings.push_back(Finding{.scanner = "secrets",
                               .type = "aws_access_key",
                               .start = 10,
                               .end = 30,
                               .view = "raw",
                               .score = 0.9f,
                               .label = "secrets"});
  v.scores = {{"secrets", 0.9f}};
  v.redacted = "my key is [AWS_ACCESS_KEY_1] ok";
  v.replacements.push_back({"[AWS_ACCESS_KEY_1]", "AKIAIOSFODNN7EXAMPLE"});
  Message m{.text = text, .direction = Direction::kOutput, .tenant = "acme"};
  Record r = MakeRecord(v, m, {.request_id = "r1", .key = "k1"});
  EXPECT_EQ(r.tenant, "acme");
  EXPECT_EQ(r.direction, Direction::kOutput);
  EXPECT_EQ(r.action, Action::kRedact);
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].type, "aws_access_key");
  EXPECT_EQ(r.findings[0].start, 10u);
  EXPECT_EQ(r.findings[0].end, 30u);
  EXPECT_EQ(SerializeRecord(r).find("AKIA"), std::string::npos);
}

TEST_F(AuditTest, AppendVerifyRoundTrip) {
  WriteLog(23);
  VerifyReport report = RunVerify();
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.records, 23u);
  EXPECT_EQ(report.checkpoints, 5u);  // 5, 10, 15, 20 and 23 on close
  EXPECT_EQ(report.signed_through, 23u);
}

TEST_F(AuditTest, WriterResumesTheChain) {
  WriteLog(7);
  WriteLog(6);  // reopens the same file
  VerifyReport report = RunVerify();
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.records, 13u);
}

TEST_F(AuditTest, DetectsModifiedColumn) {
  WriteLog(20);
  Sql("UPDATE records SET action = 'allow' WHERE seq = 8");  // 8 was a block
  VerifyReport report = RunVerify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_seq, 8u);
  EXPECT_NE(report.problem.find("action"), std::string::npos) << report.problem;
}

TEST_F(AuditTest, DetectsModifiedBody) {
  WriteLog(20);
  Sql("UPDATE records SET body = substr(body, 1, length(body) - 6) || x'FF' || "
      "substr(body, length(body) - 4) WHERE seq = 9");
  VerifyReport report = RunVerify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_seq, 9u);
}

TEST_F(AuditTest, DetectsRewrittenRecordWithFreshHash) {
  WriteLog(20);
  // Rewrite record 9 consistently (body, hash, columns); the chain breaks at the link to 10.
  auto store = SqliteStore::Open(db_, OpenMode::kExisting);
  ASSERT_TRUE(store.ok());
  StoredRecord nine;
  ASSERT_TRUE((*store)
                  ->ScanRecords([&](const StoredRecord& r) {
                    if (r.seq == 9) nine = r;
                    return r.seq < 9;
                  })
                  .ok());
  auto rec = ParseRecord(nine.body);
  ASSERT_TRUE(rec.ok());
  rec->key = "someone-else";
  const std::string body = SerializeRecord(*rec);
  const Hash h = ComputeRecordHash(*rec);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "UPDATE records SET key=?, body=?, hash=? WHERE seq=9", -1, &s,
                               nullptr),
            SQLITE_OK);
  sqlite3_bind_text(s, 1, "someone-else", -1, SQLITE_STATIC);
  sqlite3_bind_blob(s, 2, body.data(), static_cast<int>(body.size()), SQLITE_STATIC);
  sqlite3_bind_blob(s, 3, h.data(), 32, SQLITE_STATIC);
  EXPECT_EQ(sqlite3_step(s), SQLITE_DONE);
  sqlite3_finalize(s);
  sqlite3_close(db);
  VerifyReport report = RunVerify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_seq, 9u) << report.problem;
}

TEST_F(AuditTest, DetectsDeletedRecord) {
  WriteLog(20);
  Sql("DELETE FROM records WHERE seq = 7");
  VerifyReport report = RunVerify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_seq, 7u);
  EXPECT_NE(report.problem.find("missing"), std::string::npos) << report.problem;
}

TEST_F(AuditTest, DetectsInsertedRecord) {
  WriteLog(20);
  // Make room at 7 and put a copy of record 3 there.
  Sql("UPDATE records SET seq = -seq WHERE seq >= 7; UPDATE records SET seq = 1 - seq WHERE seq < "
      "0;"
      "INSERT INTO records SELECT 7, time_us, request_id, key, tenant, direction, action, rule, "
      "body, hash FROM records WHERE seq = 3");
  VerifyReport report = RunVerify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_seq, 7u) << report.problem;
}

TEST_F(AuditTest, DetectsSwappedRecords) {
  WriteLog(20);
  Sql("UPDATE records SET seq = -1 WHERE seq = 4; UPDATE records SET seq = 4 WHERE seq = 6;"
      "UPDATE records SET seq = 6 WHERE seq = -1");
  VerifyReport report = RunVerify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_seq, 4u) << report.problem;
}

TEST_F(AuditTest, DetectsTruncatedLog) {
  WriteLog(20);
  Sql("DELETE FROM records WHERE seq > 12");
  VerifyReport report = RunVerify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_seq, 13u) << report.problem;
}

TEST_F(AuditTest, DetectsForgedCheckpointSignature) {
  WriteLog(20);
  Sql("UPDATE checkpoints SET signature = zeroblob(64) WHERE seq = 10");
  VerifyReport report = RunVerify();
  EXPECT_FALSE(report.ok);
  EXPECT_TRUE(report.in_checkpoint);
  EXPECT_EQ(report.first_bad_seq, 10u);
  EXPECT_NE(report.problem.find("bad signature"), std::string::npos) << report.problem;
  // Without the key the chain itself is intact: the signature cannot be judged.
  EXPECT_TRUE(RunVerify(/*with_key=*/false).ok);
}

TEST_F(AuditTest, DetectsCheckpointSignedByAnotherKey) {
  WriteLog(20);
  ASSERT_TRUE(GenerateKeyPair(dir_ + "/other.pem", dir_ + "/other.pub").ok());
  auto pub = PublicKey::LoadPem(dir_ + "/other.pub");
  ASSERT_TRUE(pub.ok());
  public_key_ = *pub;
  VerifyReport report = RunVerify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_seq, 5u);
}

TEST_F(AuditTest, DetectsMissingSignatureAndMissingCheckpoints) {
  WriteLog(20);
  Sql("UPDATE checkpoints SET signature = x'' WHERE seq = 15");
  VerifyReport report = RunVerify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_seq, 15u);
  EXPECT_NE(report.problem.find("missing"), std::string::npos) << report.problem;
  Sql("DELETE FROM checkpoints WHERE seq = 10");
  report = RunVerify();
  EXPECT_EQ(report.first_bad_seq, 15u);
  EXPECT_NE(report.problem.find("previous checkpoint"), std::string::npos) << report.problem;
  Sql("DELETE FROM checkpoints");
  report = RunVerify();
  EXPECT_FALSE(report.ok);
  EXPECT_NE(report.problem.find("no signed checkpoint"), std::string::npos) << report.problem;
}

TEST_F(AuditTest, CheckpointCatchesAFullyRewrittenChain) {
  WriteLog(10);
  // Rewrite every record from 3 on, re-chaining the hashes as an attacker without the key can.
  std::vector<Record> records;
  {
    auto store = SqliteStore::Open(db_, OpenMode::kExisting);
    ASSERT_TRUE((*store)
                    ->ScanRecords([&](const StoredRecord& r) {
                      records.push_back(*ParseRecord(r.body));
                      return true;
                    })
                    .ok());
  }
  records[2].rule = "nothing-to-see";
  for (size_t i = 2; i < records.size(); ++i) {
    records[i].prev_hash = records[i - 1].hash;
    records[i].hash = ComputeRecordHash(records[i]);
  }
  Sql("DELETE FROM records WHERE seq >= 3");
  {
    auto store = SqliteStore::Open(db_, OpenMode::kExisting);
    ASSERT_TRUE((*store)->Append(std::span(records).subspan(2), nullptr).ok());
  }
  VerifyReport report = RunVerify(/*with_key=*/false);
  EXPECT_FALSE(report.ok);
  EXPECT_TRUE(report.in_checkpoint);
  EXPECT_EQ(report.first_bad_seq, 5u) << report.problem;
}

TEST_F(AuditTest, RefusesMissingOrForeignDatabase) {
  auto missing = SqliteStore::Open(dir_ + "/nope.db", OpenMode::kExisting);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  std::ofstream(dir_ + "/junk.db") << "this is not sqlite at all, just some bytes ............";
  auto junk = SqliteStore::Open(dir_ + "/junk.db", OpenMode::kCreate);
  EXPECT_EQ(junk.status().code(), StatusCode::kDataLoss) << junk.status().ToString();
  {
    sqlite3* db = nullptr;
    sqlite3_open((dir_ + "/other.db").c_str(), &db);
    sqlite3_exec(db, "CREATE TABLE t(x)", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  auto other = SqliteStore::Open(dir_ + "/other.db", OpenMode::kCreate);
  EXPECT_EQ(other.status().code(), StatusCode::kDataLoss) << other.status().ToString();
}

// A store whose Append waits until the test opens the gate: a slow disk, on demand.
class GatedStore : public Store {
 public:
  explicit GatedStore(std::unique_ptr<Store> inner) : inner_(std::move(inner)) {}
  Status Append(std::span<const Record> records, const Checkpoint* checkpoint) override {
    std::unique_lock lock(mu_);
    ++entered_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
    lock.unlock();
    return inner_->Append(records, checkpoint);
  }
  StatusOr<Tail> LoadTail() override { return inner_->LoadTail(); }
  Status ScanRecords(const std::function<bool(const StoredRecord&)>& fn) override {
    return inner_->ScanRecords(fn);
  }
  StatusOr<std::vector<Checkpoint>> LoadCheckpoints() override { return inner_->LoadCheckpoints(); }
  Status Query(const QueryFilter& f, const std::function<bool(const StoredRecord&)>& fn) override {
    return inner_->Query(f, fn);
  }
  void WaitEntered() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return entered_ > 0; });
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::unique_ptr<Store> inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  int entered_ = 0;
  bool open_ = false;
};

TEST_F(AuditTest, FullQueueFailsClosed) {
  auto sqlite = SqliteStore::Open(db_, OpenMode::kCreate);
  ASSERT_TRUE(sqlite.ok());
  auto gated = std::make_unique<GatedStore>(std::move(*sqlite));
  GatedStore* gate = gated.get();
  WriterOptions o = Options();
  o.queue_capacity = 2;
  o.on_full = FullPolicy::kFailClosed;
  auto writer = Writer::Start(std::move(gated), o);
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Append(MakeTestRecord(1)).ok());
  gate->WaitEntered();  // record 1 is in the store's hands; the queue is empty
  ASSERT_TRUE((*writer)->Append(MakeTestRecord(2)).ok());
  ASSERT_TRUE((*writer)->Append(MakeTestRecord(3)).ok());
  Status full = (*writer)->Append(MakeTestRecord(4));
  EXPECT_EQ(full.code(), StatusCode::kResourceExhausted) << full.ToString();
  gate->Open();
  ASSERT_TRUE((*writer)->Flush().ok());
  ASSERT_TRUE((*writer)->Close().ok());
  VerifyReport report = RunVerify();
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.records, 3u);  // the refused record is not there, and the caller knew
}

TEST_F(AuditTest, FullQueueBlocksUntilThereIsRoom) {
  auto sqlite = SqliteStore::Open(db_, OpenMode::kCreate);
  ASSERT_TRUE(sqlite.ok());
  auto gated = std::make_unique<GatedStore>(std::move(*sqlite));
  GatedStore* gate = gated.get();
  WriterOptions o = Options();
  o.queue_capacity = 1;
  o.on_full = FullPolicy::kBlock;
  auto writer = Writer::Start(std::move(gated), o);
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Append(MakeTestRecord(1)).ok());
  gate->WaitEntered();
  ASSERT_TRUE((*writer)->Append(MakeTestRecord(2)).ok());
  std::atomic<bool> done{false};
  std::thread blocked([&] {
    EXPECT_TRUE((*writer)->Append(MakeTestRecord(3)).ok());
    done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(done.load());
  gate->Open();
  blocked.join();
  EXPECT_TRUE(done.load());
  ASSERT_TRUE((*writer)->Close().ok());
  VerifyReport report = RunVerify();
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.records, 3u);
}

class FailingStore : public GatedStore {
 public:
  using GatedStore::GatedStore;
  Status Append(std::span<const Record>, const Checkpoint*) override {
    return UnavailableError("disk on fire");
  }
};

TEST_F(AuditTest, StoreErrorFailsLaterAppends) {
  auto sqlite = SqliteStore::Open(db_, OpenMode::kCreate);
  ASSERT_TRUE(sqlite.ok());
  auto writer = Writer::Start(std::make_unique<FailingStore>(std::move(*sqlite)), Options());
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Append(MakeTestRecord(1)).ok());
  Status flushed = (*writer)->Flush();
  EXPECT_FALSE(flushed.ok());
  EXPECT_NE(flushed.message().find("disk on fire"), std::string::npos);
  EXPECT_EQ((*writer)->Append(MakeTestRecord(2)).code(), StatusCode::kUnavailable);
}

TEST_F(AuditTest, ConcurrentAppenders) {
  auto store = SqliteStore::Open(db_, OpenMode::kCreate);
  ASSERT_TRUE(store.ok());
  WriterOptions o = Options();
  o.max_batch = 256;
  o.queue_capacity = 64;  // small, so that appenders really wait on each other
  o.checkpoint_every_records = 100;
  auto writer = Writer::Start(std::move(*store), o);
  ASSERT_TRUE(writer.ok());
  constexpr int kThreads = 8, kEach = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        Record r = MakeTestRecord(i);
        r.request_id = "t" + std::to_string(t) + "-" + std::to_string(i);
        EXPECT_TRUE((*writer)->Append(std::move(r)).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE((*writer)->Close().ok());
  VerifyReport report = RunVerify();
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.records, static_cast<uint64_t>(kThreads * kEach));
  auto reader = SqliteStore::Open(db_, OpenMode::kExisting);
  std::set<std::string> ids;
  ASSERT_TRUE((*reader)
                  ->ScanRecords([&](const StoredRecord& r) {
                    ids.insert(r.request_id);
                    return true;
                  })
                  .ok());
  EXPECT_EQ(ids.size(), static_cast<size_t>(kThreads * kEach));
}

TEST_F(AuditTest, QueryFilters) {
  WriteLog(20);  // record i has time kT0 + i seconds
  auto store = SqliteStore::Open(db_, OpenMode::kExisting);
  ASSERT_TRUE(store.ok());
  auto count = [&](const QueryFilter& f) {
    std::vector<uint64_t> seqs;
    EXPECT_TRUE((*store)
                    ->Query(f,
                            [&](const StoredRecord& r) {
                              seqs.push_back(r.seq);
                              return true;
                            })
                    .ok());
    return seqs;
  };
  EXPECT_EQ(count({}).size(), 20u);
  EXPECT_EQ(count({.action = "block"}), (std::vector<uint64_t>{4, 8, 12, 16, 20}));
  EXPECT_EQ(count({.rule = "block-secrets"}).size(), 5u);
  EXPECT_EQ(count({.key = "key-odd"}).size(), 10u);
  EXPECT_EQ(count({.key = "key-odd", .action = "block"}).size(), 0u);
  EXPECT_EQ(count({.tenant = "nobody"}).size(), 0u);
  EXPECT_EQ(count({.since_us = kT0 + 5000000, .until_us = kT0 + 8000000}),
            (std::vector<uint64_t>{5, 6, 7}));
  EXPECT_EQ(count({.limit = 3}), (std::vector<uint64_t>{1, 2, 3}));
}

}  // namespace
}  // namespace warden::audit
