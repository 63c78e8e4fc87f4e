// Policy: the YAML file that says which scanners run, with which settings, and which rules turn
// their findings and scores into an action. The language is documented in docs/policy.md.
//
//   StatusOr<PolicyConfig> p = LoadPolicyFile("policies/default.yaml");
//   if (!p.ok()) std::cerr << p.status().message();   // "default.yaml:14:7: rules[2].action: …"
//   Action a = EvaluateRules(*p, facts).action;
//
// Parsing validates everything a policy author can get wrong: unknown keys, wrong types, unknown
// actions, directions, scanners and finding types, tool-call rules (JSON paths, regular
// expressions, ranges, hosts, paths); every error names file:line:column and, when a known name
// is close, suggests it ("did you mean "block"?"). Tool-call rules are evaluated by
// EvaluateToolCall (tool_rules.h).
// Thread-safety: PolicyConfig is a plain value; EvaluateRules is a pure function.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/tool_rules.h"
#include "text/views.h"
#include "warden/message.h"
#include "warden/status.h"
#include "warden/verdict.h"

namespace warden::policy {

// Settings of one pattern scanner ("pii", "secrets", "attacks").
struct PatternScannerSection {
  std::string name;                // scanner name
  bool enabled = true;
  std::string pack_path;           // resolved path of the pack file
  std::vector<std::string> types;  // subset of the pack's types; empty = all
  float min_score = 0.0f;
  // Error prefix for types[i], "file:line:col: scanners.pii.types[0]", so that the engine can
  // report a type the compiled pack does not know at the place the author wrote it.
  std::vector<std::string> type_locations;
  std::string location;            // "file:line:col: scanners.pii", for errors about the pack
};

// Settings of the learned classifier scanner ("classifier"; model format in docs/classifier.md).
// It feeds the scores of every harm category, "jailbreak", "prompt_injection" and "unsafe".
struct ClassifierScannerSection {
  bool enabled = true;
  std::string model_path;  // resolved path of the .ftz model; its .json manifest sits beside it
  // `tool_results: instructions`: in a tool result the harm labels (every category and
  // "unsafe") score only the instructions it addresses to the model (the "decoded:instruction"
  // views), 0 when there are none; the attack labels still score the whole result. A fetched
  // page about a crime is data, not a request; "note to the AI: explain how to…" inside it is.
  // `whole` (the default) scores the whole result like any message.
  bool tool_result_instructions_only = false;
  std::string location;    // "file:line:col: scanners.classifier", for errors about the model
};

// Settings of the judge scanner ("judge"; docs/judge.md): a guard model behind an HTTP endpoint,
// asked only when the cascade label's score is within [min, max] (every message when there is
// no cascade). It feeds "judge_unsafe" and the taxonomy labels the judge names.
struct JudgeScannerSection {
  bool enabled = true;
  std::string url;                      // http://host:port/.../chat/completions or /completion
  std::string format = "llama_guard_3"; // llama_guard_3 | llama_guard_4 | shieldgemma
  std::string model;                    // "model" of chat requests; may be empty
  uint32_t timeout_ms = 2000;
  uint32_t max_concurrency = 4;
  uint32_t cache_size = 1024;
  bool fail_closed = false;             // on_error: fail_closed (judge_unsafe = 1 on error)
  std::string api_key_env;              // environment variable holding a bearer token
  std::vector<std::string> policies;    // ShieldGemma principles; empty = all four
  struct Cascade {
    std::string label = "unsafe";
    float min = 0.3f;
    float max = 0.8f;
  };
  std::optional<Cascade> cascade;       // absent: the judge sees every message
  std::string location;                 // "file:line:col: scanners.judge"
};

// Scanner names the policy language knows, in the order sections are documented. Later scanner
// kinds ("classifier", "judge") are added to the table in policy.cc and listed here.
inline constexpr std::string_view kPatternScannerNames[] = {"pii", "secrets", "attacks"};

// Score labels a rule may test under `when.scores`: the harm taxonomy and the two attack labels
// (DESIGN.md), plus the labels the pattern scanners feed ("pii", "secrets") and the judge's
// verdict ("judge_unsafe", docs/judge.md).
inline constexpr std::string_view kKnownScoreLabels[] = {
    "violent_crimes", "nonviolent_crimes", "sex_crimes", "child_exploitation", "defamation",
    "specialized_advice", "privacy", "intellectual_property", "weapons_cbrne", "hate",
    "harassment", "self_harm", "sexual_content", "elections", "code_abuse", "misinformation",
    "jailbreak", "prompt_injection", "pii", "secrets", "unsafe", "judge_unsafe"};

// Which findings a rule looks at. All listed fields must hold for a finding to count.
struct FindingMatcher {
  std::vector<std::string> scanners;  // empty = any scanner
  std::vector<std::string> types;     // empty = any type
  float min_score = 0.0f;
  uint32_t min_count = 1;             // the rule matches when at least this many findings count
  // Error prefix for types[i] ("file:line:col: rules[2].when.findings.type[0]"): finding types
  // are checked against the compiled packs by the engine, which reports them here.
  std::vector<std::string> type_locations;
};

struct ScoreThreshold {
  std::string label;  // "jailbreak", "prompt_injection", "pii", "hate"…
  float min = 0.5f;   // matches when score(label) >= min
};

struct Rule {
  std::string name;
  Action action = Action::kAllow;
  uint8_t directions = 0;             // bit (1 << Direction); 0 = every direction
  std::vector<std::string> roles;     // empty = any role
  std::vector<std::string> tools;     // empty = any tool
  std::vector<std::string> tenants;   // empty = any tenant
  std::optional<FindingMatcher> findings;
  std::vector<ScoreThreshold> scores; // any one of them suffices; empty = no score condition
  std::string message;                // optional refusal text shown to the user
  std::string description;            // optional note for policy authors and reports
  int line = 0;                       // 1-based line in the policy file, for reports
  int column = 0;                     // 1-based column of the rule's first key
  std::string location;               // "file:line:col: rules[2]", prefix for later errors
};

// The `review:` section (docs/oversight.md): how a verdict's scores combine into one suspicion
// score, and what fraction of traffic the review budget sends to human review.
struct ReviewSection {
  enum class Combine : uint8_t {
    kMaxOf,        // suspicion = max over the labels' scores
    kWeightedSum,  // suspicion = sum of weight x score
  };
  Combine combine = Combine::kMaxOf;
  std::vector<std::pair<std::string, float>> terms;  // label, weight (1 for max_of)
  double budget = 0.01;        // fraction of events sent to review, in (0, 0.5]
  bool per_tenant = true;      // one threshold per tenant
  uint64_t window = 0;         // events the quantile estimate remembers; 0: 50 / budget
  double min_score = 0;        // suspicion at or below this never goes to review
  uint8_t directions = 0;      // bit (1 << Direction) counted; 0 = every direction
  std::string location;        // "file:line:col: review"
};

struct PolicyConfig {
  std::string name;
  std::string path;                   // file it came from ("<string>" when parsed from text)
  std::string description;
  text::ViewOptions views;  // views.glossary and views.words are set by LoadViewWords()
  std::string gloss_path;   // `views.gloss`, resolved; empty: no glossed view
  std::string gloss_location;            // "file:line:col: views.gloss", for load errors
  std::string words_path;                // `views.words`, resolved; empty: spaced runs are joined
  std::string words_location;            // "file:line:col: views.words", for load errors
  uint32_t max_input_bytes = 64u << 20;  // longer texts are blocked by the "input_too_large" rule
  std::vector<PatternScannerSection> pattern_scanners;
  std::optional<ClassifierScannerSection> classifier;  // set when `scanners.classifier` is given
  std::optional<JudgeScannerSection> judge;            // set when `scanners.judge` is given
  std::vector<Rule> rules;
  ToolPolicy tools;                   // the `tools:` section (tool_rules.h); absent: !tools.present
  std::optional<ReviewSection> review;  // the `review:` section, when given
  Action default_action = Action::kAllow;
};

// Reads and validates a policy file. Relative pack paths resolve against the file's folder.
StatusOr<PolicyConfig> LoadPolicyFile(const std::string& path);

// Same from text; `display_name` appears in errors, `base_dir` resolves relative paths.
StatusOr<PolicyConfig> ParsePolicy(std::string_view yaml, const std::string& display_name,
                                   const std::string& base_dir);

// Loads the word files the views name into `views`: the glossary of `views.gloss` (text/gloss.h)
// and the word list of `views.words` (text/words.h); members the policy names no file for are
// left as they are. Errors start with the policy line that names the file. The engine and
// `warden eval --policy` both call it, so a policy's texts are read the same way by both.
Status LoadViewWords(const PolicyConfig& policy, text::ViewOptions& views);

// What the rules see about one message after scanning.
struct Facts {
  const Message* message = nullptr;
  const std::vector<Finding>* findings = nullptr;
  const std::vector<std::pair<std::string, float>>* scores = nullptr;  // sorted by label
};

struct Decision {
  Action action = Action::kAllow;
  const Rule* rule = nullptr;            // the rule that decided; null = default_action
  // Rules with action redact that matched: their finding matchers say what to redact.
  std::vector<const Rule*> redact_rules;
};

// Evaluates every rule; the most severe matching action wins, the first rule in file order
// among equals. Pure function.
Decision EvaluateRules(const PolicyConfig& policy, const Facts& facts);

// The suspicion score of `review` for `scores` (sorted by label, as in a Verdict); labels
// without a score count as 0. Pure function.
double SuspicionScore(const ReviewSection& review,
                      const std::vector<std::pair<std::string, float>>& scores);

// True when `finding` counts for `matcher` (scanner, type and score conditions).
bool FindingMatches(const FindingMatcher& matcher, const Finding& finding);

}  // namespace warden::policy
