// The audit log on a real PostgreSQL server: chain and tamper tests as for SQLite, several
// writers (threads and processes) keeping one chain, and the server restarting mid-run.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <set>
#include <thread>

#include "postgres_server.h"
#include "warden/audit.h"

namespace warden::audit {
namespace {

using namespace std::chrono_literals;

class PostgresAuditTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = testing::PostgresServer::Start(&why_).release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override {
    if (!server_) GTEST_SKIP() << "PostgreSQL tests skipped: " << why_;
    // A database of its own for each test.
    static std::atomic<int> n{0};
    const std::string name = "audit_" + std::to_string(getpid()) + "_" + std::to_string(++n);
    Sql(server_->url(), "CREATE DATABASE " + name);
    url_ = server_->url();
    url_.replace(url_.rfind('/') + 1, std::string::npos, name);
    ASSERT_TRUE(GenerateKeyPair(KeyPath(), KeyPath() + ".pub").ok() ||
                std::filesystem::exists(KeyPath()));
    signer_ = *Signer::LoadPem(KeyPath());
    public_key_ = *PublicKey::LoadPem(KeyPath() + ".pub");
  }

  static std::string KeyPath() {
    return (std::filesystem::temp_directory_path() /
            ("warden-pg-test-key-" + std::to_string(getpid()) + ".pem"))
        .string();
  }

  static void Sql(const std::string& url, const std::string& sql) {
    PGconn* c = PQconnectdb(url.c_str());
    ASSERT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
    PGresult* r = PQexec(c, sql.c_str());
    EXPECT_TRUE(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK)
        << PQresultErrorMessage(r) << " in " << sql;
    PQclear(r);
    PQfinish(c);
  }
  void Sql(const std::string& sql) { Sql(url_, sql); }

  WriterOptions Options() {
    WriterOptions o;
    o.signer = signer_;
    o.checkpoint_every_records = 5;
    o.checkpoint_interval = 0ms;
    o.max_batch = 1;
    o.retry_initial = 10ms;
    o.retry_max = 200ms;
    return o;
  }

  static Record MakeTestRecord(int i) {
    Record r;
    r.time_us = 1700000000000000 + int64_t{i} * 1000000;
    r.request_id = "req-" + std::to_string(i);
    r.key = i % 2 ? "key-odd" : "key-even";
    r.tenant = "acme\ttab\nnewline\\slash";  // COPY escaping
    r.action = i % 4 == 0 ? Action::kBlock : Action::kAllow;
    r.rule = i % 4 == 0 ? "block-secrets" : "";
    r.scores = {{"jailbreak", 0.25f}, {"secrets", i % 4 == 0 ? 1.0f : 0.0f}};
    if (i % 4 == 0) r.findings.push_back({"secrets", "aws_access_key", 3, 23, 1.0f, "[AWS_1]"});
    return r;
  }

  void WriteLog(int n, WriterOptions o) {
    auto store = PostgresStore::Open(url_, OpenMode::kCreate);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto writer = Writer::Start(std::move(*store), o);
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    for (int i = 1; i <= n; ++i) ASSERT_TRUE((*writer)->Append(MakeTestRecord(i)).ok());
    ASSERT_TRUE((*writer)->Close().ok());
  }
  void WriteLog(int n) { WriteLog(n, Options()); }

  VerifyReport RunVerify() {
    auto store = OpenStore(url_, OpenMode::kExisting);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    if (!store.ok()) return {};
    auto report = Verify(**store, {.public_key = public_key_});
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return report.ok() ? *report : VerifyReport{};
  }

