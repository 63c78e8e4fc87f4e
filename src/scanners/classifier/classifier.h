// Classifier: a compact learned model (fastText, one-vs-all) that scores a message for every
// harm category of the taxonomy, the two attack labels and an overall `unsafe` label.
//
//   StatusOr<std::shared_ptr<const Classifier>> c = Classifier::Load("models/warden-clf.ftz");
//   std::vector<std::pair<std::string, float>> scores;
//   (*c)->Score(views, scores);   // views from text::ViewBuilder; {"hate", 0.03}, …
//
// A model is two or three files side by side (format in docs/classifier.md):
//   NAME.ftz   a (quantised) fastText supervised model with labels __label__<name>
//   NAME.sem   optional: a semantic head over pretrained word vectors (semantic.h), whose
//              logits are added to fastText's, so words the training data never contained
//              still count by their meaning
//   NAME.enc   optional: a sentence encoder and its cascade (encoder.h): texts whose `unsafe`
//              score reaches the cascade's band are read again by a small transformer
//   NAME.json  its manifest: format tag, size and XXH3 hash of each file (so a corrupt or
//              swapped model is an error, not garbage scores), and the per-label thresholds
//              chosen on the dev split.
//
// Every view is scored and each label takes its maximum over the views, so a message hidden by
// homoglyphs, leetspeak or base64 is classified like its plain form.
//
// Thread-safety: immutable after Load(); Score() may be called from any number of threads.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "scanners/classifier/binary_io.h"
#include "text/views.h"
#include "warden/status.h"

namespace fasttext {
class Dictionary;
}

// The scoring loops are compiled twice, for AVX2 and for the x86-64 baseline, and the loader
// picks the one the CPU runs: a row sum or a layer of the semantic head then takes half the
// instructions. No FMA: each sum is formed in the same order either way, so scores are
// bit-identical on every machine.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define WARDEN_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define WARDEN_VECTOR_CLONES
#endif

namespace warden::classifier {

struct SemanticHead;
class SentenceEncoder;

// The labels every model scores, in this fixed order: the 16 harm categories of DESIGN.md, then
// "jailbreak", "prompt_injection", then "unsafe" (anything the training data labels unsafe).
inline constexpr size_t kNumLabels = 19;
extern const std::array<std::string_view, kNumLabels> kLabels;
inline constexpr size_t kUnsafeLabel = kNumLabels - 1;
// Index of `label` in kLabels, or -1.
int LabelIndex(std::string_view label);

// Scores for all labels, indexed like kLabels.
using LabelScores = std::array<float, kNumLabels>;

// Returns the manifest path that belongs to `model_path` ("m/x.ftz" -> "m/x.json").
std::string ManifestPath(std::string_view model_path);

// 64-bit FNV-1a of `bytes`: a short, stable hash for word tables.
uint64_t Fnv1a64(std::string_view bytes);
// The hash a manifest records for each model file (key "xxh3_64"): XXH3's 64-bit hash, as 16
// lowercase hex digits. Manifests written before it record "fnv1a64", which Load still checks.
std::string ModelFileHashHex(std::string_view bytes);

// How a text's `unsafe` score came about (Classifier::Explain), for people asking why a text was
// flagged or passed: `warden check --explain` prints it.
struct UnsafeExplanation {
  std::vector<float> view_unsafe;     // each view's n-gram (and semantic head) probability
  float ngram_unsafe = 0;             // their maximum: the score outside the encoder's band
  float band = 1;                     // the encoder reads texts at or above this (1: no encoder)
  bool encoded = false;               // ngram_unsafe reached the band
  size_t encoder_view = 0;            // the view the encoder read (index into the views)
  std::string encoder_input;          // what it read (EncoderInput of that view)
  double ngram_z = 0, encoder_z = 0;  // the standardised logits the cascade adds
  float cascade = 0;                  // band + (1 - band) * sigmoid(ngram_z + encoder_z)
  float passage = 0;  // the most unsafe passage read alone, on the unsafe scale (0: not read)
  float unsafe = 0;   // the raw probability compared with the threshold: ScoreViews' own
  float threshold = 0;
};

class Classifier {
 public:
  // Loads NAME.ftz and NAME.json. Errors name the file: NOT_FOUND when a file is missing,
  // DATA_LOSS when the model does not match its manifest or fastText rejects it,
  // INVALID_ARGUMENT for a malformed manifest.
  static StatusOr<std::shared_ptr<const Classifier>> Load(const std::string& model_path);

  ~Classifier();
  Classifier(const Classifier&) = delete;
  Classifier& operator=(const Classifier&) = delete;

