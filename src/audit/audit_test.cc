#include "warden/audit.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>

#include "tests/support/temp_dir.h"

namespace warden::audit {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::TempDir;

constexpr int64_t kT0 = 1700000000000000;

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(GenerateKeyPair(dir_.str() + "/key.pem", dir_.str() + "/key.pub").ok());
    auto signer = Signer::LoadPem(dir_.str() + "/key.pem");
    ASSERT_TRUE(signer.ok()) << signer.status().ToString();
    signer_ = *signer;
    auto pub = PublicKey::LoadPem(dir_.str() + "/key.pub");
    ASSERT_TRUE(pub.ok()) << pub.status().ToString();
    public_key_ = *pub;
  }

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

  // The seqs that `store` returns for `filter`, in order.
  static std::vector<uint64_t> QuerySeqs(Store& store, const QueryFilter& filter) {
    std::vector<uint64_t> seqs;
    EXPECT_TRUE(store
                    .Query(filter,
                           [&](const StoredRecord& r) {
                             seqs.push_back(r.seq);
                             return true;
                           })
                    .ok());
    return seqs;
  }

  const TempDir dir_{"audit"};
  const std::string db_ = dir_.str() + "/audit.db";
  std::atomic<int64_t> now_us_{1700000000000000};  // two writers may share the clock
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

TEST_F(AuditTest, SealingAnEncodedRecordEqualsSerializingTheChainedRecord) {
  // The writer serializes on the appending thread with seq and prev_hash unset, then seals the
  // bytes: the result must be exactly the canonical body of the chained record.
  Record r = MakeTestRecord(4);
  EncodedRecord e = EncodeRecord(r);
  Hash prev{};
  prev[0] = 7;
  prev[31] = 9;
  SealRecord(e, 0x0102030405060708, prev);
  r.seq = 0x0102030405060708;
  r.prev_hash = prev;
  EXPECT_EQ(e.body, SerializeRecord(r));
  EXPECT_EQ(e.hash, ComputeRecordHash(r));
  auto c = ReadColumns(e.body);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->seq, r.seq);
  EXPECT_EQ(c->time_us, r.time_us);
  EXPECT_EQ(c->request_id, r.request_id);
  EXPECT_EQ(c->key, r.key);
  EXPECT_EQ(c->tenant, r.tenant);
  EXPECT_EQ(c->direction, DirectionName(r.direction));
  EXPECT_EQ(c->action, "block");
  EXPECT_EQ(c->rule, "block-secrets");
  // A store refuses a body whose head does not parse, and writes nothing.
  for (size_t cut = 0; cut < 40; ++cut)
    EXPECT_FALSE(ReadColumns(e.body.substr(0, cut)).ok()) << cut;
  auto store = SqliteStore::Open(db_, OpenMode::kCreate);
  ASSERT_TRUE(store.ok());
  std::vector<EncodedRecord> bad = {e, EncodedRecord{"not a record", {}}};
  EXPECT_EQ((*store)->AppendEncoded(bad, nullptr).code(), StatusCode::kDataLoss);
  auto tail = (*store)->LoadTail();
  ASSERT_TRUE(tail.ok());
  EXPECT_FALSE(tail->last.has_value());
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
  v.scores = {{"secrets", 0.9f}, {"jailbreak", 0.009f}, {"hate", 0.01f}};
  v.redacted = "my key is [AWS_ACCESS_KEY_1] ok";
  v.replacements.push_back({"[AWS_ACCESS_KEY_1]", "AKIAIOSFODNN7EXAMPLE"});
  Message m{.text = text, .direction = Direction::kOutput, .tenant = "acme"};
  Record r = MakeRecord(v, m, {.request_id = "r1", .key = "k1"});
  EXPECT_EQ(r.tenant, "acme");
  EXPECT_EQ(r.direction, Direction::kOutput);
  EXPECT_EQ(r.action, Action::kRedact);
  // Scores under kMinRecordedScore are left out.
  EXPECT_EQ(r.scores, (std::vector<std::pair<std::string, float>>{{"secrets", 0.9f}, {"hate", 0.01f}}));
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].type, "aws_access_key");
  EXPECT_EQ(r.findings[0].start, 10u);
  EXPECT_EQ(r.findings[0].end, 30u);
  EXPECT_EQ(SerializeRecord(r).find("AKIA"), std::string::npos);

  // The gateway's path serializes the same decision straight from the verdict: same bytes.
  r.time_us = kT0;
  std::string body = "prefix";
  ASSERT_TRUE(AppendDecisionBody(v, m, {.request_id = "r1", .key = "k1"}, kT0, body).ok());
  EXPECT_EQ(body, "prefix" + SerializeRecord(r));
  // Beyond the format's limits: refused, nothing appended.
  body.clear();
  const std::string huge(kMaxStringBytes + 1, 'x');
  EXPECT_EQ(AppendDecisionBody(v, m, {.request_id = huge}, kT0, body).code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(body.empty());
}

