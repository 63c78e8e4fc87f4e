// The shared store: PostgreSQL through libpq (docs/audit-format.md, "PostgreSQL schema").
//
// Several gateways append to one chain. Each append transaction first locks the row
// warden_audit_meta('format') FOR UPDATE, then reads the head; the lock is held until COMMIT, so
// the seq and prev_hash the writer assigns inside the transaction cannot be taken by anyone else.
#include <libpq-fe.h>

#include <cstring>

#include "core/hex.h"
#include "warden/audit.h"

namespace warden::audit {

namespace {

constexpr const char* kSchema = R"sql(
BEGIN;
SELECT pg_advisory_xact_lock(7215004233311560001);
CREATE TABLE IF NOT EXISTS warden_audit_meta(name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS warden_audit_records(
  seq BIGINT PRIMARY KEY,
  time_us BIGINT NOT NULL,
  request_id TEXT NOT NULL,
  key TEXT NOT NULL,
  tenant TEXT NOT NULL,
  direction TEXT NOT NULL,
  action TEXT NOT NULL,
  rule TEXT NOT NULL,
  body BYTEA NOT NULL,
  hash BYTEA NOT NULL);
CREATE INDEX IF NOT EXISTS warden_audit_records_time ON warden_audit_records(time_us);
CREATE INDEX IF NOT EXISTS warden_audit_records_key ON warden_audit_records(key, time_us);
CREATE TABLE IF NOT EXISTS warden_audit_checkpoints(
  seq BIGINT PRIMARY KEY,
  time_us BIGINT NOT NULL,
  prev_checkpoint_seq BIGINT NOT NULL,
  head_hash BYTEA NOT NULL,
  signature BYTEA NOT NULL);
INSERT INTO warden_audit_meta(name, value) VALUES ('format', 'warden-audit-1')
  ON CONFLICT (name) DO NOTHING;
COMMIT;
)sql";

constexpr const char* kSelectRecord =
    "SELECT seq, time_us, request_id, key, tenant, direction, action, rule, body, hash FROM "
    "warden_audit_records";

// Owns a PGresult.
class Result {
 public:
  explicit Result(PGresult* r = nullptr) : r_(r) {}
  ~Result() { PQclear(r_); }
  Result(Result&& o) noexcept : r_(std::exchange(o.r_, nullptr)) {}
  Result& operator=(Result&& o) noexcept {
    PQclear(r_);
    r_ = std::exchange(o.r_, nullptr);
    return *this;
  }
  PGresult* get() const { return r_; }
  ExecStatusType status() const { return r_ ? PQresultStatus(r_) : PGRES_FATAL_ERROR; }
  int rows() const { return PQntuples(r_); }
  std::string_view Value(int row, int col) const {
    return std::string_view(PQgetvalue(r_, row, col), PQgetlength(r_, row, col));
  }
  int64_t Int64(int row, int col) const {  // binary int8
    const auto* p = reinterpret_cast<const unsigned char*>(PQgetvalue(r_, row, col));
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
    return static_cast<int64_t>(v);
  }

 private:
  PGresult* r_;
};

// Appends `s` as a field of COPY's text format.
void CopyText(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '\\': out.append("\\\\"); break;
      case '\t': out.append("\\t"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      default: out.push_back(c);
    }
  }
}
// Appends bytes as a bytea hex literal inside COPY's text format ("\\x" then hex).
void CopyBytea(std::string& out, const void* data, size_t n) {
  out.append("\\\\x");
  AppendHex(out, data, n);
}

// Decodes a bytea in hex text output ("\x0a1b…").
std::string UnhexBytea(std::string_view s) {
  std::string out;
  if (s.substr(0, 2) != "\\x") return out;
  s.remove_prefix(2);
  auto nibble = [](char c) {
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
  };
  for (size_t i = 0; i + 1 < s.size(); i += 2) {
    out.push_back(static_cast<char>(nibble(s[i]) << 4 | nibble(s[i + 1])));
  }
  return out;
}

StoredRecord ReadRow(const Result& r, int row) {
  StoredRecord s;
  s.seq = static_cast<uint64_t>(r.Int64(row, 0));
  s.time_us = r.Int64(row, 1);
  s.request_id = r.Value(row, 2);
  s.key = r.Value(row, 3);
  s.tenant = r.Value(row, 4);
  s.direction = r.Value(row, 5);
  s.action = r.Value(row, 6);
  s.rule = r.Value(row, 7);
  s.body = r.Value(row, 8);
  s.hash = r.Value(row, 9);
  return s;
}

}  // namespace

