// "Did you mean …?" for configuration errors.
// Thread-safety: pure function.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace warden {

// Returns the candidate closest to `word` by edit distance when it is close enough to be a
// plausible typo (distance <= max(1, word.size() / 3)), otherwise an empty string.
std::string ClosestName(std::string_view word, const std::vector<std::string_view>& candidates);

// Formats the suggestion for an error message: ` (did you mean "block"?)`, or "" when none.
std::string DidYouMean(std::string_view word, const std::vector<std::string_view>& candidates);

}  // namespace warden