  static inline testing::PostgresServer* server_ = nullptr;
  static inline std::string why_;
  std::string url_;
  std::shared_ptr<const Signer> signer_;
  std::shared_ptr<const PublicKey> public_key_;
};

TEST_F(PostgresAuditTest, AppendVerifyRoundTripAndResume) {
  WriteLog(23);
  WriteLog(4);
  VerifyReport report = RunVerify();
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.records, 27u);
  EXPECT_EQ(report.signed_through, 27u);
  auto store = OpenStore(url_, OpenMode::kExisting);
  ASSERT_TRUE(store.ok());
  std::vector<StoredRecord> rows;
  ASSERT_TRUE((*store)
                  ->Query({.limit = 2, .category = "secrets"},
                          [&](const StoredRecord& r) {
                            rows.push_back(r);
                            return true;
                          })
                  .ok());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].seq, 4u);
  EXPECT_EQ(rows[1].seq, 8u);
  EXPECT_EQ(rows[0].tenant, "acme\ttab\nnewline\\slash");
  std::vector<uint64_t> after;
  ASSERT_TRUE((*store)
                  ->Query({.action = "block", .after_seq = 20},
                          [&](const StoredRecord& r) {
                            after.push_back(r.seq);
                            return true;
                          })
                  .ok());
  EXPECT_EQ(after, (std::vector<uint64_t>{27}));  // the second run's record 4
}

TEST_F(PostgresAuditTest, TamperingIsFoundAtTheFirstBadRecord) {
  struct Case {
    std::string name, sql;
    uint64_t bad_seq;
  };
  const std::vector<Case> cases = {
      {"change a column", "UPDATE warden_audit_records SET action = 'allow' WHERE seq = 8", 8},
      {"change the body",
       "UPDATE warden_audit_records SET body = overlay(body placing '\\xff'::bytea from 20) "
       "WHERE seq = 9",
       9},
      {"delete a record", "DELETE FROM warden_audit_records WHERE seq = 7", 7},
      {"insert a record",
       "UPDATE warden_audit_records SET seq = -seq WHERE seq >= 7;"
       "UPDATE warden_audit_records SET seq = 1 - seq WHERE seq < 0;"
       "INSERT INTO warden_audit_records SELECT 7, time_us, request_id, key, tenant, direction, "
       "action, rule, body, hash FROM warden_audit_records WHERE seq = 3",
       7},
      {"swap two",
       "UPDATE warden_audit_records SET seq = -1 WHERE seq = 4;"
       "UPDATE warden_audit_records SET seq = 4 WHERE seq = 6;"
       "UPDATE warden_audit_records SET seq = 6 WHERE seq = -1",
       4},
      {"truncate", "DELETE FROM warden_audit_records WHERE seq > 12", 13},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Sql("DROP TABLE IF EXISTS warden_audit_records, warden_audit_checkpoints, warden_audit_meta");
    WriteLog(20);
    ASSERT_TRUE(RunVerify().ok);
    Sql(c.sql);
    VerifyReport report = RunVerify();
    EXPECT_FALSE(report.ok);
    EXPECT_EQ(report.first_bad_seq, c.bad_seq) << report.problem;
  }
}

TEST_F(PostgresAuditTest, TwoWritersInTwoThreadsKeepOneChain) {
  constexpr int kEach = 300;
  std::vector<std::thread> threads;
  for (int w = 0; w < 2; ++w) {
    auto store = PostgresStore::Open(url_, OpenMode::kCreate);  // races on creating the schema
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    WriterOptions o = Options();
    o.max_batch = 3;
    o.checkpoint_every_records = 40;
    auto writer = Writer::Start(std::move(*store), o);
    ASSERT_TRUE(writer.ok());
    threads.emplace_back([w, writer = std::shared_ptr<Writer>(std::move(*writer))] {
      for (int i = 0; i < kEach; ++i) {
        Record r = MakeTestRecord(i);
        r.request_id = "w" + std::to_string(w) + "-" + std::to_string(i);
        EXPECT_TRUE(writer->Append(std::move(r)).ok());
      }
      EXPECT_TRUE(writer->Close().ok());
    });
  }
  for (auto& t : threads) t.join();
  VerifyReport report = RunVerify();
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.records, 2u * kEach);
  // The two writers' records really interleave in the one chain.
  auto store = OpenStore(url_, OpenMode::kExisting);
  int switches = 0;
  char last = 0;
  ASSERT_TRUE((*store)
                  ->ScanRecords([&](const StoredRecord& r) {
                    if (last && r.request_id[1] != last) ++switches;
                    last = r.request_id[1];
                    return true;
                  })
                  .ok());
  EXPECT_GE(switches, 1);
}

