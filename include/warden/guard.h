// A Guard screens messages under one compiled policy and returns verdicts.
//
//   warden::StatusOr<warden::Guard> guard = warden::Guard::Open("policies/default.yaml");
//   if (!guard.ok()) return Fail(guard.status());
//   warden::Verdict v = guard->Check({.text = prompt, .direction = warden::Direction::kInput});
//
// Thread-safety: a Guard is immutable after Open() and safe to share between threads; copies
// are cheap (they share the compiled policy). Per-call scratch space lives in thread-local
// storage owned by the library. A Conversation is NOT thread-safe: use one per conversation.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "warden/message.h"
#include "warden/status.h"
#include "warden/verdict.h"

namespace warden {

namespace engine {
class Engine;
}

// Placeholder state for one conversation: the same value gets the same placeholder in every
// message of the conversation ("[EMAIL_1]" stays "[EMAIL_1]"), and Restore() maps placeholders
// in a response back to the caller's values.
class Conversation {
 public:
  // Replaces every placeholder this conversation handed out with its original value.
  std::string Restore(std::string_view text) const;
  // Returns the placeholder for `value` of kind `kind` (e.g. "EMAIL"), creating it if new.
  const std::string& PlaceholderFor(std::string_view kind, std::string_view value);
  size_t size() const { return by_placeholder_.size(); }

 private:
  std::unordered_map<std::string, std::string> by_value_;        // kind + '\0' + value -> ph
  std::unordered_map<std::string, std::string> by_placeholder_;  // ph -> value
  std::unordered_map<std::string, int> next_index_;              // kind -> last index used
};

struct CheckOptions {
  // Keeps placeholders stable across messages; may be null (placeholders then restart at 1).
  Conversation* conversation = nullptr;
  // Fill Verdict::replacements with placeholder -> original value.
  bool reversible = false;
};

// What the compiled policy contains, for reports and --help output.
struct PolicyInfo {
  std::string name;
  std::string path;
  std::vector<std::string> scanners;  // enabled scanner names
  size_t rule_count = 0;
  size_t pattern_count = 0;
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

  const PolicyInfo& info() const;

 private:
  explicit Guard(std::shared_ptr<const engine::Engine> engine) : engine_(std::move(engine)) {}
  std::shared_ptr<const engine::Engine> engine_;
};

}  // namespace warden
