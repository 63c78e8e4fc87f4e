// The embedded store: one SQLite file in WAL mode (docs/audit-format.md, "SQLite schema").
#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "core/sqlite_statement.h"
#include "warden/audit.h"

namespace warden::audit {

namespace {

// Queries by time and by key find their records through two small tables rather than through
// indexes on `records`: an index there cost the writer one B-tree insert per record each, about
// 40% of its time under load, where these cost a few rows per append transaction.
// - record_ranges: one row per transaction: its first and last seq, its earliest record time,
//   and the latest record time in the log up to its last seq, which therefore never decreases:
//   the first range that can hold a time is one index probe away.
// - record_range_keys: one row per key (API key name) that the transaction's records carry.
// Logs made before the ranges keep their indexes on records (records_time, records_key), and
// queries on them use those.
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS warden_audit_meta(name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records(
  seq INTEGER PRIMARY KEY,
  time_us INTEGER NOT NULL,
  request_id TEXT NOT NULL,
  key TEXT NOT NULL,
  tenant TEXT NOT NULL,
  direction TEXT NOT NULL,
  action TEXT NOT NULL,
  rule TEXT NOT NULL,
  body BLOB NOT NULL,
  hash BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS record_ranges(
  first_seq INTEGER PRIMARY KEY,
  last_seq INTEGER NOT NULL,
  min_time_us INTEGER NOT NULL,
  time_high_us INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS record_ranges_time ON record_ranges(time_high_us);
CREATE TABLE IF NOT EXISTS record_range_keys(
  key TEXT NOT NULL,
  first_seq INTEGER NOT NULL,
  PRIMARY KEY(key, first_seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints(
  seq INTEGER PRIMARY KEY,
  time_us INTEGER NOT NULL,
  prev_checkpoint_seq INTEGER NOT NULL,
  head_hash BLOB NOT NULL,
  signature BLOB NOT NULL);
INSERT OR IGNORE INTO warden_audit_meta(name, value) VALUES ('format', 'warden-audit-1');
)sql";

using Stmt = SqliteStatement;

StoredRecord ReadRow(Stmt& s) {
  StoredRecord r;
  r.seq = static_cast<uint64_t>(s.Int(0));
  r.time_us = s.Int(1);
  r.request_id = s.Text(2);
  r.key = s.Text(3);
  r.tenant = s.Text(4);
  r.direction = s.Text(5);
  r.action = s.Text(6);
  r.rule = s.Text(7);
  r.body = s.Blob(8);
  r.hash = s.Blob(9);
  return r;
}

constexpr const char* kSelectRecord =
    "SELECT seq, time_us, request_id, key, tenant, direction, action, rule, body, hash FROM "
    "records";

// WAL checkpoints. SQLite's own (every 1,000 pages, inside the commit that crosses the mark)
// made the writer copy the WAL into the database and fsync both files while every request
// waiting for its record waited too: about 40 ms every 300 ms under load. Here a thread with its
// own connection copies the bulk in the background while the writer goes on appending; then
// the writer copies only the pages committed meanwhile, so that its next transaction starts the
// WAL over instead of letting it grow.
class BackgroundCheckpointer {
 public:
  static constexpr int kStartPages = 1000;  // SQLite's default autocheckpoint
  // If the background copy falls this far behind, the writer checkpoints itself.
  static constexpr int kBackstopPages = 20000;

  // Opens a second connection to `path`; null if it cannot (the writer then checkpoints itself).
  static std::unique_ptr<BackgroundCheckpointer> Start(const std::string& path) {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK ||
        sqlite3_exec(db, "PRAGMA synchronous=NORMAL", nullptr, nullptr, nullptr) != SQLITE_OK) {
      sqlite3_close_v2(db);
      return nullptr;
    }
    sqlite3_busy_timeout(db, 100);
    std::unique_ptr<BackgroundCheckpointer> c(new BackgroundCheckpointer(db));
    c->thread_ = std::thread([p = c.get()] { p->Run(); });
    return c;
  }
  ~BackgroundCheckpointer() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
    sqlite3_close_v2(db_);
  }

  // Called by the writer after each commit, on its connection `writer_db`, with the pages now
  // in the WAL.
  void AfterCommit(sqlite3* writer_db, int wal_pages) {
    enum { kNothing, kCatchUp, kBackstop } what = kNothing;
    {
      std::lock_guard lock(mu_);
      if (finished_) {
        finished_ = false;
        what = kCatchUp;
      } else if (!running_ && wal_pages >= kStartPages) {
        running_ = true;
        cv_.notify_one();
      } else if (wal_pages >= kBackstopPages) {
        what = kBackstop;
      }
    }
    // Passive: never waits for readers; copies what it can. (Busy if the background copy holds
    // the checkpoint lock: it will be back.)
    if (what != kNothing) {
      sqlite3_wal_checkpoint_v2(writer_db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    }
  }

 private:
  explicit BackgroundCheckpointer(sqlite3* db) : db_(db) {}
  void Run() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return (running_ && !finished_) || stop_; });
      if (stop_) return;
      lock.unlock();
      sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      lock.lock();
      running_ = false;
      finished_ = true;
    }
  }

