// The audit log: an append-only, hash-chained record of every decision Warden makes, with
// checkpoints signed by Ed25519, so that nobody can quietly change, delete, insert or reorder a
// record. The formats (record body, checkpoint, SQLite and PostgreSQL schemas, JSONL export) are
// specified in docs/audit-format.md; how to run it is in docs/audit.md.
//
//   auto store = warden::audit::OpenStore("sqlite:/var/lib/warden/audit.db",  // or postgresql://…
//                                         warden::audit::OpenMode::kCreate);
//   auto writer = warden::audit::Writer::Start(std::move(*store), options);
//   Status s = (*writer)->Append(warden::audit::MakeRecord(verdict, message, {.request_id = id}));
//   // s not ok: the caller refuses the request (the decision could not be recorded).
//
// Thread-safety: Record and Checkpoint are values. Signer and PublicKey are immutable after
// loading and safe to share. Store implementations are thread-safe. Writer::Append may be called
// from any number of threads.
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "warden/message.h"
#include "warden/status.h"
#include "warden/verdict.h"

namespace warden::audit {

using Hash = std::array<uint8_t, 32>;  // SHA-256

// Microseconds since the Unix epoch. Injected so that tests and replays control time.
using Clock = std::function<int64_t()>;
// The system clock, in microseconds since the Unix epoch.
int64_t SystemClockMicros();

// One finding as stored: what and where, never the matched text itself. `excerpt` is whatever
// the caller decided may be stored (a redacted excerpt such as "[EMAIL_1]"); MakeRecord leaves
// it empty.
struct AuditFinding {
  std::string scanner;
  std::string type;
  uint32_t start = 0;
  uint32_t end = 0;
  float score = 0;
  std::string excerpt;
  bool operator==(const AuditFinding&) const = default;
};

// One decision. `seq`, `prev_hash` and `hash` are assigned by the Writer; `time_us` by
// Writer::Append from the injected clock when it is 0.
struct Record {
  uint64_t seq = 0;     // 1, 2, 3 … without gaps
  int64_t time_us = 0;  // microseconds since the Unix epoch
  std::string request_id;
  std::string key;  // API key name (never the key itself)
  std::string tenant;
  Direction direction = Direction::kInput;
  Action action = Action::kAllow;
  std::string rule;                                   // empty: the default decision
  std::vector<std::pair<std::string, float>> scores;  // label -> [0,1]
  std::vector<AuditFinding> findings;
  Hash prev_hash{};  // hash of record seq-1; all zero for seq 1
  Hash hash{};       // SHA-256 of SerializeRecord(*this)
  bool operator==(const Record&) const = default;
};

// MakeRecord keeps the scores at or above this and leaves the rest out: a record then says which
// labels the text came near, not that it scored 0.0003 on the seventeen others. That cut a
// default-policy record from about 490 bytes to about 120, and the log's write cost with it.
// Thresholds below it cannot be audited from the scores (the action and rule still are).
inline constexpr float kMinRecordedScore = 0.01f;

// Who asked, for MakeRecord.
struct RequestInfo {
  std::string_view request_id;
  std::string_view key;
  std::string_view tenant;  // overrides message.tenant when not empty
};

// Builds a record from a verdict: action, rule, scores, and each finding's scanner, type, span
// and score. The message text, the redacted text and replacement originals are NOT copied, so a
// record never holds the secret or PII that a finding matched.
Record MakeRecord(const Verdict& verdict, const Message& message, const RequestInfo& info);

// Appends to `out` the body of MakeRecord(verdict, message, info) with `time_us`, seq 0 and a
// zero prev_hash: the same bytes as AppendSerializedRecord of that record, without building it
// (no copies of its strings). For Writer::AppendBodies. InvalidArgument, with nothing appended,
// beyond the format's limits.
Status AppendDecisionBody(const Verdict& verdict, const Message& message, const RequestInfo& info,
                          int64_t time_us, std::string& out);

// Format limits: a string field holds at most kMaxStringBytes, and a record at most kMaxEntries
// scores and kMaxEntries findings. Writer::Append rejects records beyond them.
inline constexpr uint32_t kMaxStringBytes = 1 << 20;
inline constexpr uint32_t kMaxEntries = 1 << 16;

// The canonical serialization of `r` without its `hash` field (docs/audit.md, "Record body").
// Deterministic: equal records give equal bytes.
std::string SerializeRecord(const Record& r);
// The same bytes appended to `out` (whose capacity a caller can reuse); InvalidArgument, with
// nothing appended, beyond the format's limits (which SerializeRecord does not check).
Status AppendSerializedRecord(const Record& r, std::string& out);
// SHA-256 of SerializeRecord(r).
Hash ComputeRecordHash(const Record& r);
// Parses a record body. Rejects truncated input, trailing bytes, unknown versions and enum
// values, and lengths over the format's limits. The returned record's `hash` is the SHA-256 of
// `body`. Safe on untrusted input.
StatusOr<Record> ParseRecord(std::string_view body);

std::string HashToHex(const Hash& h);

// A record as the writer hands it to a store: its canonical body and the hash stored beside it.
// The appending thread serializes a record once (EncodeRecord); the writer thread then only
// writes seq and prev_hash into the body and hashes it (SealRecord), and the store reads its
// columns out of the same bytes (ReadColumns).
struct EncodedRecord {
  std::string body;  // SerializeRecord(record)
  Hash hash{};       // the stored hash: SHA-256(body) once sealed
};
// body = SerializeRecord(r), hash = r.hash (whatever the caller set: tests store bad hashes).
EncodedRecord EncodeRecord(const Record& r);
// Sets the body's seq and prev_hash (fixed places in the format: docs/audit-format.md, "Record
// body") and `hash` to SHA-256 of the result. REQUIRES: `r.body` came from SerializeRecord.
void SealRecord(EncodedRecord& r, uint64_t seq, const Hash& prev_hash);

// The fields a store keeps in columns beside the body, read from it without copying: the views
// point into it.
struct RecordColumns {
  uint64_t seq = 0;
  int64_t time_us = 0;
  std::string_view request_id, key, tenant, direction, action, rule;
};
// Reads the columns from the head of `body`. DataLoss when it is not a well-formed record head
// (stores refuse to write such a body).
StatusOr<RecordColumns> ReadColumns(std::string_view body);

// A signed statement "the chain up to record `seq` ends in `head_hash`".
struct Checkpoint {
  uint64_t seq = 0;  // last record covered
  int64_t time_us = 0;
  uint64_t prev_checkpoint_seq = 0;  // 0 for the first checkpoint
  Hash head_hash{};                  // hash of record `seq`
  std::string signature;             // 64-byte Ed25519 signature of CheckpointSigningBytes
};
// The bytes a checkpoint's signature covers (docs/audit.md, "Checkpoint").
std::string CheckpointSigningBytes(const Checkpoint& c);

// An Ed25519 private key. Immutable; thread-safe.
class Signer {
 public:
  // Loads a PEM (PKCS#8) Ed25519 private key, e.g. one written by GenerateKeyPair.
  static StatusOr<std::shared_ptr<const Signer>> LoadPem(const std::string& path);
  ~Signer();
  // Returns the 64-byte signature of `data`.
  StatusOr<std::string> Sign(std::string_view data) const;
  // The public key as PEM (SubjectPublicKeyInfo).
  std::string PublicKeyPem() const;

