// The `review:` section: one valid policy and one test per rejected field.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "policy/policy.h"

namespace warden::policy {
namespace {

using ::testing::HasSubstr;

StatusOr<PolicyConfig> Parse(const std::string& yaml) { return ParsePolicy(yaml, "p.yaml", "."); }

std::string FirstError(const std::string& yaml) {
  StatusOr<PolicyConfig> p = Parse(yaml);
  EXPECT_FALSE(p.ok()) << "policy unexpectedly valid:\n" << yaml;
  if (p.ok()) return "";
  const std::string& m = p.status().message();
  return m.substr(0, m.find('\n'));
}

TEST(ReviewSection, ValidMaxOf) {
  StatusOr<PolicyConfig> p = Parse(R"(version: 1
review:
  suspicion: {max_of: [unsafe, jailbreak, prompt_injection]}
  budget: 0.01
  per_tenant: true
  window: 8000
  min_score: 0.05
  direction: [input, tool_result]
)");
  ASSERT_TRUE(p.ok()) << p.status().message();
  ASSERT_TRUE(p->review.has_value());
  const ReviewSection& r = *p->review;
  EXPECT_EQ(r.combine, ReviewSection::Combine::kMaxOf);
  ASSERT_EQ(r.terms.size(), 3u);
  EXPECT_EQ(r.terms[1].first, "jailbreak");
  EXPECT_DOUBLE_EQ(r.budget, 0.01);
  EXPECT_TRUE(r.per_tenant);
  EXPECT_EQ(r.window, 8000u);
  EXPECT_DOUBLE_EQ(r.min_score, 0.05);
  EXPECT_EQ(r.directions, (1u << 0) | (1u << 3));
  EXPECT_EQ(r.location, "p.yaml:3:3: review");

  const std::vector<std::pair<std::string, float>> scores = {
      {"hate", 0.9f}, {"jailbreak", 0.4f}, {"unsafe", 0.2f}};
  EXPECT_FLOAT_EQ(SuspicionScore(r, scores), 0.4f);
}

TEST(ReviewSection, ValidWeightedSumAndDefaults) {
  StatusOr<PolicyConfig> p = Parse(R"(version: 1
review:
  suspicion:
    weighted_sum: {unsafe: 0.5, judge_unsafe: 0.5}
)");
  ASSERT_TRUE(p.ok()) << p.status().message();
  const ReviewSection& r = *p->review;
  EXPECT_EQ(r.combine, ReviewSection::Combine::kWeightedSum);
  EXPECT_DOUBLE_EQ(r.budget, 0.01);
  EXPECT_TRUE(r.per_tenant);
  EXPECT_EQ(r.window, 0u);
  EXPECT_EQ(r.directions, 0);
  const std::vector<std::pair<std::string, float>> scores = {{"judge_unsafe", 1.0f},
                                                             {"unsafe", 0.4f}};
  EXPECT_NEAR(SuspicionScore(r, scores), 0.7, 1e-6);
  EXPECT_FALSE(Parse("version: 1\n")->review.has_value());
}

TEST(ReviewSection, RejectsUnknownKey) {
  EXPECT_THAT(FirstError("version: 1\nreview:\n  suspicion: {max_of: [unsafe]}\n  budjet: 0.1\n"),
              HasSubstr("p.yaml:4:3: review.budjet: unknown key \"budjet\" (did you mean "
                        "\"budget\"?)"));
}

TEST(ReviewSection, RejectsMissingSuspicion) {
  EXPECT_THAT(FirstError("version: 1\nreview:\n  budget: 0.01\n"),
              HasSubstr("review.suspicion: missing required key"));
}

TEST(ReviewSection, RejectsTwoCombinations) {
  EXPECT_THAT(FirstError("version: 1\nreview:\n  suspicion: {max_of: [unsafe], weighted_sum: "
                         "{hate: 1}}\n"),
              HasSubstr("review.suspicion: needs exactly one of max_of"));
}

TEST(ReviewSection, RejectsUnknownCombination) {
  EXPECT_THAT(FirstError("version: 1\nreview:\n  suspicion: {maxof: [unsafe]}\n"),
              HasSubstr("unknown combination \"maxof\" (did you mean \"max_of\"?)"));
}

TEST(ReviewSection, RejectsUnknownLabel) {
  EXPECT_THAT(FirstError("version: 1\nreview:\n  suspicion: {max_of: [unsafe, jailbrake]}\n"),
              HasSubstr("p.yaml:3:32: review.suspicion.max_of[1]: unknown score label "
                        "\"jailbrake\" (did you mean \"jailbreak\"?)"));
}

TEST(ReviewSection, RejectsEmptyMaxOf) {
  EXPECT_THAT(FirstError("version: 1\nreview:\n  suspicion: {max_of: []}\n"),
              HasSubstr("review.suspicion.max_of: must list at least one value"));
}

TEST(ReviewSection, RejectsBadWeight) {
  EXPECT_THAT(FirstError("version: 1\nreview:\n  suspicion: {weighted_sum: {unsafe: -1}}\n"),
              HasSubstr("review.suspicion.weighted_sum.unsafe: weight must be above 0"));
  EXPECT_THAT(FirstError("version: 1\nreview:\n  suspicion: {weighted_sum: {unsafe: lots}}\n"),
              HasSubstr("expected a number"));
  EXPECT_THAT(FirstError("version: 1\nreview:\n  suspicion: {weighted_sum: [unsafe]}\n"),
              HasSubstr("expected a map of label: weight"));
}

TEST(ReviewSection, RejectsBudgetOutOfRange) {
  EXPECT_THAT(FirstError("version: 1\nreview:\n  suspicion: {max_of: [unsafe]}\n  budget: 1.5\n"),
              HasSubstr("p.yaml:4:11: review.budget: must be a fraction of traffic above 0"));
  EXPECT_THAT(FirstError("version: 1\nreview:\n  suspicion: {max_of: [unsafe]}\n  budget: 0\n"),
              HasSubstr("review.budget: must be a fraction"));
}

TEST(ReviewSection, RejectsPerTenantNotABool) {
  EXPECT_THAT(
      FirstError("version: 1\nreview:\n  suspicion: {max_of: [unsafe]}\n  per_tenant: yes\n"),
      HasSubstr("review.per_tenant: expected true or false"));
}

TEST(ReviewSection, RejectsTinyWindow) {
  EXPECT_THAT(FirstError("version: 1\nreview:\n  suspicion: {max_of: [unsafe]}\n  window: 10\n"),
              HasSubstr("review.window: must be between 100 and"));
}

TEST(ReviewSection, RejectsBadMinScore) {
  EXPECT_THAT(
      FirstError("version: 1\nreview:\n  suspicion: {max_of: [unsafe]}\n  min_score: high\n"),
      HasSubstr("review.min_score: expected a number"));
}

TEST(ReviewSection, RejectsUnknownDirection) {
  EXPECT_THAT(
      FirstError("version: 1\nreview:\n  suspicion: {max_of: [unsafe]}\n  direction: inptu\n"),
      HasSubstr("review.direction: unknown direction \"inptu\" (did you mean \"input\"?)"));
}

TEST(ReviewSection, RejectsNotAMap) {
  EXPECT_THAT(FirstError("version: 1\nreview: 0.01\n"),
              HasSubstr("p.yaml:2:9: review: expected a map"));
}

}  // namespace
}  // namespace warden::policy
