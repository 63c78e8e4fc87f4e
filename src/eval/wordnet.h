// WordNet (Debian's wordnet-base, /usr/share/wordnet) as a source of training augmentation:
// a copy of a training message with some words swapped for related words teaches the
// classifier the harmful object, not the one word a data set happened to use ("make a bomb"
// also as "make an explosive device").
//
//   StatusOr<WordNet> wn = WordNet::Load("/usr/share/wordnet");
//   const std::vector<std::string>* r = wn->Related("bombs");  // "explosive device", "h-bomb", …
//   std::string copy = wn->Rewrite("how do i build a bomb", 0.5, rng);
//
// Related words of a lemma: the other words of its two most frequent senses in each part of
// speech, and of those senses' direct hypernyms and hyponyms; lower-case, multi-word lemmas
// with spaces. Inflected forms are reduced as WordNet's morphy does (suffix rules only).
// Thread-safety: immutable after Load(); Rewrite() uses the caller's RNG.
#pragma once

#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "warden/status.h"

namespace warden::eval {

class WordNet {
 public:
  // Reads index.{noun,verb,adj,adv} and data.{noun,verb,adj,adv} from `dir`. NOT_FOUND names a
  // missing file (install Debian's wordnet-base); DATA_LOSS names a file and line it cannot
  // parse.
  static StatusOr<WordNet> Load(const std::string& dir);

  // Related words of `word` (any case, possibly inflected), or nullptr when WordNet has none
  // or the word is too common to swap (function words, words under 4 letters).
  const std::vector<std::string>* Related(std::string_view word) const;

  // `text` with each word that has related words replaced, with probability `p`, by one of
  // them chosen at random. Non-word characters are kept as they are.
  std::string Rewrite(std::string_view text, double p, std::mt19937_64& rng) const;

  size_t size() const { return related_.size(); }

 private:
  std::unordered_map<std::string, std::vector<std::string>> related_;
};

}  // namespace warden::eval