 private:
  explicit Signer(void* pkey) : pkey_(pkey) {}
  void* pkey_;  // EVP_PKEY*
};

// An Ed25519 public key. Immutable; thread-safe.
class PublicKey {
 public:
  // Loads a PEM public key; a PEM private key is accepted too (its public half is used).
  static StatusOr<std::shared_ptr<const PublicKey>> LoadPem(const std::string& path);
  static StatusOr<std::shared_ptr<const PublicKey>> FromPem(std::string_view pem);
  ~PublicKey();
  bool Verify(std::string_view data, std::string_view signature) const;

 private:
  explicit PublicKey(void* pkey) : pkey_(pkey) {}
  void* pkey_;  // EVP_PKEY*
};

// Writes a new Ed25519 private key to `private_path` (PEM, mode 0600; refuses to overwrite) and
// its public key to `public_path` (PEM).
Status GenerateKeyPair(const std::string& private_path, const std::string& public_path);

// A stored record as it comes back from a store, before any checking: the columns, the
// canonical body and the stored hash. The verifier checks that all of them agree.
struct StoredRecord {
  uint64_t seq = 0;
  int64_t time_us = 0;
  std::string request_id, key, tenant, direction, action, rule;
  std::string body;
  std::string hash;  // 32 bytes when intact
};

// What `warden audit query|export|tail` filter on. Empty / unset fields match everything.
struct QueryFilter {
  std::optional<int64_t> since_us;  // time_us >= since_us
  std::optional<int64_t> until_us;  // time_us < until_us
  std::string key;
  std::string tenant;
  std::string action;  // "block", …
  std::string rule;
  uint64_t limit = 0;  // 0: no limit
  // Only records with seq > after_seq (`tail -f` resumes here). Default: 0, every record.
  uint64_t after_seq = 0;
  // Only records with a score for this label >= min_score, or a finding of this type
  // ("jailbreak", "privacy", "email", "aws_access_key"). Decided on the hashed body, so a damaged
  // body never matches. Empty: any.
  std::string category;
  float min_score = 0.5f;
};

// True when `body` (a parsed record) has `category` as a score label >= min_score or as a
// finding type. Used by stores to apply QueryFilter::category.
bool MatchesCategory(const Record& body, std::string_view category, float min_score);

// One record as a JSON object on one line, without a trailing newline: the schema of
// `warden audit export` and `query --json` (docs/audit-format.md, "JSONL export"). A body that
// does not parse gives the columns and an "error" member instead of scores and findings.
std::string RecordToJson(const StoredRecord& row);
// "2024-05-01T12:00:00.000123Z" for microseconds since the Unix epoch.
std::string FormatTimeMicros(int64_t time_us);

// The end of the chain as a store sees it inside an append transaction.
struct ChainHead {
  uint64_t seq = 0;                  // last record's seq; 0 when the log is empty
  Hash hash{};                       // its stored hash; all zero when empty
  uint64_t last_checkpoint_seq = 0;  // 0 when there is no checkpoint
};

// Called by Store::AppendChained inside its transaction, with the chain's head read under the
// store's lock. Must seal every record (SealRecord: seq, prev_hash and hash, in order, continuing
// from `head`) and may return a checkpoint to store in the same transaction (nullopt: none). An
// error aborts the transaction. It may be called more than once for one AppendChained call if
// the store retries, each time with the then current head; it must not keep state across calls.
using ChainFn = std::function<StatusOr<std::optional<Checkpoint>>(const ChainHead& head,
                                                                  std::span<EncodedRecord>)>;

// Where records and checkpoints live. Implementations are thread-safe.
//
// Errors: Unavailable means "try again later" (the database is locked, restarting or
// unreachable; a network store reconnects on the next call). Any other code is permanent for the
// writer (DataLoss: the log is damaged; Internal: a bug or a full disk).
class Store {
 public:
  virtual ~Store() = default;
  // Appends `records` (consecutive, sealed) and, when not null, `checkpoint`, in one atomic,
  // durable transaction. The caller owns the chain: nothing checks that the records continue the
  // stored tail or that a hash matches its body (tests use this to write tampered logs).
  // DataLoss, and nothing written, when a body is not a well-formed record (ReadColumns).
  virtual Status AppendEncoded(std::span<const EncodedRecord> records,
                               const Checkpoint* checkpoint) = 0;
  // The same for records with seq and hash set: EncodeRecord on each, then AppendEncoded.
  Status Append(std::span<const Record> records, const Checkpoint* checkpoint);
  // Appends `records` at the end of the chain in one atomic, durable transaction: takes the
  // store's append lock (so several writers, in several processes, keep one gap-free chain),
  // reads the head, calls `chain(head, records)` to seal them (and maybe sign a checkpoint),
  // inserts, and commits. On success `records` hold the values stored. `records` may be empty (a
  // checkpoint alone). This is what Writer uses.
  // Default: LoadTail + chain + AppendEncoded, correct only when this object is the log's only
  // writer (for test fakes); SqliteStore and PostgresStore lock inside the transaction.
  virtual Status AppendChained(std::span<EncodedRecord> records, const ChainFn& chain);
  // The last stored record (nullopt when empty) and the last checkpoint's seq (0 if none), for a
  // writer that resumes the chain.
  struct Tail {
    std::optional<StoredRecord> last;
    uint64_t last_checkpoint_seq = 0;
  };
  virtual StatusOr<Tail> LoadTail() = 0;
  // Calls `fn` on every record in seq order; stops early when `fn` returns false.
  virtual Status ScanRecords(const std::function<bool(const StoredRecord&)>& fn) = 0;
  // Every checkpoint, in seq order.
  virtual StatusOr<std::vector<Checkpoint>> LoadCheckpoints() = 0;
  // Records matching `filter`, in seq order.
  virtual Status Query(const QueryFilter& filter,
                       const std::function<bool(const StoredRecord&)>& fn) = 0;
  // What a store keeps beside the records so that queries find them (SQLite's record_ranges)
  // must agree with them, or a query could miss a record that `verify` sees. Returns the first
  // record it misplaces and why, or nullopt. Default: nothing kept beside the records.
  struct FindingAidProblem {
    uint64_t seq = 0;
    std::string problem;
  };
  virtual StatusOr<std::optional<FindingAidProblem>> CheckFindingAid() { return std::nullopt; }
};

enum class OpenMode {
  kCreate,    // create the file and schema when missing (the gateway)
  kExisting,  // the file must exist and hold an audit log (verify, query)
};

// Opens the store that `url` names:
//   sqlite:/var/lib/warden/audit.db   sqlite:audit.db   sqlite:///var/lib/warden/audit.db
//   /var/lib/warden/audit.db          audit.db            (a bare path is SQLite)
//   postgresql://user:password@host:5432/dbname?sslmode=require   (postgres:// too; any libpq URI)
// Errors are those of SqliteStore::Open and PostgresStore::Open; InvalidArgument for an unknown
// scheme. Messages never contain a password.
StatusOr<std::unique_ptr<Store>> OpenStore(std::string_view url, OpenMode mode);
// `url` with any password replaced by "***", for logs and error messages.
std::string RedactStoreUrl(std::string_view url);

struct SqliteOptions {
  // How long a statement waits for another process's lock before Unavailable. Default: 5 s.
  std::chrono::milliseconds busy_timeout{5000};
};

// SQLite in WAL mode, one file (docs/audit-format.md, "SQLite schema"). Several processes may
// append to one file: AppendChained chains under SQLite's write lock.
class SqliteStore : public Store {
 public:
  // Opens `path`. Errors (never a silent fresh log), each naming the file and what to do:
  // NotFound when kExisting and the file is missing; DataLoss when the file is not SQLite, not an
  // audit log, or damaged; Unavailable when another process holds its write lock longer than the
  // busy timeout (kCreate checks that it can write).
  static StatusOr<std::unique_ptr<SqliteStore>> Open(const std::string& path, OpenMode mode);
  static StatusOr<std::unique_ptr<SqliteStore>> Open(const std::string& path, OpenMode mode,
                                                     const SqliteOptions& options);
  ~SqliteStore() override;

