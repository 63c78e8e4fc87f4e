// Training orchestration: JSONL data -> fastText training file (Warden's feature text) ->
// fastText one-vs-all model -> quantised .ftz -> per-label thresholds chosen on dev -> manifest.
//
//   TrainOptions o;  o.out = "models/warden-clf";  o.seed = 7;
//   StatusOr<TrainResult> r = TrainModel(o, train_examples, dev_examples);
//   // models/warden-clf.ftz and models/warden-clf.json, written atomically
//
// Determinism: fastText runs with one thread and `seed`; augmentation draws from an RNG seeded
// with `seed`; files are read in sorted order. The same data, options and seed give the same
// model bytes.
// Thread-safety: TrainModel is reentrant (each call uses its own temp files).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "eval/dataset.h"
#include "eval/metrics.h"
#include "scanners/classifier/classifier.h"
#include "text/views.h"
#include "warden/status.h"

namespace warden::eval {

class EmbeddingCache;  // eval/encoder_trainer.h

struct TrainOptions {
  std::string out;             // output path without extension: writes out.ftz and out.json
  uint64_t seed = 1;
  bool quick = false;          // fewer epochs, smaller model: for LOSO and smoke tests
  std::string tmp_dir = "/tmp";
  // fastText hyper-parameters (see docs/classifier.md for why these values).
  // Subwords (minn/maxn) are off: they cost 4-5x in training and scoring time and measured
  // worse per CPU-minute here; views undo the obfuscations subwords would otherwise absorb.
  int dim = 32;
  // 50 epochs at lr 0.2: dev AUPRC 0.83 at 25 epochs (lr 0.5) -> 0.87; 100 epochs reached 0.89
  // but blocked everyday questions as injections (models/warden-v1.md, "What was tried").
  int epoch = 50;
  double lr = 0.2;
  int word_ngrams = 3;  // trigrams: +0.007 dev AUPRC over bigrams
  int minn = 0;
  int maxn = 0;
  int bucket = 1000000;
  size_t cutoff = 300000;      // rows kept by quantisation (0: keep all)
  bool quantize = true;
  size_t max_tokens = 1024;    // tokens of a text used for training and scoring
  // Texts longer than this are also scored in half-overlapping windows of this many tokens
  // (Classifier::window_tokens); thresholds are chosen with the same scoring. 0: off.
  size_t window_tokens = 64;
  // Logits are divided by this before the sigmoid at scoring time. Monotone, so rankings and
  // AUPRC are unchanged; it keeps the confident end of the scale from rounding to 1.0 in float,
  // where ties would make thresholds meaningless.
  double temperature = 4.0;
  // Data mix: every (source, label) group is repeated until it holds at least `min_group`
  // rows, at most `max_repeat` times, so small sets of plainly written harmful requests are not
  // drowned by thousands of offensive posts.
  int min_group = 600;
  int max_repeat = 4;
  // Sources whose rows count this many times (`--set repeat.SOURCE=N`): written N times for
  // fastText, weighted N times in the encoder head's loss. Meant for hard negatives, the safe
  // sets that use the words of hazards (../shared/data/README.md: the big benign sets were
  // filtered by a hazard keyword list, so without them "scam", "attack" or "medication" only
  // ever appear in unsafe rows).
  std::map<std::string, int> source_repeat;
  // The same for the encoder head's loss alone (`--set encoder_repeat.SOURCE=N`; it overrides
  // `repeat.SOURCE` there): fastText and its attack thresholds stay as they were.
  std::map<std::string, int> encoder_source_repeat;
  // Groups larger than this keep a seeded random sample of this many rows (0: keep all), so no
  // single source's style (thousands of offensive posts) dominates what "unsafe" means.
  int max_group = 0;
  // Share of training rows added again as the feature text of a mutated copy seen through
  // Warden's views (augmentation against obfuscation).
  double augment = 0.15;
  // With `augment`: also add the mutated text's raw view (what the obfuscation looks like
  // before the views undo it), with the row's labels.
  bool augment_raw = true;  // base64 benign FPR 24.7% -> 2.0% on dev
  // Share of training rows added again with about half their words swapped for related words
  // from WordNet (eval/wordnet.h), read from `wordnet_dir`. 0: off.
  double synonyms = 0.0;
  std::string wordnet_dir = "/usr/share/wordnet";
  // An unsafe record that is a safe record of its source with an instruction inserted (an
  // injected document and its clean twin, eval/insertions.h) trains as the inserted text with
  // this many bytes of the document each side: the injection is the attack, not the document
  // that carries it. 0: such records train whole.
  int insertion_context = 512;
  // With insertion_context: each inserted run also trains alone, as the request it is when sent
  // by itself (its harm categories without the attack label; eval/insertions.h).
  bool insertions_alone = true;
  // With insertion_context: the clean twin's same window also trains, as safe.
  bool insertion_clean_window = true;
  // Pretrained word vectors for the semantic head (scanners/classifier/semantic.h): a GloVe
  // text file or wink-embeddings JSON (scripts/fetch-vectors.sh). Empty: no head, fastText only.
  std::string vectors;
  size_t vector_words = 100000;  // the most frequent words kept (about 100 bytes each)
  int semantic_hidden = 64;
  int semantic_epoch = 10;
  double semantic_lr = 0.02;
  double semantic_weight = 1.0;  // the head's logits are added with this weight
  // The sentence encoder's TensorFlow.js release (scripts/fetch-encoder.sh) for a cascade over
  // the most suspicious texts (scanners/classifier/encoder.h). Empty: no encoder.
  std::string encoder;
  // Share of safe dev rows whose n-gram score is high enough to be encoded.
  double encoder_band = 0.1;
  // The encoder head's training sample: at most this many records of each (source, label), and
  // of each safe group at most `encoder_safe_per_group` (0: the same), so more of the big sets
  // of everyday requests can teach the head what ordinary questions look like.
  size_t encoder_per_group = 500;
  size_t encoder_safe_per_group = 0;
  // The encoder head as an average of this many smaller networks (EncoderTrainOptions::heads).
  uint32_t encoder_heads = 1;
  // Passages read alone (SentenceEncoder::PassageUnsafe) may take up to this share of the safe
  // dev rows out of the `unsafe_fpr` budget, in steps of 0.1%; the split that catches the most
  // unsafe dev rows is kept (SplitUnsafeBudget below). 0: passages are not read.
  double passage_max_fpr = 0.01;
  // Embeddings kept across trainings (leave-one-source-out sets its own). Not owned.
  EmbeddingCache* embedding_cache = nullptr;
  // A file that keeps embeddings between runs (EmbeddingCache::Load / Save): read before
  // training, written after (LeaveOneSourceOut: after every fold). Empty: none. Ignored when
  // `embedding_cache` is set.
  std::string embedding_cache_file;
  // Dev thresholds: unsafe at this FPR on safe dev rows, each attack label at `attack_fpr`.
  double unsafe_fpr = 0.02;
  double attack_fpr = 0.01;
  // Called with a stage name ("write", "train", "quantize", "thresholds") and progress in [0,1].
  std::function<void(std::string_view stage, double fraction)> progress;
};

// The small, fast configuration (`--quick`): smoke tests and leave-one-source-out runs.
void UseQuickConfig(TrainOptions& o);

// Sets one hyper-parameter by name ("dim", "epoch", "lr", "word_ngrams", "minn", "maxn",
// "bucket", "cutoff", "quantize", "window_tokens", "min_group", "max_repeat", "max_group",
// "augment", "augment_raw", "synonyms", "insertion_context", "insertions_alone",
// "insertion_clean_window", "unsafe_fpr", "attack_fpr",
// "temperature", "vector_words", "semantic_hidden", "semantic_epoch", "semantic_lr",
// "semantic_weight", "encoder_band", "encoder_per_group", "encoder_safe_per_group",
// "passage_max_fpr", "repeat.SOURCE", "encoder_repeat.SOURCE"), as `warden train --set KEY=VALUE`
// does. INVALID_ARGUMENT names the key for an unknown key or a value out of range.
Status SetTrainOption(TrainOptions& o, std::string_view key, std::string_view value);
// The same for a list of "KEY=VALUE" settings, in order.
Status SetTrainOptions(TrainOptions& o, const std::vector<std::string>& settings);

// One way to share the `unsafe` false-positive budget between a text and its passages.
struct PassageSplit {
  double passage_fpr = 0;       // the share of safe dev rows passages may flag (0: none)
  float passage_threshold = 0;  // 0: passages not read
  float text_threshold = 0;     // the `unsafe` threshold that keeps the total at unsafe_fpr
  double recall = 0;            // unsafe dev rows flagged by either
};
// Shares the `unsafe` false-positive budget between texts and their passages read alone: given
// each dev row's text score, passage score (SentenceEncoder::PassageUnsafe, 0 for none) and
// label, passages may flag 0, 0.1%, ... up to `passage_max_fpr` of the safe rows, and the text's
// threshold rises so that both together flag at most `unsafe_fpr` of them. Returns every split
// tried, first the one without passages (at `text_threshold`, the threshold chosen alone), and
// sets `chosen` to the one that flags the most unsafe rows (the earliest on a tie, so passages
// are read only when they catch more).
std::vector<PassageSplit> SplitUnsafeBudget(const std::vector<float>& text,
                                            const std::vector<float>& passage,
                                            const std::vector<uint8_t>& unsafe, double unsafe_fpr,
                                            double passage_max_fpr, float text_threshold,
                                            size_t& chosen);
// The fastText training file: the mixed, augmented lines of feature text `warden train` feeds
// fastText. Its digest is recorded in the manifest, so a rebuild can be checked without training.
struct TrainingFile {
  int64_t lines = 0;
  std::string xxh3_64;  // of the file's bytes, lower-case hex
};

// Writes the training file for `train` under `options` (mix, augmentation, seed) to `path`.
StatusOr<TrainingFile> WriteTrainingFile(const TrainOptions& options,
                                         const std::vector<Example>& train,
                                         const std::string& path);

struct TrainResult {
  classifier::LabelScores thresholds{};
  // With an encoder: the passage threshold chosen (0: none) and every split tried, first none.
  float passage_threshold = 0;
  std::vector<PassageSplit> passage_splits;
  BinaryMetrics dev_unsafe;        // unsafe vs safe on dev at the chosen threshold
  std::string model_path;          // out.ftz
  uint64_t model_bytes = 0;
  TrainingFile training_file;  // what fastText read (after the mix)
  size_t insertions_cut = 0;   // injected documents read as their injections (insertion_context)
};

// Trains on `train`, chooses thresholds on `dev`, writes out.ftz + out.json via temp files and
// rename (nothing half-written under `out`). Errors: INVALID_ARGUMENT for empty data, INTERNAL
// when fastText fails (its message included), and I/O errors naming the file.
StatusOr<TrainResult> TrainModel(const TrainOptions& options, const std::vector<Example>& train,
                                 const std::vector<Example>& dev);

// Scores `ex` with `c` over the views of its text. `views` is scratch.
void ScoreExample(const classifier::Classifier& c, const text::ViewBuilder& builder,
                  std::string_view text, std::vector<text::View>& views,
                  classifier::LabelScores& out);

// Leave-one-source-out: for every source with unsafe rows, a model trained without that source
// (thresholds from the other sources' dev rows) scores all of that source's rows.
struct LosoRow {
  std::string source;
  BinaryMetrics metrics;  // unsafe vs safe on the held-out source, at the held-out threshold
};
StatusOr<std::vector<LosoRow>> LeaveOneSourceOut(
    const TrainOptions& options, const std::vector<Example>& train,
    const std::vector<Example>& dev, const std::vector<std::string>& sources,
    const std::function<void(const LosoRow&)>& on_row = {});

}  // namespace warden::eval
