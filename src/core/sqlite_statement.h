// One prepared SQLite statement, finalized on scope exit, with binders and column readers that
// get the corner cases right once (an empty string_view may have a null data(), which SQLite
// would store as NULL). Header-only: the libraries that use it link SQLite themselves.
//
//   SqliteStatement s(db, "SELECT value FROM meta WHERE name = ?1");
//   s.Bind(1, "version");
//   if (s.ok() && s.Step() == SQLITE_ROW) version = s.Int(0);
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace warden {

class SqliteStatement {
 public:
  SqliteStatement(sqlite3* db, const char* sql) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~SqliteStatement() { sqlite3_finalize(stmt_); }
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() { return stmt_; }
  int Step() { return sqlite3_step(stmt_); }

  SqliteStatement& Bind(int i, std::string_view v) {
    sqlite3_bind_text(stmt_, i, v.data() ? v.data() : "", static_cast<int>(v.size()),
                      SQLITE_TRANSIENT);
    return *this;
  }
  SqliteStatement& Bind(int i, int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  SqliteStatement& BindReal(int i, double v) {
    sqlite3_bind_double(stmt_, i, v);
    return *this;
  }
  SqliteStatement& BindBlob(int i, const void* data, size_t size) {
    sqlite3_bind_blob(stmt_, i, data ? data : "", static_cast<int>(size), SQLITE_TRANSIENT);
    return *this;
  }
  // The same without a copy: the caller keeps the bytes alive until ClearBindings() or the
  // statement's end (hot insert loops).
  SqliteStatement& BindView(int i, std::string_view v) {
    sqlite3_bind_text(stmt_, i, v.data() ? v.data() : "", static_cast<int>(v.size()),
                      SQLITE_STATIC);
    return *this;
  }
  SqliteStatement& BindBlobView(int i, const void* data, size_t size) {
    sqlite3_bind_blob(stmt_, i, data ? data : "", static_cast<int>(size), SQLITE_STATIC);
    return *this;
  }
  // Ready to step again (a statement kept across calls); bindings stay until ClearBindings().
  int Reset() { return sqlite3_reset(stmt_); }
  void ClearBindings() { sqlite3_clear_bindings(stmt_); }

  std::string Text(int col) {
    const auto* p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(stmt_, col))
             : std::string();
  }
  std::string Blob(int col) {
    const void* p = sqlite3_column_blob(stmt_, col);
    return p ? std::string(static_cast<const char*>(p), sqlite3_column_bytes(stmt_, col))
             : std::string();
  }
  int64_t Int(int col) { return sqlite3_column_int64(stmt_, col); }
  double Real(int col) { return sqlite3_column_double(stmt_, col); }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

}  // namespace warden
