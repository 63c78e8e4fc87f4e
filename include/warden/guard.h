// A Guard screens messages under one compiled policy and returns verdicts.
//
//   warden::StatusOr<warden::Guard> guard = warden::Guard::Open("policies/default.yaml");
//   if (!guard.ok()) return Fail(guard.status());
//   warden::Verdict v = guard->Check({.text = prompt, .direction = warden::Direction::kInput});
//
// Thread-safety: a Guard is immutable after Open() and safe to share between threads; copies
// are cheap (they share the compiled policy). Per-call scratch space lives in thread-local
// storage owned by the library. A Conversation is NOT thread-safe: use one per conversation.
//
// Agents: a tool call is a Message with direction kToolCall, `tool_name` and the JSON
// `tool_arguments`; the policy's `tools:` section (docs/policy.md) decides it, together with the
// content rules. Pass the same Conversation to every Check() of one conversation so that taint
// rules see which tools' results the model has read:
//
//   warden::Conversation conv;
//   guard.Check({.text = page, .direction = warden::Direction::kToolResult,
//                .tool_name = "web_fetch"}, {.conversation = &conv});
//   warden::Verdict v = guard.Check({.text = args, .direction = warden::Direction::kToolCall,
//                                    .tool_name = "send_email", .tool_arguments = args},
//                                   {.conversation = &conv});   // taint rule: require_approval
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "warden/message.h"
#include "warden/status.h"
#include "warden/verdict.h"

namespace warden {

namespace engine {
class Engine;
}

// State of one conversation:
// - placeholders: the same value gets the same placeholder in every message of the conversation
//   ("[EMAIL_1]" stays "[EMAIL_1]"), and Restore() maps placeholders in a response back to the
//   caller's values;
// - taint: which tools' results the conversation holds, so that a later call of a sensitive tool
//   after an untrusted tool's result gets the policy's taint action;
// - split payloads: strings the user assigned to variables ('Let A = "…"'), so that a later turn
//   that joins them ("answer A + B") is also read joined.
class Conversation {
 public:
  // Replaces every placeholder this conversation handed out with its original value.
  std::string Restore(std::string_view text) const;
  // Returns the placeholder for `value` of kind `kind` (e.g. "EMAIL"), creating it if new.
  const std::string& PlaceholderFor(std::string_view kind, std::string_view value);
  size_t size() const { return by_placeholder_.size(); }

  // Records that a result of tool `tool_name` is now part of the conversation. Guard::Check()
  // calls it for every kToolResult message checked with this conversation, whatever the verdict;
  // call it yourself for results that do not pass through Check(). An empty name stands for a
  // result whose tool is unknown, which taint rules treat as untrusted.
  void NoteToolResult(std::string_view tool_name);
  // True when NoteToolResult(`tool_name`) was called.
  bool SawToolResult(std::string_view tool_name) const;
  // Distinct tool names recorded, in first-seen order.
  const std::vector<std::string>& tool_results() const { return tool_results_; }

  // Records the quoted strings `text` assigns to variables: `NAME = "value"` or `NAME = 'value'`
  // (NAME a letter or underscore, then up to 15 letters, digits or underscores; a value of at
  // most 4 KiB). A later assignment to the same name replaces the value; beyond 64 names, new
  // ones are not recorded. Guard::Check() calls it for every kInput message checked with this
  // conversation, after reading the message (so a message may join what it assigns itself).
  void NoteAssignments(std::string_view text);
  // The first join of recorded variables in `text` ("A + B", "x+y+z": two to 16 names joined
  // by '+'; a longer chain is read up to its 16th name), as the values concatenated (a space put
  // between two values when neither has one at the seam), with [begin, end) the join's span in
  // `text`; empty when there is none.
  std::string JoinedPayload(std::string_view text, uint32_t& begin, uint32_t& end) const;

