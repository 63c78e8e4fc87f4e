// Semantic head: the classifier's second opinion, from pretrained word vectors.
//
// The n-gram model only knows the words of its training data. A harmful request phrased with
// other words ("ricin" where training said "sarin", "my neighbour" where it said "my wife")
// shares no n-gram with what it learned, so it scores low. Word vectors learned from a large
// general corpus (GloVe) place such words near each other; a small network over the average
// vector of a text carries what the training data taught to words it never contained.
//
//   SemanticHead head;                       // trained by eval/semantic_trainer.h
//   std::string bytes = head.Serialize();    // NAME.sem beside NAME.ftz
//   StatusOr<SemanticHead> h = SemanticHead::Parse(bytes, "models/x.sem");
//   int32_t row = h->Row("ricin");           // -1 for a word without a vector
//   h->AddVector(row, sum);                  // sum += the word's vector (dim floats)
//   h->AddLogits(mean, 1.0f, scratch, logits);  // += one logit per label of kLabels
//
// The vectors are stored weighted (frequent words such as "the" count for little; see
// SifWeight) and quantised to int8 with one scale per row, and stay so in memory: a word's
// vector is then two cache lines instead of seven, and scoring reads them at random.
// File format (little-endian), docs/classifier.md:
//   "WDNSEM1\0", u32 dim, u32 hidden, u32 labels (= kNumLabels), u32 words,
//   words x (u8 length, bytes), words x (f32 scale, dim x i8),
//   f32 input_mean[dim], f32 input_scale[dim], f32 w1[hidden][dim], f32 b1[hidden],
//   f32 w2[labels][hidden], f32 b2[labels]
// Thread-safety: immutable after Parse() (which also calls BuildIndex and PrepareForScoring);
// the scoring methods are const.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "scanners/classifier/classifier.h"
#include "warden/status.h"

namespace warden::classifier {

// The weight of a word of frequency rank `rank` (1 = most frequent) in a text's average
// vector: a / (a + p) with p the word's Zipf probability, as in "smooth inverse frequency"
// sentence embeddings. "the" weighs 0.001, a rank-1,000 word about 0.6, rare words about 1.
float SifWeight(size_t rank);

struct SemanticHead {
  uint32_t dim = 0;
  uint32_t hidden = 0;
  std::vector<std::string> words;
  std::vector<int8_t> codes;       // words x dim: a word's vector is scales[row] x its codes
  std::vector<float> scales;       // words
  std::vector<float> input_mean;   // dim: the network's input is (mean - input_mean) * input_scale
  std::vector<float> input_scale;  // dim
  std::vector<float> w1;           // hidden x dim
  std::vector<float> b1;           // hidden
  std::vector<float> w2;           // kNumLabels x hidden
  std::vector<float> b2;           // kNumLabels

  // Reads a .sem file's bytes; `path` names the file in errors (DATA_LOSS for truncated or
  // inconsistent bytes).
  static StatusOr<SemanticHead> Parse(std::string_view bytes, const std::string& path);
  // The file's bytes.
  std::string Serialize() const;
  // Stores `weighted` (words x dim floats) as codes and scales.
  void SetVectors(const std::vector<float>& weighted);
  // Builds the word -> row index; Parse() calls it, a trainer calls it after filling `words`.
  void BuildIndex();
  // Lays the network out for AddLogits() (transposed copies of w1 and w2); Parse() calls it,
  // and so must whoever fills the weights by hand.
  void PrepareForScoring();

  // The row of `word`, or -1.
  int32_t Row(std::string_view word) const;
  // Starts loading the vector of `row` into the cache, for an AddVector soon after.
  void Prefetch(int32_t row) const {
    const int8_t* q = codes.data() + size_t(row) * dim;
    for (uint32_t d = 0; d < dim; d += 64) __builtin_prefetch(q + d);
    __builtin_prefetch(q + dim - 1);
    __builtin_prefetch(scales.data() + row);
  }
  // Adds the vector of `row` to `acc` (dim floats).
  void AddVector(int32_t row, float* __restrict acc) const {
    const int8_t* __restrict q = codes.data() + size_t(row) * dim;
    const float scale = scales[row];
    for (uint32_t d = 0; d < dim; ++d) acc[d] += scale * static_cast<float>(q[d]);
  }

  // Adds `weight` times the network's logit for each label to `logits`, given the average word
  // vector of a text. `scratch` holds the layers. Needs PrepareForScoring().
  void AddLogits(const float* mean, float weight, std::vector<float>& scratch,
                 LabelScores& logits) const;

 private:
  // Open addressing, linear probing: slot -> row + 1 (0 = empty); capacity a power of two at
  // least twice the number of words.
  std::vector<uint32_t> index_;
  uint64_t index_mask_ = 0;
  // w1 as dim x hidden and w2 as hidden x labels: the inner loops of AddLogits then run over
  // independent outputs, which the compiler vectorises; a dot product's running sum would be
  // one long dependency chain (floating-point sums may not be reordered).
  std::vector<float> w1_t_;
  std::vector<float> w2_t_;
};

}  // namespace warden::classifier