  // Fills `scores` (cleared first) with one (label, score in [0,1]) pair per label of kLabels,
  // sorted by label name, each the maximum over `views`. An empty `views` scores 0 everywhere.
  // These are the verdict's scores, calibrated so that 0.5 is the label's threshold from the
  // manifest (piecewise linear: [0, t] -> [0, 0.5], [t, 1] -> [0.5, 1]); a policy rule
  // `scores: {unsafe: 0.5}` therefore means "what the model card measured", for any model.
  void Score(const std::vector<text::View>& views,
             std::vector<std::pair<std::string, float>>& scores) const;

  // As Score(), unless the text reaches the sentence encoder's band (milliseconds of work):
  // then returns false without running the encoder, and `scores` are not to be used. For
  // callers that must not block, such as the gateway's I/O threads, which then call Score() on
  // a thread that may wait. Outside the band (most traffic) it costs what Score() costs.
  bool ScoreWithoutEncoder(const std::vector<text::View>& views,
                           std::vector<std::pair<std::string, float>>& scores) const;

  // The calibration Score() applies: maps a raw probability `p` of label `label` so that the
  // label's threshold becomes 0.5. Monotone, maps 0 to 0 and 1 to 1.
  float Calibrate(size_t label, float p) const;
  // The inverse of Calibrate: the raw probability that calibrates to `score`. Used to put a
  // verdict-scale score from elsewhere (a pattern finding's) on the raw scale of thresholds().
  float Uncalibrate(size_t label, float score) const;

  // As Score(), into an array indexed like kLabels, but raw probabilities (not calibrated):
  // compare them with thresholds().
  void ScoreViews(const std::vector<text::View>& views, LabelScores& out) const;

  // ScoreViews without the sentence encoder: the n-gram model and the semantic head, maximum
  // over views. Returns the index of the view the encoder reads when the text reaches its band
  // (through EncoderInput, encoder.h): a decoded view when one scores above every other view,
  // else the deobfuscated view, else the skeleton, else the one scored most unsafe (the first
  // on ties). Training embeds the same, so the encoder's head learns from the text it will be
  // shown.
  size_t ScoreNgramViews(const std::vector<text::View>& views, LabelScores& out) const;

  // ScoreViews, and in `why` how its `unsafe` score came about (the same path, noting each step).
  void Explain(const std::vector<text::View>& views, LabelScores& out,
               UnsafeExplanation& why) const;

  // Scores one text with no views (the model's raw opinion of exactly these bytes).
  void ScoreText(std::string_view text, LabelScores& out) const;

  // Per-label decision thresholds from the manifest (chosen on dev data), indexed like kLabels.
  const LabelScores& thresholds() const { return thresholds_; }
  const std::string& model_path() const { return model_path_; }
  // The model has a sentence encoder (NAME.enc), which scores texts in its band in milliseconds.
  bool has_encoder() const { return encoder_ != nullptr; }
  // The passage score (SentenceEncoder::PassageUnsafe) that weighs as much as the `unsafe`
  // threshold, from the manifest's "encoder" entry; 0 when passages are not read.
  float passage_threshold() const { return passage_threshold_; }
  // A passage score on the `unsafe` scale: `passage_threshold` maps to `unsafe_threshold`, 1 to
  // 1 and 0 to 0, linearly in between (as Calibrate maps to 0.5). A text's `unsafe` score is the
  // larger of its own and its passages' on this scale, so a passage has its own threshold
  // (chosen on dev beside the text's, trainer.cc) without a second score to explain.
  static float PassageOnUnsafeScale(float passage, float passage_threshold, float unsafe_threshold);
  // Longest token prefix of a view that is scored (from the manifest; default 1024).
  size_t max_tokens() const { return max_tokens_; }
  // Texts longer than this many tokens are also scored window by window (half-overlapping
  // windows of this size) and each label keeps its maximum, so one injected instruction in a
  // long document is not averaged away by the pages around it. 0: whole text only.
  size_t window_tokens() const { return window_tokens_; }

 private:
  Classifier() = default;

  // ScoreViews, which returns false instead of running the encoder when `allow_encoder` is
  // false and the text reaches its band; Score() and ScoreWithoutEncoder() share the rest.
  // With `why`, each step of the `unsafe` score is noted there (Explain).
  bool ScoreViews(const std::vector<text::View>& views, LabelScores& out, bool allow_encoder,
                  UnsafeExplanation* why = nullptr) const;
  // ScoreNgramViews, noting each view's `unsafe` probability in `view_unsafe` when not null.
  size_t ScoreNgramViews(const std::vector<text::View>& views, LabelScores& out,
                         std::vector<float>* view_unsafe) const;
  bool Score(const std::vector<text::View>& views,
             std::vector<std::pair<std::string, float>>& scores, bool allow_encoder) const;

