// Minimal JSON output: Warden writes verdicts and reports on hot paths, so it appends to a
// caller-owned std::string instead of building a DOM.
//
//   std::string out;
//   AppendJsonString(out, "caf\xC3\xA9");   // "\"café\""
//
// Thread-safety: free functions without shared state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace warden {

// Appends `s` as a quoted JSON string. Control characters are escaped; invalid UTF-8 sequences
// are replaced by U+FFFD so the output is always valid JSON and valid UTF-8.
void AppendJsonString(std::string& out, std::string_view s);

// Appends `s` as a JSON string, or `null` when it is empty (optional names such as a rule).
void AppendJsonStringOrNull(std::string& out, std::string_view s);

// Appends {"label":score,...} for label -> score pairs, in the given order.
void AppendJsonScores(std::string& out, const std::vector<std::pair<std::string, float>>& scores);

// Appends a number with up to 6 significant digits after the point, without trailing zeros
// ("0.5", "1", "12.25"). NaN and infinities are written as 0.
void AppendJsonNumber(std::string& out, double value);

void AppendJsonUint(std::string& out, uint64_t value);

}  // namespace warden
