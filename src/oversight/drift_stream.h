// A deterministic stream of suspicion scores whose distribution drifts, for testing and
// measuring the review budget (budget_test.cc, `warden review simulate`).
//
//   DriftStream stream(/*seed=*/7);
//   for (int i = 0; i < 100000; ++i) controller.Observe("t", stream.Next());
//
// The scores are sigmoid(z) of a mixture: ordinary traffic, z ~ Normal(mu(t), sigma(t)), and a
// small share of attacks, z ~ Normal(2.5, 1). Over 100,000 events the mix drifts in every way a
// production stream does: a slow rise of the baseline (a model update that makes the classifier
// more nervous), a daily cycle (period 20,000 events), a spread that widens and narrows, an
// attack share that goes from 0.2% to 3% and back, and an abrupt step at event 60,000 (a new
// client whose traffic scores higher) that is undone at event 80,000.
// Thread-safety: not thread-safe; one per thread.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>

namespace warden::oversight {

class DriftStream {
 public:
  explicit DriftStream(uint64_t seed) : rng_(seed) {}

  double Next() {
    const double t = static_cast<double>(i_++);
    constexpr double kPi = 3.14159265358979323846;
    double mu = -4.0 + 1.5 * (t / 100000.0) + 0.6 * std::sin(2 * kPi * t / 20000.0);
    const double sigma = 1.0 + 0.35 * std::sin(2 * kPi * t / 45000.0 + 1.0);
    if (t >= 60000 && t < 80000) mu += 1.0;
    const double attack_share = 0.002 + 0.028 * 0.5 * (1 - std::cos(2 * kPi * t / 50000.0));
    double z;
    if (Uniform() < attack_share) {
      z = 2.5 + Normal();
    } else {
      z = mu + sigma * Normal();
    }
    return 1.0 / (1.0 + std::exp(-z));
  }

  uint64_t index() const { return i_; }

 private:
  // Independent of the standard library's distributions, so every platform sees the same
  // stream.
  double Uniform() { return ((rng_() >> 11) + 0.5) * (1.0 / 9007199254740992.0); }
  double Normal() {
    constexpr double kTwoPi = 6.28318530717958647692;
    return std::sqrt(-2.0 * std::log(Uniform())) * std::cos(kTwoPi * Uniform());
  }

  std::mt19937_64 rng_;
  uint64_t i_ = 0;
};

}  // namespace warden::oversight
