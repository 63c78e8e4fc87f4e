#include "eval/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace warden::eval {
namespace {

// Reference implementations, written the slow obvious way.
double ReferenceAuc(const std::vector<float>& s, const std::vector<uint8_t>& y) {
  double wins = 0;
  int64_t pairs = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    for (size_t j = 0; j < s.size(); ++j) {
      if (y[i] == 1 && y[j] == 0) {
        ++pairs;
        wins += s[i] > s[j] ? 1.0 : (s[i] == s[j] ? 0.5 : 0.0);
      }
    }
  }
  return wins / pairs;
}

double ReferenceAp(const std::vector<float>& s, const std::vector<uint8_t>& y) {
  // Sum over each distinct threshold t of (R(t) - R(prev)) * P(t).
  std::vector<float> ts(s.begin(), s.end());
  std::sort(ts.begin(), ts.end(), std::greater<float>());
  ts.erase(std::unique(ts.begin(), ts.end()), ts.end());
  double positives = std::count(y.begin(), y.end(), 1);
  double ap = 0, prev_r = 0;
  for (float t : ts) {
    double tp = 0, fp = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] >= t) (y[i] ? tp : fp) += 1;
    }
    const double r = tp / positives;
    ap += (r - prev_r) * tp / (tp + fp);
    prev_r = r;
  }
  return ap;
}

TEST(MetricsTest, HandComputedTinyCase) {
  // Scores 0.9(+) 0.8(-) 0.7(+) 0.1(-): AP = 1*1/2 + 2/3*1/2 = 0.8333; AUC = 3/4.
  const std::vector<float> s = {0.9f, 0.8f, 0.7f, 0.1f};
  const std::vector<uint8_t> y = {1, 0, 1, 0};
  EXPECT_NEAR(AveragePrecision(s, y), 0.5 + 1.0 / 3.0, 1e-9);
  EXPECT_NEAR(RocAuc(s, y), 0.75, 1e-9);
  const BinaryMetrics m = ComputeMetrics(s, y, 0.75f);
  EXPECT_EQ(m.count, 4);
  EXPECT_EQ(m.true_positives, 1);
  EXPECT_EQ(m.false_positives, 1);
  EXPECT_NEAR(m.precision, 0.5, 1e-9);
  EXPECT_NEAR(m.recall, 0.5, 1e-9);
  EXPECT_NEAR(m.f1, 0.5, 1e-9);
  EXPECT_NEAR(m.fpr, 0.5, 1e-9);
}

TEST(MetricsTest, TiesCountHalf) {
  const std::vector<float> s = {0.5f, 0.5f};
  const std::vector<uint8_t> y = {1, 0};
  EXPECT_NEAR(RocAuc(s, y), 0.5, 1e-9);
  EXPECT_NEAR(AveragePrecision(s, y), 0.5, 1e-9);
}

TEST(MetricsTest, UndefinedIsNaN) {
  const std::vector<float> s = {0.2f, 0.9f};
  const std::vector<uint8_t> y = {1, 1};
  EXPECT_TRUE(std::isnan(RocAuc(s, y)));
  EXPECT_TRUE(std::isnan(AveragePrecision(s, y)));
  EXPECT_TRUE(std::isnan(ComputeMetrics(s, y, 0.5f).fpr));
}

TEST(MetricsTest, MatchesReferenceOnRandomData) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 20; ++round) {
    std::vector<float> s;
    std::vector<uint8_t> y;
    for (int i = 0; i < 60; ++i) {
      // Coarse scores so that ties occur.
      s.push_back(static_cast<float>(rng() % 10) / 10.0f);
      y.push_back(static_cast<uint8_t>(rng() % 3 == 0));
    }
    y[0] = 1;
    y[1] = 0;
    EXPECT_NEAR(RocAuc(s, y), ReferenceAuc(s, y), 1e-9);
    EXPECT_NEAR(AveragePrecision(s, y), ReferenceAp(s, y), 1e-9);
  }
}

TEST(MetricsTest, ThresholdForFprKeepsFprBelowTarget) {
  std::vector<float> s;
  std::vector<uint8_t> y;
  for (int i = 0; i < 100; ++i) {
    s.push_back(i / 100.0f);
    y.push_back(0);
  }
  s.push_back(0.5f);
  y.push_back(1);
  const float t = ThresholdForFpr(s, y, 0.03);
  const BinaryMetrics m = ComputeMetrics(s, y, t);
  EXPECT_LE(m.fpr, 0.03);
  EXPECT_GE(m.fpr, 0.02);  // not needlessly strict: 3 of 100 negatives may pass
}

TEST(MetricsTest, Percentile) {
  EXPECT_DOUBLE_EQ(Percentile({5, 1, 3, 2, 4}, 0.5), 3);
  EXPECT_DOUBLE_EQ(Percentile({5, 1, 3, 2, 4}, 1.0), 5);
  EXPECT_TRUE(std::isnan(Percentile({}, 0.5)));
}

}  // namespace
}  // namespace warden::eval
