#include "eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace warden::eval {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Indices sorted by descending score.
std::vector<size_t> ByScoreDesc(const std::vector<float>& scores) {
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  return order;
}

double Ratio(double a, double b) { return b == 0 ? kNaN : a / b; }

}  // namespace

double AveragePrecision(const std::vector<float>& scores, const std::vector<uint8_t>& labels) {
  const int64_t positives = std::count(labels.begin(), labels.end(), 1);
  if (positives == 0 || positives == static_cast<int64_t>(labels.size())) return kNaN;
  const std::vector<size_t> order = ByScoreDesc(scores);
  double ap = 0;
  int64_t tp = 0, fp = 0;
  double prev_recall = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j < order.size() && scores[order[j]] == scores[order[i]]) {
      (labels[order[j]] ? tp : fp)++;
      ++j;
    }
    const double recall = static_cast<double>(tp) / positives;
    ap += (recall - prev_recall) * (static_cast<double>(tp) / (tp + fp));
    prev_recall = recall;
    i = j;
  }
  return ap;
}

double RocAuc(const std::vector<float>& scores, const std::vector<uint8_t>& labels) {
  const int64_t positives = std::count(labels.begin(), labels.end(), 1);
  const int64_t negatives = static_cast<int64_t>(labels.size()) - positives;
  if (positives == 0 || negatives == 0) return kNaN;
  // Mann-Whitney U with average ranks for ties.
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  double rank_sum = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j < order.size() && scores[order[j]] == scores[order[i]]) ++j;
    const double avg_rank = (i + 1 + j) / 2.0;  // ranks i+1 .. j
    for (size_t k = i; k < j; ++k) {
      if (labels[order[k]]) rank_sum += avg_rank;
    }
    i = j;
  }
  const double u = rank_sum - static_cast<double>(positives) * (positives + 1) / 2.0;
  return u / (static_cast<double>(positives) * negatives);
}

BinaryMetrics ComputeMetrics(const std::vector<float>& scores, const std::vector<uint8_t>& labels,
                             float threshold) {
  BinaryMetrics m;
  m.count = static_cast<int64_t>(scores.size());
  for (size_t i = 0; i < scores.size(); ++i) {
    const bool flagged = scores[i] >= threshold;
    if (labels[i]) {
      ++m.positives;
      if (flagged) ++m.true_positives;
    } else {
      ++m.negatives;
      if (flagged) ++m.false_positives;
    }
  }
  m.precision = Ratio(m.true_positives, m.true_positives + m.false_positives);
  m.recall = Ratio(m.true_positives, m.positives);
  m.f1 = (std::isnan(m.precision) || std::isnan(m.recall))
             ? kNaN
             : (m.precision + m.recall == 0 ? 0
                                            : 2 * m.precision * m.recall /
                                                  (m.precision + m.recall));
  m.fpr = Ratio(m.false_positives, m.negatives);
  m.auprc = AveragePrecision(scores, labels);
  m.roc_auc = RocAuc(scores, labels);
  return m;
}

float ThresholdForFpr(const std::vector<float>& scores, const std::vector<uint8_t>& labels,
                      double max_fpr) {
  std::vector<float> neg;
  float min_pos = 1.0f;
  for (size_t i = 0; i < scores.size(); ++i) {
    if (labels[i]) {
      min_pos = std::min(min_pos, scores[i]);
    } else {
      neg.push_back(scores[i]);
    }
  }
  if (neg.empty()) return min_pos;
  std::sort(neg.begin(), neg.end(), std::greater<float>());
  // At most floor(max_fpr * n) negatives may reach the threshold: it must lie above the
  // (allowed+1)-th highest negative score.
  const size_t allowed = static_cast<size_t>(std::floor(max_fpr * neg.size()));
  if (allowed >= neg.size()) return 0.0f;
  float t = std::nextafter(neg[allowed], 2.0f);
  // Ties: if the allowed-th negative equals that value nothing changes; the threshold just
  // clears the first negative that must stay unflagged.
  return std::min(t, 1.0f);
}

float ThresholdForBestF1(const std::vector<float>& scores, const std::vector<uint8_t>& labels) {
  const int64_t positives = std::count(labels.begin(), labels.end(), 1);
  if (positives == 0) return 1.0f;
  const std::vector<size_t> order = ByScoreDesc(scores);
  double best_f1 = -1;
  float best_t = 1.0f;
  int64_t tp = 0, fp = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j < order.size() && scores[order[j]] == scores[order[i]]) {
      (labels[order[j]] ? tp : fp)++;
      ++j;
    }
    const double f1 = 2.0 * tp / (2.0 * tp + fp + (positives - tp));
    if (f1 > best_f1) {
      best_f1 = f1;
      best_t = scores[order[i]];
    }
    i = j;
  }
  return best_t;
}

double Percentile(std::vector<double> values, double q) {
  if (values.empty()) return kNaN;
  std::sort(values.begin(), values.end());
  const size_t rank = static_cast<size_t>(std::ceil(q * values.size()));
  return values[std::min(values.size() - 1, rank == 0 ? 0 : rank - 1)];
}

}  // namespace warden::eval
