// `warden audit verify|query|export|tail` as a user runs them, on logs written by the library.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>

#include "postgres_server.h"
#include "tests/support/temp_dir.h"
#include "warden/audit.h"

namespace warden::audit {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

struct CliRun {
  int exit_code;
  std::string out;  // stdout and stderr
};

CliRun Warden(const std::string& args) {
  const std::string cmd = std::string(WARDEN_BINARY_DIR) + "/tools/warden/warden " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

int CountLines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

class AuditCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(GenerateKeyPair(dir_.str() + "/key.pem", dir_.str() + "/key.pub").ok());
  }

  void Write(const std::string& url, int first, int last) {
    auto store = OpenStore(url, OpenMode::kCreate);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    WriterOptions o;
    o.signer = *Signer::LoadPem(dir_.str() + "/key.pem");
    o.checkpoint_every_records = 10;
    auto writer = Writer::Start(std::move(*store), o);
    ASSERT_TRUE(writer.ok());
    for (int i = first; i <= last; ++i) {
      Record r;
      r.time_us = 1714521600000000 + int64_t{i} * 1000000;  // 2024-05-01 + i s
      r.request_id = "req-" + std::to_string(i);
      r.key = i % 2 ? "alice" : "bob";
      r.action = i % 5 == 0 ? Action::kBlock : Action::kAllow;
      r.rule = i % 5 == 0 ? "no-jailbreaks" : "";
      r.scores = {{"jailbreak", i % 5 == 0 ? 0.9f : 0.1f}};
      if (i % 7 == 0) r.findings.push_back({"pii", "email", 0, 10, 1.0f, "[EMAIL_1]"});
      ASSERT_TRUE((*writer)->Append(std::move(r)).ok());
    }
    ASSERT_TRUE((*writer)->Close().ok());
  }

  const TempDir dir_{"audit-cli"};
  const std::string db_ = dir_.str() + "/audit.db";
};

TEST_F(AuditCliTest, VerifyQueryExportTail) {
  Write(db_, 1, 30);
  CliRun v = Warden("audit verify --db " + db_ + " --public-key " + dir_.str() + "/key.pub");
  EXPECT_EQ(v.exit_code, 0) << v.out;
  EXPECT_NE(v.out.find("OK " + db_ + ": 30 records, 3 checkpoints, signatures verified"),
            std::string::npos)
      << v.out;

  CliRun q = Warden("audit query --db sqlite:" + db_ + " --category jailbreak --json");
  EXPECT_EQ(q.exit_code, 0) << q.out;
  EXPECT_EQ(CountLines(q.out), 6) << q.out;  // 5, 10, … 30
  CliRun email = Warden("audit query --db " + db_ + " --category email --key alice");
  EXPECT_EQ(email.exit_code, 0) << email.out;
  EXPECT_NE(email.out.find("email@0-10"), std::string::npos) << email.out;  // 7, 21
  EXPECT_NE(email.out.find("2 records"), std::string::npos) << email.out;
  CliRun range = Warden("audit query --db " + db_ +
                     " --since 2024-05-01T00:00:05Z --until 2024-05-01T00:00:10Z --json");
  EXPECT_EQ(CountLines(range.out), 5) << range.out;
  CliRun bad = Warden("audit query --db " + db_ + " --action blok");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.out.find("unknown action \"blok\""), std::string::npos) << bad.out;

  CliRun e =
      Warden("audit export --db " + db_ + " --action block --out " + dir_.str() + "/out.jsonl");
  EXPECT_EQ(e.exit_code, 0) << e.out;
  std::ifstream in(dir_.str() + "/out.jsonl");
  std::string line;
  std::vector<std::string> lines;
  while (std::getline(in, line)) lines.push_back(line);
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[0].find("{\"seq\":5,\"time\":\"2024-05-01T00:00:05.000000Z\""), 0u) << lines[0];
  EXPECT_FALSE(fs::exists(dir_.str() + "/out.jsonl.partial"));

  CliRun t = Warden("audit tail --db " + db_ + " -n 3 --json");
  EXPECT_EQ(CountLines(t.out), 3) << t.out;
  EXPECT_EQ(t.out.find("{\"seq\":28,"), 0u) << t.out;
}

TEST_F(AuditCliTest, TailFollowsNewRecords) {
  Write(db_, 1, 5);
  const std::string cmd = "timeout 5 " + std::string(WARDEN_BINARY_DIR) +
                          "/tools/warden/warden audit tail -f -n 1 --interval 20 --json --db " + db_;
  FILE* p = popen(cmd.c_str(), "r");
  char buf[8192];
  ASSERT_NE(fgets(buf, sizeof buf, p), nullptr);
  EXPECT_EQ(std::string(buf).find("{\"seq\":5,"), 0u) << buf;
  Write(db_, 6, 7);
  ASSERT_NE(fgets(buf, sizeof buf, p), nullptr);
  EXPECT_EQ(std::string(buf).find("{\"seq\":6,"), 0u) << buf;
  ASSERT_NE(fgets(buf, sizeof buf, p), nullptr);
  EXPECT_EQ(std::string(buf).find("{\"seq\":7,"), 0u) << buf;
  pclose(p);
}

TEST_F(AuditCliTest, VerifyNamesTheFirstBadRecordAndExitsOne) {
  Write(db_, 1, 30);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "DELETE FROM records WHERE seq = 8", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  CliRun v = Warden("audit verify --db " + db_ + " --public-key " + dir_.str() + "/key.pub");
  EXPECT_EQ(v.exit_code, 1) << v.out;
  EXPECT_NE(v.out.find("first bad record: 8"), std::string::npos) << v.out;
}

TEST_F(AuditCliTest, DamagedOrMissingFileIsExitTwoWithAClearMessage) {
  std::ofstream(db_) << std::string(8192, 'z');
  CliRun v = Warden("audit verify --db " + db_);
  EXPECT_EQ(v.exit_code, 2) << v.out;
  EXPECT_NE(v.out.find(db_), std::string::npos) << v.out;
  EXPECT_NE(v.out.find("not a Warden audit log or damaged"), std::string::npos) << v.out;
  CliRun m = Warden("audit query --db " + dir_.str() + "/nope.db");
  EXPECT_EQ(m.exit_code, 2);
  EXPECT_NE(m.out.find("no such audit database"), std::string::npos) << m.out;
  CliRun u = Warden("audit verify --db mysql://h/db");
  EXPECT_EQ(u.exit_code, 2);
  EXPECT_NE(u.out.find("unknown scheme"), std::string::npos) << u.out;
}

TEST_F(AuditCliTest, PostgresUrl) {
  std::string why;
  auto pg = testing::PostgresServer::Start(&why);
  if (!pg) GTEST_SKIP() << "PostgreSQL part skipped: " << why;
  Write(pg->url(), 1, 25);
  CliRun v = Warden("audit verify --db " + pg->url() + " --public-key " + dir_.str() + "/key.pub");
  EXPECT_EQ(v.exit_code, 0) << v.out;
  EXPECT_NE(v.out.find("25 records"), std::string::npos) << v.out;
  CliRun e = Warden("audit export --db " + pg->url() + " --category jailbreak");
  EXPECT_EQ(CountLines(e.out), 5) << e.out;
}

}  // namespace
}  // namespace warden::audit