  Status AppendEncoded(std::span<const EncodedRecord> records,
                       const Checkpoint* checkpoint) override;
  Status AppendChained(std::span<EncodedRecord> records, const ChainFn& chain) override;
  StatusOr<Tail> LoadTail() override;
  Status ScanRecords(const std::function<bool(const StoredRecord&)>& fn) override;
  StatusOr<std::vector<Checkpoint>> LoadCheckpoints() override;
  Status Query(const QueryFilter& filter,
               const std::function<bool(const StoredRecord&)>& fn) override;
  StatusOr<std::optional<FindingAidProblem>> CheckFindingAid() override;

 private:
  struct Impl;
  explicit SqliteStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// PostgreSQL through libpq, for several gateways sharing one log (docs/audit-format.md,
// "PostgreSQL schema"). One connection per object, used under a mutex. Appends lock the row
// warden_audit_meta('format') FOR UPDATE, so writers in any number of processes form one chain.
// When the connection is lost, the failing call returns Unavailable and the next call reconnects.
class PostgresStore : public Store {
 public:
  // Connects to `url` (a libpq URI or "key=value" conninfo). kCreate creates the tables when
  // missing (safe when several gateways start at once); kExisting requires them. Errors:
  // Unavailable when the server cannot be reached, NotFound when kExisting and there is no log,
  // DataLoss when the tables exist but are not a Warden audit log.
  static StatusOr<std::unique_ptr<PostgresStore>> Open(const std::string& url, OpenMode mode);
  ~PostgresStore() override;