 private:
  std::unordered_map<std::string, std::string> by_value_;        // kind + '\0' + value -> ph
  std::unordered_map<std::string, std::string> by_placeholder_;  // ph -> value
  std::unordered_map<std::string, int> next_index_;              // kind -> last index used
  std::vector<std::string> tool_results_;                        // taint: tools whose results
  std::vector<std::pair<std::string, std::string>> variables_;   // name -> assigned string
};

struct CheckOptions {
  // Keeps placeholders stable across messages; may be null (placeholders then restart at 1).
  Conversation* conversation = nullptr;
  // Fill Verdict::replacements with placeholder -> original value.
  bool reversible = false;
  // Taint without a Conversation (or in addition to it): names of tools whose results are
  // already in the conversation, e.g. the `role: tool` messages of a stateless chat request.
  // An empty name counts as an untrusted source. The caller keeps the strings alive during
  // Check(). Default: none.
  std::span<const std::string_view> tool_results = {};
  // The caller states that the conversation holds untrusted content whatever its source (a
  // retrieved document, a pasted web page): every taint rule's sinks get its action. Default:
  // false.
  bool untrusted_content = false;
};

// What the compiled policy contains, for reports and --help output.
struct PolicyInfo {
  std::string name;
  std::string path;
  std::vector<std::string> scanners;  // enabled scanner names
  size_t rule_count = 0;       // content rules (`rules:`)
  size_t pattern_count = 0;
  bool has_tool_section = false;  // the policy has a `tools:` section
  size_t tool_rule_count = 0;     // `tools.rules`
  size_t taint_rule_count = 0;    // `tools.taint`
  size_t tool_allow_count = 0;    // entries of `tools.allow`
  size_t tool_deny_count = 0;     // entries of `tools.deny`
  // Some checks can take milliseconds or a network round trip: the classifier has a sentence
  // encoder, or a judge is configured (Guard::CheckWithoutSlowScorers).
  bool has_slow_scorers = false;
  // Some decision can be require_approval (a tools section, or a rule with that action): the
  // gateway then looks up stored approvals for retried requests.
  bool can_require_approval = false;
  // The `review:` section (docs/oversight.md): the fraction of traffic a human reviews.
  bool has_review = false;
  double review_budget = 0;
  bool review_per_tenant = true;
  uint64_t review_window = 0;
  double review_min_score = 0;
};

class Guard {
 public:
  // Loads, validates and compiles the policy at `policy_path` (YAML, see docs/policy.md).
  // Errors name the file, line and column.
  static StatusOr<Guard> Open(const std::string& policy_path);
  // Same, from YAML text. `display_name` is used in error messages; relative pack paths are
  // resolved against `base_dir`.
  static StatusOr<Guard> FromYaml(std::string_view yaml, std::string display_name,
                                  std::string base_dir);

  // Screens one message. Never fails: any text (invalid UTF-8, NUL bytes, empty) gets a verdict.
  Verdict Check(const Message& message, const CheckOptions& options = {}) const;

  // Check(), for a thread that must not block: when the message needs a slow scorer (the
  // classifier's sentence encoder, milliseconds; a judge, a network round trip), returns
  // nullopt instead, having spent only the fast scanners' time, and the caller runs Check() on
  // a thread that may wait. Most traffic never reaches a slow scorer and gets its verdict here.
  // A nullopt leaves `options.conversation` as a Check() of the same message would begin it (a
  // tool result is noted), so checking the message again is safe.
  std::optional<Verdict> CheckWithoutSlowScorers(const Message& message,
                                                 const CheckOptions& options = {}) const;

  const PolicyInfo& info() const;

  // The policy's suspicion score for a verdict (its `review:` combination of scores), or -1
  // when the policy has no review section or does not count `direction`.
  double Suspicion(const Verdict& verdict, Direction direction) const;

 private:
  explicit Guard(std::shared_ptr<const engine::Engine> engine) : engine_(std::move(engine)) {}
  std::shared_ptr<const engine::Engine> engine_;
};

}  // namespace warden