  sqlite3* db_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool running_ = false;   // asked for and not yet finished
  bool finished_ = false;  // finished; the writer has not caught up yet
  bool stop_ = false;
};

}  // namespace

struct SqliteStore::Impl {
  std::string path;
  SqliteOptions options;
  sqlite3* db = nullptr;
  std::mutex mu;  // one connection, serialized: the writer thread is the only hot user
  // The append path's statements, prepared on first use and kept: parsing SQL for every batch
  // cost the writer thread more than hashing did. Each is reset after use, so no read
  // transaction stays open between batches.
  std::unique_ptr<Stmt> begin, commit, read_head, read_checkpoint_seq, insert_record,
      insert_checkpoint, read_last_range, insert_range, insert_range_key;
  // Whether the file has record_ranges (see kSchema); older logs have indexes instead.
  bool ranges = false;
  // Writable stores checkpoint in the background; `wal_pages` is what the WAL held after the
  // last commit (SQLite's WAL hook sets it).
  std::unique_ptr<BackgroundCheckpointer> checkpointer;
  int wal_pages = 0;

  ~Impl() {
    checkpointer.reset();  // before the last connection closes (and checkpoints) the file
    begin.reset();
    commit.reset();
    read_head.reset();
    read_checkpoint_seq.reset();
    insert_record.reset();
    insert_checkpoint.reset();
    read_last_range.reset();
    insert_range.reset();
    insert_range_key.reset();
    sqlite3_close_v2(db);
  }

  // The cached statement in `slot`, prepared from `sql` when first needed; null when preparing
  // fails (Error() then says why).
  Stmt* Cached(std::unique_ptr<Stmt>& slot, const char* sql) {
    if (!slot) {
      auto s = std::make_unique<Stmt>(db, sql);
      if (!s->ok()) return nullptr;
      slot = std::move(s);
    }
    return slot.get();
  }
  // Runs a cached statement that returns no rows.
  Status Run(std::unique_ptr<Stmt>& slot, const char* sql, std::string_view what) {
    Stmt* s = Cached(slot, sql);
    if (!s) return Error(what);
    const int rc = s->Step();
    s->Reset();
    if (rc != SQLITE_DONE) return Error(what);
    return OkStatus();
  }
  Status Begin() { return Run(begin, "BEGIN IMMEDIATE", "begin"); }
  Status Commit() {
    if (Status s = Run(commit, "COMMIT", "commit"); !s.ok()) return s;
    if (checkpointer) checkpointer->AfterCommit(db, wal_pages);
    return OkStatus();
  }
  // Inserts `records` and `checkpoint` inside the caller's transaction.
  Status InsertRows(std::span<const EncodedRecord> records, const Checkpoint* checkpoint);
  // The record_ranges row and record_range_keys rows of records first_seq..last_seq.
  Status InsertRange(uint64_t first_seq, uint64_t last_seq, int64_t min_time_us,
                     int64_t max_time_us, std::vector<std::string_view>& keys);