struct PostgresStore::Impl {
  std::string url;
  std::string shown_url;  // without the password
  PGconn* conn = nullptr;
  std::mutex mu;  // one connection, serialized

  ~Impl() { PQfinish(conn); }

  Status Connect() {
    PQfinish(conn);
    // Our defaults first; with expand_dbname the URL's own settings override them.
    const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
    const char* values[] = {"5", "warden-audit", url.c_str(), nullptr};
    conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
    if (PQstatus(conn) != CONNECTION_OK) {
      std::string msg = conn ? PQerrorMessage(conn) : "out of memory";
      while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
      PQfinish(conn);
      conn = nullptr;
      return UnavailableError(shown_url + ": cannot connect to PostgreSQL: " + msg);
    }
    return OkStatus();
  }
  // Reconnects when the last call lost the connection (server restart, network).
  Status EnsureConnected() {
    if (conn && PQstatus(conn) == CONNECTION_OK) return OkStatus();
    return Connect();
  }

  // Classifies a failed result: a lost connection, a server shutting down or a serialization
  // conflict is Unavailable (retry); anything else is Internal.
  Status Error(const Result& r, std::string_view what) const {
    std::string msg = conn ? PQerrorMessage(conn) : "no connection";
    if (r.get() && PQresultErrorMessage(r.get())[0]) msg = PQresultErrorMessage(r.get());
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    std::string full = shown_url + ": " + std::string(what) + ": " + msg;
    const char* state = r.get() ? PQresultErrorField(r.get(), PG_DIAG_SQLSTATE) : nullptr;
    const std::string_view code = state ? state : "";
    if (!conn || PQstatus(conn) != CONNECTION_OK || code.empty() || code.substr(0, 2) == "08" ||
        code.substr(0, 3) == "57P" || code == "40001" || code == "40P01" || code == "53300") {
      return UnavailableError(full);
    }
    return InternalError(full);
  }

