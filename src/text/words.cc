#include "text/words.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "core/gzip_file.h"
#include "text/internal.h"

namespace warden::text {
namespace {

// A stretch of letters no word covers costs the dearest word plus this per letter: about a
// common word's cost, so that "jewsaregreedy" with "jews" missing still reads "? are greedy"
// rather than "? greedy".
constexpr float kUnknownPerLetter = 5.0f;

bool IsLowerWord(std::string_view w) {
  if (w.empty()) return false;
  for (char c : w) {
    if (c < 'a' || c > 'z') return false;
  }
  return true;
}

}  // namespace

StatusOr<std::shared_ptr<const WordList>> WordList::Load(const std::string& path) {
  std::string text;
  if (Status s = ReadMaybeGzipped(path, text); !s.ok()) {
    if (s.code() != StatusCode::kNotFound) return s;
    return NotFoundError(path + ": cannot open the word list (build it with `warden words`)");
  }
  return ParseOwned(std::move(text), path);
}

StatusOr<std::shared_ptr<const WordList>> WordList::Parse(std::string_view text,
                                                          std::string_view name) {
  return ParseOwned(std::string(text), name);
}

StatusOr<std::shared_ptr<const WordList>> WordList::ParseOwned(std::string text,
                                                               std::string_view name) {
  auto list = std::shared_ptr<WordList>(new WordList());
  list->text_ = std::move(text);
  std::vector<std::string_view> words;
  std::string_view rest = list->text_;
  size_t line = 0;
  while (!rest.empty()) {
    const size_t eol = rest.find('\n');
    std::string_view word = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 1);
    ++line;
    if (!word.empty() && word.back() == '\r') word.remove_suffix(1);
    if (word.empty() || word.front() == '#') continue;
    if (!IsLowerWord(word)) {
      return DataLossError(std::string(name) + ":" + std::to_string(line) +
                           ": expected one word of lowercase ASCII letters a line");
    }
    words.push_back(word);
  }
  if (words.empty()) return DataLossError(std::string(name) + ": the word list has no words");
  const double log_n = std::log(static_cast<double>(words.size()) + 1);
  list->cost_.reserve(words.size());
  for (size_t rank = 0; rank < words.size(); ++rank) {
    const float cost = static_cast<float>(std::log((static_cast<double>(rank) + 1) * log_n));
    // A word listed twice keeps its first (commoner) rank.
    if (list->cost_.try_emplace(words[rank], cost).second) {
      list->max_length_ = std::max(list->max_length_, words[rank].size());
      list->unknown_cost_ = std::max(list->unknown_cost_, cost);
    }
  }
  return std::shared_ptr<const WordList>(std::move(list));
}

float WordList::Cost(std::string_view word) const {
  const auto it = cost_.find(word);
  return it == cost_.end() ? std::numeric_limits<float>::infinity() : it->second;
}

bool WordList::Split(std::string_view letters, std::vector<uint32_t>& ends) const {
  ends.clear();
  const size_t n = letters.size();
  if (n < 2 || n > kMaxLetters) return false;
  std::array<char, kMaxLetters> lower;
  for (size_t i = 0; i < n; ++i) lower[i] = internal::AsciiLower(letters[i]);
  const std::string_view text(lower.data(), n);
  // best[k]: the cheapest split of text[0, k); from[k]: where its last word starts.
  std::array<float, kMaxLetters + 1> best;
  std::array<uint16_t, kMaxLetters + 1> from;
  best[0] = 0;
  for (size_t k = 1; k <= n; ++k) {
    best[k] = std::numeric_limits<float>::infinity();
    for (size_t start = 0; start < k; ++start) {
      const size_t length = k - start;
      float cost = length <= max_length_ ? Cost(text.substr(start, length))
                                         : std::numeric_limits<float>::infinity();
      if (std::isinf(cost)) cost = unknown_cost_ + kUnknownPerLetter * static_cast<float>(length);
      if (best[start] + cost < best[k]) {
        best[k] = best[start] + cost;
        from[k] = static_cast<uint16_t>(start);
      }
    }
  }
  for (size_t k = n; k > 0; k = from[k]) ends.push_back(static_cast<uint32_t>(k));
  if (ends.size() < 2) {
    ends.clear();
    return false;
  }
  std::reverse(ends.begin(), ends.end());
  return true;
}

}  // namespace warden::text
