#include "gateway/deadlines.h"

namespace warden::gateway {

Deadlines::Deadlines(net::io_context& ioc, std::chrono::milliseconds period)
    : timer_(ioc), period_(period) {}

Deadlines::~Deadlines() {
  for (Deadline* d : watched_) {
    d->owner_ = nullptr;
    d->watched_ = false;
  }
}

void Deadlines::Start() { Arm(); }

void Deadlines::Arm() {
  timer_.expires_after(period_);
  // Destroying the timer cancels the wait, and the handler then returns without touching `this`.
  timer_.async_wait([this](const error_code& ec) {
    if (ec) return;
    Sweep();
    Arm();
  });
}

void Deadlines::Sweep() {
  const Clock::time_point now = Clock::now();
  // An expiry handler may close a socket, but it cannot add or remove a Deadline: those are
  // constructed and destroyed by coroutines, which run only after this returns.
  for (Deadline* d : watched_) {
    if (d->at_ > now) continue;
    d->at_ = Clock::time_point::max();
    d->expired_ = true;
    d->on_expiry_();
  }
}

void Deadlines::Add(Deadline* d) {
  d->index_ = watched_.size();
  watched_.push_back(d);
}

void Deadlines::Remove(Deadline* d) {
  Deadline* last = watched_.back();
  watched_[d->index_] = last;
  last->index_ = d->index_;
  watched_.pop_back();
}

Deadline::Deadline(Deadlines& owner, std::function<void()> on_expiry)
    : owner_(&owner), on_expiry_(std::move(on_expiry)) {}

Deadline::~Deadline() {
  if (watched_ && owner_ != nullptr) owner_->Remove(this);
}

void Deadline::ExpireAfter(std::chrono::milliseconds limit) {
  if (!watched_ && owner_ != nullptr) {
    owner_->Add(this);
    watched_ = true;
  }
  at_ = Deadlines::Clock::now() + limit;
}

}  // namespace warden::gateway
