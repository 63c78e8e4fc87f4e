// Trains the sentence encoder's head (scanners/classifier/encoder.h): the encoder's embedding of
// a sample of the training records in, one `unsafe` logit out.
//
//   auto encoder = classifier::SentenceEncoder::FromTfjs("build/encoder/dist");
//   StatusOr<classifier::EncoderHead> head = TrainEncoderHead(*encoder, train, {});
//
// The sample keeps at most `per_group` records of every (source, label) group, drawn with
// `seed`: embedding costs milliseconds a record, and the small groups of plainly written
// harmful requests weigh as much as the big ones. Training: Adam, binary cross-entropy with the
// two labels weighted to balance, mini-batches of 64. Embedding uses every core; training one
// thread, so the head is the same for the same seed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "eval/dataset.h"
#include "scanners/classifier/encoder.h"
#include "warden/status.h"

namespace warden::eval {

// Embeddings by text, for trainings that share most of their texts: leave-one-source-out trains
// 31 models on nearly the same records, and embedding costs milliseconds a record. A cache
// belongs to one encoder. Not thread-safe (Embed itself uses every core).
class EmbeddingCache {
 public:
  // The embeddings of `texts`, kDim floats each, back to back; only texts not seen before are
  // embedded.
  std::vector<float> Embed(const classifier::SentenceEncoder& encoder,
                           const std::vector<std::string_view>& texts,
                           const std::function<void(double)>& progress = {});
  size_t size() const { return index_.size(); }

  // A cache kept on disk between trainings: one retraining of the shipped model embeds about
  // 100K texts (half an hour on two cores), and experiments with the head's data mix reuse them.
  // The file records the embedding of a fixed probe text, so a cache made by another encoder is
  // refused rather than silently mixed in. Load: a missing file is an empty cache; a corrupt
  // file or another encoder's is INVALID_ARGUMENT naming the file. Save writes a temp file and
  // renames it.
  Status Load(const classifier::SentenceEncoder& encoder, const std::string& path);
  Status Save(const classifier::SentenceEncoder& encoder, const std::string& path) const;

 private:
  std::unordered_map<std::string, size_t> index_;  // text -> its row in rows_
  std::vector<float> rows_;
};

struct EncoderTrainOptions {
  uint64_t seed = 1;
  uint32_t hidden = 256;
  // The head is the average of this many networks of hidden / heads units each, trained from
  // different random starts and record orders (1: one network). Their mean logit is itself one
  // network of `hidden` units, so the file and the cost of scoring stay the same.
  uint32_t heads = 1;
  int epoch = 10;
  double lr = 0.003;
  size_t per_group = 500;
  size_t safe_per_group = 0;  // the cap of safe groups (0: per_group)
  // A source's records weigh this many times in the loss (TrainOptions::source_repeat).
  std::map<std::string, int> source_weight;
  EmbeddingCache* cache = nullptr;  // when set, embeddings are looked up and kept there
  // The text to embed for a record's text (the view the classifier will show the encoder,
  // Classifier::ScoreNgramViews). Empty: the text as written.
  std::function<std::string(std::string_view)> view;
  // Share of the sample also added as a mutated copy (a random obfuscation of eval/mutators.h,
  // then `view`), so the head learns what the n-gram model's augmentation taught it.
  double augment = 0.0;
  // Called with a stage ("embed", "encoder head") and progress in [0,1].
  std::function<void(const char* stage, double fraction)> progress;
};

// Calls `work(i)` for every i < n, spread over every core (each call must touch only what
// belongs to its i); `progress` gets the share done.
void ForEachOnEveryCore(size_t n, const std::function<void(size_t)>& work,
                        const std::function<void(double)>& progress = {});

// The embeddings of `texts`, kDim floats each, back to back; computed on every core.
std::vector<float> EmbedAll(const classifier::SentenceEncoder& encoder,
                            const std::vector<std::string_view>& texts,
                            const std::function<void(double)>& progress = {});

// EmbedAll, through `cache` when it is not null.
std::vector<float> EmbedAll(const classifier::SentenceEncoder& encoder,
                            const std::vector<std::string_view>& texts, EmbeddingCache* cache,
                            const std::function<void(double)>& progress = {});

// INVALID_ARGUMENT when the sample lacks either label, or when `hidden` does not split into
// `heads` networks of equal size.
StatusOr<classifier::EncoderHead> TrainEncoderHead(const classifier::SentenceEncoder& encoder,
                                                   const std::vector<Example>& train,
                                                   const EncoderTrainOptions& options);

// The network whose logit is the mean of the logits of `heads` (not empty): their hidden units
// side by side, each output weight divided by their number.
classifier::EncoderHead AverageHeads(const std::vector<classifier::EncoderHead>& heads);

}  // namespace warden::eval