// AppendBodies queues several serialized decisions under one ticket; they are chained and
// verified like any other records, and bytes that are not bodies are refused.
TEST_F(AuditTest, AppendBodiesQueuesSerializedDecisionsTogether) {
  std::atomic<uint64_t> written{0};
  WriterOptions o = Options();
  o.max_batch = 4096;
  o.on_written = [&](uint64_t n, const Status&) { written = n; };
  auto store = SqliteStore::Open(db_, OpenMode::kCreate);
  ASSERT_TRUE(store.ok());
  auto writer = Writer::Start(std::move(*store), o);
  ASSERT_TRUE(writer.ok());
  Verdict v;
  v.action = Action::kBlock;
  v.rule = "block-jailbreak";
  v.scores = {{"jailbreak", 0.97f}};
  std::string bodies;
  std::vector<uint32_t> sizes;
  for (Direction d : {Direction::kInput, Direction::kOutput}) {
    const size_t before = bodies.size();
    ASSERT_TRUE(AppendDecisionBody(v, {.direction = d}, {.request_id = "r9", .key = "k"},
                                   kT0 + 5, bodies)
                    .ok());
    sizes.push_back(static_cast<uint32_t>(bodies.size() - before));
  }
  uint64_t ticket = 0;
  ASSERT_TRUE((*writer)->Append(MakeTestRecord(1)).ok());
  ASSERT_TRUE((*writer)->AppendBodies(bodies, sizes, &ticket).ok());
  EXPECT_EQ(ticket, 3u);
  const uint32_t short_size = 12;
  EXPECT_EQ((*writer)->AppendBodies(std::string_view(bodies).substr(0, 12), {&short_size, 1})
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ((*writer)->AppendBodies(bodies, {sizes.data(), 1}).code(),  // bytes left over
            StatusCode::kInvalidArgument);
  ASSERT_TRUE((*writer)->Flush().ok());
  EXPECT_GE(written.load(), 3u);
  EXPECT_EQ((*writer)->stats().refused, 2u);
  ASSERT_TRUE((*writer)->Close().ok());
  EXPECT_TRUE(RunVerify().ok);
  auto reopened = SqliteStore::Open(db_, OpenMode::kExisting);
  ASSERT_TRUE(reopened.ok());
  std::vector<std::string> seen;
  ASSERT_TRUE((*reopened)
                  ->ScanRecords([&](const StoredRecord& row) {
                    seen.push_back(row.request_id + "/" + row.direction + "/" + row.action);
                    return true;
                  })
                  .ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"req-1/input/allow", "r9/input/block",
                                            "r9/output/block"}));
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
  ASSERT_TRUE(GenerateKeyPair(dir_.str() + "/other.pem", dir_.str() + "/other.pub").ok());
  auto pub = PublicKey::LoadPem(dir_.str() + "/other.pub");
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
  // The deleted records' ranges were replaced: queries see each record once.
  auto store = SqliteStore::Open(db_, OpenMode::kExisting);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(QuerySeqs(**store, {.key = "key-odd"}), (std::vector<uint64_t>{1, 3, 5, 7, 9}));
  EXPECT_EQ(QuerySeqs(**store, {.since_us = 0}).size(), 10u);
}

