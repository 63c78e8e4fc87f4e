// Time limits for socket operations, checked by one periodic sweep per worker thread.
//
//   Deadlines deadlines(ioc, std::chrono::milliseconds(100));   // one per worker
//   Deadline d(deadlines, [&] { socket.close(); });            // one per socket
//   d.ExpireAfter(std::chrono::milliseconds(30000));
//   co_await http::async_read(...);                            // closed if it takes too long
//   d.Clear();
//   if (d.expired()) ...                                       // the error was the time limit
//
// Beast's tcp_stream arms a timer wait for every read and write that has a time limit and
// cancels it when the operation completes; each cancellation is one more handler through the
// event loop. A proxied request made six of them. Here setting and clearing a limit are two
// stores, and the sweep, every `period`, closes what is overdue. A limit may therefore fire up to
// one period late; the gateway picks the period from its shortest configured time limit.
//
// Thread-safety: a Deadlines and its Deadline objects belong to one io_context run by one thread.
// A Deadline joins the sweep at its first ExpireAfter, so it may be constructed elsewhere. A
// Deadline may outlive its Deadlines (sessions die with the io_context, after the worker's
// Deadlines): it is then simply no longer watched.
#pragma once

#include <chrono>
#include <functional>
#include <vector>

#include "gateway/asio.h"

namespace warden::gateway {

class Deadline;

class Deadlines {
 public:
  Deadlines(net::io_context& ioc, std::chrono::milliseconds period);
  ~Deadlines();
  Deadlines(const Deadlines&) = delete;
  Deadlines& operator=(const Deadlines&) = delete;

  // Starts the sweep (on the io_context's thread, or before it runs); destruction ends it.
  void Start();

 private:
  friend class Deadline;
  using Clock = std::chrono::steady_clock;
  void Add(Deadline* d);
  void Remove(Deadline* d);
  void Sweep();
  void Arm();

  net::steady_timer timer_;
  std::chrono::milliseconds period_;
  std::vector<Deadline*> watched_;  // each knows its index here
};

class Deadline {
 public:
  // `on_expiry` runs on the worker's thread when a limit passes; it should close the socket, so
  // that the pending operation ends with an error.
  Deadline(Deadlines& owner, std::function<void()> on_expiry);
  ~Deadline();
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  void ExpireAfter(std::chrono::milliseconds limit);
  void Clear() { at_ = Deadlines::Clock::time_point::max(); }
  // A limit set since the last Reset() passed (and `on_expiry` ran).
  bool expired() const { return expired_; }
  void Reset() {
    Clear();
    expired_ = false;
  }

 private:
  friend class Deadlines;
  Deadlines* owner_;  // null once the Deadlines is gone
  std::function<void()> on_expiry_;
  bool watched_ = false;
  Deadlines::Clock::time_point at_ = Deadlines::Clock::time_point::max();
  bool expired_ = false;
  size_t index_ = 0;
};

}  // namespace warden::gateway