TEST_F(PostgresAuditTest, TwoWriterProcessesKeepOneChain) {
  {
    auto store = PostgresStore::Open(url_, OpenMode::kCreate);
    ASSERT_TRUE(store.ok());
  }
  constexpr int kEach = 300;
  auto write = [&](const char* who) {
    auto store = PostgresStore::Open(url_, OpenMode::kCreate);
    if (!store.ok()) return false;
    WriterOptions o = Options();
    o.max_batch = 4;
    o.checkpoint_every_records = 25;
    auto writer = Writer::Start(std::move(*store), o);
    if (!writer.ok()) return false;
    for (int i = 0; i < kEach; ++i) {
      Record r = MakeTestRecord(i);
      r.request_id = std::string(who) + "-" + std::to_string(i);
      if (!(*writer)->Append(std::move(r)).ok()) return false;
    }
    return (*writer)->Close().ok();
  };
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(write("child") ? 0 : 1);
  EXPECT_TRUE(write("parent"));
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  VerifyReport report = RunVerify();
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.records, 2u * kEach);
}

TEST_F(PostgresAuditTest, ServerRestartMidRunLosesNothing) {
  auto store = PostgresStore::Open(url_, OpenMode::kCreate);
  ASSERT_TRUE(store.ok());
  WriterOptions o = Options();
  o.max_batch = 16;
  o.checkpoint_every_records = 50;
  auto writer = Writer::Start(std::move(*store), o);
  ASSERT_TRUE(writer.ok());
  constexpr int kN = 600;
  std::atomic<int> durable{0}, failed{0};
  std::thread appender([&] {
    for (int i = 1; i <= kN; ++i) {
      Status s = (*writer)->AppendNotify(MakeTestRecord(i), [&](Status st) {
        (st.ok() ? durable : failed)++;
      });
      EXPECT_TRUE(s.ok()) << s.ToString();
      std::this_thread::sleep_for(1ms);
    }
  });
  while ((*writer)->stats().written < 100) std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(server_->Stop());
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE((*writer)->stats().store_available);
  std::string why;
  ASSERT_TRUE(server_->Restart(&why)) << why;
  appender.join();
  ASSERT_TRUE((*writer)->Flush().ok());
  WriterStats stats = (*writer)->stats();
  EXPECT_GT(stats.store_failures, 0u);
  EXPECT_TRUE(stats.store_available);
  ASSERT_TRUE((*writer)->Close().ok());
  EXPECT_EQ(durable.load(), kN);
  EXPECT_EQ(failed.load(), 0);
  VerifyReport report = RunVerify();
  EXPECT_TRUE(report.ok) << report.problem;
  // An ambiguous commit (connection cut after COMMIT was sent) could add a duplicate batch; the
  // restart here is a clean fast shutdown between transactions, so the count is exact.
  EXPECT_EQ(report.records, static_cast<uint64_t>(kN));
}

TEST_F(PostgresAuditTest, StartUpErrorsAreClear) {
  auto missing = PostgresStore::Open(url_, OpenMode::kExisting);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound) << missing.status().ToString();
  Sql("CREATE TABLE warden_audit_records(x INT)");
  auto foreign = PostgresStore::Open(url_, OpenMode::kCreate);
  EXPECT_EQ(foreign.status().code(), StatusCode::kDataLoss) << foreign.status().ToString();
  auto nodb = PostgresStore::Open(url_ + "_nope", OpenMode::kCreate);
  EXPECT_EQ(nodb.status().code(), StatusCode::kUnavailable) << nodb.status().ToString();
}

}  // namespace
}  // namespace warden::audit
