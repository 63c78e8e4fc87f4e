#include <openssl/evp.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstring>
#include <memory>

#include "core/hex.h"
#include "warden/audit.h"

namespace warden::audit {

namespace {

constexpr char kMagic[4] = {'W', 'D', 'A', 'R'};
constexpr uint8_t kVersion = 1;
// Limits keep a hostile body from making the reader allocate without bound; they are far above
// anything a decision produces (docs/audit.md).
constexpr uint32_t kMaxString = kMaxStringBytes;
constexpr uint32_t kMaxCount = kMaxEntries;

void PutU8(std::string& out, uint8_t v) { out.push_back(static_cast<char>(v)); }
void PutU32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}
void PutU64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}
void PutString(std::string& out, std::string_view s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}
void PutFloat(std::string& out, float f) { PutU32(out, std::bit_cast<uint32_t>(f)); }

// Writes a body's parts in their order (docs/audit-format.md, "Record body") and notes whether
// they keep to the format's limits, which ParseRecord enforces. Both serializers, of a Record
// and straight from a verdict, write through it, so the bytes and the limits have one definition.
class BodyWriter {
 public:
  explicit BodyWriter(std::string& out) : out_(out), start_(out.size()) {}
  void Head(uint64_t seq, int64_t time_us, std::string_view request_id, std::string_view key,
            std::string_view tenant, Direction direction, Action action, std::string_view rule) {
    out_.append(kMagic, 4);
    PutU8(out_, kVersion);
    PutU64(out_, seq);
    PutU64(out_, static_cast<uint64_t>(time_us));
    String(request_id);
    String(key);
    String(tenant);
    PutU8(out_, static_cast<uint8_t>(direction));
    PutU8(out_, static_cast<uint8_t>(action));
    String(rule);
  }
  // The number of scores or findings that follow.
  void Count(size_t n) {
    fits_ = fits_ && n <= kMaxCount;
    PutU32(out_, static_cast<uint32_t>(n));
  }
  void Score(std::string_view label, float score) {
    String(label);
    PutFloat(out_, score);
  }
  void Finding(std::string_view scanner, std::string_view type, uint32_t start, uint32_t end,
               float score, std::string_view excerpt) {
    String(scanner);
    String(type);
    PutU32(out_, start);
    PutU32(out_, end);
    PutFloat(out_, score);
    String(excerpt);
  }
  void End(const Hash& prev_hash) {
    out_.append(reinterpret_cast<const char*>(prev_hash.data()), prev_hash.size());
  }
  // OK; or InvalidArgument, with `out` as it was before, when a part broke the limits.
  Status Checked() {
    if (fits_) return OkStatus();
    out_.resize(start_);
    return InvalidArgumentError(
        "audit record: a string over kMaxStringBytes or more than kMaxEntries scores or "
        "findings");
  }

 private:
  void String(std::string_view s) {
    fits_ = fits_ && s.size() <= kMaxString;
    PutString(out_, s);
  }
  std::string& out_;
  const size_t start_;
  bool fits_ = true;
};

void WriteRecord(const Record& r, BodyWriter& w) {
  w.Head(r.seq, r.time_us, r.request_id, r.key, r.tenant, r.direction, r.action, r.rule);
  w.Count(r.scores.size());
  for (const auto& [label, score] : r.scores) w.Score(label, score);
  w.Count(r.findings.size());
  for (const AuditFinding& f : r.findings) {
    w.Finding(f.scanner, f.type, f.start, f.end, f.score, f.excerpt);
  }
  w.End(r.prev_hash);
}

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool U8(uint8_t& v) {
    if (in_.size() < 1) return false;
    v = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return true;
  }
  bool U32(uint32_t& v) {
    if (in_.size() < 4) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(in_[i]);
    in_.remove_prefix(4);
    return true;
  }
  bool U64(uint64_t& v) {
    if (in_.size() < 8) return false;
    v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(in_[i]);
    in_.remove_prefix(8);
    return true;
  }
  bool Float(float& f) {
    uint32_t bits;
    if (!U32(bits)) return false;
    f = std::bit_cast<float>(bits);
    return true;
  }
  // A length-prefixed string, as a view into the input.
  bool View(std::string_view& s) {
    uint32_t n;
    if (!U32(n) || n > kMaxString || in_.size() < n) return false;
    s = in_.substr(0, n);
    in_.remove_prefix(n);
    return true;
  }
  bool String(std::string& s) {
    std::string_view v;
    if (!View(v)) return false;
    s.assign(v);
    return true;
  }
  bool Bytes(uint8_t* out, size_t n) {
    if (in_.size() < n) return false;
    std::memcpy(out, in_.data(), n);
    in_.remove_prefix(n);
    return true;
  }
  // A count is also bounded by the bytes left, so that a short hostile body cannot make the
  // reader allocate 65536 empty entries before failing.
  bool Count(uint32_t& n, size_t min_entry_bytes) {
    return U32(n) && n <= kMaxCount && n <= in_.size() / min_entry_bytes;
  }
  bool done() const { return in_.empty(); }

 private:
  std::string_view in_;
};