TEST_F(AuditTest, RefusesMissingOrForeignDatabase) {
  auto missing = SqliteStore::Open(dir_.str() + "/nope.db", OpenMode::kExisting);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  std::ofstream(dir_.str() + "/junk.db")
      << "this is not sqlite at all, just some bytes ............";
  auto junk = SqliteStore::Open(dir_.str() + "/junk.db", OpenMode::kCreate);
  EXPECT_EQ(junk.status().code(), StatusCode::kDataLoss) << junk.status().ToString();
  {
    sqlite3* db = nullptr;
    sqlite3_open((dir_.str() + "/other.db").c_str(), &db);
    sqlite3_exec(db, "CREATE TABLE t(x)", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  auto other = SqliteStore::Open(dir_.str() + "/other.db", OpenMode::kCreate);
  EXPECT_EQ(other.status().code(), StatusCode::kDataLoss) << other.status().ToString();
}

// A store whose Append waits until the test opens the gate: a slow disk, on demand.
class GatedStore : public Store {
 public:
  explicit GatedStore(std::unique_ptr<Store> inner) : inner_(std::move(inner)) {}
  Status AppendEncoded(std::span<const EncodedRecord> records,
                       const Checkpoint* checkpoint) override {
    std::unique_lock lock(mu_);
    ++entered_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
    lock.unlock();
    return inner_->AppendEncoded(records, checkpoint);
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
  Status AppendEncoded(std::span<const EncodedRecord>, const Checkpoint*) override {
    return InternalError("disk on fire");
  }
};

// A record the format cannot hold is refused at Append, counted, and nothing of it is queued.
TEST_F(AuditTest, AppendRefusesRecordsBeyondTheFormatsLimits) {
  auto store = SqliteStore::Open(db_, OpenMode::kCreate);
  ASSERT_TRUE(store.ok());
  auto writer = Writer::Start(std::move(*store), Options());
  ASSERT_TRUE(writer.ok());
  Record long_rule = MakeTestRecord(1);
  long_rule.rule.assign(kMaxStringBytes + 1, 'r');
  Record many_scores = MakeTestRecord(1);
  many_scores.scores.resize(kMaxEntries + 1);
  Record long_excerpt = MakeTestRecord(4);
  long_excerpt.findings[0].excerpt.assign(kMaxStringBytes + 1, 'e');
  for (Record* r : {&long_rule, &many_scores, &long_excerpt}) {
    EXPECT_EQ((*writer)->Append(std::move(*r)).code(), StatusCode::kInvalidArgument);
  }
  ASSERT_TRUE((*writer)->Append(MakeTestRecord(1)).ok());
  EXPECT_EQ((*writer)->stats().refused, 3u);
  ASSERT_TRUE((*writer)->Close().ok());
  EXPECT_EQ(RunVerify().records, 1u);
}

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
  WriterStats stats = (*writer)->stats();
  EXPECT_EQ(stats.written, 0u);
  EXPECT_EQ(stats.refused, 1u);
  EXPECT_FALSE(stats.error.ok());
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
  auto count = [&](const QueryFilter& f) { return QuerySeqs(**store, f); };
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

// Time and key queries go through record_ranges (one row per transaction). Whatever the
// transactions' sizes and however the clock went, they return what a scan of every record
// returns.
TEST_F(AuditTest, QueriesByTimeAndKeyMatchAFullScan) {
  std::vector<Record> records;
  for (int i = 1; i <= 400; ++i) {
    Record r = MakeTestRecord(i);
    r.time_us = kT0 + int64_t{i} * 1000;
    if (i % 7 == 0) r.time_us -= 50000;              // a late record
    if (i > 200 && i <= 260) r.time_us -= 10000000;  // the clock stepped back 10 s
    r.key = i % 11 == 0 ? "" : "key-" + std::to_string(i % 5);
    r.seq = static_cast<uint64_t>(i);
    r.prev_hash = records.empty() ? Hash{} : records.back().hash;
    r.hash = ComputeRecordHash(r);
    records.push_back(std::move(r));
  }
  {
    auto store = SqliteStore::Open(db_, OpenMode::kCreate);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    // Transactions of 1 to 23 records.
    for (size_t at = 0, n = 1; at < records.size(); at += n, n = n % 23 + 1) {
      const size_t take = std::min(n, records.size() - at);
      ASSERT_TRUE((*store)->Append(std::span(records).subspan(at, take), nullptr).ok());
    }
  }
  auto store = SqliteStore::Open(db_, OpenMode::kExisting);
  ASSERT_TRUE(store.ok());
  auto expected = [&](const QueryFilter& f) {
    std::vector<uint64_t> seqs;
    for (const Record& r : records) {
      if (f.since_us && r.time_us < *f.since_us) continue;
      if (f.until_us && r.time_us >= *f.until_us) continue;
      if (!f.key.empty() && r.key != f.key) continue;
      if (r.seq <= f.after_seq) continue;
      if (f.limit && seqs.size() == f.limit) break;
      seqs.push_back(r.seq);
    }
    return seqs;
  };
  const int64_t late = kT0 + 7000 - 50000;  // record 7's time, before record 1's
  const int64_t stepped = kT0 + 201000 - 10000000;
  std::vector<QueryFilter> filters = {
      {.since_us = kT0 + 100000},
      {.until_us = kT0 + 100000},
      {.since_us = kT0 + 150000, .until_us = kT0 + 160000},
      {.since_us = kT0 + 150000, .until_us = kT0 + 150001},  // exactly one time
      {.since_us = late, .until_us = late + 1},
      {.since_us = stepped, .until_us = stepped + 60000},
      {.since_us = stepped + 1000},  // also every record before the step
      {.until_us = kT0},             // the late records and the stepped-back ones only
      {.since_us = kT0 + 400001},
      {.key = "key-3"},
      {.key = "key-9"},
      {.since_us = kT0 + 50000, .until_us = kT0 + 300000, .key = "key-1"},
      {.since_us = kT0 + 50000, .key = "key-2", .limit = 7},
      {.key = "key-4", .after_seq = 350},
      {.since_us = kT0 + 1000, .after_seq = 399},
  };
  for (const QueryFilter& f : filters) {
    const std::vector<uint64_t> want = expected(f);
    EXPECT_EQ(QuerySeqs(**store, f), want)
        << "since " << (f.since_us ? *f.since_us - kT0 : -1) << " until "
        << (f.until_us ? *f.until_us - kT0 : -1) << " key '" << f.key << "' after " << f.after_seq;
  }
  EXPECT_GT(expected({.until_us = kT0}).size(), 30u);
  EXPECT_TRUE(expected({.key = "key-9"}).empty());
}

// A query must not be able to miss a record that verify sees: verify also checks the ranges
// that queries use, and names the first record they misplace.
TEST_F(AuditTest, VerifyNamesARecordThatTheRangesMisplace) {
  struct Case {
    const char* sql;
    uint64_t seq;
    const char* why;
  } cases[] = {
      {"DELETE FROM record_ranges WHERE first_seq = 7", 7, "in no range"},
      {"UPDATE record_ranges SET last_seq = 8, time_high_us = (SELECT time_high_us FROM "
       "record_ranges WHERE first_seq = 8) WHERE first_seq = 7; "
       "INSERT INTO record_range_keys VALUES ('key-even', 7)",
       8, "in two ranges"},
      {"UPDATE record_ranges SET time_high_us = time_high_us - 1 WHERE first_seq = 9", 9,
       "outside its range's times"},
      {"DELETE FROM record_range_keys WHERE first_seq = 12", 12, "key is not listed"},
  };
  for (const Case& c : cases) {
    fs::remove(db_);
    WriteLog(15);  // one record a transaction: records 1..15 in ranges 1..15
    EXPECT_TRUE(RunVerify().ok);
    Sql(c.sql);
    VerifyReport report = RunVerify();
    EXPECT_FALSE(report.ok) << c.sql;
    EXPECT_EQ(report.first_bad_seq, c.seq) << c.sql << ": " << report.problem;
    EXPECT_NE(report.problem.find(c.why), std::string::npos) << report.problem;
  }
}

// A log made before record_ranges keeps its indexes on records: the writer goes on appending
// to it without ranges, and queries use the indexes.
TEST_F(AuditTest, LogsWithoutRangesAreStillQueriedAndAppended) {
  WriteLog(10);
  Sql("DROP TABLE record_range_keys; DROP TABLE record_ranges; "
      "CREATE INDEX records_time ON records(time_us); "
      "CREATE INDEX records_key ON records(key, time_us);");
  {
    auto store = SqliteStore::Open(db_, OpenMode::kCreate);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto writer = Writer::Start(std::move(*store), Options());
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    for (int i = 11; i <= 20; ++i) ASSERT_TRUE((*writer)->Append(MakeTestRecord(i)).ok());
    ASSERT_TRUE((*writer)->Close().ok());
  }
  EXPECT_TRUE(RunVerify().ok);
  auto store = SqliteStore::Open(db_, OpenMode::kExisting);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(QuerySeqs(**store, {.since_us = kT0 + 9000000, .until_us = kT0 + 12000000}),
            (std::vector<uint64_t>{9, 10, 11}));
  EXPECT_EQ(QuerySeqs(**store, {.key = "key-even", .after_seq = 14}),
            (std::vector<uint64_t>{16, 18, 20}));
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* q = nullptr;
  ASSERT_EQ(
      sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE name LIKE 'record_range%'",
                         -1, &q, nullptr),
      SQLITE_OK);
  ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(q, 0), 0);
  sqlite3_finalize(q);
  sqlite3_close(db);
}

// Answers Unavailable (a restarting server) until `heal()`, or for the first `failures` calls.
class FlakyStore : public GatedStore {
 public:
  FlakyStore(std::unique_ptr<Store> inner, int failures) : GatedStore(std::move(inner)),
                                                           failures_(failures) {}
  Status AppendEncoded(std::span<const EncodedRecord> records,
                       const Checkpoint* checkpoint) override {
    if (failures_.fetch_sub(1) > 0) return UnavailableError("server restarting");
    return GatedStore::AppendEncoded(records, checkpoint);
  }
  void Heal() { failures_ = 0; }

 private:
  std::atomic<int> failures_;
};

TEST_F(AuditTest, UnavailableStoreIsRetriedAndNothingIsLost) {
  auto sqlite = SqliteStore::Open(db_, OpenMode::kCreate);
  ASSERT_TRUE(sqlite.ok());
  auto flaky = std::make_unique<FlakyStore>(std::move(*sqlite), 3);
  flaky->Open();
  WriterOptions o = Options();
  o.retry_initial = std::chrono::milliseconds(1);
  auto writer = Writer::Start(std::move(flaky), o);
  ASSERT_TRUE(writer.ok());
  for (int i = 1; i <= 12; ++i) ASSERT_TRUE((*writer)->Append(MakeTestRecord(i)).ok());
  ASSERT_TRUE((*writer)->Flush().ok());
  WriterStats stats = (*writer)->stats();
  EXPECT_EQ(stats.store_failures, 3u);
  EXPECT_EQ(stats.written, 12u);
  EXPECT_TRUE(stats.store_available);
  ASSERT_TRUE((*writer)->Close().ok());
  VerifyReport report = RunVerify();
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.records, 12u);
}

