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
//   // Scoring: the same, with each vector already through the first layer (hidden floats).
//   h->AddProjected(row, psum);
//   h->AddLogitsOfProjected(pmean, 1.0f, logits);
//
// The vectors are stored weighted (frequent words such as "the" count for little; see
// SifWeight) and quantised to int8 with one scale per row (the file is a quarter of the floats'
// size); training reads them through AddVector.
// File format (little-endian), docs/classifier.md:
//   "WDNSEM1\0", u32 dim, u32 hidden, u32 labels (= kNumLabels), u32 words,
//   words x (u8 length, bytes), words x (f32 scale, dim x i8),
//   f32 input_mean[dim], f32 input_scale[dim], f32 w1[hidden][dim], f32 b1[hidden],
//   f32 w2[labels][hidden], f32 b2[labels]
// The network's first layer is linear in its input, so the first layer of an average vector is
// the average of each word's first layer. PrepareForScoring works that out once per word
// (hidden floats, 25 MB for the shipped head): scoring a short text then reads a few rows (four
// cache lines a word, at random) instead of the 25 KB layer, which a proxied chat turn finds
// out of cache every time.
// Thread-safety: immutable after Parse() (which also calls BuildIndex and PrepareForScoring);
// the scoring methods are const.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "scanners/classifier/binary_io.h"
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
  // Lays the network out for AddLogits() (transposed copies of w1 and w2) and projects every
  // word's vector through the first layer for AddProjected(); Parse() calls it, and so must
  // whoever fills the vectors and weights by hand.
  void PrepareForScoring();

  // The row of `word`, or -1.
  int32_t Row(std::string_view word) const;
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

  // Adds the first layer's share of `row` (hidden floats, before bias and ReLU) to `acc`.
  // Needs PrepareForScoring().
  void AddProjected(int32_t row, float* __restrict acc) const {
    const float* __restrict p = projected_.data() + size_t(row) * hidden;
    for (uint32_t j = 0; j < hidden; ++j) acc[j] += p[j];
  }
  // Starts loading the projected row of `row` into the cache, for an AddProjected soon after.
  void Prefetch(int32_t row) const {
    const char* p = reinterpret_cast<const char*>(projected_.data() + size_t(row) * hidden);
    for (size_t b = 0; b < hidden * sizeof(float); b += 64) __builtin_prefetch(p + b);
  }
  // As AddLogits, given the average of the words' AddProjected rows instead of their vectors.
  void AddLogitsOfProjected(const float* projected_mean, float weight, LabelScores& logits) const;

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
  // words x hidden: each word's vector through the first layer's weights (input scaling
  // included), in huge pages (binary_io.h); the first layer's bias with the input's mean folded
  // in.
  std::vector<float, HugePageAllocator<float>> projected_;
  std::vector<float> projected_bias_;
  // Fills projected_ for words [first, last).
  void ProjectRows(size_t first, size_t last);
  // The second layer over first-layer values `h` (hidden floats, ReLU applied here).
  void AddOutputLayer(const float* h, float weight, LabelScores& logits) const;
};

}  // namespace warden::classifier