  // Errors name the file, what failed, SQLite's reason, and for the two a person must act on
  // (damaged, locked) what to do: a gateway that cannot open its log must say why, never start
  // a fresh one.
  Status Error(std::string_view what) const {
    const int code = sqlite3_errcode(db) & 0xff;
    std::string msg = path + ": " + std::string(what) + ": " + sqlite3_errmsg(db);
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED) {
      return UnavailableError(msg + " (another process has held its write lock for more than " +
                              std::to_string(options.busy_timeout.count()) +
                              " ms: stop it, or give this process its own audit log)");
    }
    if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) return DataLossError(Damaged(msg));
    return InternalError(msg);
  }
  std::string Damaged(const std::string& msg) const {
    return msg + " (not a Warden audit log or damaged). Warden will not start a fresh log over " +
           "it: keep the file for investigation, " +
           "run `warden audit verify --db " + path +
           "`, and restore a backup or point --db / the audit config at a new file";
  }
  Status Exec(const char* sql, std::string_view what) {
    if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) return Error(what);
    return OkStatus();
  }
};

SqliteStore::SqliteStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteStore::~SqliteStore() = default;

StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path, OpenMode mode) {
  return Open(path, mode, SqliteOptions{});
}

StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path, OpenMode mode,
                                                         const SqliteOptions& options) {
  struct stat st;
  const bool exists = ::stat(path.c_str(), &st) == 0;
  if (mode == OpenMode::kExisting && !exists) {
    return NotFoundError(path + ": no such audit database (check the path given to --db)");
  }
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->options = options;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (mode == OpenMode::kCreate) flags |= SQLITE_OPEN_CREATE;
  if (sqlite3_open_v2(path.c_str(), &impl->db, flags, nullptr) != SQLITE_OK) {
    return impl->Error("open");
  }
  sqlite3_busy_timeout(impl->db, static_cast<int>(options.busy_timeout.count()));
  // WAL: readers (verify, query) never block the writer. synchronous=NORMAL in WAL keeps every
  // committed transaction across a process crash; only an OS crash or power loss can lose the
  // last ones (docs/audit.md, "Durability").
  if (Status s = impl->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", "set WAL mode");
      !s.ok()) {
    return s;
  }
  if (exists && st.st_size > 0) {
    // An existing file must already be an audit log: creating tables in someone else's database
    // or in a damaged log would hide the problem behind a fresh, empty chain.
    Stmt q(impl->db, "SELECT value FROM warden_audit_meta WHERE name = 'format'");
    if (!q.ok()) {
      Status e = impl->Error("not a Warden audit log");
      return Status(e.code() == StatusCode::kInternal ? StatusCode::kDataLoss : e.code(),
                    e.message());
    }
    const int rc = q.Step();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return impl->Error("read format");
    if (rc != SQLITE_ROW || q.Text(0) != "warden-audit-1") {
      return DataLossError(
          impl->Damaged(path + ": not a Warden audit log (no format warden-audit-1)"));
    }
  } else if (mode == OpenMode::kCreate) {
    if (Status s = impl->Exec(kSchema, "create schema"); !s.ok()) return s;
  }
  {
    Stmt q(impl->db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'record_ranges'");
    const int rc = q.ok() ? q.Step() : SQLITE_ERROR;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return impl->Error("read schema");
    impl->ranges = rc == SQLITE_ROW;
  }
  if (mode == OpenMode::kCreate) {
    // A writer finds out now, with a clear message, that another process holds the write lock,
    // rather than on its first request.
    if (Status s = impl->Exec("BEGIN IMMEDIATE", "take the write lock"); !s.ok()) return s;
    sqlite3_exec(impl->db, "ROLLBACK", nullptr, nullptr, nullptr);
    impl->checkpointer = BackgroundCheckpointer::Start(path);
    if (impl->checkpointer) {
      // Replaces SQLite's automatic checkpoint on this connection.
      sqlite3_wal_hook(
          impl->db,
          [](void* arg, sqlite3*, const char*, int pages) {
            static_cast<Impl*>(arg)->wal_pages = pages;
            return SQLITE_OK;
          },
          impl.get());
    }
  }
  return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(impl)));
}

