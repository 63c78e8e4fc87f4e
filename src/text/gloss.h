// Glossary and the glossed view: a text in German, Spanish or French (or with its key words in
// those languages and its grammar English, as hand-made attacks are written) read word by word
// in English, so that classifiers trained on English text see "bomb" where the text says
// "Bombe" or "bomba".
//
//   auto glossary = warden::text::Glossary::Load("models/gloss-de-es-fr.tsv.gz");
//   ViewOptions options;
//   options.glossary = *glossary;          // ViewBuilder then adds a "glossed" view when due
//   std::string_view en = (*glossary)->Find("bombe");   // "bomb"; empty when not a gloss
//
// File format: UTF-8 text, optionally gzip-compressed; lines starting with '#' are comments;
// every other line is `word<TAB>gloss`, the word lowercase (as the normalized view folds it),
// the gloss one or more English words. A glossary holds no English words (the table is built
// without them, eval/gloss_builder.h), so a text written in English has nothing to gloss.
//
// Thread-safety: immutable after Load(); Find() is safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "warden/status.h"

namespace warden::text {

class Glossary {
 public:
  // Reads a glossary file (plain or gzip). Errors name the file and the line.
  static StatusOr<std::shared_ptr<const Glossary>> Load(const std::string& path);
  // Parses a glossary's text; `name` is used in errors.
  static StatusOr<std::shared_ptr<const Glossary>> Parse(std::string_view text,
                                                         std::string_view name);

  // The gloss of a word, its ASCII letters compared case-insensitively (the glossary's words
  // are lowercase); an empty view when there is none.
  std::string_view Find(std::string_view word) const;
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::string_view word, gloss;  // into text_
  };
  static StatusOr<std::shared_ptr<const Glossary>> ParseOwned(std::string text,
                                                              std::string_view name);

  std::string text_;  // the file's text; entries point into it
  std::vector<Entry> entries_;
  // Open addressing on the word's hash: entry index + 1, 0 = empty; a power of two at least
  // twice the entries. Most words of most texts are in no glossary: a Bloom filter (two bits
  // per word in one 64-bit word, 256 KiB) rejects almost all of them before the table is read.
  std::vector<uint32_t> slots_;
  std::vector<uint64_t> bloom_;
};

// True when `word` is what the glossed view looks up: one run of letters (ASCII letters,
// alphabetic code points and combining marks; no apostrophes, digits or punctuation) without
// ASCII capitals.
bool IsGlossWord(std::string_view word);

// A glossed view needs at least this many glossed words, and at least one word in
// kGlossedShare of them glossed: an English text that names a place or a dish in another
// language is not translated.
inline constexpr size_t kMinGlossedWords = 3;
inline constexpr size_t kGlossedShare = 6;

}  // namespace warden::text
