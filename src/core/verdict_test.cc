#include "warden/verdict.h"

#include <gtest/gtest.h>

namespace warden {
namespace {

TEST(Verdict, ActionNamesRoundTrip) {
  for (int i = 0; i <= static_cast<int>(Action::kKill); ++i) {
    const Action a = static_cast<Action>(i);
    EXPECT_EQ(ParseAction(ActionName(a)), a);
  }
  EXPECT_EQ(ParseAction("blok"), std::nullopt);
}

TEST(Verdict, JsonShape) {
  Verdict v;
  v.action = Action::kRedact;
  v.rule = "redact-pii";
  v.findings.push_back({.scanner = "pii", .type = "email", .start = 3, .end = 14,
                        .view = "raw", .score = 0.9f, .label = "pii"});
  v.scores = {{"pii", 0.9f}};
  v.redacted = "hi [EMAIL_1]";
  v.replacements = {{"[EMAIL_1]", "a@b.example"}};
  v.latency_us = 4.5;
  EXPECT_EQ(VerdictToJson(v),
            R"({"action":"redact","rule":"redact-pii","findings":[{"scanner":"pii",)"
            R"("type":"email","start":3,"end":14,"view":"raw","score":0.9,"label":"pii"}],)"
            R"("scores":{"pii":0.9},"redacted":"hi [EMAIL_1]",)"
            R"("replacements":{"[EMAIL_1]":"a@b.example"},"latency_us":4.5})");
}

TEST(Verdict, DefaultIsAllowWithNullRule) {
  EXPECT_EQ(VerdictToJson(Verdict{}),
            R"({"action":"allow","rule":null,"findings":[],"scores":{},"latency_us":0})");
}

}  // namespace
}  // namespace warden