  Result Exec(const char* sql) { return Result(PQexec(conn, sql)); }
  // Text parameters; binary results when `binary`.
  Result Exec(const std::string& sql, const std::vector<std::string>& params, bool binary) {
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p.c_str());
    return Result(PQexecParams(conn, sql.c_str(), static_cast<int>(values.size()), nullptr,
                               values.data(), nullptr, nullptr, binary ? 1 : 0));
  }
  void Rollback() {
    if (conn && PQstatus(conn) == CONNECTION_OK &&
        PQtransactionStatus(conn) != PQTRANS_IDLE) {
      PQclear(PQexec(conn, "ROLLBACK"));
    }
  }

  // Inserts inside the caller's transaction.
  Status InsertRows(std::span<const EncodedRecord> records, const Checkpoint* checkpoint) {
    if (!records.empty()) {
      // Every body is checked before COPY starts, so a bad one leaves nothing half sent.
      std::vector<RecordColumns> columns;
      columns.reserve(records.size());
      for (const EncodedRecord& rec : records) {
        auto c = ReadColumns(rec.body);
        if (!c.ok()) {
          return DataLossError(shown_url + ": refusing to store record: " + c.status().message());
        }
        columns.push_back(*c);
      }
      Result r = Exec(
          "COPY warden_audit_records(seq, time_us, request_id, key, tenant, direction, action, "
          "rule, body, hash) FROM STDIN");
      if (r.status() != PGRES_COPY_IN) return Error(r, "insert records");
      std::string buf;
      buf.reserve(1 << 20);
      for (size_t i = 0; i < records.size(); ++i) {
        const EncodedRecord& rec = records[i];
        const RecordColumns& c = columns[i];
        buf.append(std::to_string(c.seq));
        buf.push_back('\t');
        buf.append(std::to_string(c.time_us));
        for (std::string_view field :
             {c.request_id, c.key, c.tenant, c.direction, c.action, c.rule}) {
          buf.push_back('\t');
          CopyText(buf, field);
        }
        buf.push_back('\t');
        CopyBytea(buf, rec.body.data(), rec.body.size());
        buf.push_back('\t');
        CopyBytea(buf, rec.hash.data(), rec.hash.size());
        buf.push_back('\n');
        if (buf.size() >= (1 << 20)) {
          if (PQputCopyData(conn, buf.data(), static_cast<int>(buf.size())) != 1) break;
          buf.clear();
        }
      }
      if (!buf.empty()) PQputCopyData(conn, buf.data(), static_cast<int>(buf.size()));
      PQputCopyEnd(conn, nullptr);
      Result done(PQgetResult(conn));
      Status s = done.status() == PGRES_COMMAND_OK ? OkStatus() : Error(done, "insert records");
      while (PGresult* extra = PQgetResult(conn)) PQclear(extra);
      if (!s.ok()) return s;
    }
    if (checkpoint) {
      const char* values[5];
      int lengths[5], formats[5] = {0, 0, 0, 1, 1};
      const std::string seq = std::to_string(checkpoint->seq),
                        time = std::to_string(checkpoint->time_us),
                        prev = std::to_string(checkpoint->prev_checkpoint_seq);
      values[0] = seq.c_str();
      values[1] = time.c_str();
      values[2] = prev.c_str();
      values[3] = reinterpret_cast<const char*>(checkpoint->head_hash.data());
      lengths[3] = static_cast<int>(checkpoint->head_hash.size());
      values[4] = checkpoint->signature.data();
      lengths[4] = static_cast<int>(checkpoint->signature.size());
      Result r(PQexecParams(conn,
                            "INSERT INTO warden_audit_checkpoints(seq, time_us, prev_checkpoint_seq,"
                            " head_hash, signature) VALUES ($1, $2, $3, $4, $5)",
                            5, nullptr, values, lengths, formats, 0));
      if (r.status() != PGRES_COMMAND_OK) return Error(r, "insert checkpoint");
    }
    return OkStatus();
  }

  Status Commit() {
    Result r = Exec("COMMIT");
    if (r.status() != PGRES_COMMAND_OK) return Error(r, "commit");
    return OkStatus();
  }

  // Runs `sql` (a SELECT of kSelectRecord's columns) through a cursor, so that a large log is
  // read in pages and `fn` can stop early.
  Status ForEachRecord(const std::string& sql, const std::vector<std::string>& params,
                       const std::function<bool(const StoredRecord&)>& fn) {
    if (Status s = EnsureConnected(); !s.ok()) return s;
    Result r = Exec("BEGIN READ ONLY");
    if (r.status() != PGRES_COMMAND_OK) return Error(r, "begin");
    r = Exec("DECLARE warden_audit_cursor NO SCROLL CURSOR FOR " + sql, params, false);
    if (r.status() != PGRES_COMMAND_OK) {
      Status s = Error(r, "query");
      Rollback();
      return s;
    }
    for (;;) {
      r = Exec("FETCH 2000 FROM warden_audit_cursor", {}, true);
      if (r.status() != PGRES_TUPLES_OK) {
        Status s = Error(r, "read records");
        Rollback();
        return s;
      }
      if (r.rows() == 0) break;
      for (int i = 0; i < r.rows(); ++i) {
        if (!fn(ReadRow(r, i))) {
          Rollback();
          return OkStatus();
        }
      }
    }
    Rollback();  // read only: nothing to commit
    return OkStatus();
  }
};

PostgresStore::PostgresStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PostgresStore::~PostgresStore() = default;

