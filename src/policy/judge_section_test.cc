// The `scanners.judge` section: one valid policy and one test per rejected field.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "policy/policy.h"

namespace warden::policy {
namespace {

using ::testing::HasSubstr;

StatusOr<PolicyConfig> Parse(const std::string& yaml) { return ParsePolicy(yaml, "p.yaml", "."); }

std::string FirstError(const std::string& judge) {
  StatusOr<PolicyConfig> p = Parse("version: 1\nscanners:\n  judge:\n" + judge);
  EXPECT_FALSE(p.ok()) << "policy unexpectedly valid:\n" << judge;
  if (p.ok()) return "";
  const std::string& m = p.status().message();
  return m.substr(0, m.find('\n'));
}

constexpr char kUrl[] = "    url: http://127.0.0.1:8080/completion\n";

TEST(JudgeSection, ValidEveryField) {
  StatusOr<PolicyConfig> p = Parse(R"(version: 1
scanners:
  judge:
    enabled: true
    url: http://guard.internal:8000/v1/chat/completions
    format: shieldgemma
    model: shieldgemma-2b
    timeout_ms: 800
    max_concurrency: 8
    cache_size: 4096
    on_error: fail_closed
    api_key_env: GUARD_KEY
    policies: [hate_speech, harassment]
    cascade: {label: unsafe, min: 0.3, max: 0.8}
rules:
  - name: judged
    when: {findings: {scanner: judge}}
    action: escalate
)");
  ASSERT_TRUE(p.ok()) << p.status().message();
  ASSERT_TRUE(p->judge.has_value());
  const JudgeScannerSection& j = *p->judge;
  EXPECT_EQ(j.url, "http://guard.internal:8000/v1/chat/completions");
  EXPECT_EQ(j.format, "shieldgemma");
  EXPECT_EQ(j.model, "shieldgemma-2b");
  EXPECT_EQ(j.timeout_ms, 800u);
  EXPECT_EQ(j.max_concurrency, 8u);
  EXPECT_EQ(j.cache_size, 4096u);
  EXPECT_TRUE(j.fail_closed);
  EXPECT_EQ(j.api_key_env, "GUARD_KEY");
  EXPECT_EQ(j.policies.size(), 2u);
  ASSERT_TRUE(j.cascade.has_value());
  EXPECT_FLOAT_EQ(j.cascade->min, 0.3f);
  EXPECT_EQ(j.location, "p.yaml:3:3: scanners.judge");
}

TEST(JudgeSection, Defaults) {
  StatusOr<PolicyConfig> p = Parse(std::string("version: 1\nscanners:\n  judge:\n") + kUrl);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->judge->format, "llama_guard_3");
  EXPECT_EQ(p->judge->timeout_ms, 2000u);
  EXPECT_FALSE(p->judge->fail_closed);
  EXPECT_FALSE(p->judge->cascade.has_value());
}

TEST(JudgeSection, RejectsMissingUrl) {
  EXPECT_THAT(FirstError("    format: llama_guard_3\n"),
              HasSubstr("p.yaml:3:3: scanners.judge.url: missing required key"));
}

TEST(JudgeSection, RejectsBadUrls) {
  EXPECT_THAT(FirstError("    url: https://x/completion\n"), HasSubstr("https is not supported"));
  EXPECT_THAT(FirstError("    url: judge:8080/completion\n"), HasSubstr("expected an http:// URL"));
  EXPECT_THAT(FirstError("    url: http://x/v1/models\n"),
              HasSubstr("p.yaml:4:10: scanners.judge.url: the path must end in"));
}

TEST(JudgeSection, RejectsUnknownFormat) {
  EXPECT_THAT(FirstError(std::string(kUrl) + "    format: llama_guard3\n"),
              HasSubstr("scanners.judge.format: unknown format \"llama_guard3\" (did you mean "
                        "\"llama_guard_3\"?)"));
}

TEST(JudgeSection, RejectsEmptyModel) {
  EXPECT_THAT(FirstError(std::string(kUrl) + "    model: \"\"\n"),
              HasSubstr("scanners.judge.model: must not be empty"));
}

TEST(JudgeSection, RejectsTimeout) {
  EXPECT_THAT(FirstError(std::string(kUrl) + "    timeout_ms: 0\n"),
              HasSubstr("scanners.judge.timeout_ms: must be between 1 and 600000"));
}

TEST(JudgeSection, RejectsConcurrency) {
  EXPECT_THAT(FirstError(std::string(kUrl) + "    max_concurrency: 0\n"),
              HasSubstr("scanners.judge.max_concurrency: must be between 1"));
}

TEST(JudgeSection, RejectsCacheSize) {
  EXPECT_THAT(FirstError(std::string(kUrl) + "    cache_size: many\n"),
              HasSubstr("scanners.judge.cache_size: expected a whole number"));
}

TEST(JudgeSection, RejectsOnError) {
  EXPECT_THAT(FirstError(std::string(kUrl) + "    on_error: fail_opne\n"),
              HasSubstr("unknown on_error value \"fail_opne\" (did you mean \"fail_open\"?)"));
}

TEST(JudgeSection, RejectsApiKeyEnv) {
  EXPECT_THAT(FirstError(std::string(kUrl) + "    api_key_env: [A]\n"),
              HasSubstr("scanners.judge.api_key_env: expected a string"));
}

TEST(JudgeSection, RejectsPolicies) {
  EXPECT_THAT(FirstError(std::string(kUrl) + "    format: shieldgemma\n    policies: [hate]\n"),
              HasSubstr("unknown ShieldGemma policy \"hate\""));
  EXPECT_THAT(FirstError(std::string(kUrl) + "    policies: [hate_speech]\n"),
              HasSubstr("only the shieldgemma format takes policies"));
}

TEST(JudgeSection, RejectsCascade) {
  EXPECT_THAT(FirstError(std::string(kUrl) + "    cascade: {label: unsafe, min: 0.9, max: 0.1}\n"),
              HasSubstr("min is greater than max"));
  EXPECT_THAT(FirstError(std::string(kUrl) + "    cascade: {label: unsfe}\n"),
              HasSubstr("unknown score label \"unsfe\" (did you mean \"unsafe\"?)"));
  EXPECT_THAT(FirstError(std::string(kUrl) + "    cascade: {label: unsafe, min: 2}\n"),
              HasSubstr("scanners.judge.cascade.min: must be between 0 and 1"));
  EXPECT_THAT(FirstError(std::string(kUrl) + "    cascade: {lable: unsafe}\n"),
              HasSubstr("unknown key \"lable\""));
}

TEST(JudgeSection, RejectsUnknownKey) {
  EXPECT_THAT(FirstError(std::string(kUrl) + "    timout_ms: 5\n"),
              HasSubstr("scanners.judge.timout_ms: unknown key \"timout_ms\" (did you mean "
                        "\"timeout_ms\"?)"));
}

TEST(JudgeSection, RejectsEnabledNotABool) {
  EXPECT_THAT(FirstError(std::string(kUrl) + "    enabled: 1\n"),
              HasSubstr("scanners.judge.enabled: expected true or false"));
}

}  // namespace
}  // namespace warden::policy