// The head of a record body (magic, version, seq, time, ids, direction, action, rule) as views
// into it; `in` is left at the scores. ParseRecord and ReadColumns both start here.
Status ReadHead(Reader& in, RecordColumns& c, Direction& direction, Action& action) {
  char magic[4];
  uint8_t version = 0;
  if (!in.Bytes(reinterpret_cast<uint8_t*>(magic), 4) || std::memcmp(magic, kMagic, 4) != 0) {
    return DataLossError("record body: bad magic (not a Warden audit record)");
  }
  if (!in.U8(version) || version != kVersion) {
    return DataLossError("record body: unknown version " + std::to_string(version));
  }
  uint64_t time = 0;
  uint8_t d = 0, a = 0;
  if (!in.U64(c.seq) || !in.U64(time) || !in.View(c.request_id) || !in.View(c.key) ||
      !in.View(c.tenant) || !in.U8(d) || !in.U8(a) || !in.View(c.rule)) {
    return DataLossError("record body: truncated or oversized header");
  }
  c.time_us = static_cast<int64_t>(time);
  if (d > static_cast<uint8_t>(Direction::kToolResult)) {
    return DataLossError("record body: unknown direction " + std::to_string(d));
  }
  if (a > static_cast<uint8_t>(Action::kKill)) {
    return DataLossError("record body: unknown action " + std::to_string(a));
  }
  direction = static_cast<Direction>(d);
  action = static_cast<Action>(a);
  c.direction = DirectionName(direction);
  c.action = ActionName(action);
  return OkStatus();
}

Hash Sha256(std::string_view data) {
  // Fetched once and a context per thread: EVP_Digest with EVP_sha256() looks the algorithm up
  // and allocates a context on every call, which cost as much as hashing a record.
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  thread_local std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                           &EVP_MD_CTX_free);
  Hash h{};
  unsigned int len = 0;
  if (!md || !ctx || !EVP_DigestInit_ex(ctx.get(), md, nullptr) ||
      !EVP_DigestUpdate(ctx.get(), data.data(), data.size()) ||
      !EVP_DigestFinal_ex(ctx.get(), h.data(), &len)) {
    // Not expected with a working OpenSSL; fall back to the one-shot call.
    EVP_Digest(data.data(), data.size(), h.data(), &len, EVP_sha256(), nullptr);
  }
  return h;
}

}  // namespace

int64_t SystemClockMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Record MakeRecord(const Verdict& verdict, const Message& message, const RequestInfo& info) {
  Record r;
  r.request_id = info.request_id;
  r.key = info.key;
  r.tenant = info.tenant.empty() ? message.tenant : info.tenant;
  r.direction = message.direction;
  r.action = verdict.action;
  r.rule = verdict.rule;
  for (const auto& [label, score] : verdict.scores) {
    if (score >= kMinRecordedScore) r.scores.emplace_back(label, score);
  }
  r.findings.reserve(verdict.findings.size());
  for (const Finding& f : verdict.findings) {
    // Deliberately no text: the span says where, the type says what; the matched bytes (a
    // secret, an email address) stay out of the log.
    r.findings.push_back(AuditFinding{.scanner = f.scanner,
                                      .type = f.type,
                                      .start = f.start,
                                      .end = f.end,
                                      .score = f.score,
                                      .excerpt = {}});
  }
  return r;
}

std::string SerializeRecord(const Record& r) {
  std::string out;
  out.reserve(128 + r.request_id.size() + r.key.size() + r.tenant.size() + r.rule.size() +
              r.scores.size() * 24 + r.findings.size() * 48);
  BodyWriter w(out);
  WriteRecord(r, w);  // whatever its size: tests hash and parse records beyond the limits
  return out;
}

