#include <algorithm>

#include "warden/audit.h"

namespace warden::audit {

Status Store::Append(std::span<const Record> records, const Checkpoint* checkpoint) {
  std::vector<EncodedRecord> encoded;
  encoded.reserve(records.size());
  for (const Record& r : records) encoded.push_back(EncodeRecord(r));
  return AppendEncoded(encoded, checkpoint);
}

Status Store::AppendChained(std::span<EncodedRecord> records, const ChainFn& chain) {
  auto tail = LoadTail();
  if (!tail.ok()) return tail.status();
  ChainHead head;
  head.last_checkpoint_seq = tail->last_checkpoint_seq;
  if (tail->last) {
    head.seq = tail->last->seq;
    if (tail->last->hash.size() == head.hash.size()) {
      std::copy(tail->last->hash.begin(), tail->last->hash.end(), head.hash.begin());
    }
  }
  auto checkpoint = chain(head, records);
  if (!checkpoint.ok()) return checkpoint.status();
  return AppendEncoded(records, *checkpoint ? &**checkpoint : nullptr);
}

Writer::Writer(std::unique_ptr<Store> store, WriterOptions options)
    : store_(std::move(store)), options_(std::move(options)) {
  if (!options_.clock) options_.clock = SystemClockMicros;
  options_.queue_capacity = std::max<size_t>(options_.queue_capacity, 1);
  options_.max_batch = std::max<size_t>(options_.max_batch, 1);
  options_.retry_initial = std::max(options_.retry_initial, std::chrono::milliseconds(1));
  options_.retry_max = std::max(options_.retry_max, options_.retry_initial);
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
                           " is unreadable: " + last.status().message() +
                           "; run `warden audit verify` and keep the log for investigation");
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

WriterStats Writer::stats() const {
  std::lock_guard lock(mu_);
  WriterStats s;
  s.queued = queue_.items.size();
  s.accepted = queued_total_;
  s.written = written_total_;
  s.refused = refused_;
  s.store_failures = store_failures_;
  s.batches = batches_;
  s.last_seq = last_seq_;
  s.store_available = store_available_;
  s.error = error_;
  return s;
}

Status Writer::Append(Record record, uint64_t* ticket) {
  return AppendRecord(std::move(record), nullptr, ticket);
}

Status Writer::AppendNotify(Record record, std::function<void(Status)> on_durable) {
  return AppendRecord(std::move(record), std::move(on_durable), nullptr);
}

Status Writer::AppendRecord(Record record, std::function<void(Status)> on_durable,
                            uint64_t* ticket) {
  if (record.time_us == 0) record.time_us = options_.clock();
  record.seq = 0;
  record.prev_hash = Hash{};
  // Serialized here, once, on the appending thread, into a buffer that thread keeps: the writer
  // thread only seals a copy of the bytes, and frees nothing this thread allocated.
  thread_local std::string body;
  body.clear();
  Status limits = AppendSerializedRecord(record, body);
  const uint32_t size = static_cast<uint32_t>(body.size());
  return Enqueue(std::move(limits), body, std::span(&size, 1), std::move(on_durable), ticket);
}

Status Writer::AppendBodies(std::string_view bodies, std::span<const uint32_t> sizes,
                            uint64_t* ticket) {
  // Sealing writes seq and prev_hash at fixed places: only well-formed heads may reach it.
  Status checked = OkStatus();
  size_t at = 0;
  for (uint32_t size : sizes) {
    if (size > bodies.size() - at || !ReadColumns(bodies.substr(at, size)).ok()) break;
    at += size;
  }
  if (at != bodies.size() || sizes.empty()) {
    checked = InvalidArgumentError("audit: AppendBodies was given bytes that are not record bodies");
  }
  return Enqueue(std::move(checked), bodies, sizes, nullptr, ticket);
}

Status Writer::Enqueue(Status checked, std::string_view bodies, std::span<const uint32_t> sizes,
                       std::function<void(Status)> on_durable, uint64_t* ticket) {
  std::unique_lock lock(mu_);
  auto refuse = [&](Status s) {
    ++refused_;
    return s;
  };
  if (!checked.ok()) return refuse(std::move(checked));
  if (!error_.ok()) return refuse(UnavailableError("audit log unavailable: " + error_.message()));
  if (closing_) return refuse(UnavailableError("audit log closed"));
  if (!store_available_ && options_.on_full == FullPolicy::kFailClosed) {
    // Fail closed means no request proceeds whose record cannot be made durable soon.
    return refuse(UnavailableError("audit store unavailable (retrying); failing closed"));
  }
  const size_t before = queue_.items.size();
  // Records appended together go in together; more than the whole queue holds go into an empty one.
  if (before > 0 && before + sizes.size() > options_.queue_capacity) {
    if (options_.on_full == FullPolicy::kFailClosed) {
      return refuse(ResourceExhaustedError(
          "audit queue full (" + std::to_string(options_.queue_capacity) + " records)"));
    }
    not_full_.wait(lock, [&] {
      return queue_.items.empty() ||
             queue_.items.size() + sizes.size() <= options_.queue_capacity || closing_ ||
             !error_.ok();
    });
    if (!error_.ok()) return refuse(UnavailableError("audit log unavailable: " + error_.message()));
    if (closing_) return refuse(UnavailableError("audit log closed"));
  }
  for (uint32_t size : sizes) queue_.items.push_back(Pending{size, nullptr});
  queue_.items.back().on_durable = std::move(on_durable);
  queue_.bytes.append(bodies);
  queued_total_ += sizes.size();
  if (ticket) *ticket = queued_total_;
  // The writer waits for the first record, or (lingering) for a full group: waking it for every
  // record in between would only cost a context switch each.
  const size_t queued = queue_.items.size();
  if ((queued == sizes.size() && !lingering_) || queued >= options_.linger_records ||
      options_.linger.count() == 0) {
    not_empty_.notify_one();
  }
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

void Writer::FailAll(const Status& error, std::unique_lock<std::mutex>& lock) {
  std::vector<std::function<void(Status)>> callbacks;
  for (PendingRecords* records : {&batch_, &queue_}) {
    for (Pending& p : records->items) {
      if (p.on_durable) callbacks.push_back(std::move(p.on_durable));
    }
    records->clear();
  }
  const uint64_t written = written_total_;
  not_full_.notify_all();
  written_.notify_all();
  lock.unlock();
  for (auto& cb : callbacks) cb(error);
  if (options_.on_written) options_.on_written(written, error);
  lock.lock();
}

void Writer::TakeBatch(size_t n) {
  batch_.clear();
  if (n == queue_.items.size()) {
    // The usual case: the whole queue, by swapping buffers (both keep their capacity).
    std::swap(batch_, queue_);
    return;
  }
  size_t bytes = 0;
  for (size_t i = 0; i < n; ++i) bytes += queue_.items[i].size;
  batch_.items.assign(std::make_move_iterator(queue_.items.begin()),
                      std::make_move_iterator(queue_.items.begin() + n));
  queue_.items.erase(queue_.items.begin(), queue_.items.begin() + n);
  batch_.bytes.assign(queue_.bytes, 0, bytes);
  queue_.bytes.erase(0, bytes);
}

void Writer::Run() {
  std::vector<std::function<void(Status)>> callbacks;
  std::unique_lock lock(mu_);
  for (;;) {
    if (options_.linger.count() > 0 && last_batch_size_ > 1 && !closing_ &&
        queue_.items.size() < options_.linger_records) {
      // Records came faster than a transaction takes: wait for a full group or the linger time
      // from the end of the last transaction, unwoken by the group's first record (Enqueue
      // looks at `lingering_`), so that a group costs this thread one wake-up, not two.
      lingering_ = true;
      not_empty_.wait_for(lock, options_.linger, [&] {
        return queue_.items.size() >= options_.linger_records || closing_;
      });
      lingering_ = false;
    }
    const bool timed = options_.signer && options_.checkpoint_interval.count() > 0;
    auto ready = [&] { return !queue_.items.empty() || closing_; };
    if (timed) {
      not_empty_.wait_for(lock, options_.checkpoint_interval, ready);
    } else {
      not_empty_.wait(lock, ready);
    }
    size_t n = std::min(queue_.items.size(), options_.max_batch);
    if (options_.signer && options_.checkpoint_every_records) {
      // End the batch at the checkpoint boundary so that checkpoints fall every N records
      // exactly, not at whatever seq a large batch happens to end on. (With several writers on
      // one log the boundary is a guess; the checkpoint then comes with the first batch past it.)
      const uint64_t since =
          last_seq_ >= last_checkpoint_seq_ ? last_seq_ - last_checkpoint_seq_ : 0;
      const uint64_t room =
          options_.checkpoint_every_records > since ? options_.checkpoint_every_records - since : 1;
      n = std::min<uint64_t>(n, room);
    }
    TakeBatch(n);
    bool finishing = closing_ && queue_.items.empty();
    not_full_.notify_all();
    // Hashing and the transaction run without the lock so appenders keep queueing.
    lock.unlock();
    Status s = WriteBatch(finishing);
    auto retry_delay = options_.retry_initial;
    std::optional<std::chrono::steady_clock::time_point> close_deadline;
    while (s.code() == StatusCode::kUnavailable) {
      // A transient failure (server restarting, file locked): keep the batch, say so in the
      // counters, and try again. Records are never dropped; appenders see the policy.
      lock.lock();
      ++store_failures_;
      store_available_ = false;
      if (closing_) {
        const auto now = std::chrono::steady_clock::now();
        if (!close_deadline) close_deadline = now + options_.close_timeout;
        if (now >= *close_deadline) break;  // give up, lock held
      }
      // Wake early when Close() begins, so that its deadline starts counting.
      not_empty_.wait_for(lock, retry_delay, [&] { return closing_ && !close_deadline; });
      lock.unlock();
      retry_delay = std::min(retry_delay * 2, options_.retry_max);
      s = WriteBatch(finishing);
    }
    if (!lock.owns_lock()) lock.lock();
    if (!s.ok()) {
      if (s.code() != StatusCode::kUnavailable) ++store_failures_;
      error_ = s;
      // Fail every waiter: the queued records can no longer be written, and saying so is the
      // only alternative to dropping them silently.
      FailAll(s, lock);
      return;
    }
    store_available_ = true;
    ++batches_;
    last_batch_size_ = batch_.items.size();
    callbacks.clear();
    for (Pending& p : batch_.items) {
      if (p.on_durable) callbacks.push_back(std::move(p.on_durable));
    }
    finishing = finishing && closing_ && queue_.items.empty();
    const uint64_t written = written_total_ + batch_.items.size();
    if (!callbacks.empty() || options_.on_written) {
      lock.unlock();
      for (auto& cb : callbacks) cb(OkStatus());
      if (options_.on_written) options_.on_written(written, OkStatus());
      lock.lock();
    }
    // Counted as written only once its callbacks have run: Flush() returns after both.
    written_total_ = written;
    written_.notify_all();
    if (finishing) return;
  }
}

Status Writer::WriteBatch(bool force_checkpoint) {
  // The bodies are copied from the batch's bytes into strings this thread owns and reuses; a
  // retry copies them afresh and re-chains them on the then current head.
  const size_t n = batch_.items.size();
  if (encoded_.size() < n) encoded_.resize(n);
  size_t offset = 0;
  for (size_t i = 0; i < n; ++i) {
    encoded_[i].body.assign(batch_.bytes, offset, batch_.items[i].size);
    offset += batch_.items[i].size;
  }
  const std::span<EncodedRecord> records(encoded_.data(), n);
  // What the chain callback decided in the transaction that committed.
  uint64_t seq = 0;
  Hash prev{};
  std::optional<Checkpoint> written_checkpoint;
  const int64_t last_cp_time = last_checkpoint_time_us_;
  ChainFn chain = [&](const ChainHead& head,
                      std::span<EncodedRecord> rs) -> StatusOr<std::optional<Checkpoint>> {
    seq = head.seq;
    prev = head.hash;
    for (EncodedRecord& r : rs) {
      SealRecord(r, ++seq, prev);
      prev = r.hash;
    }
    written_checkpoint.reset();
    if (!options_.signer || seq <= head.last_checkpoint_seq) return written_checkpoint;
    const int64_t now = options_.clock();
    const bool by_count = options_.checkpoint_every_records &&
                          seq - head.last_checkpoint_seq >= options_.checkpoint_every_records;
    const bool by_time =
        options_.checkpoint_interval.count() > 0 &&
        now - last_cp_time >=
            std::chrono::duration_cast<std::chrono::microseconds>(options_.checkpoint_interval)
                .count();
    if (!(by_count || by_time || force_checkpoint)) return written_checkpoint;
    Checkpoint c;
    c.seq = seq;
    c.time_us = now;
    c.prev_checkpoint_seq = head.last_checkpoint_seq;
    c.head_hash = prev;
    auto sig = options_.signer->Sign(CheckpointSigningBytes(c));
    if (!sig.ok()) return sig.status();
    c.signature = std::move(sig).value();
    written_checkpoint = std::move(c);
    return written_checkpoint;
  };
  Status s = OkStatus();
  if (!records.empty() || options_.signer) s = store_->AppendChained(records, chain);
  if (!s.ok()) return s;
  if (!records.empty()) {
    std::lock_guard lock(mu_);
    last_seq_ = seq;
    last_hash_ = prev;
  }
  if (written_checkpoint) {
    last_checkpoint_seq_ = written_checkpoint->seq;
    last_checkpoint_time_us_ = written_checkpoint->time_us;
  }
  return OkStatus();
}

}  // namespace warden::audit
