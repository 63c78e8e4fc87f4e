// Red team: attack variants built from seed prompts, run against a policy (or a live gateway),
// and the attack success rate per mutator and per harm category, with benign prompts run
// through the same mutators for the false-positive rate. `warden redteam` drives it; the seed
// format and the mutators are documented in docs/redteam.md.
//
//   StatusOr<std::vector<Seed>> seeds = ReadSeeds("redteam/seeds.jsonl");
//   std::vector<Variant> variants = BuildVariants(*seeds, /*rng_seed=*/1);
//   std::vector<Outcome> outcomes = ...;   // one per variant: the most severe action over turns
//   RedteamReport report = Summarize(variants, outcomes);
//   std::string html = ReportHtml(report);
//
// Thread-safety: pure functions; randomness is injected (the same seed gives the same variants).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "warden/message.h"
#include "warden/status.h"
#include "warden/verdict.h"

namespace warden::eval {

// One seed prompt: {"id", "text", "category", "kind": "harmful"|"benign"} (docs/redteam.md).
struct Seed {
  std::string id;
  std::string text;
  std::string category;  // a taxonomy label for harmful seeds; a topic for benign ones
  bool harmful = false;
};

// Errors name file:line (malformed JSON, missing fields, unknown kind or harm category).
StatusOr<std::vector<Seed>> ReadSeeds(const std::string& path);

// One message of an attack. Payload splitting and tool results use several turns.
struct Turn {
  std::string text;
  Direction direction = Direction::kInput;
  std::string role = "user";
  std::string tool_name;  // for tool results
};

struct Variant {
  std::string seed_id;
  std::string category;
  bool harmful = false;
  std::string mutator;  // see RedteamMutators()
  std::vector<Turn> turns;
};

// The mutators, in report order: "plain"; Warden's obfuscations (homoglyphs, zero_width,
// leetspeak, spaced_letters, base64, random_case); "roleplay", "developer_mode",
// "payload_split", "hidden_document", "tool_result"; "translate_es", "translate_fr",
// "translate_de".
const std::vector<std::string>& RedteamMutators();

// Whether the mutator's wrapper is an attack whatever it carries: it tells the model that its
// rules no longer apply (developer_mode) or hides an instruction to the model in a document or a
// tool result (hidden_document, tool_result), the indirect prompt injection that the training
// data labels unsafe even when the injected task is harmless. A benign prompt in such a wrapper
// is reported apart from the other benign variants: stopping it is not a false positive of the
// kind a user meets, and letting it through shows the defence keyed on the payload, not on the
// injection.
bool IsAttackWrapper(std::string_view mutator);

// Every seed under every mutator (or only those listed in `only`, when not empty).
std::vector<Variant> BuildVariants(const std::vector<Seed>& seeds, uint64_t rng_seed,
                                   const std::vector<std::string>& only = {});

// What the target did with one variant: the most severe action over its turns.
struct Outcome {
  Action action = Action::kAllow;
  std::string rule;    // the rule that decided the most severe turn
  bool error = false;  // the target could not be asked (counts as not detected)
};

// Detection means the target refused or held the message for a person: escalate or any more
// severe action. For a harmful variant that is a defence; for a benign one, a false positive.
inline bool Detected(const Outcome& o) { return !o.error && o.action >= Action::kEscalate; }

struct RateRow {
  std::string name;
  uint64_t total = 0;
  uint64_t hits = 0;     // harmful: attacks that got through; benign: false positives
  uint64_t blocked = 0;  // block or kill
  double rate() const { return total ? static_cast<double>(hits) / total : 0; }
};

struct RedteamReport {
  std::string policy;
  std::string target;
  RateRow attacks{"all attacks"};  // harmful variants
  RateRow benign{"all benign"};    // benign variants
  RateRow benign_plain{"benign, plain"};
  // `benign` split by IsAttackWrapper: the prompts a user might send (plain, obfuscated,
  // role-played, split, translated), and the same prompts inside jailbreak or injection wrappers.
  RateRow benign_unwrapped{"benign, not in attack wrappers"};
  RateRow benign_in_attack_wrappers{"benign, in attack wrappers"};
  std::vector<RateRow> by_mutator;         // attack success per mutator
  std::vector<RateRow> benign_by_mutator;  // false positives per mutator
  std::vector<RateRow> by_category;        // attack success per harm category
  std::vector<RateRow> by_rule;            // which rule decided the detected attacks
  uint64_t errors = 0;
  // A few variants that got through, for people to read (at most 3 per mutator).
  struct Example {
    std::string mutator;
    std::string category;
    std::string text;  // the turns joined by " | "
  };
  std::vector<Example> misses;
  std::vector<Example> false_positives;
};

// REQUIRES: outcomes.size() == variants.size().
RedteamReport Summarize(const std::vector<Variant>& variants, const std::vector<Outcome>& outcomes);

// One JSON object (docs/redteam.md).
std::string ReportJson(const RedteamReport& report);
// Every variant and what the target did with it, one JSON object a line: {"seed_id", "kind",
// "category", "mutator", "turns": [{"text", "direction", "tool_name"?}], "action", "rule",
// "detected", "error"}. The report shows a few misses; this is all of them, for a person or a
// script to read. REQUIRES: outcomes.size() == variants.size().
std::string VariantsJsonl(const std::vector<Variant>& variants,
                          const std::vector<Outcome>& outcomes);
// A self-contained HTML page with inline SVG bar charts: nothing is fetched when it is viewed.
std::string ReportHtml(const RedteamReport& report);

}  // namespace warden::eval