StatusOr<std::unique_ptr<PostgresStore>> PostgresStore::Open(const std::string& url,
                                                             OpenMode mode) {
  auto impl = std::make_unique<Impl>();
  impl->url = url;
  impl->shown_url = RedactStoreUrl(url);
  if (Status s = impl->Connect(); !s.ok()) return s;
  PQsetNoticeProcessor(impl->conn, [](void*, const char*) {}, nullptr);  // "already exists"
  Result r = impl->Exec(
      "SELECT to_regclass('warden_audit_meta') IS NOT NULL, "
      "to_regclass('warden_audit_records') IS NOT NULL");
  if (r.status() != PGRES_TUPLES_OK) return impl->Error(r, "read schema");
  const bool has_meta = r.Value(0, 0) == "t", has_records = r.Value(0, 1) == "t";
  if (!has_meta && has_records) {
    return DataLossError(impl->shown_url +
                         ": table warden_audit_records exists without warden_audit_meta: not a "
                         "Warden audit log, or damaged; Warden will not write into it");
  }
  if (!has_meta) {
    if (mode == OpenMode::kExisting) {
      return NotFoundError(impl->shown_url +
                           ": no Warden audit log in this database (no table warden_audit_meta); "
                           "a gateway configured with this URL creates it");
    }
    // Some processes may race here; the advisory lock in kSchema serializes them.
    r = impl->Exec(kSchema);
    if (r.status() != PGRES_COMMAND_OK) {
      Status s = impl->Error(r, "create schema");
      impl->Rollback();
      return s;
    }
  }
  r = impl->Exec("SELECT value FROM warden_audit_meta WHERE name = 'format'");
  if (r.status() != PGRES_TUPLES_OK) return impl->Error(r, "read format");
  if (r.rows() != 1 || r.Value(0, 0) != "warden-audit-1") {
    return DataLossError(impl->shown_url +
                         ": warden_audit_meta has no format warden-audit-1: not a Warden audit "
                         "log, or damaged; Warden will not write into it");
  }
  return std::unique_ptr<PostgresStore>(new PostgresStore(std::move(impl)));
}

Status PostgresStore::AppendEncoded(std::span<const EncodedRecord> records,
                                    const Checkpoint* checkpoint) {
  std::lock_guard lock(impl_->mu);
  if (Status s = impl_->EnsureConnected(); !s.ok()) return s;
  Result r = impl_->Exec("BEGIN");
  if (r.status() != PGRES_COMMAND_OK) return impl_->Error(r, "begin");
  if (Status s = impl_->InsertRows(records, checkpoint); !s.ok()) {
    impl_->Rollback();
    return s;
  }
  return impl_->Commit();
}

Status PostgresStore::AppendChained(std::span<EncodedRecord> records, const ChainFn& chain) {
  std::lock_guard lock(impl_->mu);
  if (Status s = impl_->EnsureConnected(); !s.ok()) return s;
  // One round trip: begin, take the append lock, read the head.
  Result r = impl_->Exec(
      "BEGIN;"
      "SELECT value FROM warden_audit_meta WHERE name = 'format' FOR UPDATE;"
      "SELECT COALESCE((SELECT seq FROM warden_audit_records ORDER BY seq DESC LIMIT 1), 0),"
      " (SELECT hash FROM warden_audit_records ORDER BY seq DESC LIMIT 1),"
      " (SELECT COALESCE(MAX(seq), 0) FROM warden_audit_checkpoints)");
  if (r.status() != PGRES_TUPLES_OK || r.rows() != 1) {
    Status s = impl_->Error(r, "lock the log and read its head");
    impl_->Rollback();
    return s;
  }
  ChainHead head;
  head.seq = std::stoull(std::string(r.Value(0, 0)));
  const std::string hash = UnhexBytea(r.Value(0, 1));
  if (hash.size() == head.hash.size()) std::memcpy(head.hash.data(), hash.data(), hash.size());
  head.last_checkpoint_seq = std::stoull(std::string(r.Value(0, 2)));
  auto checkpoint = chain(head, records);
  if (!checkpoint.ok()) {
    impl_->Rollback();
    return checkpoint.status();
  }
  if (Status s = impl_->InsertRows(records, *checkpoint ? &**checkpoint : nullptr); !s.ok()) {
    impl_->Rollback();
    return s;
  }
  return impl_->Commit();
}

