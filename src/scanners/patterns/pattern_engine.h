// PatternEngine: every pattern of every enabled pattern pack (rules/*.yaml) compiled into a
// Hyperscan prefilter (no start offsets, cheap) and a SOM database (start offsets); each view is
// scanned with the prefilter and, only if something matched, with the SOM database; matches are
// confirmed by validators (Luhn, mod-97, entropy…).
//
//   auto engine = PatternEngine::Compile({{.kind = "pii", .pack_path = "rules/pii.yaml"}});
//   std::vector<Finding> findings;
//   engine->Scan(views, findings);
//
// Pack format: docs/patterns.md. Patterns are data; validators are named C++ functions.
// Thread-safety: immutable after Compile(); Scan() is safe from any number of threads (each
// thread uses its own Hyperscan scratch, allocated on first use).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "text/views.h"
#include "warden/status.h"
#include "warden/verdict.h"

namespace warden::scanners {

// One pattern scanner of the policy: a pack of patterns and the settings the policy gave it.
struct PatternScannerConfig {
  std::string kind;               // scanner name in findings: "pii", "secrets", "attacks"
  std::string pack_path;          // YAML pack file
  std::vector<std::string> types; // only these types; empty = all types in the pack
  float min_score = 0.0f;         // findings below this score are dropped
};

class PatternEngine {
 public:
  // Loads the packs, validates them (errors name the pack file and line), and compiles all
  // patterns into the two databases. Fails if a regex is rejected by Hyperscan (naming the pattern).
  static StatusOr<std::shared_ptr<const PatternEngine>> Compile(
      const std::vector<PatternScannerConfig>& scanners);
  ~PatternEngine();

  // Appends validated findings over all `views` to `out`. Spans are in the original text.
  // The same (type, original span) found in several views is reported once, in the first view.
  // Allocates nothing in the steady state for views in which no pattern matches.
  void Scan(const std::vector<text::View>& views, std::vector<Finding>& out) const;

  // The placeholder kind for a finding type, e.g. "email" -> "EMAIL", "credit_card" -> "CARD";
  // "REDACTED" for an unknown type. Does not allocate.
  std::string_view PlaceholderKind(std::string_view type) const;

  size_t pattern_count() const;

  // Every finding type the compiled packs can report, sorted; rules are checked against it.
  std::vector<std::string> Types() const;

 private:
  PatternEngine();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace warden::scanners
