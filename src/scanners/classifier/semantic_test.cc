#include "scanners/classifier/semantic.h"

#include <gtest/gtest.h>

namespace warden::classifier {
namespace {

SemanticHead SmallHead() {
  SemanticHead h;
  h.dim = 3;
  h.hidden = 2;
  h.words = {"kill", "cake", "don't"};
  h.SetVectors({1.0f, -0.5f, 0.25f, 0.0f, 2.0f, -1.0f, 0.5f, 0.5f, 0.5f});
  h.input_mean = {0.1f, 0.2f, 0.3f};
  h.input_scale = {1.0f, 2.0f, 0.5f};
  h.w1 = {1, 0, 0, 0, 1, 1};
  h.b1 = {0.0f, -0.25f};
  h.w2.assign(kNumLabels * h.hidden, 0.0f);
  h.b2.assign(kNumLabels, 0.0f);
  h.w2[kUnsafeLabel * h.hidden] = 2.0f;
  h.w2[kUnsafeLabel * h.hidden + 1] = -1.0f;
  h.b2[kUnsafeLabel] = 0.5f;
  h.BuildIndex();
  h.PrepareForScoring();
  return h;
}

TEST(SemanticHeadTest, RoundTripsAndFindsWords) {
  const SemanticHead h = SmallHead();
  const std::string bytes = h.Serialize();
  auto parsed = SemanticHead::Parse(bytes, "x.sem");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->words, h.words);
  EXPECT_EQ(parsed->codes, h.codes);
  EXPECT_EQ(parsed->scales, h.scales);
  std::vector<float> cake(3, 0.0f);
  parsed->AddVector(1, cake.data());  // (0, 2, -1) is stored exactly: 2 = 127 x (2 / 127)
  EXPECT_NEAR(cake[1], 2.0f, 1e-6);
  EXPECT_NEAR(cake[2], -1.0f, 0.01f);
  EXPECT_EQ(parsed->w2, h.w2);
  EXPECT_EQ(parsed->Serialize(), bytes);
  EXPECT_EQ(parsed->Row("kill"), 0);
  EXPECT_EQ(parsed->Row("don't"), 2);
  EXPECT_EQ(parsed->Row("Kill"), -1);
  EXPECT_EQ(parsed->Row(""), -1);
}

TEST(SemanticHeadTest, AddsTheNetworksLogits) {
  const SemanticHead h = SmallHead();
  const float mean[3] = {1.1f, 0.2f, 1.3f};
  // x = ((1.1-0.1)*1, (0.2-0.2)*2, (1.3-0.3)*0.5) = (1, 0, 0.5)
  // hidden = relu(1, 0 + 0.5 - 0.25) = (1, 0.25); unsafe = 2*1 - 0.25 + 0.5 = 2.25
  LabelScores logits{};
  logits[kUnsafeLabel] = 1.0f;
  std::vector<float> scratch;
  h.AddLogits(mean, 2.0f, scratch, logits);
  EXPECT_NEAR(logits[kUnsafeLabel], 1.0f + 2.0f * 2.25f, 1e-5);
  EXPECT_EQ(logits[0], 0.0f);
}

// Scoring sums each word's first layer instead of its vector: the same logits, since the layer
// is linear (up to float rounding).
TEST(SemanticHeadTest, ProjectedRowsGiveTheLogitsOfTheAverageVector) {
  const SemanticHead h = SmallHead();
  std::vector<float> sum(3, 0.0f), projected(h.hidden, 0.0f);
  for (int32_t row : {0, 1, 2, 1}) {
    h.AddVector(row, sum.data());
    h.AddProjected(row, projected.data());
  }
  for (float& x : sum) x /= 4;
  for (float& x : projected) x /= 4;
  LabelScores direct{}, folded{};
  std::vector<float> scratch;
  h.AddLogits(sum.data(), 1.5f, scratch, direct);
  h.AddLogitsOfProjected(projected.data(), 1.5f, folded);
  EXPECT_NE(direct[kUnsafeLabel], 0.0f);
  for (size_t k = 0; k < kNumLabels; ++k) EXPECT_NEAR(folded[k], direct[k], 1e-5) << k;
}

TEST(SemanticHeadTest, EveryTruncationAndABadMagicAreDataLoss) {
  const std::string bytes = SmallHead().Serialize();
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto parsed = SemanticHead::Parse(std::string_view(bytes).substr(0, n), "cut.sem");
    ASSERT_FALSE(parsed.ok()) << n;
    EXPECT_EQ(parsed.status().code(), StatusCode::kDataLoss);
    EXPECT_NE(parsed.status().message().find("cut.sem"), std::string::npos);
  }
  EXPECT_FALSE(SemanticHead::Parse(bytes + "x", "long.sem").ok());
  std::string bad = bytes;
  bad[0] = 'X';
  EXPECT_NE(SemanticHead::Parse(bad, "m.sem").status().message().find("magic"), std::string::npos);
  std::string huge = bytes;
  huge[8] = '\xff';  // dim's low byte: 255 dimensions promised, not present
  huge[9] = '\xff';
  EXPECT_FALSE(SemanticHead::Parse(huge, "m.sem").ok());
}

TEST(SemanticHeadTest, FrequentWordsWeighLittle) {
  EXPECT_LT(SifWeight(1), 0.01f);
  EXPECT_GT(SifWeight(1000), 0.5f);
  EXPECT_GT(SifWeight(100000), 0.99f);
  EXPECT_LT(SifWeight(10), SifWeight(100));
}

}  // namespace
}  // namespace warden::classifier
