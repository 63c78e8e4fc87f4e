#include "oversight/budget.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

namespace warden::oversight {

// ---------------------------------------------------------------------------------------------
// P2Quantile

P2Quantile::P2Quantile(double p) : p_(p) {
  assert(p > 0 && p < 1);
  Reset();
}

void P2Quantile::Reset() {
  count_ = 0;
  q_ = {};
  n_ = {1, 2, 3, 4, 5};
  np_ = {1, 1 + 2 * p_, 1 + 4 * p_, 3 + 2 * p_, 5};
  dn_ = {0, p_ / 2, p_, (1 + p_) / 2, 1};
}

void P2Quantile::Add(double x) {
  if (std::isnan(x)) return;
  if (count_ < 5) {
    q_[count_++] = x;
    if (count_ == 5) std::sort(q_.begin(), q_.end());
    return;
  }
  ++count_;
  int k;
  if (x < q_[0]) {
    q_[0] = x;
    k = 0;
  } else if (x < q_[1]) {
    k = 0;
  } else if (x < q_[2]) {
    k = 1;
  } else if (x < q_[3]) {
    k = 2;
  } else if (x <= q_[4]) {
    k = 3;
  } else {
    q_[4] = x;
    k = 3;
  }
  for (int i = k + 1; i < 5; ++i) n_[i] += 1;
  for (int i = 0; i < 5; ++i) np_[i] += dn_[i];
  for (int i = 1; i <= 3; ++i) {
    const double d = np_[i] - n_[i];
    if ((d >= 1 && n_[i + 1] - n_[i] > 1) || (d <= -1 && n_[i - 1] - n_[i] < -1)) {
      const double s = d > 0 ? 1.0 : -1.0;
      const double parabolic =
          q_[i] + s / (n_[i + 1] - n_[i - 1]) *
                      ((n_[i] - n_[i - 1] + s) * (q_[i + 1] - q_[i]) / (n_[i + 1] - n_[i]) +
                       (n_[i + 1] - n_[i] - s) * (q_[i] - q_[i - 1]) / (n_[i] - n_[i - 1]));
      if (q_[i - 1] < parabolic && parabolic < q_[i + 1]) {
        q_[i] = parabolic;
      } else {
        const int j = i + static_cast<int>(s);
        q_[i] = q_[i] + s * (q_[j] - q_[i]) / (n_[j] - n_[i]);
      }
      n_[i] += s;
    }
  }
}

double P2Quantile::Estimate() const {
  if (count_ == 0) return std::numeric_limits<double>::quiet_NaN();
  if (count_ < 5) {
    std::array<double, 5> sorted = q_;
    std::sort(sorted.begin(), sorted.begin() + count_);
    // Nearest rank: the smallest sample with at least p of the samples at or below it.
    size_t rank = static_cast<size_t>(std::ceil(p_ * static_cast<double>(count_)));
    rank = std::clamp<size_t>(rank, 1, count_);
    return sorted[rank - 1];
  }
  return q_[2];
}

// ---------------------------------------------------------------------------------------------
// QuantileTracker

QuantileTracker::QuantileTracker(std::vector<double> levels, uint64_t window)
    : levels_(std::move(levels)), window_(std::max<uint64_t>(window, 2)) {
  assert(!levels_.empty());
  std::sort(levels_.begin(), levels_.end(), std::greater<>());
  levels_.erase(std::unique(levels_.begin(), levels_.end()), levels_.end());
  for (Bank& bank : banks_) {
    for (double level : levels_) bank.estimators.emplace_back(1.0 - level);
  }
}

void QuantileTracker::Add(double x) {
  // Bank 0 restarts at multiples of the window, bank 1 half a window later: the older of the
  // two always holds between window/2 and window of the latest events.
  if (events_ > 0 && events_ % window_ == 0) {
    for (P2Quantile& e : banks_[0].estimators) e.Reset();
    banks_[0].count = 0;
  }
  if (events_ % window_ == window_ / 2 && events_ >= window_ / 2 && events_ > 0) {
    for (P2Quantile& e : banks_[1].estimators) e.Reset();
    banks_[1].count = 0;
  }
  ++events_;
  for (Bank& bank : banks_) {
    for (P2Quantile& e : bank.estimators) e.Add(x);
    ++bank.count;
  }
}

const QuantileTracker::Bank& QuantileTracker::Answering() const {
  return banks_[0].count >= banks_[1].count ? banks_[0] : banks_[1];
}

uint64_t QuantileTracker::samples() const { return Answering().count; }

double QuantileTracker::ThresholdAt(double level) const {
  const Bank& bank = Answering();
  if (bank.count == 0) return std::numeric_limits<double>::quiet_NaN();
  // P² estimates of neighbouring levels can cross by a little; the thresholds must not decrease
  // as the level falls, or a larger budget could mean a higher threshold.
  double running = -std::numeric_limits<double>::infinity();
  thread_local std::vector<double> t;
  t.clear();
  for (const P2Quantile& e : bank.estimators) {
    running = std::max(running, e.Estimate());
    t.push_back(running);
  }
  if (level >= levels_.front()) return t.front();
  if (level <= levels_.back()) return t.back();
  size_t i = 0;
  while (i + 1 < levels_.size() && levels_[i + 1] > level) ++i;
  const double a = std::log(levels_[i]);
  const double b = std::log(levels_[i + 1]);
  const double frac = (a - std::log(level)) / (a - b);
  return t[i] + frac * (t[i + 1] - t[i]);
}

// ---------------------------------------------------------------------------------------------
// BudgetController

namespace {

// Levels at half-octave steps from budget/4 to 4 x budget: the feedback moves the aim within
// that range, and interpolating in log(level) between neighbours is accurate for the smooth
// tails real score distributions have.
std::vector<double> TrackedLevels(double budget) {
  std::vector<double> levels;
  for (int k = -4; k <= 4; ++k) {
    const double level = budget * std::pow(2.0, k / 2.0);
    if (level < 0.999) levels.push_back(level);
  }
  return levels;
}

// Until this many events are seen the estimate is mostly noise; nothing escalates yet and the
// debt this leaves is paid back once the estimate is warm.
constexpr uint64_t kColdEvents = 100;

}  // namespace

BudgetController::State::State(const BudgetOptions& o)
    : tracker(TrackedLevels(o.budget), o.window) {}

namespace {
BudgetOptions WithDefaults(BudgetOptions o) {
  if (o.window == 0) o.window = static_cast<uint64_t>(std::ceil(50.0 / o.budget));
  if (o.horizon <= 0) o.horizon = 1.0 / o.budget;
  return o;
}
}  // namespace

BudgetController::BudgetController(BudgetOptions options)
    : options_(WithDefaults(options)), shared_(std::make_unique<State>(options_)) {}

BudgetController::State& BudgetController::StateFor(std::string_view tenant) {
  if (!options_.per_tenant) return *shared_;
  std::lock_guard<std::mutex> lock(map_mu_);
  auto it = tenants_.find(std::string(tenant));
  if (it != tenants_.end()) return *it->second;
  if (tenants_.size() >= options_.max_tenants) return *shared_;
  auto inserted = tenants_.emplace(std::string(tenant), std::make_unique<State>(options_));
  return *inserted.first->second;
}

double BudgetController::LevelFor(const State& s) const {
  const double b = options_.budget;
  const double level = b - s.debt / options_.horizon;
  return std::clamp(level, b / 4, std::min(4 * b, 0.5));
}

double BudgetController::ThresholdFor(const State& s, double level) const {
  if (s.events < kColdEvents) return std::numeric_limits<double>::infinity();
  return s.tracker.ThresholdAt(level);
}

BudgetDecision BudgetController::Observe(std::string_view tenant, double score) {
  State& s = StateFor(tenant);
  std::lock_guard<std::mutex> lock(s.mu);
  BudgetDecision d;
  d.level = LevelFor(s);
  d.threshold = ThresholdFor(s, d.level);
  if (!std::isnan(score) && score > options_.min_score) {
    if (score > d.threshold) {
      d.escalate = true;
    } else if (score == d.threshold) {
      // Many events can share one score (a pattern's fixed confidence); escalating all or none
      // of them would overshoot or starve the budget, so ties go to review only while the
      // queue is behind its budget.
      d.escalate = s.debt < 0;
    }
  }
  ++s.events;
  if (d.escalate) ++s.escalated;
  const double b = options_.budget;
  // The debt is bounded so that a burst the estimator could not foresee (an abrupt shift) is
  // not paid back for tens of thousands of events afterwards.
  const double bound = 4 * b * options_.horizon;
  s.debt = std::clamp(s.debt + (d.escalate ? 1.0 : 0.0) - b, -bound, bound);
  if (!std::isnan(score)) s.tracker.Add(score);
  return d;
}

BudgetStats BudgetController::Stats(std::string_view tenant) const {
  const State* s = shared_.get();
  if (options_.per_tenant) {
    std::lock_guard<std::mutex> lock(map_mu_);
    auto it = tenants_.find(std::string(tenant));
    if (it == tenants_.end()) return {};
    s = it->second.get();
  }
  std::lock_guard<std::mutex> lock(s->mu);
  BudgetStats stats;
  stats.events = s->events;
  stats.escalated = s->escalated;
  stats.debt = s->debt;
  stats.threshold = ThresholdFor(*s, LevelFor(*s));
  return stats;
}

}  // namespace warden::oversight
