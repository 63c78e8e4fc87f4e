#include "eval/trainer.h"

#include <fasttext/fasttext.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <random>
#include <sstream>
#include <type_traits>

#include "core/json_writer.h"
#include "eval/encoder_trainer.h"
#include "eval/insertions.h"
#include "eval/mutators.h"
#include "eval/semantic_trainer.h"
#include "eval/wordnet.h"
#include "scanners/classifier/features.h"

namespace warden::eval {
namespace {

namespace fs = std::filesystem;
using classifier::kLabels;
using classifier::kNumLabels;
using classifier::LabelScores;

std::string LabelLine(const Example& ex) {
  if (!ex.unsafe) return "__label__safe";
  std::string s = "__label__unsafe";
  for (uint8_t l : ex.labels) {
    s += " __label__";
    s += kLabels[l];
  }
  return s;
}

// The text the model trains on for one example's mutated copy: the view that undid most of
// the obfuscation (decoded beats deobfuscated beats skeleton beats normalized), i.e. what the
// max over views will mostly see at inference. Never a cut-out view: the request inside a
// role-play jailbreak is not itself a jailbreak, and labelling it one teaches the model to flag
// the plain request.
std::string_view MostNormalView(const std::vector<text::View>& views) {
  std::string_view best = views.empty() ? std::string_view() : views[0].text;
  int best_rank = -1;
  for (const auto& v : views) {
    if (v.IsCutOut()) continue;
    int rank = static_cast<int>(v.kind);
    if (rank > best_rank) {
      best_rank = rank;
      best = v.text;
    }
  }
  return best;
}

Status WriteTrainingLines(const TrainOptions& o, const std::vector<Example>& train,
                          const std::string& path, int64_t* lines) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return InternalError(path + ": cannot create training file");
  std::map<std::pair<std::string, bool>, int64_t> group_size;
  for (const auto& ex : train) ++group_size[{ex.source, ex.unsafe}];

