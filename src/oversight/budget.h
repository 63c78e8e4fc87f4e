// Review budget: every interaction gets a suspicion score, and a human reviews only the most
// suspicious fraction that the team can afford (say 1%). The BudgetController keeps, online and
// per tenant, the score threshold that sends that fraction to review while the traffic drifts.
//
//   BudgetController budget({.budget = 0.01, .per_tenant = true});
//   BudgetDecision d = budget.Observe("acme", SuspicionScore(review, verdict.scores));
//   if (d.escalate) queue.Push(...);   // d.threshold says where the line was
//
// How it works (docs/oversight.md has the derivation and the measured numbers):
//  - feed-forward: a bank of P² estimators (Jain & Chlamtac 1985: five markers, O(1) memory and
//    time per event) tracks the upper tail of the score distribution at several levels around
//    1 - budget. Two banks are restarted in turn every `window` events, half a window apart, and
//    the older one answers, so the estimate always reflects the last window/2 .. window events:
//    the threshold follows drift instead of averaging over all history;
//  - feedback: the controller counts escalations against the budget (the "debt": escalated minus
//    budget x events). It asks the estimator for the threshold at level budget - debt/horizon,
//    so an overshoot raises the threshold and an undershoot lowers it until the debt is paid.
//    The debt is an integral, so the long-run rate is exact; the horizon bounds how far any
//    window of events can stray from the target.
//
// Thread-safety: BudgetController is thread-safe (one mutex per tenant, one for the tenant map).
// P2Quantile and QuantileTracker are not; they are owned by one controller state.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace warden::oversight {

// Streaming estimate of one quantile with the P² algorithm: five markers whose heights are
// adjusted by piecewise-parabolic interpolation. O(1) memory; no samples are kept.
// Not thread-safe.
class P2Quantile {
 public:
  // REQUIRES: 0 < p < 1.
  explicit P2Quantile(double p);
  void Add(double x);
  // The current estimate. With fewer than five samples, the exact nearest-rank quantile of the
  // samples seen; NaN when there are none.
  double Estimate() const;
  uint64_t count() const { return count_; }
  void Reset();

 private:
  double p_;
  uint64_t count_ = 0;
  std::array<double, 5> q_{};   // marker heights
  std::array<double, 5> n_{};   // marker positions (1-based)
  std::array<double, 5> np_{};  // desired positions
  std::array<double, 5> dn_{};  // desired position increments
};

// Upper-tail quantiles of a drifting stream at a fixed set of exceedance levels (fractions of
// events above the threshold), remembering only the last `window` events (see file comment).
// Not thread-safe.
class QuantileTracker {
 public:
  // `levels`: exceedance fractions in (0,1), any order. REQUIRES: window >= 2, levels not empty.
  QuantileTracker(std::vector<double> levels, uint64_t window);
  void Add(double x);
  // The score above which a fraction `level` of recent events lies, interpolated between the
  // tracked levels in log(level) and clamped to the outermost ones. NaN before any event.
  double ThresholdAt(double level) const;
  // Events the answering bank has seen (window/2 .. window once warm).
  uint64_t samples() const;

 private:
  struct Bank {
    std::vector<P2Quantile> estimators;  // one per level, sorted by decreasing level
    uint64_t count = 0;
  };
  const Bank& Answering() const;

  std::vector<double> levels_;  // sorted decreasing: thresholds increase along it
  uint64_t window_;
  uint64_t events_ = 0;
  std::array<Bank, 2> banks_;
};

struct BudgetOptions {
  // Fraction of events to send to human review. REQUIRES: 0 < budget < 1. Default: 1%.
  double budget = 0.01;
  // Keep a separate threshold per tenant (each tenant gets `budget` of its own traffic). When
  // false every event counts against one shared budget. Default: true.
  bool per_tenant = true;
  // Events the quantile estimate remembers; shorter follows drift faster but is noisier.
  // 0: 50 / budget (5,000 at 1%; the estimate covers the last 2,500..5,000 events), so the
  // tracked tail always holds about 25..50 escalation-worthy events. Default: 0.
  uint64_t window = 0;
  // Events over which a debt of escalations is paid back; shorter keeps every window closer to
  // the target, longer lets the threshold move less. 0: 1 / budget (100 at 1%). Default: 0.
  double horizon = 0;
  // Scores at or below this never escalate, whatever the budget: an idle stream of harmless
  // traffic does not fill the queue with score-0 items. Default: 0.
  double min_score = 0;
  // Tenants tracked at once; events of further tenants share one overflow state. Default 10,000.
  size_t max_tenants = 10000;
};

struct BudgetDecision {
  bool escalate = false;
  double threshold = 0;  // the threshold the score was compared with (+inf while cold)
  double level = 0;      // the exceedance level the controller aimed at for this event
};

// Statistics of one tenant's controller (or the shared one), for the admin API and tests.
struct BudgetStats {
  uint64_t events = 0;
  uint64_t escalated = 0;
  double debt = 0;       // escalated - budget * events, decayed by nothing (an integral)
  double threshold = 0;  // the threshold the next event would meet
};

class BudgetController {
 public:
  // REQUIRES: 0 < options.budget < 1.
  explicit BudgetController(BudgetOptions options);

  // Records one event of `tenant` (ignored when !per_tenant) with suspicion `score` and decides
  // whether it goes to human review. The decision uses the state before this event, then the
  // event updates it.
  BudgetDecision Observe(std::string_view tenant, double score);

  // Statistics for `tenant` (the shared state when !per_tenant); zeros for an unknown tenant.
  BudgetStats Stats(std::string_view tenant) const;
  const BudgetOptions& options() const { return options_; }

 private:
  struct State {
    explicit State(const BudgetOptions& o);
    mutable std::mutex mu;
    QuantileTracker tracker;
    uint64_t events = 0;
    uint64_t escalated = 0;
    double debt = 0;
  };
  State& StateFor(std::string_view tenant);
  double LevelFor(const State& s) const;
  double ThresholdFor(const State& s, double level) const;

  BudgetOptions options_;
  mutable std::mutex map_mu_;
  std::unordered_map<std::string, std::unique_ptr<State>> tenants_;
  std::unique_ptr<State> shared_;  // !per_tenant, and tenants beyond max_tenants
};

}  // namespace warden::oversight