TEST_F(AuditTest, UnavailableStoreFailsClosedUntilItReturns) {
  auto sqlite = SqliteStore::Open(db_, OpenMode::kCreate);
  ASSERT_TRUE(sqlite.ok());
  auto flaky = std::make_unique<FlakyStore>(std::move(*sqlite), 1 << 30);
  FlakyStore* store = flaky.get();
  flaky->Open();
  WriterOptions o = Options();
  o.on_full = FullPolicy::kFailClosed;
  o.retry_initial = o.retry_max = std::chrono::milliseconds(5);
  auto writer = Writer::Start(std::move(flaky), o);
  ASSERT_TRUE(writer.ok());
  std::promise<Status> durable;
  ASSERT_TRUE((*writer)
                  ->AppendNotify(MakeTestRecord(1), [&](Status s) { durable.set_value(s); })
                  .ok());
  while ((*writer)->stats().store_available) std::this_thread::sleep_for(1ms);
  // The store is down: fail closed refuses new records at once, and says why.
  Status refused = (*writer)->Append(MakeTestRecord(2));
  EXPECT_EQ(refused.code(), StatusCode::kUnavailable) << refused.ToString();
  store->Heal();
  EXPECT_TRUE(durable.get_future().get().ok());  // the queued record was kept and written
  ASSERT_TRUE((*writer)->Append(MakeTestRecord(3)).ok());
  ASSERT_TRUE((*writer)->Close().ok());
  EXPECT_EQ(RunVerify().records, 2u);
}

