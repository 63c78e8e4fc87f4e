// The embedded control store: kill switches and approvals in one SQLite file (WAL mode), shared
// by the gateway and the CLI on the same machine. Counters live in memory: one gateway is the
// only process that counts its own traffic (docs/agent-control.md).
#include <sqlite3.h>

#include <map>
#include <mutex>
#include <unordered_map>

#include "control/control.h"
#include "core/sqlite_statement.h"

namespace warden::control {

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS warden_control_meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO warden_control_meta(name, value) VALUES ('format', 1), ('version', 0);
CREATE TABLE IF NOT EXISTS kills(
  scope TEXT NOT NULL,
  value TEXT NOT NULL,
  time_us INTEGER NOT NULL,
  note TEXT NOT NULL,
  PRIMARY KEY (scope, value));
CREATE TABLE IF NOT EXISTS approvals(
  id TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  created_us INTEGER NOT NULL,
  expires_us INTEGER NOT NULL,
  decided_us INTEGER NOT NULL,
  key TEXT NOT NULL,
  tenant TEXT NOT NULL,
  tool TEXT NOT NULL,
  arguments TEXT NOT NULL,
  rule TEXT NOT NULL,
  reason TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  response TEXT NOT NULL,
  note TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS approvals_request ON approvals(request_hash, created_us);
CREATE INDEX IF NOT EXISTS approvals_created ON approvals(created_us);
CREATE TABLE IF NOT EXISTS reviews(
  id TEXT PRIMARY KEY,
  created_us INTEGER NOT NULL,
  request_id TEXT NOT NULL,
  key TEXT NOT NULL,
  tenant TEXT NOT NULL,
  direction TEXT NOT NULL,
  action TEXT NOT NULL,
  rule TEXT NOT NULL,
  reason TEXT NOT NULL,
  text TEXT NOT NULL,
  scores_json TEXT NOT NULL,
  suspicion REAL NOT NULL,
  threshold REAL NOT NULL,
  label TEXT NOT NULL,
  reviewer TEXT NOT NULL,
  note TEXT NOT NULL,
  labelled_us INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS reviews_created ON reviews(created_us);
CREATE INDEX IF NOT EXISTS reviews_request ON reviews(request_id);
)sql";

using Stmt = SqliteStatement;

constexpr const char* kApprovalColumns =
    "id, state, created_us, expires_us, decided_us, key, tenant, tool, arguments, rule, reason, "
    "request_hash, response, note";

Approval ReadApproval(Stmt& s) {
  Approval a;
  a.id = s.Text(0);
  a.state = ParseApprovalState(s.Text(1)).value_or(ApprovalState::kPending);
  a.created_us = s.Int(2);
  a.expires_us = s.Int(3);
  a.decided_us = s.Int(4);
  a.key = s.Text(5);
  a.tenant = s.Text(6);
  a.tool = s.Text(7);
  a.arguments = s.Text(8);
  a.rule = s.Text(9);
  a.reason = s.Text(10);
  a.request_hash = s.Text(11);
  a.response = s.Text(12);
  a.note = s.Text(13);
  return a;
}

constexpr const char* kReviewColumns =
    "id, created_us, request_id, key, tenant, direction, action, rule, reason, text, scores_json, "
    "suspicion, threshold, label, reviewer, note, labelled_us";

ReviewItem ReadReview(Stmt& s) {
  ReviewItem r;
  r.id = s.Text(0);
  r.created_us = s.Int(1);
  r.request_id = s.Text(2);
  r.key = s.Text(3);
  r.tenant = s.Text(4);
  r.direction = s.Text(5);
  r.action = s.Text(6);
  r.rule = s.Text(7);
  r.reason = s.Text(8);
  r.text = s.Text(9);
  r.scores_json = s.Text(10);
  r.suspicion = s.Real(11);
  r.threshold = s.Real(12);
  r.label = s.Text(13);
  r.reviewer = s.Text(14);
  r.note = s.Text(15);
  r.labelled_us = s.Int(16);
  return r;
}

class SqliteControlStore : public ControlStore {
 public:
  SqliteControlStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  ~SqliteControlStore() override { sqlite3_close(db_); }

  StatusOr<uint64_t> Version() override {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s(db_, "SELECT value FROM warden_control_meta WHERE name = 'version'");
    if (!s.ok() || s.Step() != SQLITE_ROW) return Error("read the version");
    return static_cast<uint64_t>(s.Int(0));
  }

  StatusOr<std::vector<KillEntry>> Kills() override {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s(db_, "SELECT scope, value, time_us, note FROM kills ORDER BY time_us");
    if (!s.ok()) return Error("read the kill switches");
    std::vector<KillEntry> out;
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) {
      auto scope = ParseKillScope(s.Text(0));
      if (!scope) continue;
      out.push_back({.scope = *scope, .value = s.Text(1), .time_us = s.Int(2), .note = s.Text(3)});
    }
    if (rc != SQLITE_DONE) return Error("read the kill switches");
    return out;
  }

  Status Kill(const KillEntry& e) override {
    std::lock_guard<std::mutex> lock(mu_);
    return InTransaction([&]() -> Status {
      Stmt s(db_,
             "INSERT INTO kills(scope, value, time_us, note) VALUES (?1, ?2, ?3, ?4) "
             "ON CONFLICT(scope, value) DO UPDATE SET time_us = ?3, note = ?4");
      s.Bind(1, KillScopeName(e.scope)).Bind(2, e.value).Bind(3, e.time_us).Bind(4, e.note);
      if (s.Step() != SQLITE_DONE) return Error("engage the kill switch");
      return OkStatus();
    });
  }

  StatusOr<int> Revive(KillScope scope, std::string_view value) override {
    std::lock_guard<std::mutex> lock(mu_);
    int removed = 0;
    Status st = InTransaction([&]() -> Status {
      const bool everything = scope == KillScope::kAll && value.empty();
      Stmt s(db_, everything ? "DELETE FROM kills"
                             : "DELETE FROM kills WHERE scope = ?1 AND value = ?2");
      if (!everything) s.Bind(1, KillScopeName(scope)).Bind(2, value);
      if (s.Step() != SQLITE_DONE) return Error("revive");
      removed = sqlite3_changes(db_);
      return OkStatus();
    });
    if (!st.ok()) return st;
    return removed;
  }

  Status CreateApproval(const Approval& a) override {
    std::lock_guard<std::mutex> lock(mu_);
    return InTransaction([&]() -> Status {
      Stmt s(db_, "INSERT INTO approvals VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
                  "?12, ?13, ?14)");
      s.Bind(1, a.id).Bind(2, ApprovalStateName(a.state)).Bind(3, a.created_us);
      s.Bind(4, a.expires_us).Bind(5, a.decided_us).Bind(6, a.key).Bind(7, a.tenant);
      s.Bind(8, a.tool).Bind(9, a.arguments).Bind(10, a.rule).Bind(11, a.reason);
      s.Bind(12, a.request_hash).Bind(13, a.response).Bind(14, a.note);
      if (s.Step() != SQLITE_DONE) return Error("store the approval");
      return OkStatus();
    });
  }

  StatusOr<Approval> GetApproval(std::string_view id) override {
    std::lock_guard<std::mutex> lock(mu_);
    return GetLocked(id);
  }

  StatusOr<std::optional<Approval>> FindApprovalForRequest(std::string_view hash) override {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s(db_, (std::string("SELECT ") + kApprovalColumns +
                 " FROM approvals WHERE request_hash = ?1 ORDER BY created_us DESC LIMIT 1")
                    .c_str());
    s.Bind(1, hash);
    const int rc = s.Step();
    if (rc == SQLITE_ROW) return std::optional<Approval>(ReadApproval(s));
    if (rc != SQLITE_DONE) return Error("look up the approval");
    return std::optional<Approval>();
  }

  StatusOr<std::vector<Approval>> ListApprovals(std::optional<ApprovalState> state,
                                                size_t limit) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::string sql = std::string("SELECT ") + kApprovalColumns + " FROM approvals";
    if (state) sql += " WHERE state = ?1";
    sql += " ORDER BY created_us DESC LIMIT ?2";
    Stmt s(db_, sql.c_str());
    if (state) s.Bind(1, ApprovalStateName(*state));
    s.Bind(2, static_cast<int64_t>(limit));
    std::vector<Approval> out;
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) out.push_back(ReadApproval(s));
    if (rc != SQLITE_DONE) return Error("list approvals");
    return out;
  }

  StatusOr<Approval> Decide(std::string_view id, ApprovalState decision,
                            std::string_view note) override {
    std::lock_guard<std::mutex> lock(mu_);
    Status st = InTransaction([&]() -> Status {
      StatusOr<Approval> a = GetLocked(id);
      if (!a.ok()) return a.status();
      if (a->state != ApprovalState::kPending) {
        return FailedPreconditionError("approval " + std::string(id) + " was already " +
                                       std::string(ApprovalStateName(a->state)));
      }
      Stmt s(db_, "UPDATE approvals SET state = ?2, decided_us = ?3, note = ?4 WHERE id = ?1");
      s.Bind(1, id).Bind(2, ApprovalStateName(decision)).Bind(3, NowMicros()).Bind(4, note);
      if (s.Step() != SQLITE_DONE) return Error("record the decision");
      return OkStatus();
    });
    if (!st.ok()) return st;
    return GetLocked(id);
  }

  Status AddReview(const ReviewItem& r) override {
    std::lock_guard<std::mutex> lock(mu_);
    // Reviews do not bump the version: pollers reload kill switches, not the queue.
    Stmt s(db_, "INSERT INTO reviews VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
                "?13, ?14, ?15, ?16, ?17)");
    s.Bind(1, r.id).Bind(2, r.created_us).Bind(3, r.request_id).Bind(4, r.key).Bind(5, r.tenant);
    s.Bind(6, r.direction).Bind(7, r.action).Bind(8, r.rule).Bind(9, r.reason).Bind(10, r.text);
    s.Bind(11, r.scores_json).BindReal(12, r.suspicion).BindReal(13, r.threshold);
    s.Bind(14, r.label).Bind(15, r.reviewer).Bind(16, r.note).Bind(17, r.labelled_us);
    if (s.Step() != SQLITE_DONE) return Error("store the review item");
    return OkStatus();
  }

  StatusOr<ReviewItem> GetReview(std::string_view id) override {
    std::lock_guard<std::mutex> lock(mu_);
    return GetReviewLocked(id);
  }

  StatusOr<std::optional<ReviewItem>> FindReviewForRequest(std::string_view request_id,
                                                           std::string_view direction) override {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s(db_, (std::string("SELECT ") + kReviewColumns +
                 " FROM reviews WHERE request_id = ?1 AND direction = ?2 ORDER BY created_us "
                 "LIMIT 1")
                    .c_str());
    s.Bind(1, request_id).Bind(2, direction);
    const int rc = s.Step();
    if (rc == SQLITE_ROW) return std::optional<ReviewItem>(ReadReview(s));
    if (rc != SQLITE_DONE) return Error("find the review item of a request");
    return std::optional<ReviewItem>();
  }

  StatusOr<std::vector<ReviewItem>> ListReviews(std::optional<bool> pending,
                                                size_t limit) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::string sql = std::string("SELECT ") + kReviewColumns + " FROM reviews";
    if (pending) sql += *pending ? " WHERE label = ''" : " WHERE label != ''";
    sql += " ORDER BY created_us DESC LIMIT ?1";
    Stmt s(db_, sql.c_str());
    s.Bind(1, static_cast<int64_t>(limit));
    std::vector<ReviewItem> out;
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) out.push_back(ReadReview(s));
    if (rc != SQLITE_DONE) return Error("list review items");
    return out;
  }

  StatusOr<ReviewItem> LabelReview(std::string_view id, std::string_view label,
                                   std::string_view reviewer, std::string_view note) override {
    std::lock_guard<std::mutex> lock(mu_);
    Status st = InTransaction([&]() -> Status {
      StatusOr<ReviewItem> r = GetReviewLocked(id);
      if (!r.ok()) return r.status();
      if (!r->label.empty()) {
        return FailedPreconditionError("review item " + std::string(id) +
                                       " was already labelled " + r->label);
      }
      Stmt s(db_, "UPDATE reviews SET label = ?2, reviewer = ?3, note = ?4, labelled_us = ?5 "
                  "WHERE id = ?1");
      s.Bind(1, id).Bind(2, label).Bind(3, reviewer).Bind(4, note).Bind(5, NowMicros());
      if (s.Step() != SQLITE_DONE) return Error("record the label");
      return OkStatus();
    });
    if (!st.ok()) return st;
    return GetReviewLocked(id);
  }

  StatusOr<int64_t> AddToWindow(std::string_view name, int64_t amount,
                                int64_t window_end_us) override {
    std::lock_guard<std::mutex> lock(counters_mu_);
    Counter& c = counters_[std::string(name)];
    if (c.window_end_us != window_end_us) c = {window_end_us, 0};
    c.total += amount;
    // Forget windows that ended long ago, so keys that stop sending do not grow the map forever.
    if (counters_.size() > 100000) {
      const int64_t now = NowMicros();
      std::erase_if(counters_, [now](const auto& kv) { return kv.second.window_end_us < now; });
    }
    return c.total;
  }

  StatusOr<uint32_t> NoteRepeat(std::string_view scope, std::string_view signature) override {
    std::lock_guard<std::mutex> lock(counters_mu_);
    Repeat& r = repeats_[std::string(scope)];
    if (r.signature == signature) {
      ++r.count;
    } else {
      r.signature = std::string(signature);
      r.count = 1;
    }
    return r.count;
  }

  std::string Describe() const override { return "sqlite:" + path_; }

 private:
  Status Error(std::string_view what) {
    return UnavailableError("control store " + path_ + ": cannot " + std::string(what) + ": " +
                            sqlite3_errmsg(db_));
  }

  StatusOr<Approval> GetLocked(std::string_view id) {
    Stmt s(db_, (std::string("SELECT ") + kApprovalColumns + " FROM approvals WHERE id = ?1")
                    .c_str());
    s.Bind(1, id);
    const int rc = s.Step();
    if (rc == SQLITE_ROW) return ReadApproval(s);
    if (rc != SQLITE_DONE) return Error("read the approval");
    return NotFoundError("no approval with id \"" + std::string(id) +
                         "\" (list them with `warden approvals list`)");
  }

  StatusOr<ReviewItem> GetReviewLocked(std::string_view id) {
    Stmt s(db_, (std::string("SELECT ") + kReviewColumns + " FROM reviews WHERE id = ?1").c_str());
    s.Bind(1, id);
    const int rc = s.Step();
    if (rc == SQLITE_ROW) return ReadReview(s);
    if (rc != SQLITE_DONE) return Error("read the review item");
    return NotFoundError("no review item with id \"" + std::string(id) +
                         "\" (list them with `warden review list`)");
  }

  // Runs `body` in an IMMEDIATE transaction and bumps the version, so pollers see the change.
  template <typename F>
  Status InTransaction(F&& body) {
    if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
      return Error("begin a transaction");
    }
    Status st = body();
    if (st.ok() && sqlite3_exec(db_,
                                "UPDATE warden_control_meta SET value = value + 1 "
                                "WHERE name = 'version'",
                                nullptr, nullptr, nullptr) != SQLITE_OK) {
      st = Error("bump the version");
    }
    if (st.ok() && sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
      st = Error("commit");
    }
    if (!st.ok()) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return st;
  }

  struct Counter {
    int64_t window_end_us = 0;
    int64_t total = 0;
  };
  struct Repeat {
    std::string signature;
    uint32_t count = 0;
  };

  std::mutex mu_;
  sqlite3* db_;
  std::string path_;
  std::mutex counters_mu_;
  std::unordered_map<std::string, Counter> counters_;
  std::unordered_map<std::string, Repeat> repeats_;
};

}  // namespace

