#include "core/suggest.h"

#include <algorithm>

namespace warden {

namespace {
// Optimal string alignment distance: Levenshtein plus adjacent transpositions, the most
// common typo ("emial" -> "email" is one edit, not two).
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}
}  // namespace

std::string ClosestName(std::string_view word, const std::vector<std::string_view>& candidates) {
  const size_t limit = std::max<size_t>(1, word.size() / 3);
  size_t best = limit + 1;
  std::string_view best_name;
  for (std::string_view c : candidates) {
    const size_t d = EditDistance(word, c);
    if (d < best) {
      best = d;
      best_name = c;
    }
  }
  return std::string(best_name);
}

std::string DidYouMean(std::string_view word, const std::vector<std::string_view>& candidates) {
  std::string name = ClosestName(word, candidates);
  if (name.empty()) return "";
  return " (did you mean \"" + name + "\"?)";
}

}  // namespace warden