StatusOr<Store::Tail> PostgresStore::LoadTail() {
  std::lock_guard lock(impl_->mu);
  if (Status s = impl_->EnsureConnected(); !s.ok()) return s;
  Tail tail;
  Result r = impl_->Exec(std::string(kSelectRecord) + " ORDER BY seq DESC LIMIT 1", {}, true);
  if (r.status() != PGRES_TUPLES_OK) return impl_->Error(r, "read last record");
  if (r.rows() == 1) tail.last = ReadRow(r, 0);
  r = impl_->Exec("SELECT COALESCE(MAX(seq), 0)::BIGINT FROM warden_audit_checkpoints", {}, true);
  if (r.status() != PGRES_TUPLES_OK) return impl_->Error(r, "read checkpoints");
  tail.last_checkpoint_seq = static_cast<uint64_t>(r.Int64(0, 0));
  return tail;
}

Status PostgresStore::ScanRecords(const std::function<bool(const StoredRecord&)>& fn) {
  return Query(QueryFilter{}, fn);
}

StatusOr<std::vector<Checkpoint>> PostgresStore::LoadCheckpoints() {
  std::lock_guard lock(impl_->mu);
  if (Status s = impl_->EnsureConnected(); !s.ok()) return s;
  Result r = impl_->Exec(
      "SELECT seq, time_us, prev_checkpoint_seq, head_hash, signature FROM "
      "warden_audit_checkpoints ORDER BY seq",
      {}, true);
  if (r.status() != PGRES_TUPLES_OK) return impl_->Error(r, "read checkpoints");
  std::vector<Checkpoint> out;
  out.reserve(r.rows());
  for (int i = 0; i < r.rows(); ++i) {
    Checkpoint c;
    c.seq = static_cast<uint64_t>(r.Int64(i, 0));
    c.time_us = r.Int64(i, 1);
    c.prev_checkpoint_seq = static_cast<uint64_t>(r.Int64(i, 2));
    const std::string_view head = r.Value(i, 3);
    // A head of the wrong length stays all zero, which cannot match a real hash.
    if (head.size() == c.head_hash.size()) std::memcpy(c.head_hash.data(), head.data(), 32);
    c.signature = r.Value(i, 4);
    out.push_back(std::move(c));
  }
  return out;
}

Status PostgresStore::Query(const QueryFilter& filter,
                            const std::function<bool(const StoredRecord&)>& fn) {
  std::lock_guard lock(impl_->mu);
  std::string sql = std::string(kSelectRecord) + " WHERE TRUE";
  std::vector<std::string> params;
  auto add = [&](const char* column, const char* op, std::string value) {
    params.push_back(std::move(value));
    sql += std::string(" AND ") + column + " " + op + " $" + std::to_string(params.size());
  };
  if (filter.since_us) add("time_us", ">=", std::to_string(*filter.since_us));
  if (filter.until_us) add("time_us", "<", std::to_string(*filter.until_us));
  if (!filter.key.empty()) add("key", "=", filter.key);
  if (!filter.tenant.empty()) add("tenant", "=", filter.tenant);
  if (!filter.action.empty()) add("action", "=", filter.action);
  if (!filter.rule.empty()) add("rule", "=", filter.rule);
  if (filter.after_seq) add("seq", ">", std::to_string(filter.after_seq));
  sql += " ORDER BY seq";
  // A category is decided on the parsed body, so the limit is counted here, not in SQL.
  if (filter.limit && filter.category.empty()) sql += " LIMIT " + std::to_string(filter.limit);
  uint64_t matched = 0;
  return impl_->ForEachRecord(sql, params, [&](const StoredRecord& row) {
    if (!filter.category.empty()) {
      auto body = ParseRecord(row.body);
      if (!body.ok() || !MatchesCategory(*body, filter.category, filter.min_score)) return true;
    }
    if (!fn(row)) return false;
    return !(filter.limit && ++matched >= filter.limit);
  });
}

}  // namespace warden::audit
