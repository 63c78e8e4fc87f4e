// Pattern packs: the YAML files under rules/ that hold the patterns of one scanner kind.
// The format is specified in docs/patterns.md.
//
//   StatusOr<Pack> pack = LoadPack("rules/pii.yaml");
//   for (const PatternSpec& p : pack->patterns) ...;
//
// Thread-safety: plain values; the loader is a pure function of the file's contents.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "scanners/patterns/validators.h"
#include "warden/status.h"

namespace warden::scanners {

// Bit (1 << ViewKind) per view kind a pattern may match in.
using ViewMask = uint32_t;
inline constexpr ViewMask kAllViews = 0x3F;

struct PatternSpec {
  std::string type;         // finding type, e.g. "email"
  std::string placeholder;  // redaction placeholder kind, e.g. "EMAIL"
  std::string regex;        // Hyperscan syntax, matched over bytes (no UTF-8 mode)
  std::string label;        // score label the finding feeds (pattern's, else the pack's)
  bool caseless = false;
  bool multiline = false;   // ^ and $ match at line boundaries
  bool dotall = false;      // . matches \n
  const Validator* validator = nullptr;  // nullptr: the regex alone decides
  ValidatorParams params;
  float score = 0.9f;
  ViewMask views = kAllViews;
  int line = 0;             // 1-based line of the pattern in the pack, for error messages
};

struct Pack {
  std::string path;  // as given, for error messages
  std::string name;  // `pack:`
  std::string label;
  std::vector<PatternSpec> patterns;
};

// Parses and validates a pack. Errors are INVALID_ARGUMENT "path:line: field: problem", or
// NOT_FOUND when the file cannot be read. Never throws.
StatusOr<Pack> LoadPack(const std::string& path);
// Same, from YAML text; `path` is only used in messages.
StatusOr<Pack> ParsePack(std::string_view yaml, const std::string& path);

// Parses a view name ("raw", "normalized", "skeleton", "deobfuscated", "decoded") to its bit.
// Returns 0 for an unknown name.
ViewMask ViewBit(std::string_view name);

}  // namespace warden::scanners