  std::mt19937_64 rng(o.seed);
  std::mt19937_64 keep_rng(o.seed ^ 0x6b656570u);     // "keep": the max_group sample
  std::mt19937_64 synonym_rng(o.seed ^ 0x73796e6fu);  // "syno": the WordNet copies
  std::optional<WordNet> wordnet;
  if (o.synonyms > 0) {
    auto wn = WordNet::Load(o.wordnet_dir);
    if (!wn.ok()) return wn.status();
    wordnet = std::move(*wn);
  }
  text::ViewBuilder builder;
  std::vector<text::View> views;
  std::string features;
  *lines = 0;
  // One training line: the labels, then the feature text of `text` (skipped when it has none).
  auto write_line = [&](const std::string& labels, std::string_view text) {
    features.clear();
    classifier::AppendFeatureText(text, o.max_tokens, features);
    if (features.empty()) return;
    out << labels << ' ' << features << '\n';
    ++*lines;
  };
  for (size_t i = 0; i < train.size(); ++i) {
    const Example& ex = train[i];
    const int64_t n = group_size[{ex.source, ex.unsafe}];
    const double keep_draw = Uniform01(keep_rng);
    if (o.max_group > 0 && n > o.max_group && keep_draw * n >= o.max_group) continue;
    int repeat = 1;
    if (n < o.min_group) {
      repeat = std::min<int64_t>(o.max_repeat, (o.min_group + n - 1) / n);
    }
    if (const auto it = o.source_repeat.find(ex.source); it != o.source_repeat.end()) {
      repeat *= it->second;
    }
    const std::string labels = LabelLine(ex);
    features.clear();
    classifier::AppendFeatureText(ex.text, o.max_tokens, features);
    if (features.empty()) continue;
    for (int r = 0; r < repeat; ++r) {
      out << labels << ' ' << features << '\n';
      ++*lines;
    }
    if (const std::optional<std::string> mutated = MaybeMutate(o.augment, ex.text, rng)) {
      builder.Build(*mutated, views);
      const std::string_view undone = MostNormalView(views);
      write_line(labels, undone);
      // The mutated text as the raw view sees it, too: scoring takes the maximum over views,
      // so a wrapper such as "decode this base64 and follow it" must not score as an attack
      // on its own when what it wraps is harmless.
      if (o.augment_raw && undone.data() != views[0].text.data()) {
        write_line(labels, views[0].text);
      }
    }
    const double synonym_draw = Uniform01(synonym_rng);
    const uint64_t synonym_seed = synonym_rng();
    if (wordnet && synonym_draw < o.synonyms) {
      std::mt19937_64 srng(synonym_seed);
      write_line(labels, wordnet->Rewrite(ex.text, 0.5, srng));
    }
    if (o.progress && (i % 2048 == 0)) o.progress("write", static_cast<double>(i) / train.size());
  }
  out.close();
  if (!out) return InternalError(path + ": write failed");
  if (o.progress) o.progress("write", 1.0);
  return OkStatus();
}

// The manifest's record of a semantic head or encoder file.
struct SemanticFile {
  std::string file;  // name beside the manifest; empty: none
  uint64_t bytes = 0;
  std::string hash;  // ModelFileHashHex of the file
};

Status WriteManifest(const std::string& path, const std::string& model_file, uint64_t bytes,
                     const std::string& hash, const SemanticFile& semantic,
                     const SemanticFile& encoder, const TrainOptions& o,
                     const LabelScores& thresholds, float passage_threshold,
                     const TrainingFile& training_file) {
  std::string j = "{\n  \"format\": \"warden-classifier/1\",\n  \"model_file\": ";
  AppendJsonString(j, model_file);
  j += ",\n  \"model_bytes\": ";
  AppendJsonUint(j, bytes);
  j += ",\n  \"model_xxh3_64\": \"" + hash + "\",\n  \"max_tokens\": ";
  AppendJsonUint(j, o.max_tokens);
  j += ",\n  \"window_tokens\": ";
  AppendJsonUint(j, o.window_tokens);
  j += ",\n  \"temperature\": ";
  AppendJsonNumber(j, o.temperature);
  // A part beside the model, as the classifier's loader reads it: {"file", "bytes", "xxh3_64"}.
  auto part = [&j](const char* key, const SemanticFile& f) {
    j += ",\n  \"";
    j += key;
    j += "\": {\"file\": ";
    AppendJsonString(j, f.file);
    j += ", \"bytes\": ";
    AppendJsonUint(j, f.bytes);
    j += ", \"xxh3_64\": \"" + f.hash + "\"";
  };
  if (!semantic.file.empty()) {
    part("semantic", semantic);
    j += ", \"weight\": ";
    AppendJsonNumber(j, o.semantic_weight);
    j += "}";
  }
  if (!encoder.file.empty()) {
    part("encoder", encoder);
    if (passage_threshold > 0) {
      char num[48];
      std::snprintf(num, sizeof(num), ", \"passage_threshold\": %.9g",
                    static_cast<double>(passage_threshold));
      j += num;
    }
    j += "}";
  }
  j += ",\n  \"thresholds\": {";
  for (size_t i = 0; i < kNumLabels; ++i) {
    j += i ? ",\n    " : "\n    ";
    AppendJsonString(j, kLabels[i]);
    // Nine significant digits round-trip a float exactly: the loaded threshold is the chosen
    // one, bit for bit.
    char num[32];
    std::snprintf(num, sizeof(num), ": %.9g", static_cast<double>(thresholds[i]));
    j += num;
  }
  j += "\n  },\n  \"training\": {\"seed\": ";
  AppendJsonUint(j, o.seed);
  j += ", \"quick\": ";
  j += o.quick ? "true" : "false";
  j += ", \"lines\": ";
  AppendJsonUint(j, static_cast<uint64_t>(training_file.lines));
  // What `warden train` fed fastText, so a rebuild can be checked without training.
  j += ", \"lines_xxh3_64\": ";
  AppendJsonString(j, training_file.xxh3_64);
  // The options that shaped the model, for the record (informational: loading ignores them).
  auto field = [&j](const char* name, double value) {
    j += ", \"";
    j += name;
    j += "\": ";
    AppendJsonNumber(j, value);
  };
  field("dim", o.dim);
  field("epoch", o.epoch);
  field("lr", o.lr);
  field("word_ngrams", o.word_ngrams);
  field("minn", o.minn);
  field("maxn", o.maxn);
  field("bucket", o.bucket);
  field("cutoff", static_cast<double>(o.cutoff));
  field("min_group", o.min_group);
  field("max_repeat", o.max_repeat);
  field("max_group", o.max_group);
  field("augment", o.augment);
  field("augment_raw", o.augment_raw);
  field("synonyms", o.synonyms);
  field("insertion_context", o.insertion_context);
  field("insertions_alone", o.insertions_alone);
  field("insertion_clean_window", o.insertion_clean_window);
  if (!semantic.file.empty()) {
    field("vector_words", static_cast<double>(o.vector_words));
    field("semantic_hidden", o.semantic_hidden);
    field("semantic_epoch", o.semantic_epoch);
    field("semantic_lr", o.semantic_lr);
  }
  if (!encoder.file.empty()) {
    field("encoder_band", o.encoder_band);
    field("encoder_per_group", static_cast<double>(o.encoder_per_group));
    if (o.encoder_safe_per_group > 0)
      field("encoder_safe_per_group", static_cast<double>(o.encoder_safe_per_group));
    if (o.encoder_heads > 1) field("encoder_heads", o.encoder_heads);
    field("passage_max_fpr", o.passage_max_fpr);
  }
  field("unsafe_fpr", o.unsafe_fpr);
  field("attack_fpr", o.attack_fpr);
  for (const auto& [name, repeats] : {std::pair{"repeat", &o.source_repeat},
                                      std::pair{"encoder_repeat", &o.encoder_source_repeat}}) {
    if (repeats->empty()) continue;
    j += ", \"";
    j += name;
    j += "\": {";
    bool first = true;
    for (const auto& [source, times] : *repeats) {
      if (!first) j += ", ";
      first = false;
      AppendJsonString(j, source);
      j += ": ";
      AppendJsonUint(j, static_cast<uint64_t>(times));
    }
    j += "}";
  }
  j += "}\n}\n";
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << j;
  out.close();
  if (!out) return InternalError(path + ": cannot write manifest");
  return OkStatus();
}

Status ReadAll(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InternalError(path + ": cannot read");
  std::ostringstream ss;
  ss << in.rdbuf();
  out = std::move(ss).str();
  return OkStatus();
}

LabelScores ChooseThresholds(const TrainOptions& o, const std::vector<Example>& dev,
                             const std::vector<LabelScores>& scores) {
  LabelScores t;
  t.fill(0.5f);
  std::vector<float> s;
  std::vector<uint8_t> y;
  for (size_t label = 0; label < kNumLabels; ++label) {
    s.clear();
    y.clear();
    const bool attack = kLabels[label] == "jailbreak" || kLabels[label] == "prompt_injection";
    for (size_t i = 0; i < dev.size(); ++i) {
      const bool pos = label == classifier::kUnsafeLabel
                           ? dev[i].unsafe
                           : std::find(dev[i].labels.begin(), dev[i].labels.end(), label) !=
                                 dev[i].labels.end();
      // Attack thresholds are set against safe rows only: an attack label firing on a harmful
      // request is no false alarm.
      if (attack && !pos && dev[i].unsafe) continue;
      s.push_back(scores[i][label]);
      y.push_back(pos ? 1 : 0);
    }
    if (std::find(y.begin(), y.end(), 1) == y.end()) continue;  // no dev positives: keep 0.5
    if (label == classifier::kUnsafeLabel) {
      t[label] = ThresholdForFpr(s, y, o.unsafe_fpr);
    } else if (attack) {
      t[label] = ThresholdForFpr(s, y, o.attack_fpr);
    } else {
      // Categories name the harm of a message already found unsafe; F1 is the right trade-off
      // there, with a floor so a thin category does not fire on noise.
      t[label] = std::max(0.2f, ThresholdForBestF1(s, y));
    }
  }
  return t;
}

// The records training reads: `train`, or with `insertion_context` a copy in `storage` whose
// injected documents are cut to their injections.
// `cut` (if not null) receives how many were cut.
const std::vector<Example>& TrainingRecords(const TrainOptions& o,
                                            const std::vector<Example>& train,
                                            std::vector<Example>& storage, size_t* cut = nullptr) {
  if (o.insertion_context == 0) return train;
  storage = train;
  const size_t n =
      CutInsertions(storage, {.context_bytes = static_cast<size_t>(o.insertion_context),
                              .alone = o.insertions_alone,
                              .clean_window = o.insertion_clean_window});
  if (cut != nullptr) *cut = n;
  return storage;
}

StatusOr<TrainingFile> WriteTrainingFileOf(const TrainOptions& options,
                                           const std::vector<Example>& records,
                                           const std::string& path) {
  TrainingFile file;
  if (Status s = WriteTrainingLines(options, records, path, &file.lines); !s.ok()) return s;
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in) return InternalError(path + ": cannot read back the training file");
  file.xxh3_64 = classifier::ModelFileHashHex(bytes);
  return file;
}

}  // namespace