TEST_F(AuditTest, CloseGivesUpOnAStoreThatNeverReturns) {
  auto sqlite = SqliteStore::Open(db_, OpenMode::kCreate);
  ASSERT_TRUE(sqlite.ok());
  auto flaky = std::make_unique<FlakyStore>(std::move(*sqlite), 1 << 30);
  flaky->Open();
  WriterOptions o = Options();
  o.retry_initial = std::chrono::milliseconds(5);
  o.close_timeout = std::chrono::milliseconds(100);
  auto writer = Writer::Start(std::move(flaky), o);
  ASSERT_TRUE(writer.ok());
  std::promise<Status> durable;
  ASSERT_TRUE((*writer)
                  ->AppendNotify(MakeTestRecord(1), [&](Status s) { durable.set_value(s); })
                  .ok());
  EXPECT_EQ((*writer)->Close().code(), StatusCode::kUnavailable);
  EXPECT_EQ(durable.get_future().get().code(), StatusCode::kUnavailable);
}

TEST_F(AuditTest, AppendNotifyCallsBackOnceTheRecordIsDurable) {
  auto store = SqliteStore::Open(db_, OpenMode::kCreate);
  ASSERT_TRUE(store.ok());
  WriterOptions o = Options();
  o.max_batch = 64;
  auto writer = Writer::Start(std::move(*store), o);
  ASSERT_TRUE(writer.ok());
  constexpr int kN = 200;
  std::mutex mu;
  std::vector<std::string> durable_ids;
  std::atomic<int> seen_in_db{0};
  for (int i = 1; i <= kN; ++i) {
    Record r = MakeTestRecord(i);
    const std::string id = r.request_id;
    ASSERT_TRUE((*writer)
                    ->AppendNotify(std::move(r),
                                   [&, id](Status s) {
                                     ASSERT_TRUE(s.ok()) << s.ToString();
                                     std::lock_guard lock(mu);
                                     durable_ids.push_back(id);
                                   })
                    .ok());
  }
  ASSERT_TRUE((*writer)->Flush().ok());
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(durable_ids.size(), static_cast<size_t>(kN));  // Flush waits for the callbacks' batch
    // Every record reported durable is readable by another connection.
    auto reader = SqliteStore::Open(db_, OpenMode::kExisting);
    std::set<std::string> stored;
    ASSERT_TRUE((*reader)
                    ->ScanRecords([&](const StoredRecord& r) {
                      stored.insert(r.request_id);
                      return true;
                    })
                    .ok());
    for (const auto& id : durable_ids) seen_in_db += stored.count(id);
  }
  EXPECT_EQ(seen_in_db.load(), kN);
  WriterStats stats = (*writer)->stats();
  EXPECT_EQ(stats.accepted, static_cast<uint64_t>(kN));
  EXPECT_EQ(stats.written, static_cast<uint64_t>(kN));
  EXPECT_EQ(stats.queued, 0u);
  EXPECT_GE(stats.batches, 4u);  // 200 records in batches of at most 64
  EXPECT_EQ(stats.last_seq, static_cast<uint64_t>(kN));
}