  Status AppendEncoded(std::span<const EncodedRecord> records,
                       const Checkpoint* checkpoint) override;
  Status AppendChained(std::span<EncodedRecord> records, const ChainFn& chain) override;
  StatusOr<Tail> LoadTail() override;
  Status ScanRecords(const std::function<bool(const StoredRecord&)>& fn) override;
  StatusOr<std::vector<Checkpoint>> LoadCheckpoints() override;
  Status Query(const QueryFilter& filter,
               const std::function<bool(const StoredRecord&)>& fn) override;

 private:
  struct Impl;
  explicit PostgresStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// What Writer::Append does when its queue is full.
enum class FullPolicy {
  kBlock,       // wait for room: the request waits, nothing is lost
  kFailClosed,  // return ResourceExhausted at once: the caller refuses the request
};

struct WriterOptions {
  // Records waiting to be written. Default: 65536.
  size_t queue_capacity = 65536;
  // Most records per transaction. Default: 4096.
  size_t max_batch = 4096;
  // Group commit: when the previous transaction held more than one record (records are
  // arriving faster than one transaction takes), wait from its end up to this long for
  // `linger_records` records before the next one, so that the fixed cost of a transaction is
  // shared. A lone record is never held back. Default: 0 (commit at once). A group larger than
  // the callers waiting on it can fill only makes them all wait out the time: with 64 clients,
  // 256 left the gateway idle 10% of the time, 32 about 2%.
  std::chrono::microseconds linger{0};
  size_t linger_records = 32;
  FullPolicy on_full = FullPolicy::kBlock;
  // A checkpoint after this many records… Default: 1000. 0: never by count.
  uint64_t checkpoint_every_records = 1000;
  // …or after this long with unsigned records. Default: 10 s. Zero: never by time.
  std::chrono::milliseconds checkpoint_interval{10000};
  // Signs checkpoints; null: no checkpoints are written (the chain alone, unsigned). Writers
  // sharing one log must share one key, or verify with one public key fails.
  std::shared_ptr<const Signer> signer;
  // Default: SystemClockMicros.
  Clock clock;
  // When the store answers Unavailable (PostgreSQL restarting, SQLite locked), the writer keeps
  // the batch and retries after retry_initial, doubling up to retry_max, until it succeeds.
  // Meanwhile kBlock appenders queue (and wait when the queue is full) and kFailClosed appenders
  // get Unavailable at once. Any other store error is permanent. Defaults: 50 ms, 2 s.
  std::chrono::milliseconds retry_initial{50};
  std::chrono::milliseconds retry_max{2000};
  // How long Close() keeps retrying an unavailable store before it gives up, fails what is left
  // with Unavailable and returns. Default: 10 s.
  std::chrono::milliseconds close_timeout{10000};
  // Called on the writer thread after every committed transaction with the number of records
  // written so far (every record whose Append ticket is at most `written` is durable), and once
  // more with the permanent error when the writer stops taking records (the records after
  // `written` never will be). One call per transaction, not per record: a gateway wakes its
  // waiting requests with one post per worker thread. Same rules as AppendNotify's callback:
  // quick, never blocking, no Flush, Close or blocking Append. May be empty.
  std::function<void(uint64_t written, const Status& error)> on_written;
};

// A snapshot of a Writer's counters, for metrics and /readyz.
struct WriterStats {
  uint64_t queued = 0;          // records waiting in the queue now
  uint64_t accepted = 0;        // records ever accepted by Append/AppendNotify
  uint64_t written = 0;         // records ever committed
  uint64_t refused = 0;         // Append/AppendNotify calls that returned an error
  uint64_t store_failures = 0;  // failed store transactions (each retry counts)
  uint64_t batches = 0;         // committed transactions
  uint64_t last_seq = 0;        // seq of the last record this writer committed
  bool store_available = true;  // false while a failed transaction is being retried
  Status error;                 // the permanent error that stopped the writer; OK otherwise
};

// Appends records off the request path: Append queues, one thread hashes, chains and writes
// batches. Thread-safe: every method may be called from any thread, except that Close() and the
// destructor must not be called from an AppendNotify callback or from on_written.
class Writer {
 public:
  // Resumes the chain from the store's tail. Fails if the store cannot be read.
  static StatusOr<std::unique_ptr<Writer>> Start(std::unique_ptr<Store> store,
                                                 WriterOptions options);
  // Flushes and stops.
  ~Writer();