StatusOr<TrainingFile> WriteTrainingFile(const TrainOptions& options,
                                         const std::vector<Example>& train,
                                         const std::string& path) {
  std::vector<Example> storage;
  return WriteTrainingFileOf(options, TrainingRecords(options, train, storage), path);
}

std::vector<PassageSplit> SplitUnsafeBudget(const std::vector<float>& text,
                                            const std::vector<float>& passage,
                                            const std::vector<uint8_t>& unsafe, double unsafe_fpr,
                                            double passage_max_fpr, float text_threshold,
                                            size_t& chosen) {
  auto recall = [&](float t_text, float t_passage) {
    size_t positives = 0, caught = 0;
    for (size_t i = 0; i < text.size(); ++i) {
      if (!unsafe[i]) continue;
      ++positives;
      caught += text[i] >= t_text || (t_passage > 0 && passage[i] >= t_passage);
    }
    return positives ? double(caught) / positives : 0.0;
  };
  std::vector<PassageSplit> splits{{0.0, 0.0f, text_threshold, recall(text_threshold, 0.0f)}};
  chosen = 0;
  std::vector<float> flagged(text.size());
  const int steps = static_cast<int>(std::round(passage_max_fpr * 1000));
  for (int step = 1; step <= steps; ++step) {
    PassageSplit split;
    split.passage_fpr = step / 1000.0;
    split.passage_threshold = ThresholdForFpr(passage, unsafe, split.passage_fpr);
    // A row a passage flags stays flagged; the text's threshold takes what is left of the budget.
    for (size_t i = 0; i < text.size(); ++i) {
      flagged[i] = passage[i] >= split.passage_threshold ? 1.0f : text[i];
    }
    split.text_threshold = ThresholdForFpr(flagged, unsafe, unsafe_fpr);
    split.recall = recall(split.text_threshold, split.passage_threshold);
    splits.push_back(split);
    if (split.recall > splits[chosen].recall) chosen = splits.size() - 1;
  }
  return splits;
}