TEST_F(AuditTest, OnWrittenReportsTicketsOnceTheirRecordsAreDurable) {
  auto store = SqliteStore::Open(db_, OpenMode::kCreate);
  ASSERT_TRUE(store.ok());
  // Each report is checked against another connection at the moment it is made: every record
  // up to `written` must already be readable there.
  std::mutex mu;
  std::vector<uint64_t> reports;
  std::vector<uint64_t> stored_at_report;
  WriterOptions o = Options();
  o.max_batch = 32;
  o.on_written = [&](uint64_t written, const Status& error) {
    EXPECT_TRUE(error.ok()) << error.ToString();
    auto reader = SqliteStore::Open(db_, OpenMode::kExisting);
    uint64_t stored = 0;
    if (reader.ok()) {
      (void)(*reader)->ScanRecords([&](const StoredRecord&) {
        ++stored;
        return true;
      });
    }
    std::lock_guard lock(mu);
    reports.push_back(written);
    stored_at_report.push_back(stored);
  };
  auto writer = Writer::Start(std::move(*store), o);
  ASSERT_TRUE(writer.ok());
  constexpr int kThreads = 3, kEach = 60;
  std::vector<std::vector<uint64_t>> tickets(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        uint64_t ticket = 0;
        ASSERT_TRUE((*writer)->Append(MakeTestRecord(t * kEach + i + 1), &ticket).ok());
        tickets[t].push_back(ticket);
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE((*writer)->Flush().ok());
  // Tickets are 1..N, each once, growing within each appending thread.
  std::set<uint64_t> all;
  for (const auto& ts : tickets) {
    EXPECT_TRUE(std::is_sorted(ts.begin(), ts.end()));
    all.insert(ts.begin(), ts.end());
  }
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kEach));
  EXPECT_EQ(*all.begin(), 1u);
  EXPECT_EQ(*all.rbegin(), static_cast<uint64_t>(kThreads * kEach));
  std::lock_guard lock(mu);
  ASSERT_FALSE(reports.empty());
  EXPECT_TRUE(std::is_sorted(reports.begin(), reports.end()));
  EXPECT_EQ(reports.back(), static_cast<uint64_t>(kThreads * kEach));  // Flush waits for it
  for (size_t i = 0; i < reports.size(); ++i) {
    EXPECT_GE(stored_at_report[i], reports[i]) << "report " << i;
  }
}

TEST_F(AuditTest, OnWrittenReportsAPermanentErrorOnce) {
  auto sqlite = SqliteStore::Open(db_, OpenMode::kCreate);
  ASSERT_TRUE(sqlite.ok());
  std::promise<std::pair<uint64_t, Status>> reported;
  std::atomic<int> calls{0};
  WriterOptions o = Options();
  o.on_written = [&](uint64_t written, const Status& error) {
    if (calls++ == 0) reported.set_value({written, error});
  };
  auto writer = Writer::Start(std::make_unique<FailingStore>(std::move(*sqlite)), o);
  ASSERT_TRUE(writer.ok());
  uint64_t ticket = 0;
  ASSERT_TRUE((*writer)->Append(MakeTestRecord(1), &ticket).ok());
  auto [written, error] = reported.get_future().get();
  EXPECT_LT(written, ticket);  // the record never became durable, and the waiter is told why
  EXPECT_NE(error.message().find("disk on fire"), std::string::npos) << error.ToString();
  EXPECT_FALSE((*writer)->Flush().ok());
  EXPECT_EQ(calls.load(), 1);
}

// The number of frames in the WAL now: mxFrame in the WAL-index header at the start of the -shm
// file, in native byte order (sqlite.org/walformat.html, "The WAL-Index Header").
uint32_t WalFrames(const std::string& db) {
  std::ifstream shm(db + "-shm", std::ios::binary);
  char header[20] = {};
  if (!shm.read(header, sizeof header)) return 0;
  uint32_t frames = 0;
  std::memcpy(&frames, header + 16, sizeof frames);
  return frames;
}

TEST_F(AuditTest, WalStartsOverUnderSteadyAppends) {
  // Checkpoints run on a thread of their own while the writer keeps committing, so they never
  // copy the newest frames; the writer must copy those itself once a checkpoint ends, so that
  // the WAL starts over a little past the 1,000-page mark. Without that it grows until the
  // writer's backstop (20,000 pages) makes it checkpoint inline, stalling every request.
  // A disk that is slow to fsync can delay one start; three that come early enough must follow.
  auto store = SqliteStore::Open(db_, OpenMode::kCreate);
  ASSERT_TRUE(store.ok());
  WriterOptions o;
  o.max_batch = 8;  // many small commits, back to back
  auto writer = Writer::Start(std::move(*store), o);
  ASSERT_TRUE(writer.ok());
  constexpr uint32_t kEarly = 10000;  // frames: half the backstop
  constexpr int kMaxRecords = 300000;
  int records = 0, early_starts = 0;
  uint32_t frames = 0, most = 0;
  while (early_starts < 3 && records < kMaxRecords) {
    for (int j = 0; j < 80; ++j) {
      Record r = MakeTestRecord(++records);
      r.rule.assign(200, 'r');  // larger rows: more pages per commit
      ASSERT_TRUE((*writer)->Append(std::move(r)).ok());
    }
    ASSERT_TRUE((*writer)->Flush().ok());
    const uint32_t now = WalFrames(db_);
    if (now < frames) {  // the WAL started over
      if (most < kEarly) ++early_starts;
      most = 0;
    }
    frames = now;
    most = std::max(most, now);
  }
  ASSERT_TRUE((*writer)->Close().ok());
  EXPECT_EQ(early_starts, 3) << "the WAL did not start over before " << kEarly << " frames ("
                             << records << " records)";
  EXPECT_EQ(RunVerify(false).records, static_cast<uint64_t>(records));
}

