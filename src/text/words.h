// English word list of the deobfuscated view: it splits a run of spaced letters that spells
// several words ("t h e c h a n g i n g r o o m") into those words ("the changing room"), as a
// reader would, instead of joining it into one ("thechangingroom") that no classifier knows.
//
//   auto words = warden::text::WordList::Load("models/words-en.txt.gz");
//   ViewOptions options;
//   options.words = *words;        // ViewBuilder then splits spaced runs at word boundaries
//   std::vector<uint32_t> ends;
//   (*words)->Split("gethurt", ends);   // true; ends == {3, 7}: "get hurt"
//
// File format: UTF-8 text, optionally gzip-compressed; lines starting with '#' are comments;
// every other line is one word of lowercase ASCII letters, the most frequent first. A word's
// cost in a split is the negative log of its probability under Zipf's law, log((rank + 1) *
// log(N)), so a split prefers few, common words ("together", not "to get her").
//
// Thread-safety: immutable after Load(); Split() is safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "warden/status.h"

namespace warden::text {

class WordList {
 public:
  // Reads a word list file (plain or gzip). Errors name the file and the line.
  static StatusOr<std::shared_ptr<const WordList>> Load(const std::string& path);
  // Parses a word list's text; `name` is used in errors.
  static StatusOr<std::shared_ptr<const WordList>> Parse(std::string_view text,
                                                         std::string_view name);

  // Splits `letters` (ASCII letters, compared case-insensitively) into the cheapest sequence of
  // words; a stretch no word covers costs more than any word, so the rest still splits around
  // it. Fills `ends` with the end offset of every word, the last being letters.size(). Returns
  // false, with `ends` empty, when the cheapest split is one word or `letters` is longer than
  // kMaxLetters.
  bool Split(std::string_view letters, std::vector<uint32_t>& ends) const;

  size_t size() const { return cost_.size(); }

  static constexpr size_t kMaxLetters = 256;

 private:
  static StatusOr<std::shared_ptr<const WordList>> ParseOwned(std::string text,
                                                              std::string_view name);
  // The cost of `word` (lowercase), or infinity when the list lacks it. (A one-word list's
  // only word costs less than 0: log(log 2).)
  float Cost(std::string_view word) const;

  std::string text_;  // the file's text; cost_'s keys point into it
  std::unordered_map<std::string_view, float> cost_;
  size_t max_length_ = 0;
  float unknown_cost_ = 0;  // a stretch no word covers: this plus kUnknownPerLetter a letter
};

}  // namespace warden::text