  // Queues `record` (seq, prev_hash and hash are ignored; time_us is set from the clock when 0).
  // Returns OK once queued; ResourceExhausted when the queue is full under kFailClosed;
  // Unavailable after a store error or Close(). Never drops a record silently: a record is
  // either queued (and written) or the caller gets an error. When `ticket` is given, sets it to
  // the record's place in the order of acceptance (1, 2, …): the record is durable once
  // WriterOptions::on_written reports `written >= *ticket`.
  Status Append(Record record, uint64_t* ticket = nullptr);
  // Like Append, and calls `on_durable` exactly once: with OK after the transaction holding the
  // record has committed, or with the error if it never will be (permanent store error, or Close
  // gave up on an unavailable store). When AppendNotify itself returns an error, `on_durable` is
  // never called. The callback runs on the writer thread, without Writer locks held, after the
  // batch commits: it must be quick and must not block (post to an executor to resume a
  // coroutine), and must not call Flush, Close, or Append under kBlock (they wait for this
  // thread). For a server with many requests in flight, tickets and on_written cost less: one
  // call per transaction instead of one per record.
  Status AppendNotify(Record record, std::function<void(Status)> on_durable);
  // Queues records already serialized by AppendDecisionBody (or AppendSerializedRecord with seq
  // 0 and a zero prev_hash), back to back in `bodies`, the i-th `sizes[i]` bytes long, with the
  // times they carry. One lock for all; they are accepted or refused together, as Append says,
  // and `ticket` is the last one's. InvalidArgument when the bytes are not such bodies.
  Status AppendBodies(std::string_view bodies, std::span<const uint32_t> sizes,
                      uint64_t* ticket = nullptr);
  // Waits until every record queued before the call is durable. Returns the store's error if a
  // write failed.
  Status Flush();
  // Flushes, writes a final checkpoint when there are unsigned records and a signer, and stops
  // the thread. Later Appends fail with Unavailable.
  Status Close();