  // The input rows (vocabulary, then kept n-gram buckets) of text `features` plus
  // fastText's end-of-line token, one entry per token position: `ids` holds the rows and
  // `ends[p]` is one past the last row of position p (word or subwords, and the word n-grams
  // that end at p).
  // With a semantic head, `semantic_rows[p]` is the head's row of position p's word, or -1.
  void RowsOf(std::string_view features, std::vector<int32_t>& ids, std::vector<uint32_t>& ends,
              std::vector<int32_t>& semantic_rows) const;
  // Raises `out` to the raw probabilities of one span of text, label by label: fastText's
  // hidden layer is the mean `sum` / `n` of the input rows; with a semantic head, its logits
  // for the mean `semantic_sum` / `semantic_n` of the span's word vectors (as first layers,
  // SemanticHead::AddProjected) are added (none when `semantic_n` is 0: a span without a
  // known word has no semantic evidence).
  void ScoreSum(const float* sum, size_t n, const float* semantic_sum, size_t semantic_n,
                LabelScores& out) const;

  std::shared_ptr<const fasttext::Dictionary> dict_;
  // The input and output matrices, decoded once at load into plain floats: a product-quantised
  // row would otherwise be decoded on every use, which was most of the scoring time. input_ is
  // row-major (dim_ columns); output_ is transposed (dim_ rows of one weight per fastText
  // label), so that scoring adds each hidden value times a row into all labels at once, a loop
  // the compiler vectorises. input_ (tens of MiB) is in huge pages, faulted in by the hundred.
  std::vector<float, HugePageAllocator<float>> input_;
  std::vector<float> output_;
  int dim_ = 0;
  int32_t nwords_ = 0;
  int word_ngrams_ = 1;
  bool subwords_ = false;
  uint64_t bucket_ = 0;
  // fastText's pruned bucket -> row map (quantised models keep only some n-gram buckets);
  // empty and `pruned_` false when every bucket has a row.
  // Open addressing, linear probing: slot = (bucket, row), bucket -1 when empty; the capacity
  // is a power of two at least twice the number of kept buckets.
  std::vector<std::pair<int32_t, int32_t>> pruneidx_;
  uint64_t prune_mask_ = 0;
  bool pruned_ = false;
  // The row of n-gram bucket `bucket` in a pruned model, or -1 when it was pruned away.
  int32_t PrunedRow(int32_t bucket) const;
  // The dictionary's id of `word` (whose fastText hash is `hash`), or -1: what
  // Dictionary::getId answers, from a compact table. fastText's own table compares the
  // std::string of every entry it probes, each a cache miss of its own; here a probe reads one
  // slot, and the word's bytes are compared only when its hash matches.
  int32_t WordId(std::string_view word, uint32_t hash) const;
  struct WordSlot {
    uint32_t hash = 0;
    int32_t id = -1;  // -1: empty
  };
  std::vector<WordSlot> word_index_;  // open addressing, linear probing, power-of-two size
  uint64_t word_mask_ = 0;
  // With a semantic head: the head's row of each vocabulary word (-1 without a vector), so a
  // known word costs one lookup, not one in each model's table.
  std::vector<int32_t> semantic_row_of_word_;
  std::string word_bytes_;             // every word, back to back
  std::vector<uint32_t> word_starts_;  // word id -> offset in word_bytes_; one more at the end
  double temperature_ = 1.0;  // logits are divided by it before the sigmoid (manifest)
  std::shared_ptr<const SemanticHead> semantic_;  // null without a NAME.sem
  // With a NAME.enc: the sentence encoder and its cascade, for suspicious texts (ScoreViews).
  std::shared_ptr<const SentenceEncoder> encoder_;
  float passage_threshold_ = 0.0f;                // see passage_threshold()
  float semantic_weight_ = 1.0f;                  // its logits' weight (manifest)
  // Labels some part of the model scores; the others stay 0.
  std::array<bool, kNumLabels> scored_{};
  // fastText label id -> index in kLabels, or -1 for labels Warden does not report ("safe").
  std::vector<int> label_map_;
  LabelScores thresholds_{};
  std::string model_path_;
  size_t max_tokens_ = 1024;
  size_t window_tokens_ = 0;
};

}  // namespace warden::classifier