Status AppendSerializedRecord(const Record& r, std::string& out) {
  BodyWriter w(out);
  WriteRecord(r, w);
  return w.Checked();
}

Status AppendDecisionBody(const Verdict& verdict, const Message& message, const RequestInfo& info,
                          int64_t time_us, std::string& out) {
  const std::string_view tenant =
      info.tenant.empty() ? std::string_view(message.tenant) : info.tenant;
  auto kept = [](const std::pair<std::string, float>& s) { return s.second >= kMinRecordedScore; };
  BodyWriter w(out);
  w.Head(0, time_us, info.request_id, info.key, tenant, message.direction, verdict.action,
         verdict.rule);
  w.Count(std::count_if(verdict.scores.begin(), verdict.scores.end(), kept));
  for (const auto& s : verdict.scores) {
    if (kept(s)) w.Score(s.first, s.second);
  }
  w.Count(verdict.findings.size());
  for (const Finding& f : verdict.findings) {
    w.Finding(f.scanner, f.type, f.start, f.end, f.score, {});  // no excerpt: see MakeRecord
  }
  w.End(Hash{});  // prev_hash, set by the writer
  return w.Checked();
}

Hash ComputeRecordHash(const Record& r) { return Sha256(SerializeRecord(r)); }

EncodedRecord EncodeRecord(const Record& r) { return EncodedRecord{SerializeRecord(r), r.hash}; }

void SealRecord(EncodedRecord& r, uint64_t seq, const Hash& prev_hash) {
  // seq follows the magic and the version byte; prev_hash ends the body (the format fixes both).
  constexpr size_t kSeqOffset = sizeof(kMagic) + 1;
  if (r.body.size() < kSeqOffset + 8 + prev_hash.size()) return;  // not from SerializeRecord
  for (int i = 0; i < 8; ++i) r.body[kSeqOffset + i] = static_cast<char>(seq >> (56 - 8 * i));
  std::memcpy(r.body.data() + r.body.size() - prev_hash.size(), prev_hash.data(), prev_hash.size());
  r.hash = Sha256(r.body);
}

StatusOr<RecordColumns> ReadColumns(std::string_view body) {
  Reader in(body);
  RecordColumns c;
  Direction direction;
  Action action;
  if (Status st = ReadHead(in, c, direction, action); !st.ok()) return st;
  return c;
}

StatusOr<Record> ParseRecord(std::string_view body) {
  Reader in(body);
  Record r;
  RecordColumns head;
  if (Status st = ReadHead(in, head, r.direction, r.action); !st.ok()) return st;
  r.seq = head.seq;
  r.time_us = head.time_us;
  r.request_id.assign(head.request_id);
  r.key.assign(head.key);
  r.tenant.assign(head.tenant);
  r.rule.assign(head.rule);
  uint32_t n = 0;
  if (!in.Count(n, 8)) return DataLossError("record body: truncated or oversized header");
  r.scores.resize(n);
  for (auto& [label, score] : r.scores) {
    if (!in.String(label) || !in.Float(score))
      return DataLossError("record body: truncated scores");
  }
  if (!in.Count(n, 24)) return DataLossError("record body: truncated or oversized findings count");
  r.findings.resize(n);
  for (AuditFinding& f : r.findings) {
    if (!in.String(f.scanner) || !in.String(f.type) || !in.U32(f.start) || !in.U32(f.end) ||
        !in.Float(f.score) || !in.String(f.excerpt)) {
      return DataLossError("record body: truncated findings");
    }
  }
  if (!in.Bytes(r.prev_hash.data(), r.prev_hash.size())) {
    return DataLossError("record body: truncated prev_hash");
  }
  if (!in.done()) return DataLossError("record body: trailing bytes");
  r.hash = Sha256(body);
  return r;
}

std::string HashToHex(const Hash& h) { return HexOf(h.data(), h.size()); }

std::string CheckpointSigningBytes(const Checkpoint& c) {
  std::string out = "warden-audit-checkpoint-v1";
  out.push_back('\0');
  PutU64(out, c.seq);
  PutU64(out, static_cast<uint64_t>(c.time_us));
  PutU64(out, c.prev_checkpoint_seq);
  out.append(reinterpret_cast<const char*>(c.head_hash.data()), c.head_hash.size());
  return out;
}

}  // namespace warden::audit