  // The seq of the last record this writer committed (with several writers on one log, the
  // log's last seq may be higher).
  uint64_t last_seq() const;
  // Counters; cheap (one lock).
  WriterStats stats() const;

 private:
  // A queued record: its body is the next `size` bytes of the queue's byte buffer.
  struct Pending {
    size_t size = 0;
    std::function<void(Status)> on_durable;  // may be empty
  };
  // Records in order with their bodies back to back. Appenders copy bodies in, and the writer
  // swaps whole buffers out: no memory allocated by a request thread is freed by the writer
  // thread (a free into another thread's malloc arena takes that arena's lock).
  struct PendingRecords {
    std::vector<Pending> items;
    std::string bytes;
    void clear() {
      items.clear();
      bytes.clear();
    }
  };
  Writer(std::unique_ptr<Store> store, WriterOptions options);
  Status AppendRecord(Record record, std::function<void(Status)> on_durable, uint64_t* ticket);
  // Queues `sizes.size()` serialized bodies unless `checked` (the caller's validation) or the
  // writer's state refuses them.
  Status Enqueue(Status checked, std::string_view bodies, std::span<const uint32_t> sizes,
                 std::function<void(Status)> on_durable, uint64_t* ticket);
  void Run();
  // Moves the first `n` queued records into batch_. REQUIRES: mu_ held.
  void TakeBatch(size_t n);
  Status WriteBatch(bool force_checkpoint);
  // Fails the callbacks of batch_ and of everything queued with `error`.
  void FailAll(const Status& error, std::unique_lock<std::mutex>& lock);