Status SqliteStore::Impl::InsertRows(std::span<const EncodedRecord> records,
                                     const Checkpoint* checkpoint) {
  if (!records.empty()) {
    Stmt* ins = Cached(insert_record,
                       "INSERT INTO records(seq, time_us, request_id, key, tenant, direction, "
                       "action, rule, body, hash) VALUES (?,?,?,?,?,?,?,?,?,?)");
    if (!ins) return Error("prepare insert");
    // The text columns are views into the body, bound without a copy: the body outlives the
    // step, and the bindings are cleared before it goes away.
    Status result = OkStatus();
    uint64_t first_seq = 0, last_seq = 0;
    int64_t min_time = 0, max_time = 0;
    std::vector<std::string_view> keys;
    for (const EncodedRecord& r : records) {
      auto c = ReadColumns(r.body);
      if (!c.ok()) {
        result = DataLossError(path + ": refusing to store record: " + c.status().message());
        break;
      }
      if (first_seq == 0) {
        first_seq = c->seq;
        min_time = max_time = c->time_us;
      }
      last_seq = c->seq;
      min_time = std::min(min_time, c->time_us);
      max_time = std::max(max_time, c->time_us);
      if (ranges && !c->key.empty()) keys.push_back(c->key);
      ins->Bind(1, static_cast<int64_t>(c->seq))
          .Bind(2, c->time_us)
          .BindView(3, c->request_id)
          .BindView(4, c->key)
          .BindView(5, c->tenant)
          .BindView(6, c->direction)
          .BindView(7, c->action)
          .BindView(8, c->rule)
          .BindBlobView(9, r.body.data(), r.body.size())
          .BindBlobView(10, r.hash.data(), r.hash.size());
      const int rc = ins->Step();
      ins->Reset();
      if (rc != SQLITE_DONE) {
        result = Error("insert record");
        break;
      }
    }
    if (result.ok() && ranges) {
      result = InsertRange(first_seq, last_seq, min_time, max_time, keys);
    }
    ins->ClearBindings();
    if (!result.ok()) return result;
  }
  if (checkpoint) {
    Stmt* ins = Cached(insert_checkpoint,
                       "INSERT INTO checkpoints(seq, time_us, prev_checkpoint_seq, head_hash, "
                       "signature) VALUES (?,?,?,?,?)");
    if (!ins) return Error("prepare checkpoint");
    ins->Bind(1, static_cast<int64_t>(checkpoint->seq))
        .Bind(2, checkpoint->time_us)
        .Bind(3, static_cast<int64_t>(checkpoint->prev_checkpoint_seq))
        .BindBlob(4, checkpoint->head_hash.data(), checkpoint->head_hash.size())
        .BindBlob(5, checkpoint->signature.data(), checkpoint->signature.size());
    const int rc = ins->Step();
    ins->Reset();
    if (rc != SQLITE_DONE) return Error("insert checkpoint");
  }
  return OkStatus();
}