TEST_F(AuditTest, TwoWritersOnOneSqliteFileKeepOneChain) {
  // Two gateways (here two Writers, each with its own connection) appending to one file.
  constexpr int kEach = 400;
  std::vector<std::thread> threads;
  for (int w = 0; w < 2; ++w) {
    auto store = SqliteStore::Open(db_, OpenMode::kCreate);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    WriterOptions o = Options();
    o.max_batch = 7;
    o.checkpoint_every_records = 50;
    auto writer = Writer::Start(std::move(*store), o);
    ASSERT_TRUE(writer.ok());
    threads.emplace_back([w, writer = std::shared_ptr<Writer>(std::move(*writer))] {
      for (int i = 0; i < kEach; ++i) {
        Record r = MakeTestRecord(i);
        r.request_id = "w" + std::to_string(w) + "-" + std::to_string(i);
        EXPECT_TRUE(writer->Append(std::move(r)).ok());
        if (i % 50 == 0) std::this_thread::yield();
      }
      EXPECT_TRUE(writer->Close().ok());
    });
  }
  for (auto& t : threads) t.join();
  VerifyReport report = RunVerify();
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.records, 2u * kEach);
  EXPECT_EQ(report.signed_through, 2u * kEach);
}

// Finds `needle` in the file and XORs the byte `offset` past its start with `mask`; returns the
// number of occurrences (the flip is at the first).
int FlipInFile(const std::string& path, const std::string& needle, size_t offset, uint8_t mask) {
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  int count = 0;
  size_t first = std::string::npos;
  for (size_t pos = bytes.find(needle); pos != std::string::npos;
       pos = bytes.find(needle, pos + 1)) {
    if (first == std::string::npos) first = pos;
    ++count;
  }
  if (first == std::string::npos) return 0;
  bytes[first + offset] = static_cast<char>(bytes[first + offset] ^ mask);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  return count;
}

std::string BodyPrefix(uint64_t seq) {
  std::string s = "WDAR";
  s.push_back(1);
  for (int shift = 56; shift >= 0; shift -= 8) s.push_back(static_cast<char>(seq >> shift));
  return s;
}

TEST_F(AuditTest, DetectsAByteFlippedInTheDatabaseFile) {
  struct Case {
    std::string name, needle;
    size_t offset;
    uint64_t bad_seq;
  };
  const std::vector<Case> cases = {
      {"time inside the body of 9", BodyPrefix(9), 13 + 7, 9},
      {"seq inside the body of 11", BodyPrefix(11), 12, 11},
      {"request_id of 13 (column or body)", "req-13", 5, 13},
      {"score bits inside the body of 17", BodyPrefix(17), 76, 17},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    fs::remove_all(db_);
    fs::remove(db_ + "-wal");
    fs::remove(db_ + "-shm");
    WriteLog(20);
    ASSERT_FALSE(fs::exists(db_ + "-wal"));  // everything is in the main file
    ASSERT_GE(FlipInFile(db_, c.needle, c.offset, 0x01), 1);
    VerifyReport report = RunVerify();
    EXPECT_FALSE(report.ok);
    EXPECT_EQ(report.first_bad_seq, c.bad_seq) << report.problem;
  }
}

TEST_F(AuditTest, CorruptDatabaseAtStartUpIsAClearErrorNotAFreshLog) {
  WriteLog(300);
  // Keep the first page (so it is still SQLite) and garble the rest.
  {
    std::fstream f(db_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4096);
    const std::string junk(8192, '\xA5');
    f.write(junk.data(), junk.size());
  }
  const auto size_before = fs::file_size(db_);
  Status error;
  auto store = SqliteStore::Open(db_, OpenMode::kCreate);
  if (!store.ok()) {
    error = store.status();
  } else {
    auto writer = Writer::Start(std::move(*store), Options());
    ASSERT_FALSE(writer.ok()) << "a damaged log must stop start-up";
    error = writer.status();
  }
  EXPECT_EQ(error.code(), StatusCode::kDataLoss) << error.ToString();
  EXPECT_NE(error.message().find(db_), std::string::npos) << error.message();
  EXPECT_NE(error.message().find("warden audit verify"), std::string::npos) << error.message();
  EXPECT_EQ(fs::file_size(db_), size_before);  // nothing was rewritten
}

