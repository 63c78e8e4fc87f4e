#include <algorithm>

#include "warden/audit.h"

namespace warden::audit {

namespace {

Status CheckLimits(const Record& r) {
  for (const std::string* s : {&r.request_id, &r.key, &r.tenant, &r.rule}) {
    if (s->size() > kMaxStringBytes) return InvalidArgumentError("audit record: field too long");
  }
  if (r.scores.size() > kMaxEntries || r.findings.size() > kMaxEntries) {
    return InvalidArgumentError("audit record: too many scores or findings");
  }
  for (const auto& [label, score] : r.scores) {
    if (label.size() > kMaxStringBytes) return InvalidArgumentError("audit record: label too long");
  }
  for (const AuditFinding& f : r.findings) {
    if (f.scanner.size() > kMaxStringBytes || f.type.size() > kMaxStringBytes ||
        f.excerpt.size() > kMaxStringBytes) {
      return InvalidArgumentError("audit record: finding field too long");
    }
  }
  return OkStatus();
}

}  // namespace

Writer::Writer(std::unique_ptr<Store> store, WriterOptions options)
    : store_(std::move(store)), options_(std::move(options)) {
  if (!options_.clock) options_.clock = SystemClockMicros;
  options_.queue_capacity = std::max<size_t>(options_.queue_capacity, 1);
  options_.max_batch = std::max<size_t>(options_.max_batch, 1);
}

StatusOr<std::unique_ptr<Writer>> Writer::Start(std::unique_ptr<Store> store,
                                                WriterOptions options) {
  auto tail = store->LoadTail();
  if (!tail.ok()) return tail.status();
  std::unique_ptr<Writer> w(new Writer(std::move(store), std::move(options)));
  if (tail->last) {
    // Resume from what is stored. The tail's body is parsed rather than trusted column by
    // column so that a damaged last record stops start-up instead of being chained onto.
    auto last = ParseRecord(tail->last->body);
    if (!last.ok()) {
      return DataLossError("audit log: last record " + std::to_string(tail->last->seq) +
                           " is unreadable: " + last.status().message());
    }
    if (last->seq != tail->last->seq ||
        std::string_view(reinterpret_cast<const char*>(last->hash.data()), 32) !=
            tail->last->hash) {
      return DataLossError("audit log: last record " + std::to_string(tail->last->seq) +
                           " does not match its hash; run `warden audit verify`");
    }
    w->last_seq_ = last->seq;
    w->last_hash_ = last->hash;
  }
  w->last_checkpoint_seq_ = tail->last_checkpoint_seq;
  w->last_checkpoint_time_us_ = w->options_.clock();
  w->written_total_ = 0;
  w->thread_ = std::thread([p = w.get()] { p->Run(); });
  return w;
}

Writer::~Writer() { (void)Close(); }

uint64_t Writer::last_seq() const {
  std::lock_guard lock(mu_);
  return last_seq_;
}

Status Writer::Append(Record record) {
  if (Status s = CheckLimits(record); !s.ok()) return s;
  if (record.time_us == 0) record.time_us = options_.clock();
  std::unique_lock lock(mu_);
  if (!error_.ok()) return UnavailableError("audit log unavailable: " + error_.message());
  if (closing_) return UnavailableError("audit log closed");
  if (queue_.size() >= options_.queue_capacity) {
    if (options_.on_full == FullPolicy::kFailClosed) {
      return ResourceExhaustedError("audit queue full (" + std::to_string(options_.queue_capacity) +
                                    " records)");
    }
    not_full_.wait(
        lock, [&] { return queue_.size() < options_.queue_capacity || closing_ || !error_.ok(); });
    if (!error_.ok()) return UnavailableError("audit log unavailable: " + error_.message());
    if (closing_) return UnavailableError("audit log closed");
  }
  queue_.push_back(std::move(record));
  ++queued_total_;
  not_empty_.notify_one();
  return OkStatus();
}

Status Writer::Flush() {
  std::unique_lock lock(mu_);
  const uint64_t target = queued_total_;
  written_.wait(lock, [&] { return written_total_ >= target || !error_.ok(); });
  if (!error_.ok()) return error_;
  return OkStatus();
}

Status Writer::Close() {
  {
    std::lock_guard lock(mu_);
    if (!thread_.joinable()) return error_;
    closing_ = true;
  }
  not_empty_.notify_all();
  not_full_.notify_all();
  thread_.join();
  written_.notify_all();
  std::lock_guard lock(mu_);
  return error_;
}

void Writer::Run() {
  std::vector<Record> batch;
  std::unique_lock lock(mu_);
  for (;;) {
    const bool timed = options_.signer && options_.checkpoint_interval.count() > 0;
    auto ready = [&] { return !queue_.empty() || closing_; };
    if (timed) {
      not_empty_.wait_for(lock, options_.checkpoint_interval, ready);
    } else {
      not_empty_.wait(lock, ready);
    }
    size_t n = std::min(queue_.size(), options_.max_batch);
    if (options_.signer && options_.checkpoint_every_records) {
      // End the batch at the checkpoint boundary so that checkpoints fall every N records
      // exactly, not at whatever seq a large batch happens to end on.
      const uint64_t since = last_seq_ - last_checkpoint_seq_;
      const uint64_t room =
          options_.checkpoint_every_records > since ? options_.checkpoint_every_records - since : 1;
      n = std::min<uint64_t>(n, room);
    }
    batch.clear();
    batch.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    const bool finishing = closing_ && queue_.empty();
    not_full_.notify_all();
    // Hashing and the SQLite transaction run without the lock so appenders keep queueing.
    lock.unlock();
    Status s = WriteBatch(batch, finishing);
    lock.lock();
    if (!s.ok()) {
      error_ = s;
      // Fail every waiter: the queued records can no longer be written, and saying so is the
      // only alternative to dropping them silently.
      not_full_.notify_all();
      written_.notify_all();
      return;
    }
    written_total_ += batch.size();
    written_.notify_all();
    if (finishing) return;
  }
}

Status Writer::WriteBatch(std::vector<Record>& batch, bool force_checkpoint) {
  uint64_t seq = last_seq_;
  Hash prev = last_hash_;
  for (Record& r : batch) {
    r.seq = ++seq;
    r.prev_hash = prev;
    r.hash = ComputeRecordHash(r);
    prev = r.hash;
  }
  std::optional<Checkpoint> checkpoint;
  if (options_.signer && seq > last_checkpoint_seq_) {
    const int64_t now = options_.clock();
    const bool by_count = options_.checkpoint_every_records &&
                          seq - last_checkpoint_seq_ >= options_.checkpoint_every_records;
    const bool by_time =
        options_.checkpoint_interval.count() > 0 &&
        now - last_checkpoint_time_us_ >=
            std::chrono::duration_cast<std::chrono::microseconds>(options_.checkpoint_interval)
                .count();
    if (by_count || by_time || force_checkpoint) {
      checkpoint.emplace();
      checkpoint->seq = seq;
      checkpoint->time_us = now;
      checkpoint->prev_checkpoint_seq = last_checkpoint_seq_;
      checkpoint->head_hash = prev;
      auto sig = options_.signer->Sign(CheckpointSigningBytes(*checkpoint));
      if (!sig.ok()) return sig.status();
      checkpoint->signature = std::move(sig).value();
    }
  }
  if (batch.empty() && !checkpoint) return OkStatus();
  if (Status s = store_->Append(batch, checkpoint ? &*checkpoint : nullptr); !s.ok()) return s;
  {
    std::lock_guard lock(mu_);
    last_seq_ = seq;
  }
  last_hash_ = prev;
  if (checkpoint) {
    last_checkpoint_seq_ = checkpoint->seq;
    last_checkpoint_time_us_ = checkpoint->time_us;
  }
  return OkStatus();
}

}  // namespace warden::audit