Status SqliteStore::Impl::InsertRange(uint64_t first_seq, uint64_t last_seq, int64_t min_time_us,
                                      int64_t max_time_us, std::vector<std::string_view>& keys) {
  // The last range so far. It ends before first_seq unless someone deleted records by hand and
  // left their ranges: those are cut back, so that no range repeats or hides a record.
  struct {
    int rc;
    int64_t last_seq, time_high_us;
  } prev;
  auto read_prev = [&] {
    Stmt* q = Cached(read_last_range,
                     "SELECT last_seq, time_high_us FROM record_ranges ORDER BY first_seq DESC "
                     "LIMIT 1");
    prev.rc = q ? q->Step() : SQLITE_ERROR;
    if (prev.rc == SQLITE_ROW) prev = {prev.rc, q->Int(0), q->Int(1)};
    if (q) q->Reset();
    return prev.rc == SQLITE_ROW || prev.rc == SQLITE_DONE;
  };
  if (!read_prev()) return Error("read range");
  if (prev.rc == SQLITE_ROW && prev.last_seq >= static_cast<int64_t>(first_seq)) {
    Stmt cut(db, "UPDATE record_ranges SET last_seq = ?1 - 1 WHERE last_seq >= ?1");
    Stmt del(db, "DELETE FROM record_ranges WHERE first_seq >= ?1");
    cut.Bind(1, static_cast<int64_t>(first_seq));
    del.Bind(1, static_cast<int64_t>(first_seq));
    if (!del.ok() || del.Step() != SQLITE_DONE || !cut.ok() || cut.Step() != SQLITE_DONE ||
        !read_prev()) {
      return Error("replace stale ranges");
    }
  }
  // time_high_us: the latest time so far, this transaction's or an earlier one's (a clock that
  // went back).
  if (prev.rc == SQLITE_ROW) max_time_us = std::max(max_time_us, prev.time_high_us);
  Stmt* ins = Cached(insert_range,
                     "INSERT INTO record_ranges(first_seq, last_seq, min_time_us, time_high_us) "
                     "VALUES (?,?,?,?)");
  if (!ins) return Error("prepare range");
  ins->Bind(1, static_cast<int64_t>(first_seq))
      .Bind(2, static_cast<int64_t>(last_seq))
      .Bind(3, min_time_us)
      .Bind(4, max_time_us);
  const int rc_range = ins->Step();
  ins->Reset();
  if (rc_range != SQLITE_DONE) return Error("insert range");
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  Stmt* ins_key = Cached(insert_range_key,
                         "INSERT OR IGNORE INTO record_range_keys(key, first_seq) VALUES (?,?)");
  if (!ins_key) return Error("prepare range key");
  Status result = OkStatus();
  for (std::string_view key : keys) {
    ins_key->BindView(1, key).Bind(2, static_cast<int64_t>(first_seq));
    const int rc_key = ins_key->Step();
    ins_key->Reset();
    if (rc_key != SQLITE_DONE) {
      result = Error("insert range key");
      break;
    }
  }
  ins_key->ClearBindings();
  return result;
}

Status SqliteStore::AppendEncoded(std::span<const EncodedRecord> records,
                                  const Checkpoint* checkpoint) {
  std::lock_guard lock(impl_->mu);
  if (Status s = impl_->Begin(); !s.ok()) return s;
  if (Status s = impl_->InsertRows(records, checkpoint); !s.ok()) {
    sqlite3_exec(impl_->db, "ROLLBACK", nullptr, nullptr, nullptr);
    return s;
  }
  if (Status s = impl_->Commit(); !s.ok()) {
    sqlite3_exec(impl_->db, "ROLLBACK", nullptr, nullptr, nullptr);
    return s;
  }
  return OkStatus();
}

Status SqliteStore::AppendChained(std::span<EncodedRecord> records, const ChainFn& chain) {
  std::lock_guard lock(impl_->mu);
  sqlite3* db = impl_->db;
  // BEGIN IMMEDIATE takes SQLite's write lock, so the head read here stays the head until
  // COMMIT even when other processes append to the same file.
  if (Status s = impl_->Begin(); !s.ok()) return s;
  auto fail = [&](Status s) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return s;
  };
  ChainHead head;
  {
    Stmt* q =
        impl_->Cached(impl_->read_head, "SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1");
    if (!q) return fail(impl_->Error("read head"));
    const int rc = q->Step();
    if (rc == SQLITE_ROW) {
      head.seq = static_cast<uint64_t>(q->Int(0));
      const void* h = sqlite3_column_blob(q->get(), 1);
      if (h && sqlite3_column_bytes(q->get(), 1) == static_cast<int>(head.hash.size())) {
        std::memcpy(head.hash.data(), h, head.hash.size());
      }
    }
    q->Reset();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return fail(impl_->Error("read head"));
  }
  {
    Stmt* q =
        impl_->Cached(impl_->read_checkpoint_seq, "SELECT COALESCE(MAX(seq), 0) FROM checkpoints");
    if (!q) return fail(impl_->Error("read head"));
    const int rc = q->Step();
    if (rc == SQLITE_ROW) {
      head.last_checkpoint_seq = static_cast<uint64_t>(q->Int(0));
    }
    q->Reset();
    if (rc != SQLITE_ROW) return fail(impl_->Error("read head"));
  }
  auto checkpoint = chain(head, records);
  if (!checkpoint.ok()) return fail(checkpoint.status());
  if (Status s = impl_->InsertRows(records, *checkpoint ? &**checkpoint : nullptr); !s.ok()) {
    return fail(std::move(s));
  }
  if (Status s = impl_->Commit(); !s.ok()) return fail(std::move(s));
  return OkStatus();
}

