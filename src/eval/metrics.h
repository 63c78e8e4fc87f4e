// Binary classification metrics over scored examples.
//
//   BinaryMetrics m = ComputeMetrics(scores, labels, /*threshold=*/0.5f);
//   // m.precision, m.recall, m.f1, m.auprc, m.roc_auc, m.fpr
//
// Conventions: an example is flagged when score >= threshold. A metric whose denominator is
// zero (recall without positives, AUPRC without both labels…) is NaN, printed as "-" or null.
// AUPRC is average precision (the step-wise area, as scikit-learn's average_precision_score):
// sum over distinct score values t, from high to low, of (recall(t) - recall(t_prev)) *
// precision(t); tied scores enter together. ROC-AUC counts a tie between a positive and a
// negative as one half.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <vector>

namespace warden::eval {

struct BinaryMetrics {
  int64_t count = 0;
  int64_t positives = 0;
  int64_t negatives = 0;
  int64_t true_positives = 0;
  int64_t false_positives = 0;
  double precision = 0;
  double recall = 0;
  double f1 = 0;
  double auprc = 0;
  double roc_auc = 0;
  double fpr = 0;  // false positives / negatives
};

// REQUIRES: scores.size() == labels.size(); labels are 0 (negative) or 1 (positive).
BinaryMetrics ComputeMetrics(const std::vector<float>& scores, const std::vector<uint8_t>& labels,
                             float threshold);
double AveragePrecision(const std::vector<float>& scores, const std::vector<uint8_t>& labels);
double RocAuc(const std::vector<float>& scores, const std::vector<uint8_t>& labels);

// The smallest threshold among the scores whose false-positive rate is at most `max_fpr`
// (so recall is as high as that FPR allows). Returns 1.0 when there are no negatives... and
// no positives; with no negatives, the lowest positive score.
float ThresholdForFpr(const std::vector<float>& scores, const std::vector<uint8_t>& labels,
                      double max_fpr);

// The threshold (among the scores) that maximises F1; ties go to the higher threshold.
float ThresholdForBestF1(const std::vector<float>& scores, const std::vector<uint8_t>& labels);

// The value at quantile q in [0,1] of `values` (nearest rank); NaN when empty.
double Percentile(std::vector<double> values, double q);

}  // namespace warden::eval
