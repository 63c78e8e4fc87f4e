#include "eval/insertions.h"

#include <algorithm>
#include <map>
#include <string>
#include <tuple>

#include "core/utf8.h"

namespace warden::eval {
namespace {

// Twins are looked up by the bytes a document starts or ends with: an instruction is inserted
// at the start, in the middle or at the end, and the other end stays the clean copy's.
constexpr size_t kKeyBytes = 64;

// Moves `pos` back to the start of its word (after a space or newline) if one is within 32 bytes,
// else to the start of its UTF-8 character: a cut never splits a character.
size_t BackToWordStart(std::string_view text, size_t pos) {
  for (size_t p = pos; p > 0 && pos - p < 32; --p) {
    if (text[p - 1] == ' ' || text[p - 1] == '\n') return p;
  }
  return Utf8Floor(text, pos);
}

// Moves `pos` on to the end of its word, or to the end of its UTF-8 character.
size_t OnToWordEnd(std::string_view text, size_t pos) {
  for (size_t p = pos; p < text.size() && p - pos < 32; ++p) {
    if (text[p] == ' ' || text[p] == '\n') return p;
  }
  return Utf8Ceil(text, pos);
}

}  // namespace

std::optional<Insertion> FindInsertion(std::string_view shorter, std::string_view longer) {
  if (longer.size() <= shorter.size()) return std::nullopt;
  const size_t prefix = static_cast<size_t>(
      std::mismatch(shorter.begin(), shorter.end(), longer.begin()).first - shorter.begin());
  const size_t room = shorter.size() - prefix;
  const size_t suffix = static_cast<size_t>(
      std::mismatch(shorter.rbegin(), shorter.rbegin() + room, longer.rbegin()).first -
      shorter.rbegin());
  if (prefix + suffix != shorter.size()) return std::nullopt;
  return Insertion{prefix, longer.size() - suffix};
}

size_t CutInsertions(std::vector<Example>& examples, size_t context_bytes) {
  // (source, first or last kKeyBytes) -> safe records with that start or end.
  using Key = std::tuple<std::string_view, bool, std::string_view>;
  std::map<Key, std::vector<size_t>> safe_by_end;
  for (size_t i = 0; i < examples.size(); ++i) {
    const Example& ex = examples[i];
    if (ex.unsafe || ex.text.size() < kMinTwinBytes) continue;
    const std::string_view t = ex.text;
    safe_by_end[{ex.source, false, t.substr(0, kKeyBytes)}].push_back(i);
    safe_by_end[{ex.source, true, t.substr(t.size() - kKeyBytes)}].push_back(i);
  }
  std::vector<std::pair<size_t, std::string>> cuts;
  for (size_t i = 0; i < examples.size(); ++i) {
    const Example& ex = examples[i];
    if (!ex.unsafe || ex.text.size() <= kMinTwinBytes) continue;
    const std::string_view t = ex.text;
    std::optional<Insertion> found;
    for (const bool at_end : {false, true}) {
      const auto it = safe_by_end.find(
          {ex.source, at_end, at_end ? t.substr(t.size() - kKeyBytes) : t.substr(0, kKeyBytes)});
      if (it == safe_by_end.end()) continue;
      for (const size_t twin : it->second) {
        found = FindInsertion(examples[twin].text, t);
        if (found) break;
      }
      if (found) break;
    }
    if (!found) continue;
    const size_t begin = BackToWordStart(t, found->begin - std::min(found->begin, context_bytes));
    const size_t end = OnToWordEnd(t, found->end + std::min(t.size() - found->end, context_bytes));
    cuts.emplace_back(i, std::string(t.substr(begin, end - begin)));
  }
  // Texts are replaced after the search, so every unsafe record was compared with the clean
  // copies as they were read.
  for (auto& [i, text] : cuts) examples[i].text = std::move(text);
  return cuts.size();
}

}  // namespace warden::eval