StatusOr<Store::Tail> SqliteStore::LoadTail() {
  std::lock_guard lock(impl_->mu);
  Tail tail;
  {
    Stmt q(impl_->db, (std::string(kSelectRecord) + " ORDER BY seq DESC LIMIT 1").c_str());
    if (!q.ok()) return impl_->Error("read last record");
    const int rc = q.Step();
    if (rc == SQLITE_ROW) {
      tail.last = ReadRow(q);
    } else if (rc != SQLITE_DONE) {
      return impl_->Error("read last record");
    }
  }
  Stmt q(impl_->db, "SELECT COALESCE(MAX(seq), 0) FROM checkpoints");
  if (!q.ok() || q.Step() != SQLITE_ROW) return impl_->Error("read checkpoints");
  tail.last_checkpoint_seq = static_cast<uint64_t>(q.Int(0));
  return tail;
}

Status SqliteStore::ScanRecords(const std::function<bool(const StoredRecord&)>& fn) {
  return Query(QueryFilter{}, fn);
}

StatusOr<std::vector<Checkpoint>> SqliteStore::LoadCheckpoints() {
  std::lock_guard lock(impl_->mu);
  Stmt q(impl_->db,
         "SELECT seq, time_us, prev_checkpoint_seq, head_hash, signature FROM checkpoints "
         "ORDER BY seq");
  if (!q.ok()) return impl_->Error("read checkpoints");
  std::vector<Checkpoint> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    Checkpoint c;
    c.seq = static_cast<uint64_t>(q.Int(0));
    c.time_us = q.Int(1);
    c.prev_checkpoint_seq = static_cast<uint64_t>(q.Int(2));
    const std::string head = q.Blob(3);
    // A head of the wrong length stays all zero, which cannot match a real hash.
    if (head.size() == c.head_hash.size()) std::copy(head.begin(), head.end(), c.head_hash.begin());
    c.signature = q.Blob(4);
    out.push_back(std::move(c));
  }
  if (rc != SQLITE_DONE) return impl_->Error("read checkpoints");
  return out;
}

Status SqliteStore::Query(const QueryFilter& filter,
                          const std::function<bool(const StoredRecord&)>& fn) {
  std::lock_guard lock(impl_->mu);
  std::string sql = kSelectRecord;
  // With ranges, a time or key filter first picks the transactions that can hold a match, then
  // reads only their records. In seq order: each range's records follow the range's own order.
  const bool by_range =
      impl_->ranges && (filter.since_us || filter.until_us || !filter.key.empty());
  if (by_range) {
    sql += " JOIN record_ranges ON seq BETWEEN first_seq AND last_seq WHERE 1";
    if (filter.since_us) {
      sql +=
          " AND first_seq >= (SELECT first_seq FROM record_ranges WHERE time_high_us >= ?1 "
          "ORDER BY time_high_us, first_seq LIMIT 1)";
    }
    if (filter.until_us) sql += " AND min_time_us < ?2";
    if (!filter.key.empty()) {
      sql += " AND first_seq IN (SELECT first_seq FROM record_range_keys WHERE key = ?3)";
    }
    if (filter.after_seq) sql += " AND last_seq > ?7";
  } else {
    sql += " WHERE 1";
  }
  if (filter.since_us) sql += " AND time_us >= ?1";
  if (filter.until_us) sql += " AND time_us < ?2";
  if (!filter.key.empty()) sql += " AND key = ?3";
  if (!filter.tenant.empty()) sql += " AND tenant = ?4";
  if (!filter.action.empty()) sql += " AND action = ?5";
  if (!filter.rule.empty()) sql += " AND rule = ?6";
  if (filter.after_seq) sql += " AND seq > ?7";
  sql += by_range ? " ORDER BY first_seq, seq" : " ORDER BY seq";
  // A category is decided on the parsed body, so the limit is counted here, not in SQL.
  if (filter.limit && filter.category.empty()) sql += " LIMIT " + std::to_string(filter.limit);
  Stmt q(impl_->db, sql.c_str());
  if (!q.ok()) return impl_->Error("query");
  if (filter.since_us) q.Bind(1, *filter.since_us);
  if (filter.until_us) q.Bind(2, *filter.until_us);
  if (!filter.key.empty()) q.Bind(3, filter.key);
  if (!filter.tenant.empty()) q.Bind(4, filter.tenant);
  if (!filter.action.empty()) q.Bind(5, filter.action);
  if (!filter.rule.empty()) q.Bind(6, filter.rule);
  if (filter.after_seq) q.Bind(7, static_cast<int64_t>(filter.after_seq));
  uint64_t matched = 0;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    StoredRecord row = ReadRow(q);
    if (!filter.category.empty()) {
      auto body = ParseRecord(row.body);
      if (!body.ok() || !MatchesCategory(*body, filter.category, filter.min_score)) continue;
    }
    if (!fn(row)) return OkStatus();
    if (filter.limit && ++matched >= filter.limit) return OkStatus();
  }
  if (rc != SQLITE_DONE) return impl_->Error("query");
  return OkStatus();
}

