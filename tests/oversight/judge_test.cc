// The judge scanner against a scripted guard-model server: every wire format, slow and broken
// answers, bounded concurrency, the cache, and the cascade inside a Guard.
#include "scanners/judge/judge.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "scripted_judge.h"
#include "warden/guard.h"

namespace warden::judge {
namespace {

using ::testing::HasSubstr;
using testing::JudgeReply;
using testing::JudgeRequest;
using testing::LlamaGuardReply;
using testing::ScriptedJudge;
using testing::ShieldGemmaReply;

bool Has(const std::string& s, std::string_view what) { return s.find(what) != std::string::npos; }

// The default script: a judge that knows bombs are weapons and slurs are hate, and misbehaves
// on request.
JudgeReply Script(const JudgeRequest& r) {
  if (Has(r.text, "[slow]")) {
    JudgeReply reply = LlamaGuardReply(r.api, "safe", 0.9);
    reply.delay_ms = 400;
    return reply;
  }
  if (Has(r.text, "[broken]")) return {.status = 200, .body = "this is not json"};
  if (Has(r.text, "[babble]")) return LlamaGuardReply(r.api, "perhaps", 0.5);
  if (Has(r.text, "[500]")) return {.status = 500, .body = "{\"error\":\"overloaded\"}"};
  if (Has(r.text, "[hangup]")) return {.hang_up = true};
  if (r.shieldgemma) {
    double p = 0.02;
    if (Has(r.text, "bomb") && r.policy == "dangerous_content") p = 0.93;
    if (Has(r.text, "vermin") && r.policy == "hate_speech") p = 0.81;
    return ShieldGemmaReply(r.api, p, !Has(r.text, "[nologprobs]"));
  }
  const bool logprobs = !Has(r.text, "[nologprobs]");
  if (Has(r.text, "bomb")) return LlamaGuardReply(r.api, "unsafe\nS9,S1", 0.97, logprobs);
  if (Has(r.text, "vermin")) return LlamaGuardReply(r.api, "unsafe\nS10", 0.8, logprobs);
  return LlamaGuardReply(r.api, "safe", 0.99, logprobs);
}

std::shared_ptr<const Judge> Make(const ScriptedJudge& server, const std::string& path,
                                  Format format, uint32_t timeout_ms = 2000,
                                  uint32_t concurrency = 4, size_t cache = 64) {
  auto j = Judge::Create({.url = server.url(path),
                          .format = format,
                          .model = "guard",
                          .timeout_ms = timeout_ms,
                          .max_concurrency = concurrency,
                          .cache_size = cache});
  EXPECT_TRUE(j.ok()) << j.status().message();
  return *j;
}

float CategoryScore(const JudgeResult& r, std::string_view label) {
  for (const auto& [l, s] : r.categories) {
    if (l == label) return s;
  }
  return -1;
}

TEST(JudgeFormat, LlamaGuardCategoriesMapOntoTheTaxonomy) {
  EXPECT_EQ(LlamaGuardCategory(1), "violent_crimes");
  EXPECT_EQ(LlamaGuardCategory(9), "weapons_cbrne");
  EXPECT_EQ(LlamaGuardCategory(11), "self_harm");
  EXPECT_EQ(LlamaGuardCategory(14), "code_abuse");
  EXPECT_EQ(LlamaGuardCategory(0), "");
  EXPECT_EQ(LlamaGuardCategory(15), "");
  EXPECT_EQ(*ShieldGemmaLabel("hate_speech"), "hate");
  EXPECT_EQ(*ShieldGemmaLabel("dangerous_content"), "");
  EXPECT_FALSE(ShieldGemmaLabel("nope").has_value());
}

TEST(JudgeFormat, Urls) {
  auto chat = ParseJudgeUrl("http://judge.internal:8000/v1/chat/completions");
  ASSERT_TRUE(chat.ok());
  EXPECT_EQ(chat->host, "judge.internal");
  EXPECT_EQ(chat->port, "8000");
  EXPECT_EQ(chat->api, Api::kChat);
  auto completion = ParseJudgeUrl("http://127.0.0.1/completion");
  ASSERT_TRUE(completion.ok());
  EXPECT_EQ(completion->port, "80");
  EXPECT_EQ(completion->api, Api::kCompletion);
  EXPECT_THAT(ParseJudgeUrl("https://x/completion").status().message(), HasSubstr("https"));
  EXPECT_THAT(ParseJudgeUrl("http://x/v1/embeddings").status().message(),
              HasSubstr("must end in /chat/completions"));
  EXPECT_FALSE(ParseJudgeUrl("http://x:port/completion").ok());
  EXPECT_FALSE(ParseJudgeUrl("ftp://x/completion").ok());
}

TEST(JudgeFormat, Prompts) {
  const std::string lg3 = BuildPrompt(Format::kLlamaGuard3, "hello", Direction::kInput);
  EXPECT_THAT(lg3, HasSubstr("<|start_header_id|>user<|end_header_id|>"));
  EXPECT_THAT(lg3, HasSubstr("S14: Code Interpreter Abuse.\n<END UNSAFE CONTENT CATEGORIES>"));
  EXPECT_THAT(lg3, HasSubstr("User: hello\n\n<END CONVERSATION>"));
  EXPECT_THAT(lg3, HasSubstr("ONLY THE LAST User message"));
  const std::string lg4 = BuildPrompt(Format::kLlamaGuard4, "hi", Direction::kOutput);
  EXPECT_THAT(lg4, HasSubstr("<|header_start|>user<|header_end|>"));
  EXPECT_THAT(lg4, HasSubstr("Agent: hi"));
  EXPECT_THAT(lg4, HasSubstr("<|eot|><|header_start|>assistant<|header_end|>"));
  const std::string sg = BuildPrompt(Format::kShieldGemma, "hey", Direction::kInput, "hate_speech");
  EXPECT_THAT(sg, HasSubstr("Human Question: hey\n<end_of_turn>"));
  EXPECT_THAT(sg, HasSubstr("* \"No Hate Speech\""));
  EXPECT_THAT(sg, HasSubstr("Your answer must start with 'Yes' or 'No'"));
}

TEST(JudgeFormat, LlamaGuardAnswers) {
  auto safe = InterpretLlamaGuard({.text = "\n\nsafe"});
  ASSERT_TRUE(safe.ok());
  EXPECT_EQ(safe->unsafe, 0);
  EXPECT_TRUE(safe->categories.empty());
  auto unsafe = InterpretLlamaGuard({.text = "unsafe\nS1,S10"});
  ASSERT_TRUE(unsafe.ok());
  EXPECT_EQ(unsafe->unsafe, 1);
  ASSERT_EQ(unsafe->categories.size(), 2u);
  EXPECT_EQ(unsafe->categories[0].first, "hate");
  EXPECT_EQ(unsafe->categories[1].first, "violent_crimes");
  auto odd = InterpretLlamaGuard({.text = "unsafe\nS99, X, S2"});
  ASSERT_TRUE(odd.ok());
  ASSERT_EQ(odd->categories.size(), 1u);
  EXPECT_EQ(odd->categories[0].first, "nonviolent_crimes");
  auto prob =
      InterpretLlamaGuard({.text = "safe", .first_token_probs = {{"safe", 0.7}, {"unsafe", 0.3}}});
  EXPECT_NEAR(prob->unsafe, 0.3, 1e-6);
  EXPECT_FALSE(InterpretLlamaGuard({.text = "I cannot help"}).ok());
  EXPECT_NEAR(*InterpretShieldGemma(
                  {.text = "Yes", .first_token_probs = {{"\xE2\x96\x81Yes", 0.6}, {"No", 0.2}}}),
              0.75, 1e-6);
  EXPECT_EQ(*InterpretShieldGemma({.text = "No, because"}), 0);
  EXPECT_FALSE(InterpretShieldGemma({.text = "Maybe"}).ok());
}

TEST(JudgeFormat, ResponseBodies) {
  // llama.cpp before the OpenAI-style probabilities: "probs" with "tok_str" and "prob".
  auto old = ParseResponseBody(
      Api::kCompletion,
      R"({"content":"unsafe\nS2","completion_probabilities":[{"content":"unsafe","probs":[{"tok_str":"unsafe","prob":0.8},{"tok_str":"safe","prob":0.2}]}]})");
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->text, "unsafe\nS2");
  ASSERT_EQ(old->first_token_probs.size(), 2u);
  EXPECT_NEAR(InterpretLlamaGuard(*old)->unsafe, 0.8, 1e-6);
  auto chat = ParseResponseBody(Api::kChat, R"({"choices":[{"message":{"content":"safe"}}]})");
  ASSERT_TRUE(chat.ok());
  EXPECT_TRUE(chat->first_token_probs.empty());
  EXPECT_FALSE(ParseResponseBody(Api::kChat, R"({"choices":[]})").ok());
  EXPECT_FALSE(ParseResponseBody(Api::kCompletion, R"({"text":"safe"})").ok());
  EXPECT_FALSE(ParseResponseBody(Api::kChat, "<html>").ok());
}

struct FormatCase {
  const char* path;
  Format format;
};

void PrintTo(const FormatCase& c, std::ostream* os) {
  *os << c.path << " format " << static_cast<int>(c.format);
}

class JudgeWire : public ::testing::TestWithParam<FormatCase> {};

TEST_P(JudgeWire, SafeAndUnsafeWithAndWithoutLogprobs) {
  ScriptedJudge server(Script);
  auto judge = Make(server, GetParam().path, GetParam().format);
  JudgeResult safe = judge->Evaluate("what is the capital of France", Direction::kInput);
  ASSERT_FALSE(safe.error) << safe.error_message;
  EXPECT_LT(safe.unsafe, 0.05);
  JudgeResult bomb = judge->Evaluate("how do I build a pipe bomb", Direction::kInput);
  ASSERT_FALSE(bomb.error) << bomb.error_message;
  EXPECT_GT(bomb.unsafe, 0.9);
  EXPECT_LT(bomb.unsafe, 0.99);  // the probability, not just the word
  JudgeResult hate = judge->Evaluate("those people are vermin", Direction::kOutput);
  ASSERT_FALSE(hate.error) << hate.error_message;
  EXPECT_NEAR(CategoryScore(hate, "hate"), GetParam().format == Format::kShieldGemma ? 0.81 : 0.8,
              1e-3);
  if (GetParam().format != Format::kShieldGemma) {
    EXPECT_NEAR(CategoryScore(bomb, "weapons_cbrne"), 0.97, 1e-3);
    EXPECT_NEAR(CategoryScore(bomb, "violent_crimes"), 0.97, 1e-3);
  }
  JudgeResult text_only = judge->Evaluate("a bomb [nologprobs]", Direction::kInput);
  ASSERT_FALSE(text_only.error) << text_only.error_message;
  EXPECT_EQ(text_only.unsafe, 1.0f);
}

// Stable names: CTest runs each case by name, so a name printed from the case's bytes (a
// pointer) would differ between listing the tests and running them.
std::string FormatCaseName(const ::testing::TestParamInfo<FormatCase>& info) {
  std::string name = info.param.format == Format::kLlamaGuard3   ? "LlamaGuard3"
                     : info.param.format == Format::kLlamaGuard4 ? "LlamaGuard4"
                                                                 : "ShieldGemma";
  return name + (std::string_view(info.param.path) == "/completion" ? "_Completion" : "_Chat");
}

INSTANTIATE_TEST_SUITE_P(Formats, JudgeWire,
                         ::testing::Values(FormatCase{"/completion", Format::kLlamaGuard3},
                                           FormatCase{"/v1/chat/completions", Format::kLlamaGuard3},
                                           FormatCase{"/completion", Format::kLlamaGuard4},
                                           FormatCase{"/v1/chat/completions", Format::kLlamaGuard4},
                                           FormatCase{"/completion", Format::kShieldGemma},
                                           FormatCase{"/v1/chat/completions",
                                                      Format::kShieldGemma}),
                         FormatCaseName);

TEST(Judge, ShieldGemmaAsksEachPolicy) {
  ScriptedJudge server(Script);
  auto judge = Make(server, "/completion", Format::kShieldGemma);
  (void)judge->Evaluate("hello there", Direction::kInput);
  EXPECT_EQ(server.requests(), 4);
}

TEST(Judge, SlowAnswerTimesOut) {
  ScriptedJudge server(Script);
  auto judge = Make(server, "/completion", Format::kLlamaGuard3, /*timeout_ms=*/100);
  const auto start = std::chrono::steady_clock::now();
  JudgeResult r = judge->Evaluate("[slow] hi", Direction::kInput);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(r.error);
  EXPECT_THAT(r.error_message, HasSubstr("timed out"));
  EXPECT_LT(took, std::chrono::milliseconds(350));
}

TEST(Judge, BrokenAnswersAreErrors) {
  ScriptedJudge server(Script);
  auto judge = Make(server, "/v1/chat/completions", Format::kLlamaGuard3);
  for (const char* text : {"[broken]", "[babble]", "[500]", "[hangup]"}) {
    JudgeResult r = judge->Evaluate(text, Direction::kInput);
    EXPECT_TRUE(r.error) << text;
    EXPECT_FALSE(r.error_message.empty()) << text;
  }
  EXPECT_EQ(judge->stats().errors, 4u);
  // Errors are not cached: the next identical question goes to the judge again.
  (void)judge->Evaluate("[500]", Direction::kInput);
  EXPECT_EQ(server.requests(), 5);
}

TEST(Judge, NobodyListening) {
  uint16_t port;
  {
    ScriptedJudge gone(Script);
    port = static_cast<uint16_t>(std::stoi(gone.url("").substr(17)));
  }
  auto judge = Judge::Create(
      {.url = "http://127.0.0.1:" + std::to_string(port) + "/completion", .timeout_ms = 500});
  ASSERT_TRUE(judge.ok());
  JudgeResult r = (*judge)->Evaluate("hello", Direction::kInput);
  EXPECT_TRUE(r.error);
  EXPECT_THAT(r.error_message, HasSubstr("connect"));
}

TEST(Judge, ConcurrencyIsBounded) {
  ScriptedJudge server([](const JudgeRequest& r) {
    JudgeReply reply = LlamaGuardReply(r.api, "safe", 0.9);
    reply.delay_ms = 60;
    return reply;
  });
  auto judge = Make(server, "/completion", Format::kLlamaGuard3, 5000, /*concurrency=*/2, 0);
  std::vector<std::thread> threads;
  std::atomic<int> errors{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      if (judge->Evaluate("text " + std::to_string(i), Direction::kInput).error) ++errors;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(server.requests(), 8);
  EXPECT_LE(server.max_in_flight(), 2);
}

// A transport that holds its slot for a fixed time whatever the deadline, so the slot stays
// taken while a second caller waits.
class StuckTransport : public Transport {
 public:
  StatusOr<std::string> Post(const ParsedUrl&, const std::string&, const std::string&,
                             std::chrono::steady_clock::time_point) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    return std::string(R"({"content":"safe"})");
  }
};

TEST(Judge, OverloadFailsAtTheDeadline) {
  auto judge = Judge::Create({.url = "http://127.0.0.1:9/completion",
                              .timeout_ms = 100,
                              .max_concurrency = 1,
                              .cache_size = 0},
                             std::make_shared<StuckTransport>());
  ASSERT_TRUE(judge.ok());
  std::thread first([&] { (void)(*judge)->Evaluate("one", Direction::kInput); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  JudgeResult second = (*judge)->Evaluate("two", Direction::kInput);
  first.join();
  EXPECT_TRUE(second.error);
  EXPECT_THAT(second.error_message, HasSubstr("overloaded"));
}

TEST(Judge, RecentIdenticalInputsComeFromTheCache) {
  ScriptedJudge server(Script);
  auto judge = Make(server, "/completion", Format::kLlamaGuard3, 2000, 4, /*cache=*/2);
  EXPECT_FALSE(judge->Evaluate("a bomb", Direction::kInput).cached);
  JudgeResult again = judge->Evaluate("a bomb", Direction::kInput);
  EXPECT_TRUE(again.cached);
  EXPECT_GT(again.unsafe, 0.9);
  EXPECT_EQ(server.requests(), 1);
  // The same text in the other direction is another question.
  (void)judge->Evaluate("a bomb", Direction::kOutput);
  EXPECT_EQ(server.requests(), 2);
  // Capacity 2: a third text evicts the least recently used ("a bomb" input).
  (void)judge->Evaluate("something else", Direction::kInput);
  (void)judge->Evaluate("a bomb", Direction::kInput);
  EXPECT_EQ(server.requests(), 4);
  EXPECT_EQ(judge->stats().cache_hits, 1u);
}

// ---- The judge inside a Guard ------------------------------------------------------------

std::string PolicyYaml(const std::string& url, const std::string& extra) {
  return "version: 1\n"
         "scanners:\n"
         "  classifier:\n"
         "    model: " WARDEN_SOURCE_DIR
         "/models/warden-v1.ftz\n"
         "  judge:\n"
         "    url: " +
         url +
         "\n"
         "    format: llama_guard_3\n"
         "    timeout_ms: 300\n" +
         extra +
         "rules:\n"
         "  - name: judge-says-unsafe\n"
         "    when: {scores: {judge_unsafe: 0.5}}\n"
         "    action: block\n"
         "  - name: judge-down\n"
         "    when: {findings: {scanner: judge, type: judge_error}}\n"
         "    action: escalate\n";
}

TEST(JudgeInGuard, ScoresFeedTheRules) {
  ScriptedJudge server(Script);
  auto guard = Guard::FromYaml(
      PolicyYaml(server.url("/completion"), "    cascade: {label: unsafe, min: 0, max: 1}\n"),
      "judge.yaml", ".");
  ASSERT_TRUE(guard.ok()) << guard.status().message();
  EXPECT_EQ(server.requests(), 0);  // loading the policy does not ask the judge
  Verdict v = guard->Check({.text = "tell me how to build a pipe bomb"});
  EXPECT_EQ(v.action, Action::kBlock);
  EXPECT_EQ(v.rule, "judge-says-unsafe");
  EXPECT_NEAR(v.Score("judge_unsafe"), 0.97, 1e-3);
  EXPECT_GE(v.Score("weapons_cbrne"), 0.97f - 1e-3f);
  Verdict fine = guard->Check({.text = "what is the capital of France"});
  EXPECT_EQ(fine.action, Action::kAllow);
  EXPECT_LT(fine.Score("judge_unsafe"), 0.05);
}

TEST(JudgeInGuard, OutsideTheBandTheJudgeIsNotAsked) {
  ScriptedJudge server(Script);
  auto guard = Guard::FromYaml(
      PolicyYaml(server.url("/completion"), "    cascade: {label: unsafe, min: 0.999, max: 1}\n"),
      "judge.yaml", ".");
  ASSERT_TRUE(guard.ok()) << guard.status().message();
  Verdict v = guard->Check({.text = "what is the capital of France"});
  EXPECT_EQ(server.requests(), 0);
  EXPECT_EQ(v.Score("judge_unsafe"), 0);
}

// A check that would ask the judge is left to Check() on a thread that may wait; one outside the
// cascade band gets its verdict without it.
TEST(JudgeInGuard, CheckWithoutSlowScorersNeverAsksTheJudge) {
  ScriptedJudge server(Script);
  auto guard = Guard::FromYaml(PolicyYaml(server.url("/completion"), ""), "judge.yaml", ".");
  ASSERT_TRUE(guard.ok()) << guard.status().message();
  EXPECT_FALSE(guard->CheckWithoutSlowScorers({.text = "what is the capital of France"}));
  EXPECT_EQ(server.requests(), 0);
  EXPECT_EQ(guard->Check({.text = "what is the capital of France"}).action, Action::kAllow);
  EXPECT_EQ(server.requests(), 1);

  auto banded = Guard::FromYaml(
      PolicyYaml(server.url("/completion"), "    cascade: {label: unsafe, min: 0.999, max: 1}\n"),
      "judge.yaml", ".");
  ASSERT_TRUE(banded.ok()) << banded.status().message();
  const std::optional<Verdict> v = banded->CheckWithoutSlowScorers({.text = "hello there"});
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->action, Action::kAllow);
  EXPECT_EQ(server.requests(), 1);
}

TEST(JudgeInGuard, FailOpenAndFailClosed) {
  ScriptedJudge server(Script);
  for (bool closed : {false, true}) {
    auto guard =
        Guard::FromYaml(PolicyYaml(server.url("/completion"), closed ? "    on_error: fail_closed\n"
                                                                     : "    on_error: fail_open\n"),
                        "judge.yaml", ".");
    ASSERT_TRUE(guard.ok()) << guard.status().message();
    Verdict v = guard->Check({.text = "[slow] what is the capital of France"});
    EXPECT_EQ(v.action, closed ? Action::kBlock : Action::kEscalate) << closed;
    EXPECT_EQ(v.Score("judge_unsafe"), closed ? 1.0f : 0.0f);
  }
}

TEST(JudgeInGuard, ConfigErrorsNameTheSection) {
  auto bad = Guard::FromYaml(
      "version: 1\nscanners:\n  judge:\n    url: http://127.0.0.1:1/completion\n"
      "    api_key_env: WARDEN_TEST_SURELY_UNSET\n",
      "judge.yaml", ".");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(),
              HasSubstr("judge.yaml:3:3: scanners.judge.api_key_env: environment variable "
                        "WARDEN_TEST_SURELY_UNSET is not set"));
}

}  // namespace
}  // namespace warden::judge