void UseQuickConfig(TrainOptions& o) {
  o.quick = true;
  o.dim = 16;
  o.epoch = 10;
  o.lr = 0.5;
  o.word_ngrams = 2;
  o.minn = 0;
  o.maxn = 0;
  o.bucket = 200000;
  o.cutoff = 50000;
  o.augment = 0.05;
}

Status SetTrainOption(TrainOptions& o, std::string_view key, std::string_view value) {
  const std::string v(value);
  char* end = nullptr;
  const double number = std::strtod(v.c_str(), &end);
  if (v.empty() || end != v.c_str() + v.size()) {
    return InvalidArgumentError("--set " + std::string(key) + ": \"" + v + "\" is not a number");
  }
  auto whole = [&](int64_t lo, int64_t hi, auto& field) -> Status {
    if (number != static_cast<double>(static_cast<int64_t>(number)) || number < lo || number > hi) {
      return InvalidArgumentError("--set " + std::string(key) + ": must be a whole number in [" +
                                  std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
    field = static_cast<std::remove_reference_t<decltype(field)>>(number);
    return OkStatus();
  };
  auto real = [&](double lo, double hi, double& field) -> Status {
    if (!(number >= lo && number <= hi)) {
      return InvalidArgumentError("--set " + std::string(key) + ": must be in [" +
                                  std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
    field = number;
    return OkStatus();
  };
  if (key == "dim") return whole(2, 1024, o.dim);
  if (key == "epoch") return whole(1, 1000, o.epoch);
  if (key == "word_ngrams") return whole(1, 5, o.word_ngrams);
  if (key == "minn") return whole(0, 10, o.minn);
  if (key == "maxn") return whole(0, 10, o.maxn);
  if (key == "bucket") return whole(0, 50000000, o.bucket);
  if (key == "cutoff") return whole(0, 50000000, o.cutoff);
  if (key == "quantize") return whole(0, 1, o.quantize);
  if (key == "window_tokens") {
    if (number == 1) return InvalidArgumentError("--set window_tokens: must be 0 (off) or >= 2");
    return whole(0, 1000000, o.window_tokens);
  }
  if (key == "min_group") return whole(0, 100000000, o.min_group);
  if (key == "max_repeat") return whole(1, 1000, o.max_repeat);
  if (key == "max_group") return whole(0, 100000000, o.max_group);
  for (auto [prefix, repeats] :
       {std::pair{std::string_view("repeat."), &o.source_repeat},
        std::pair{std::string_view("encoder_repeat."), &o.encoder_source_repeat}}) {
    if (!key.starts_with(prefix)) continue;
    if (key.size() == prefix.size()) {
      return InvalidArgumentError("--set " + std::string(prefix) + "SOURCE: name a source");
    }
    int times = 0;
    if (Status s = whole(1, 100, times); !s.ok()) return s;
    (*repeats)[std::string(key.substr(prefix.size()))] = times;
    return OkStatus();
  }
  if (key == "lr") return real(1e-6, 10, o.lr);
  if (key == "augment") return real(0, 1, o.augment);
  if (key == "synonyms") return real(0, 1, o.synonyms);
  if (key == "augment_raw") return whole(0, 1, o.augment_raw);
  if (key == "insertion_context") return whole(0, 100000, o.insertion_context);
  if (key == "insertions_alone") return whole(0, 1, o.insertions_alone);
  if (key == "insertion_clean_window") return whole(0, 1, o.insertion_clean_window);
  if (key == "unsafe_fpr") return real(0, 1, o.unsafe_fpr);
  if (key == "attack_fpr") return real(0, 1, o.attack_fpr);
  if (key == "temperature") return real(1e-3, 1000, o.temperature);
  if (key == "vector_words") return whole(1, 10000000, o.vector_words);
  if (key == "semantic_hidden") return whole(1, 4096, o.semantic_hidden);
  if (key == "semantic_epoch") return whole(1, 1000, o.semantic_epoch);
  if (key == "semantic_lr") return real(1e-6, 10, o.semantic_lr);
  if (key == "semantic_weight") return real(0, 100, o.semantic_weight);
  if (key == "encoder_band") return real(1e-3, 1, o.encoder_band);
  if (key == "encoder_per_group") return whole(1, 100000000, o.encoder_per_group);
  if (key == "encoder_safe_per_group") return whole(0, 100000000, o.encoder_safe_per_group);
  if (key == "encoder_heads") return whole(1, 16, o.encoder_heads);
  if (key == "passage_max_fpr") return real(0, 0.1, o.passage_max_fpr);
  return InvalidArgumentError(
      "--set: unknown option \"" + std::string(key) +
      "\" (known: dim, epoch, lr, word_ngrams, minn, maxn, bucket, cutoff, quantize, "
      "window_tokens, min_group, max_repeat, max_group, augment, augment_raw, synonyms, "
      "insertion_context, insertions_alone, insertion_clean_window, unsafe_fpr, attack_fpr, "
      "temperature, vector_words, semantic_hidden, "
      "semantic_epoch, semantic_lr, semantic_weight, encoder_band, encoder_per_group, "
      "encoder_safe_per_group, encoder_heads, passage_max_fpr, repeat.SOURCE, "
      "encoder_repeat.SOURCE)");
}

Status SetTrainOptions(TrainOptions& o, const std::vector<std::string>& settings) {
  for (const std::string& kv : settings) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos)
      return InvalidArgumentError("--set " + kv + ": expected KEY=VALUE");
    if (Status s = SetTrainOption(o, kv.substr(0, eq), kv.substr(eq + 1)); !s.ok()) return s;
  }
  return OkStatus();
}

void ScoreExample(const classifier::Classifier& c, const text::ViewBuilder& builder,
                  std::string_view text, std::vector<text::View>& views, LabelScores& out) {
  builder.Build(text, views);
  c.ScoreViews(views, out);
}

// Trains the encoder's head, chooses its cascade on the dev rows (the band that sends
// `encoder_band` of the safe rows to the encoder; the standardisation of both logits on the safe
// rows) and puts the cascade's unsafe scores into `dev_scores`, so the thresholds are chosen on
// what the classifier will compute, and each dev row's passage score (SentenceEncoder::
// PassageUnsafe, 0 when the text is not encoded) into `dev_passages`. Both the head and the cascade
// embed the view `model` (the n-gram model just trained) picks for the encoder, as scoring will.
Status AddEncoderCascade(const TrainOptions& o, const std::vector<Example>& train,
                         const std::vector<Example>& dev,
                         const std::vector<std::string>& dev_encoder_views,
                         const classifier::Classifier& model, classifier::SentenceEncoder& encoder,
                         EmbeddingCache* cache, std::vector<LabelScores>& dev_scores,
                         std::vector<float>& dev_passages) {
  EncoderTrainOptions eo;
  eo.seed = o.seed;
  eo.cache = cache;
  text::ViewBuilder builder;
  std::vector<text::View> views;
  std::string scratch;
  eo.view = [&](std::string_view text) {
    builder.Build(text, views);
    LabelScores ignored;
    return std::string(
        classifier::EncoderInput(views, model.ScoreNgramViews(views, ignored), scratch));
  };
  eo.augment = o.augment;
  eo.per_group = o.encoder_per_group;
  eo.safe_per_group = o.encoder_safe_per_group;
  eo.heads = o.encoder_heads;
  eo.source_weight = o.source_repeat;
  for (const auto& [source, times] : o.encoder_source_repeat) eo.source_weight[source] = times;
  if (o.progress) {
    eo.progress = [&o](const char* stage, double f) { o.progress(stage, f); };
  }
  auto head = TrainEncoderHead(encoder, train, eo);
  if (!head.ok()) return head.status();
  const std::vector<std::string_view> texts(dev_encoder_views.begin(), dev_encoder_views.end());
  const std::vector<float> v = EmbedAll(encoder, texts, cache, [&o](double f) {
    if (o.progress) o.progress("encode dev", f);
  });
  const size_t U = classifier::kUnsafeLabel;
  std::vector<float> safe;
  for (size_t i = 0; i < dev.size(); ++i) {
    if (!dev[i].unsafe) safe.push_back(dev_scores[i][U]);
  }
  if (safe.empty()) return InvalidArgumentError("the encoder cascade needs safe dev rows");
  std::sort(safe.begin(), safe.end(), std::greater<>());
  classifier::EncoderCascade c;
  c.head = std::move(*head);
  c.band = safe[std::min(safe.size() - 1, size_t(o.encoder_band * safe.size()))];
  double sb = 0, sbb = 0, se = 0, see = 0;
  size_t n = 0;
  for (size_t i = 0; i < dev.size(); ++i) {
    if (dev[i].unsafe) continue;
    const double b = classifier::EncoderCascade::NgramLogit(dev_scores[i][U]);
    const double e = c.head.Logit(v.data() + i * classifier::SentenceEncoder::kDim);
    sb += b, sbb += b * b, se += e, see += e * e, ++n;
  }
  c.bow_mean = static_cast<float>(sb / n);
  c.bow_sd = static_cast<float>(std::sqrt(std::max(1e-12, sbb / n - (sb / n) * (sb / n))));
  c.enc_mean = static_cast<float>(se / n);
  c.enc_sd = static_cast<float>(std::sqrt(std::max(1e-12, see / n - (se / n) * (se / n))));
  encoder.set_cascade(std::move(c));
  const classifier::EncoderCascade& cascade = *encoder.cascade();
  dev_passages.assign(dev.size(), 0.0f);
  // Passages are embedded as they are cut, a few milliseconds each: on every core.
  ForEachOnEveryCore(
      dev.size(),
      [&](size_t i) {
        if (dev_scores[i][U] < cascade.band) return;
        if (o.passage_max_fpr > 0) {
          dev_passages[i] =
              encoder.PassageUnsafe(dev_encoder_views[i], [&model](std::string_view p) {
                LabelScores one;
                model.ScoreText(p, one);
                return one[classifier::kUnsafeLabel];
              });
        }
        dev_scores[i][U] =
            cascade.Combine(dev_scores[i][U], v.data() + i * classifier::SentenceEncoder::kDim);
      },
      [&o](double f) {
        if (o.progress) o.progress("encode dev passages", f);
      });
  return OkStatus();
}

StatusOr<TrainResult> TrainModel(const TrainOptions& o, const std::vector<Example>& all_train,
                                 const std::vector<Example>& dev) {
  std::vector<Example> storage;
  size_t insertions_cut = 0;
  const std::vector<Example>& train = TrainingRecords(o, all_train, storage, &insertions_cut);
  if (train.empty()) return InvalidArgumentError("no training examples");
  if (dev.empty()) return InvalidArgumentError("no dev examples to choose thresholds on");
  if (o.out.empty()) return InvalidArgumentError("no output path");
  for (const auto& [prefix, repeats] : {std::pair{"repeat.", &o.source_repeat},
                                        std::pair{"encoder_repeat.", &o.encoder_source_repeat}}) {
    for (const auto& [source, times] : *repeats) {
      if (std::none_of(train.begin(), train.end(),
                       [&source](const Example& ex) { return ex.source == source; })) {
        return InvalidArgumentError("--set " + std::string(prefix) + source +
                                    ": no training records come from \"" + source +
                                    "\" (sources are the data's folder names)");
      }
    }
  }
  // The word vectors are read before minutes of fastText training, so a bad file fails at once.
  classifier::SemanticHead head;
  if (!o.vectors.empty()) {
    if (Status s = LoadWordVectors(o.vectors, o.vector_words, head); !s.ok()) return s;
  }
  std::optional<classifier::SentenceEncoder> encoder;
  if (!o.encoder.empty()) {
    auto e = classifier::SentenceEncoder::FromTfjs(o.encoder);
    if (!e.ok()) return e.status();
    encoder = std::move(*e);
  }
  // A cache file is read now, so a bad one fails before minutes of fastText training.
  EmbeddingCache file_cache;
  EmbeddingCache* cache = o.embedding_cache;
  if (encoder && cache == nullptr && !o.embedding_cache_file.empty()) {
    if (Status s = file_cache.Load(*encoder, o.embedding_cache_file); !s.ok()) return s;
    cache = &file_cache;
  }
  TrainResult result;
  const std::string tag = std::to_string(::getpid()) + "-" + std::to_string(o.seed) + "-" +
                          std::to_string(reinterpret_cast<uintptr_t>(&result) & 0xffffff);
  const std::string train_file =
      (fs::path(o.tmp_dir) / ("warden-train-" + tag + ".txt")).string();
  const std::string tmp_model = o.out + ".tmp-" + tag + ".ftz";
  const std::string tmp_manifest = classifier::ManifestPath(tmp_model);
  const std::string tmp_semantic = o.out + ".tmp-" + tag + ".sem";
  const std::string tmp_encoder = o.out + ".tmp-" + tag + ".enc";
  struct Cleanup {
    std::vector<std::string> files;
    ~Cleanup() {
      std::error_code ec;
      for (const auto& f : files) fs::remove(f, ec);
    }
  } cleanup{{train_file, tmp_model, tmp_manifest, tmp_semantic, tmp_encoder}};

  auto training_file = WriteTrainingFileOf(o, train, train_file);
  if (!training_file.ok()) return training_file.status();
  result.training_file = *training_file;
  result.insertions_cut = insertions_cut;

  fasttext::Args args;
  args.input = train_file;
  args.output = tmp_model;
  args.model = fasttext::model_name::sup;
  args.loss = fasttext::loss_name::ova;
  args.dim = o.dim;
  args.epoch = o.epoch;
  args.lr = o.lr;
  args.wordNgrams = o.word_ngrams;
  args.minn = o.minn;
  args.maxn = o.maxn;
  args.bucket = o.bucket;
  args.minCount = 1;
  args.thread = 1;  // determinism: fastText's hogwild updates race with more than one thread
  args.seed = static_cast<int>(o.seed);
  args.verbose = 0;
  fasttext::FastText ft;
  try {
    ft.train(args, [&](float progress, float, double, double, int64_t) {
      if (o.progress) o.progress("train", progress);
    });
    if (o.quantize) {
      if (o.progress) o.progress("quantize", 0.0);
      fasttext::Args q = args;
      q.cutoff = o.cutoff;
      q.retrain = false;
      q.qnorm = true;
      q.qout = false;
      q.dsub = 2;
      ft.quantize(q);
    }
    ft.saveModel(tmp_model);
  } catch (const std::exception& e) {
    return InternalError(std::string("fastText training failed: ") + e.what());
  }
  if (o.progress) o.progress("quantize", 1.0);

  // The semantic head learns from the same lines (same mix, same augmentation).
  SemanticFile semantic;
  if (!o.vectors.empty()) {
    if (o.progress) o.progress("semantic", 0.0);
    SemanticTrainOptions so;
    so.seed = o.seed;
    so.hidden = static_cast<uint32_t>(o.semantic_hidden);
    so.epoch = o.semantic_epoch;
    so.lr = o.semantic_lr;
    if (o.progress) so.progress = [&o](double f) { o.progress("semantic", f); };
    if (Status s = TrainSemanticHead(train_file, so, head); !s.ok()) return s;
    const std::string head_bytes = head.Serialize();
    std::ofstream out(tmp_semantic, std::ios::binary | std::ios::trunc);
    out << head_bytes;
    out.close();
    if (!out) return InternalError(tmp_semantic + ": cannot write semantic head");
    // The provisional manifest names the temp file; the final one the renamed file.
    semantic.file = fs::path(tmp_semantic).filename().string();
    semantic.bytes = head_bytes.size();
    semantic.hash = classifier::ModelFileHashHex(head_bytes);
  }

  std::string bytes;
  if (Status s = ReadAll(tmp_model, bytes); !s.ok()) return s;
  result.model_bytes = bytes.size();
  const std::string hash = classifier::ModelFileHashHex(bytes);
  const std::string model_file = fs::path(o.out + ".ftz").filename().string();
  SemanticFile encoder_file;  // written once the dev scores have chosen the cascade
  LabelScores provisional;
  provisional.fill(0.5f);
  if (Status s = WriteManifest(tmp_manifest, model_file, bytes.size(), hash, semantic, encoder_file,
                               o, provisional, 0.0f, result.training_file);
      !s.ok()) {
    return s;
  }
  auto model = classifier::Classifier::Load(tmp_model);
  if (!model.ok()) return model.status();

  text::ViewBuilder builder;
  std::vector<text::View> views;
  std::vector<LabelScores> dev_scores(dev.size());
  std::vector<std::string> dev_encoder_views;  // with an encoder: the text it reads, per dev row
  std::vector<float> dev_passages;             // with an encoder: each row's passage score
  std::string scratch;
  for (size_t i = 0; i < dev.size(); ++i) {
    builder.Build(dev[i].text, views);
    const size_t k = (*model)->ScoreNgramViews(views, dev_scores[i]);
    if (encoder) dev_encoder_views.emplace_back(classifier::EncoderInput(views, k, scratch));
    if (o.progress && i % 1024 == 0) o.progress("thresholds", double(i) / dev.size());
  }
  if (encoder) {
    if (Status s = AddEncoderCascade(o, train, dev, dev_encoder_views, **model, *encoder, cache,
                                     dev_scores, dev_passages);
        !s.ok()) {
      return s;
    }
    if (cache == &file_cache) {
      if (Status s = file_cache.Save(*encoder, o.embedding_cache_file); !s.ok()) return s;
    }
    const std::string encoder_bytes = encoder->Serialize();
    std::ofstream out(tmp_encoder, std::ios::binary | std::ios::trunc);
    out << encoder_bytes;
    out.close();
    if (!out) return InternalError(tmp_encoder + ": cannot write sentence encoder");
    encoder_file.file = fs::path(o.out + ".enc").filename().string();
    encoder_file.bytes = encoder_bytes.size();
    encoder_file.hash = classifier::ModelFileHashHex(encoder_bytes);
  }
  result.thresholds = ChooseThresholds(o, dev, dev_scores);
  if (encoder) {
    const size_t U = classifier::kUnsafeLabel;
    std::vector<float> text(dev.size());
    std::vector<uint8_t> unsafe(dev.size());
    for (size_t i = 0; i < dev.size(); ++i) {
      text[i] = dev_scores[i][U];
      unsafe[i] = dev[i].unsafe ? 1 : 0;
    }
    size_t chosen = 0;
    result.passage_splits = SplitUnsafeBudget(text, dev_passages, unsafe, o.unsafe_fpr,
                                              o.passage_max_fpr, result.thresholds[U], chosen);
    const PassageSplit& split = result.passage_splits[chosen];
    result.passage_threshold = split.passage_threshold;
    result.thresholds[U] = split.text_threshold;
    // The dev scores become what scoring computes, for the metrics below.
    if (split.passage_threshold > 0) {
      for (size_t i = 0; i < dev.size(); ++i) {
        dev_scores[i][U] = std::max(
            dev_scores[i][U], classifier::Classifier::PassageOnUnsafeScale(
                                  dev_passages[i], split.passage_threshold, split.text_threshold));
      }
    }
  }
  if (o.progress) o.progress("thresholds", 1.0);
  {
    std::vector<float> s;
    std::vector<uint8_t> y;
    for (size_t i = 0; i < dev.size(); ++i) {
      s.push_back(dev_scores[i][classifier::kUnsafeLabel]);
      y.push_back(dev[i].unsafe);
    }
    result.dev_unsafe = ComputeMetrics(s, y, result.thresholds[classifier::kUnsafeLabel]);
  }
  if (!semantic.file.empty()) semantic.file = fs::path(o.out + ".sem").filename().string();
  if (Status s =
          WriteManifest(tmp_manifest, model_file, bytes.size(), hash, semantic, encoder_file, o,
                        result.thresholds, result.passage_threshold, result.training_file);
      !s.ok()) {
    return s;
  }
  // The model files first, then their manifest: a reader that races with the renames sees a
  // hash mismatch (a clear error), never a model with the wrong thresholds.
  std::error_code ec;
  if (!semantic.file.empty()) {
    const std::string semantic_path = o.out + ".sem";
    fs::rename(tmp_semantic, semantic_path, ec);
    if (ec) return InternalError(semantic_path + ": rename failed: " + ec.message());
  }
  if (!encoder_file.file.empty()) {
    const std::string encoder_path = o.out + ".enc";
    fs::rename(tmp_encoder, encoder_path, ec);
    if (ec) return InternalError(encoder_path + ": rename failed: " + ec.message());
  }
  result.model_path = o.out + ".ftz";
  fs::rename(tmp_model, result.model_path, ec);
  if (ec) return InternalError(result.model_path + ": rename failed: " + ec.message());
  fs::rename(tmp_manifest, classifier::ManifestPath(result.model_path), ec);
  if (ec) return InternalError(o.out + ".json: rename failed: " + ec.message());
  return result;
}

StatusOr<std::vector<LosoRow>> LeaveOneSourceOut(
    const TrainOptions& options, const std::vector<Example>& train,
    const std::vector<Example>& dev, const std::vector<std::string>& sources,
    const std::function<void(const LosoRow&)>& on_row) {
  std::vector<LosoRow> rows;
  EmbeddingCache embeddings;
  // A cache file (TrainOptions::embedding_cache_file) is read once and written after every fold
  // that embedded something new, so an interrupted run keeps what it paid for.
  std::optional<classifier::SentenceEncoder> file_encoder;
  if (!options.encoder.empty() && options.embedding_cache == nullptr &&
      !options.embedding_cache_file.empty()) {
    auto e = classifier::SentenceEncoder::FromTfjs(options.encoder);
    if (!e.ok()) return e.status();
    file_encoder = std::move(*e);
    if (Status s = embeddings.Load(*file_encoder, options.embedding_cache_file); !s.ok()) return s;
  }
  text::ViewBuilder builder;
  std::vector<text::View> views;
  for (const std::string& source : sources) {
    std::vector<Example> tr, dv, held;
    for (const auto& ex : train) (ex.source == source ? held : tr).push_back(ex);
    for (const auto& ex : dev) (ex.source == source ? held : dv).push_back(ex);
    if (held.empty()) return InvalidArgumentError("unknown source \"" + source + "\"");
    TrainOptions o = options;
    o.out = (fs::path(options.tmp_dir) / ("warden-loso-" + std::to_string(::getpid()))).string();
    // A held-out source has no training rows left to weight.
    o.source_repeat.erase(source);
    o.encoder_source_repeat.erase(source);
    // The folds share most of their texts: each text is embedded once, by the first fold that
    // needs it.
    if (!o.encoder.empty() && o.embedding_cache == nullptr) o.embedding_cache = &embeddings;
    const size_t embedded_before = embeddings.size();
    auto r = TrainModel(o, tr, dv);
    if (!r.ok()) return r.status();
    if (file_encoder && embeddings.size() != embedded_before) {
      if (Status s = embeddings.Save(*file_encoder, options.embedding_cache_file); !s.ok()) {
        return s;
      }
    }
    auto model = classifier::Classifier::Load(r->model_path);
    if (!model.ok()) return model.status();
    std::vector<float> s;
    std::vector<uint8_t> y;
    LabelScores scores;
    for (const auto& ex : held) {
      ScoreExample(**model, builder, ex.text, views, scores);
      s.push_back(scores[classifier::kUnsafeLabel]);
      y.push_back(ex.unsafe);
    }
    LosoRow row{source, ComputeMetrics(s, y, r->thresholds[classifier::kUnsafeLabel])};
    if (on_row) on_row(row);
    rows.push_back(row);
    std::error_code ec;
    fs::remove(r->model_path, ec);
    fs::remove(classifier::ManifestPath(r->model_path), ec);
    fs::remove(o.out + ".sem", ec);
    fs::remove(o.out + ".enc", ec);
  }
  return rows;
}

}  // namespace warden::eval