  std::unique_ptr<Store> store_;
  WriterOptions options_;

  mutable std::mutex mu_;
  std::condition_variable not_empty_;  // writer waits for records
  std::condition_variable not_full_;   // kBlock appenders wait for room
  std::condition_variable written_;    // Flush waits for progress
  PendingRecords queue_;
  uint64_t queued_total_ = 0;   // records ever accepted
  uint64_t written_total_ = 0;  // records ever committed (or failed, once error_ is set)
  uint64_t refused_ = 0;
  uint64_t store_failures_ = 0;
  uint64_t batches_ = 0;
  size_t last_batch_size_ = 0;
  bool lingering_ = false;  // Run waits for a full group (see Run)
  bool store_available_ = true;
  bool closing_ = false;
  Status error_;

  // Owned by the writer thread.
  PendingRecords batch_;
  std::vector<EncodedRecord> encoded_;  // the batch's bodies; strings keep their capacity
  uint64_t last_seq_ = 0;
  Hash last_hash_{};
  uint64_t last_checkpoint_seq_ = 0;
  int64_t last_checkpoint_time_us_ = 0;
  std::thread thread_;
};

struct VerifyOptions {
  // When set, every checkpoint's signature must verify with this key, and a log with records
  // must have at least one checkpoint. When null, checkpoints are checked against the chain but
  // their signatures are not.
  std::shared_ptr<const PublicKey> public_key;
  // Called with the number of records checked so far, every 65536 records (a progress bar).
  std::function<void(uint64_t records)> progress;
};

struct VerifyReport {
  bool ok = true;
  uint64_t records = 0;
  uint64_t checkpoints = 0;
  uint64_t signed_through = 0;  // last seq covered by a good checkpoint
  // When !ok: the first bad record's seq (or the checkpoint's seq when `in_checkpoint`) and why.
  uint64_t first_bad_seq = 0;
  bool in_checkpoint = false;
  std::string problem;
};

// Walks the chain in seq order and the checkpoints, and reports the first problem: a record whose
// body, hash, columns or seq do not agree, a gap, a prev_hash that is not the previous record's
// hash, a checkpoint that does not match the chain or whose signature is bad or missing.
// Returns an error only when the store cannot be read.
StatusOr<VerifyReport> Verify(Store& store, const VerifyOptions& options);

}  // namespace warden::audit