StatusOr<std::optional<Store::FindingAidProblem>> SqliteStore::CheckFindingAid() {
  std::lock_guard lock(impl_->mu);
  if (!impl_->ranges) return std::nullopt;  // an older log: SQLite keeps its indexes itself
  Stmt records(impl_->db, "SELECT seq, time_us, key FROM records ORDER BY seq");
  Stmt ranges(impl_->db,
              "SELECT first_seq, last_seq, min_time_us, time_high_us FROM record_ranges "
              "ORDER BY first_seq");
  Stmt key(impl_->db, "SELECT 1 FROM record_range_keys WHERE key = ?1 AND first_seq = ?2");
  if (!records.ok() || !ranges.ok() || !key.ok()) return impl_->Error("read record_ranges");
  auto problem = [](int64_t seq, const std::string& why) {
    return std::optional<FindingAidProblem>(FindingAidProblem{
        static_cast<uint64_t>(seq),
        "record " + std::to_string(seq) + ": " + why +
            " (record_ranges or record_range_keys were changed: queries by time or key could "
            "miss it)"});
  };
  bool in_range = false;
  int64_t first = 0, last = 0, min_time = 0, high = 0;
  int rc;
  while ((rc = records.Step()) == SQLITE_ROW) {
    const int64_t seq = records.Int(0), time_us = records.Int(1);
    while (!in_range || seq > last) {
      const int rr = ranges.Step();
      if (rr == SQLITE_DONE) return problem(seq, "in no range");
      if (rr != SQLITE_ROW) return impl_->Error("read record_ranges");
      const int64_t next = ranges.Int(0), expected = in_range ? last + 1 : 1;
      if (next > expected) return problem(expected, "in no range");
      if (next < expected) return problem(next, "in two ranges");
      const int64_t prev_high = high;
      first = next;
      last = ranges.Int(1);
      min_time = ranges.Int(2);
      high = ranges.Int(3);
      if (last < first) return problem(first, "in a range that ends before it begins");
      if (in_range && high < prev_high) return problem(first, "its range's latest time goes back");
      in_range = true;
    }
    if (seq < first) return problem(seq, "in no range");
    if (time_us < min_time || time_us > high) {
      return problem(seq, "its time is outside its range's times");
    }
    const std::string k = records.Text(2);
    if (!k.empty()) {
      key.Bind(1, k).Bind(2, first);
      const int kr = key.Step();
      key.Reset();
      if (kr != SQLITE_ROW && kr != SQLITE_DONE) return impl_->Error("read record_range_keys");
      if (kr != SQLITE_ROW) return problem(seq, "its key is not listed for its range");
    }
  }
  if (rc != SQLITE_DONE) return impl_->Error("read records");
  return std::nullopt;
}

}  // namespace warden::audit
