// The cascade measured (issue 7): on the dev split of ../shared/data, the judge is asked only
// when the classifier's unsafe score is in the policy's band, and the pooled ranking (the
// classifier outside the band, the judge inside it) must be at least as good, by AUPRC, as the
// judge asked about everything, while the judge sees at most 10% of the stream.
//
// The judge is scripted, with a known quality: its logit for "unsafe" is +-1 (by the truth)
// plus Normal(0, 1) noise drawn from a hash of the text, i.e. d' = 2 (ROC-AUC ~0.92), roughly a
// guard model on data it was not tuned for. Numbers: docs/judge.md.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <unordered_map>

#include "eval/dataset.h"
#include "eval/metrics.h"
#include "scripted_judge.h"
#include "warden/guard.h"

namespace warden::judge {
namespace {

using testing::JudgeReply;
using testing::JudgeRequest;
using testing::LlamaGuardReply;
using testing::ScriptedJudge;

uint64_t Fnv(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// The scripted judge's P(unsafe) for a text whose truth is `unsafe`.
double OracleScore(std::string_view text, bool unsafe, double separation = 1.0) {
  const uint64_t h = Fnv(text);
  const double u1 = ((h >> 11) + 0.5) / 9007199254740992.0;
  const double u2 = (((h * 0x9E3779B97F4A7C15ull) >> 11) + 0.5) / 9007199254740992.0;
  const double z = std::sqrt(-2 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  const double logit = (unsafe ? separation : -separation) + z;
  return 1 / (1 + std::exp(-logit));
}

constexpr float kBandMin = 0.49f;
constexpr float kBandMax = 0.60f;

TEST(Cascade, JudgeOnAFewPercentMatchesTheJudgeEverywhere) {
#if defined(__SANITIZE_ADDRESS__)
  // A measurement over the whole dev split: under AddressSanitizer it ran past 15 minutes. The
  // judge's code paths are exercised under the sanitizers by judge_test.cc.
  GTEST_SKIP() << "a full dev-split measurement; run it in a build without sanitizers";
#endif
  const std::string data = WARDEN_SOURCE_DIR "/../shared/data";
  if (!std::filesystem::exists(data)) GTEST_SKIP() << "no " << data;
  auto dev = eval::ReadDataset({data}, "dev");
  ASSERT_TRUE(dev.ok()) << dev.status().message();

  std::unordered_map<std::string, bool> truth;
  for (const eval::Example& e : *dev) truth.emplace(e.text, e.unsafe);
  std::atomic<int> unknown{0};
  ScriptedJudge server([&](const JudgeRequest& r) {
    auto it = truth.find(r.text);
    if (it == truth.end()) ++unknown;
    const bool unsafe = it != truth.end() && it->second;
    const double p = OracleScore(r.text, unsafe);
    return LlamaGuardReply(r.api, p >= 0.5 ? "unsafe" : "safe", p >= 0.5 ? p : 1 - p);
  });
  char band[128];
  std::snprintf(band, sizeof band, "{label: unsafe, min: %.2f, max: %.2f}", kBandMin, kBandMax);
  auto guard = Guard::FromYaml(std::string("version: 1\nscanners:\n  classifier:\n    model: ") +
                                   WARDEN_SOURCE_DIR
                                   "/models/warden-v1.ftz\n  judge:\n"
                                   "    url: " +
                                   server.url("/completion") +
                                   "\n"
                                   "    timeout_ms: 5000\n    cache_size: 0\n"
                                   "    cascade: " +
                                   band + "\n",
                               "cascade.yaml", ".");
  ASSERT_TRUE(guard.ok()) << guard.status().message();

  std::vector<float> classifier, judge_alone, pooled;
  std::vector<uint8_t> labels;
  size_t judged = 0;
  for (const eval::Example& e : *dev) {
    const Verdict v = guard->Check({.text = e.text});
    const float c = v.Score("unsafe");
    const bool asked = std::any_of(v.scores.begin(), v.scores.end(),
                                   [](const auto& s) { return s.first == "judge_unsafe"; });
    judged += asked;
    // The band's interior is ordered by the judge; outside it the classifier's order stands.
    pooled.push_back(asked ? kBandMin + (kBandMax - kBandMin) * v.Score("judge_unsafe") : c);
    classifier.push_back(c);
    judge_alone.push_back(static_cast<float>(OracleScore(e.text, e.unsafe)));
    labels.push_back(e.unsafe ? 1 : 0);
  }
  const double share = judged / static_cast<double>(dev->size());
  const double ap_classifier = eval::AveragePrecision(classifier, labels);
  const double ap_judge = eval::AveragePrecision(judge_alone, labels);
  const double ap_pooled = eval::AveragePrecision(pooled, labels);
  std::printf("dev rows %zu, judge asked on %zu (%.2f%%), unknown texts %d\n", dev->size(), judged,
              100 * share, unknown.load());
  std::printf("AUPRC classifier %.4f, judge alone %.4f, cascade %.4f\n", ap_classifier, ap_judge,
              ap_pooled);
  std::printf("ROC-AUC classifier %.4f, judge alone %.4f, cascade %.4f\n",
              eval::RocAuc(classifier, labels), eval::RocAuc(judge_alone, labels),
              eval::RocAuc(pooled, labels));
  // The trade-off across bands, computed from the same scores without the server: the share of
  // the stream the judge would see and the pooled AUPRC (docs/judge.md).
  for (float lo : {0.3f, 0.4f, 0.44f, 0.46f, 0.47f, 0.48f, 0.485f, 0.49f, 0.495f, 0.5f}) {
    for (float hi : {0.55f, 0.6f, 0.7f, 0.8f, 0.9f, 0.95f, 1.0f}) {
      if (hi <= lo) continue;
      std::vector<float> p;
      size_t n = 0;
      for (size_t i = 0; i < classifier.size(); ++i) {
        const bool in = classifier[i] >= lo && classifier[i] <= hi;
        n += in;
        p.push_back(in ? lo + (hi - lo) * judge_alone[i] : classifier[i]);
      }
      std::printf("band [%.3f, %.3f]: judge on %5.2f%%, pooled AUPRC %.4f\n", lo, hi,
                  100.0 * n / classifier.size(), eval::AveragePrecision(p, labels));
    }
  }
  // How good must the judge be for the cascade at ~10% to match it everywhere? Judges of other
  // strengths (d' = 2 x separation), the same band; "fused" orders the band by the sum of
  // the judge's logit and the classifier's position in the band instead of the judge alone.
  for (double sep : {0.5, 0.75, 1.0, 1.5}) {
    std::vector<float> alone, banded, fused;
    for (size_t i = 0; i < classifier.size(); ++i) {
      const double j = OracleScore((*dev)[i].text, labels[i], sep);
      alone.push_back(static_cast<float>(j));
      const float c = classifier[i];
      const bool in = c >= kBandMin && c <= kBandMax;
      const float width = kBandMax - kBandMin;
      banded.push_back(in ? kBandMin + width * static_cast<float>(j) : c);
      const double pos = std::clamp((c - kBandMin) / width, 0.01f, 0.99f);
      const double f = 1 / (1 + std::exp(-(std::log(j / (1 - j)) + std::log(pos / (1 - pos)))));
      fused.push_back(in ? kBandMin + width * static_cast<float>(f) : c);
    }
    std::printf("judge d'=%.1f: alone AUPRC %.4f; cascade [%.3f, %.3f] %.4f, fused %.4f\n", 2 * sep,
                eval::AveragePrecision(alone, labels), kBandMin, kBandMax,
                eval::AveragePrecision(banded, labels), eval::AveragePrecision(fused, labels));
  }
  // Issue 7's cascade target: the judge sees at most 10% of the stream, and the pooled ranking
  // is at least as good as the judge asked about everything (docs/judge.md), and better than
  // the classifier it protects.
  EXPECT_LE(share, 0.10);
  EXPECT_GE(ap_pooled, ap_judge);
  EXPECT_GT(ap_pooled, ap_classifier);
  EXPECT_LT(unknown.load(), 10);
}

}  // namespace
}  // namespace warden::judge