TEST_F(AuditTest, NotSqliteAtStartUpNamesTheFileAndWhatToDo) {
  std::ofstream(db_) << std::string(5000, 'x');
  auto store = SqliteStore::Open(db_, OpenMode::kCreate);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(store.status().message().find(db_), std::string::npos);
  EXPECT_NE(store.status().message().find("will not start a fresh log"), std::string::npos)
      << store.status().message();
}

TEST_F(AuditTest, LockedDatabaseAtStartUpIsAClearError) {
  WriteLog(3);
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(db_.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  auto store = SqliteStore::Open(db_, OpenMode::kCreate, {.busy_timeout = 100ms});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(store.status().message().find(db_), std::string::npos) << store.status().message();
  EXPECT_NE(store.status().message().find("write lock"), std::string::npos)
      << store.status().message();
  // Readers are not blocked by a writer (WAL): verify still works.
  EXPECT_TRUE(RunVerify().ok);
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  EXPECT_TRUE(SqliteStore::Open(db_, OpenMode::kCreate).ok());
}

TEST_F(AuditTest, QueryByCategoryAndAfterSeq) {
  WriteLog(20);
  auto store = SqliteStore::Open(db_, OpenMode::kExisting);
  ASSERT_TRUE(store.ok());
  auto seqs = [&](const QueryFilter& f) { return QuerySeqs(**store, f); };
  // Score label above the threshold: secrets is 1.0 on every 4th record, 0 elsewhere.
  EXPECT_EQ(seqs({.category = "secrets"}), (std::vector<uint64_t>{4, 8, 12, 16, 20}));
  EXPECT_EQ(seqs({.category = "jailbreak"}).size(), 0u);  // 0.25 < 0.5
  EXPECT_EQ(seqs({.category = "jailbreak", .min_score = 0.2f}).size(), 20u);
  // Finding type.
  EXPECT_EQ(seqs({.limit = 2, .category = "aws_access_key"}), (std::vector<uint64_t>{4, 8}));
  EXPECT_EQ(seqs({.after_seq = 17}), (std::vector<uint64_t>{18, 19, 20}));
}

TEST_F(AuditTest, OpenStoreUnderstandsUrlsAndBarePaths) {
  WriteLog(2);
  for (const std::string& url : {db_, "sqlite:" + db_, "sqlite://" + db_}) {
    auto store = OpenStore(url, OpenMode::kExisting);
    ASSERT_TRUE(store.ok()) << url << ": " << store.status().ToString();
    auto tail = (*store)->LoadTail();
    ASSERT_TRUE(tail.ok());
    EXPECT_EQ(tail->last->seq, 2u);
  }
  EXPECT_EQ(OpenStore("mysql://x/y", OpenMode::kExisting).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenStore("", OpenMode::kExisting).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenStore("sqlite:" + dir_.str() + "/missing.db", OpenMode::kExisting).status().code(),
            StatusCode::kNotFound);
  // Nothing listens on port 1: Unavailable, and the password is not in the message.
  auto pg = OpenStore("postgresql://warden:s3cret@127.0.0.1:1/audit?connect_timeout=2",
                      OpenMode::kExisting);
  EXPECT_EQ(pg.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(pg.status().message().find("s3cret"), std::string::npos) << pg.status().message();
  EXPECT_EQ(RedactStoreUrl("postgres://u:pw@h/db"), "postgres://u:***@h/db");
  EXPECT_EQ(RedactStoreUrl("postgresql://h/db?password=pw&sslmode=require"),
            "postgresql://h/db?password=***&sslmode=require");
  EXPECT_EQ(RedactStoreUrl("sqlite:/a/b.db"), "sqlite:/a/b.db");
}

TEST_F(AuditTest, RecordToJsonIsTheExportSchema) {
  WriteLog(4);
  auto store = SqliteStore::Open(db_, OpenMode::kExisting);
  std::vector<std::string> lines;
  ASSERT_TRUE((*store)
                  ->ScanRecords([&](const StoredRecord& r) {
                    lines.push_back(RecordToJson(r));
                    return true;
                  })
                  .ok());
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[3].find("{\"seq\":4,\"time\":\"2023-11-14T22:13:24.000000Z\""), 0u) << lines[3];
  EXPECT_NE(lines[3].find("\"action\":\"block\",\"rule\":\"block-secrets\""), std::string::npos);
  EXPECT_NE(lines[3].find("\"findings\":[{\"scanner\":\"secrets\",\"type\":\"aws_access_key\","
                          "\"start\":3,\"end\":23,\"score\":1,\"excerpt\":\"[AWS_ACCESS_KEY_1]\"}]"),
            std::string::npos)
      << lines[3];
  EXPECT_NE(lines[0].find("\"rule\":null"), std::string::npos);
  EXPECT_EQ(lines[0].find('\n'), std::string::npos);
}
}  // namespace
}  // namespace warden::audit
