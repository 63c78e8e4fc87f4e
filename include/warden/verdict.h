// A Verdict is what Warden decided about one Message under a policy, and why.
// Its JSON form is specified in docs/verdict.md.
//
//   warden::Verdict v = guard.Check(message);
//   if (v.action == warden::Action::kBlock) refuse(v.rule);
//   std::string json = warden::VerdictToJson(v);
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace warden {

// Actions, from least to most severe. When several rules match, the most severe wins.
enum class Action : uint8_t {
  kAllow = 0,            // pass the text unchanged
  kRedact = 1,           // pass the text with findings replaced by typed placeholders
  kEscalate = 2,         // pass (redacted if a redact rule also matched), queue for human review
  kDefer = 3,            // answer with a trusted model instead of the untrusted one (gateway)
  kRequireApproval = 4,  // hold until a human approves (gateway, agent control)
  kBlock = 5,            // refuse
  kKill = 6,             // refuse and trip the kill switch for the key or tenant (gateway)
};

// "allow", "redact", "escalate", "defer", "require_approval", "block", "kill".
std::string_view ActionName(Action a);
std::optional<Action> ParseAction(std::string_view name);

// One thing a scanner found. Offsets are bytes in the ORIGINAL text, whatever view found it.
struct Finding {
  std::string scanner;  // "pii", "secrets", "attacks", "classifier"…
  std::string type;     // "email", "credit_card", "aws_access_key", "instruction_override"…
  uint32_t start = 0;   // byte offset, inclusive
  uint32_t end = 0;     // byte offset, exclusive
  std::string view;     // "raw", "normalized", "skeleton", "deobfuscated", "decoded:base64"…
  float score = 1.0f;   // confidence in [0,1]
  std::string label;    // the score label it feeds ("pii", "secrets", "jailbreak"…), may be empty
};

// A placeholder and the original value it stands for; only filled when the caller asks for
// a reversible mapping.
struct Replacement {
  std::string placeholder;  // "[EMAIL_1]"
  std::string original;
};

struct Verdict {
  Action action = Action::kAllow;
  std::string rule;                                  // the rule that decided; empty: default
  std::string message;                               // the deciding rule's text for the user
  std::vector<Finding> findings;                     // sorted by start, then end
  std::vector<std::pair<std::string, float>> scores; // label -> [0,1], sorted by label
  std::optional<std::string> redacted;               // set when findings were replaced
  std::vector<Replacement> replacements;             // set when a mapping was requested
  double latency_us = 0;                             // time spent in Check()

  // Returns the score for `label`, or 0 when the label has none.
  float Score(std::string_view label) const;
};

// One-line JSON, as documented in docs/verdict.md.
std::string VerdictToJson(const Verdict& v);

}  // namespace warden
