// Engine: one compiled policy — validated rules, the view builder, and the scanners the policy
// enables — joined into the Check() pipeline:
//   views -> pattern scanners -> classifier -> judge (in the cascade band) -> scores -> rules
//   -> redaction -> verdict.
// Nothing here knows about HTTP.
//
// Thread-safety: immutable after Compile(); Check() may run on any number of threads.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "policy/policy.h"
#include "scanners/classifier/classifier.h"
#include "scanners/judge/judge.h"
#include "scanners/patterns/pattern_engine.h"
#include "text/views.h"
#include "warden/guard.h"

namespace warden::engine {

class Engine {
 public:
  static StatusOr<std::shared_ptr<const Engine>> Compile(policy::PolicyConfig policy);
  // The policy's enabled pattern scanners, as PatternEngine::Compile takes them.
  static std::vector<scanners::PatternScannerConfig> PatternConfigs(
      const policy::PolicyConfig& policy);

  Verdict Check(const Message& message, const CheckOptions& options) const;
  // Guard::CheckWithoutSlowScorers.
  std::optional<Verdict> CheckWithoutSlowScorers(const Message& message,
                                                 const CheckOptions& options) const;

  const PolicyInfo& info() const { return info_; }
  const policy::PolicyConfig& policy() const { return policy_; }

 private:
  Engine(policy::PolicyConfig policy);

  // Both checks, into `verdict` (default-constructed by the caller); without `allow_slow`,
  // returns false as soon as the message needs a slow scorer, and `verdict` is not to be used.
  bool Run(const Message& message, const CheckOptions& options, bool allow_slow,
           Verdict& verdict) const;

  // The view of a payload split across turns: the values of the variables `text` joins ("A +
  // B") that earlier turns of `conversation` assigned, as a decoded view of the join's span;
  // records `text`'s own assignments first (Conversation::NoteAssignments).
  static constexpr std::string_view kJoinedViewName = "decoded:joined";
  static void AppendJoinedPayload(std::string_view text, Conversation& conversation,
                                  std::vector<text::View>& views);

  // The classifier's calibrated scores of `views`; without `allow_slow`, false instead when the
  // text needs the sentence encoder.
  bool Score(const std::vector<text::View>& views, bool allow_slow,
             std::vector<std::pair<std::string, float>>& scores) const;
  // A tool result's scores under `tool_results: instructions`: the harm labels (every category
  // and "unsafe") from its instruction views alone, 0 when it has none; "jailbreak" and
  // "prompt_injection" from the whole result.
  bool ScoreToolResult(const std::vector<text::View>& views, bool allow_slow,
                       std::vector<std::pair<std::string, float>>& scores) const;

  // Merges the classifier's calibrated label scores into the verdict (max per label) and adds a
  // whole-message finding for every label at or above its threshold. A tool result's harm labels
  // score only its instructions to the model when the policy says so (`tool_results:
  // instructions`). Without `allow_slow`, returns false instead when the text needs the
  // classifier's sentence encoder.
  bool AddClassifierScores(const std::vector<text::View>& views, std::string_view text,
                           Direction direction, Verdict& verdict, bool allow_slow) const;

  // Asks the judge when the policy's cascade band holds the message (always without a cascade)
  // and merges its scores ("judge_unsafe" and the categories it names, max per label). A judge
  // error adds a "judge_error" finding; with fail_closed, judge_unsafe becomes 1. Without
  // `allow_slow`, returns false instead when the judge would be asked.
  bool AddJudgeScores(const Message& message, Verdict& verdict, bool allow_slow) const;

  // Adds spans to redact for every finding a matched redact rule selects.
  void CollectRedactions(const policy::Decision& decision, const Verdict& verdict,
                         std::vector<struct RedactionSpan>& spans) const;

  policy::PolicyConfig policy_;
  text::ViewBuilder views_;
  std::shared_ptr<const scanners::PatternEngine> patterns_;  // null: no pattern scanner enabled
  std::shared_ptr<const classifier::Classifier> classifier_; // null: no classifier in the policy
  std::shared_ptr<const judge::Judge> judge_;                // null: no judge in the policy
  PolicyInfo info_;
  // Distinct for every engine ever compiled in this process (a reloaded policy's engine may be
  // allocated where the old one was): the per-thread classifier score cache keys on it.
  const uint64_t id_;
};

}  // namespace warden::engine