StatusOr<std::unique_ptr<ControlStore>> OpenSqliteControlStore(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                                 nullptr);
  auto fail = [&](std::string what) -> Status {
    std::string msg = "control store " + path + ": " + what + ": " +
                      (db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return UnavailableError(std::move(msg));
  };
  if (rc != SQLITE_OK) return fail("cannot open (check the path and its permissions)");
  sqlite3_busy_timeout(db, 2000);
  if (sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", nullptr, nullptr,
                   nullptr) != SQLITE_OK) {
    return fail("not a usable SQLite database, or locked by another program");
  }
  // A database that belongs to something else is refused, not silently extended.
  int64_t foreign_tables = -1;
  {
    Stmt s(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT IN "
               "('warden_control_meta', 'kills', 'approvals', 'reviews') AND name NOT LIKE 'sqlite_%'");
    if (s.ok() && s.Step() == SQLITE_ROW) foreign_tables = s.Int(0);
  }
  if (foreign_tables < 0) return fail("not a usable SQLite database");
  if (foreign_tables > 0) {
    sqlite3_close(db);
    return FailedPreconditionError("control store " + path +
                                   ": holds tables that are not Warden's control state; "
                                   "choose another file");
  }
  if (sqlite3_exec(db, kSchema, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return fail("cannot create the control tables");
  }
  return std::unique_ptr<ControlStore>(new SqliteControlStore(db, path));
}

}  // namespace warden::control
