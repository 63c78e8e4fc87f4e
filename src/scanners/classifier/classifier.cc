#include "scanners/classifier/classifier.h"

#include <fasttext/fasttext.h>
#include <simdjson.h>
#include <xxhash.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <future>
#include <memory>
#include <sstream>

#include "scanners/classifier/binary_io.h"
#include "scanners/classifier/encoder.h"
#include "scanners/classifier/features.h"
#include "scanners/classifier/semantic.h"

namespace warden::classifier {

const std::array<std::string_view, kNumLabels> kLabels = {
    "violent_crimes", "nonviolent_crimes", "sex_crimes", "child_exploitation", "defamation",
    "specialized_advice", "privacy", "intellectual_property", "weapons_cbrne", "hate",
    "harassment", "self_harm", "sexual_content", "elections", "code_abuse", "misinformation",
    "jailbreak", "prompt_injection", "unsafe"};

int LabelIndex(std::string_view label) {
  for (size_t i = 0; i < kNumLabels; ++i) {
    if (kLabels[i] == label) return static_cast<int>(i);
  }
  return -1;
}

std::string ManifestPath(std::string_view model_path) {
  std::string p(model_path);
  const size_t slash = p.find_last_of('/');
  const size_t dot = p.find_last_of('.');
  if (dot != std::string::npos && (slash == std::string::npos || dot > slash)) p.resize(dot);
  return p + ".json";
}

uint64_t Fnv1a64(std::string_view bytes) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

namespace {

std::string Hex64(uint64_t h) {
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

}  // namespace

std::string ModelFileHashHex(std::string_view bytes) {
  return Hex64(XXH3_64bits(bytes.data(), bytes.size()));
}

namespace {

struct Scratch {
  std::string features;
  std::string token;            // one token, for fastText's dictionary lookup
  std::vector<int32_t> ids;     // input rows of the text, grouped by token position
  std::vector<uint32_t> ends;   // one past each position's last row in `ids`
  std::vector<int32_t> hashes;  // fastText's word hash of each position
  std::vector<float> hidden;    // the running sum of rows (see ScoreText)
  std::vector<uint32_t> bounds;  // positions where windows start or end
  std::vector<float> prefix;     // the running sum at each of `bounds`
  std::vector<float> window;     // one window's sums (rows, then word vectors)
  std::vector<float> dots;       // one span's dot product with each output row
  // The semantic head's share: each position's word-vector row (-1: none), the running sum of
  // the rows' first layers (SemanticHead::AddProjected) and the sums and counts of positions
  // with one at each of `bounds`, and their mean.
  std::vector<int32_t> semantic_rows;
  std::vector<float> semantic_window;
  std::vector<float> semantic_prefix;
  std::vector<uint32_t> semantic_count;
  std::vector<float> semantic_mean;
};

Scratch& ThreadScratch() {
  thread_local Scratch scratch;
  return scratch;
}

// FastText exposes its matrices to subclasses only; the classifier decodes them once at load.
class ModelAccess : public fasttext::FastText {
 public:
  const fasttext::Matrix& input() const { return *input_; }
  const fasttext::Matrix& output() const { return *output_; }
};

// Rows x dim floats of `m`, whatever its storage (dense or product-quantised).
std::vector<float, HugePageAllocator<float>> DecodeMatrix(const fasttext::Matrix& m) {
  const int64_t rows = m.size(0);
  const int64_t dim = m.size(1);
  std::vector<float, HugePageAllocator<float>> out(static_cast<size_t>(rows * dim));
  fasttext::Vector row(dim);
  for (int64_t i = 0; i < rows; ++i) {
    row.zero();
    m.addRowToVector(row, static_cast<int32_t>(i));
    std::memcpy(out.data() + i * dim, row.data(), sizeof(float) * dim);
  }
  return out;
}

// fastText keeps the map from n-gram bucket to row of a pruned (quantised) model private, but
// writes it at the end of the dictionary's serialised form: size, nwords, nlabels (int32),
// ntokens, pruneidx_size (int64), the entries (NUL-terminated word, int64 count, int8 type),
// then pruneidx_size (bucket, row) int32 pairs.
bool ReadPruneIndex(const fasttext::Dictionary& dict, std::vector<std::pair<int32_t, int32_t>>& out,
                    bool& pruned) {
  std::ostringstream ss;
  dict.save(ss);
  const std::string bytes = std::move(ss).str();
  size_t at = 0;
  auto take = [&](void* dst, size_t n) {
    if (at + n > bytes.size()) return false;
    std::memcpy(dst, bytes.data() + at, n);
    at += n;
    return true;
  };
  int32_t size = 0, nwords = 0, nlabels = 0;
  int64_t ntokens = 0, prune_size = 0;
  if (!take(&size, 4) || !take(&nwords, 4) || !take(&nlabels, 4) || !take(&ntokens, 8) ||
      !take(&prune_size, 8)) {
    return false;
  }
  for (int32_t i = 0; i < size; ++i) {
    const size_t nul = bytes.find('\0', at);
    if (nul == std::string::npos) return false;
    at = nul + 1 + sizeof(int64_t) + sizeof(int8_t);
  }
  pruned = prune_size >= 0;
  out.clear();
  if (prune_size > (int64_t{1} << 30)) return false;  // corrupt: no model keeps that many
  for (int64_t i = 0; i < prune_size; ++i) {
    int32_t bucket = 0, row = 0;
    if (!take(&bucket, 4) || !take(&row, 4)) return false;
    out.emplace_back(bucket, row);
  }
  return at == bytes.size();
}

// A file's hash as its manifest records it: under `xxh3_64`, or under `fnv1a64` in manifests
// written before XXH3 (a byte at a time, FNV-1a took 12 ms of every load's critical path).
struct ManifestHash {
  std::string_view function;             // the key's suffix: "xxh3_64" or "fnv1a64"
  std::string (*hex_of)(std::string_view);  // computes it, as the manifest writes it
  std::string_view hex;                  // what the manifest records
};

// Reads the hash under `prefix` + "xxh3_64" or, failing that, `prefix` + "fnv1a64".
bool FindManifestHash(simdjson::dom::object object, std::string_view prefix, ManifestHash& out) {
  static constexpr std::pair<std::string_view, std::string (*)(std::string_view)> kFunctions[] = {
      {"xxh3_64", ModelFileHashHex},
      {"fnv1a64", [](std::string_view bytes) { return Hex64(Fnv1a64(bytes)); }},
  };
  for (const auto& [function, hex_of] : kFunctions) {
    const std::string key = std::string(prefix) + std::string(function);
    if (object[key].get(out.hex) == simdjson::SUCCESS) {
      out.function = function;
      out.hex_of = hex_of;
      return true;
    }
  }
  return false;
}

// DATA_LOSS unless `bytes` (the contents of `path`) have the size and hash the manifest states.
Status CheckAgainstManifest(const std::string& path, std::string_view bytes,
                            uint64_t expected_bytes, ManifestHash expected,
                            const std::string& manifest_path) {
  const std::string hash = expected.hex_of(bytes);
  if (bytes.size() == expected_bytes && expected.hex == hash) return OkStatus();
  return DataLossError(path + ": file does not match its manifest " + manifest_path + " (" +
                       std::to_string(bytes.size()) + " bytes, " + std::string(expected.function) +
                       " " + hash + "; expected " + std::to_string(expected_bytes) + " bytes, " +
                       std::string(expected.hex) + "): corrupt or replaced");
}

uint64_t BucketSlot(int32_t bucket) {
  return static_cast<uint64_t>(static_cast<uint32_t>(bucket)) * 0x9E3779B97F4A7C15ull >> 20;
}

// fastText's word hash (FNV-1a over signed chars), computed without building a std::string.
uint32_t FastTextHash(std::string_view s) {
  uint32_t h = 2166136261u;
  for (char c : s) {
    h ^= static_cast<uint32_t>(static_cast<int8_t>(c));
    h *= 16777619u;
  }
  return h;
}

// Reads the file a manifest entry `key` names ({"file", "bytes", "xxh3_64"}): a name beside the
// model, checked against its size and hash. `what` names the part in errors.
Status ReadModelPart(simdjson::dom::object entry, std::string_view key, std::string_view what,
                     const std::string& model_path, const std::string& manifest_path,
                     std::string& path, FileBytes& bytes) {
  std::string_view file;
  uint64_t size = 0;
  ManifestHash hash;
  if (entry["file"].get(file) != simdjson::SUCCESS || file.empty() ||
      file.find('/') != std::string_view::npos || entry["bytes"].get(size) != simdjson::SUCCESS ||
      !FindManifestHash(entry, "", hash)) {
    return InvalidArgumentError(manifest_path + ": \"" + std::string(key) +
                                "\" needs \"file\" (a name beside the manifest), \"bytes\" and "
                                "\"xxh3_64\"");
  }
  const size_t slash = model_path.find_last_of('/');
  path = (slash == std::string::npos ? std::string() : model_path.substr(0, slash + 1)) +
         std::string(file);
  if (!bytes.Open(path)) return NotFoundError(path + ": cannot read " + std::string(what));
  return CheckAgainstManifest(path, bytes.view(), size, hash, manifest_path);
}

// Reads, checks and parses the part a manifest entry names, on another thread: the semantic head
// and the encoder load beside fastText, since a policy's load is most of a gateway's start-up.
// `entry` stays valid: the manifest's DOM outlives the future, which Load waits for (on every
// return, since a std::async future's destructor waits).
template <typename Parse>
auto LoadModelPart(simdjson::dom::object entry, std::string_view key, std::string_view what,
                   const std::string& model_path, const std::string& manifest_path, Parse parse) {
  return std::async(std::launch::async, [=, &model_path, &manifest_path] {
    std::string path;
    FileBytes bytes;
    Status st = ReadModelPart(entry, key, what, model_path, manifest_path, path, bytes);
    return st.ok() ? parse(bytes.view(), path) : decltype(parse(bytes.view(), path))(std::move(st));
  });
}

}  // namespace

StatusOr<std::shared_ptr<const Classifier>> Classifier::Load(const std::string& model_path) {
  const std::string manifest_path = ManifestPath(model_path);
  std::string manifest;
  if (!ReadFile(manifest_path, manifest)) {
    return NotFoundError(manifest_path + ": cannot read classifier manifest");
  }
  FileBytes model_file;
  if (!model_file.Open(model_path)) {
    return NotFoundError(model_path + ": cannot read classifier model");
  }

  std::shared_ptr<Classifier> c(new Classifier());
  c->model_path_ = model_path;
  c->thresholds_.fill(0.5f);

  // The manifest is small and read once; simdjson's DOM keeps the parsing code short.
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(manifest).get(root) != simdjson::SUCCESS || !root.is_object()) {
    return InvalidArgumentError(manifest_path + ": not a JSON object");
  }
  std::string_view format;
  if (root["format"].get(format) != simdjson::SUCCESS || format != "warden-classifier/1") {
    return InvalidArgumentError(manifest_path +
                                ": \"format\" must be \"warden-classifier/1\"");
  }
  uint64_t expected_bytes = 0;
  ManifestHash expected_hash;
  simdjson::dom::object root_object;
  if (root.get(root_object) != simdjson::SUCCESS ||
      root["model_bytes"].get(expected_bytes) != simdjson::SUCCESS ||
      !FindManifestHash(root_object, "model_", expected_hash)) {
    return InvalidArgumentError(manifest_path +
                                ": \"model_bytes\" and \"model_xxh3_64\" are required");
  }
  if (Status st = CheckAgainstManifest(model_path, model_file.view(), expected_bytes, expected_hash,
                                       manifest_path);
      !st.ok()) {
    return st;
  }
  uint64_t max_tokens = 0;
  if (root["max_tokens"].get(max_tokens) == simdjson::SUCCESS && max_tokens > 0) {
    c->max_tokens_ = static_cast<size_t>(max_tokens);
  }
  uint64_t window_tokens = 0;
  if (root["window_tokens"].get(window_tokens) == simdjson::SUCCESS) {
    if (window_tokens == 1 || window_tokens > 1000000) {
      return InvalidArgumentError(manifest_path + ": \"window_tokens\" must be 0 or 2..1000000");
    }
    c->window_tokens_ = static_cast<size_t>(window_tokens);
  }
  double temperature = 1.0;
  if (root["temperature"].get(temperature) == simdjson::SUCCESS) {
    if (!(temperature > 0 && temperature < 1000)) {
      return InvalidArgumentError(manifest_path + ": \"temperature\" must be a positive number");
    }
    c->temperature_ = temperature;
  }
  simdjson::dom::object semantic;
  std::future<StatusOr<SemanticHead>> semantic_load;
  double semantic_weight = 1.0;
  if (root["semantic"].get(semantic) == simdjson::SUCCESS) {
    if ((semantic["weight"].error() != simdjson::NO_SUCH_FIELD &&
         semantic["weight"].get(semantic_weight) != simdjson::SUCCESS) ||
        !(semantic_weight >= 0 && semantic_weight <= 100)) {
      return InvalidArgumentError(manifest_path + ": \"semantic\": \"weight\" must be in [0,100]");
    }
    semantic_load = LoadModelPart(semantic, "semantic", "semantic head", model_path, manifest_path,
                                  &SemanticHead::Parse);
  }
  simdjson::dom::object encoder;
  std::future<StatusOr<SentenceEncoder>> encoder_load;
  if (root["encoder"].get(encoder) == simdjson::SUCCESS) {
    double passage_threshold = 0;
    if ((encoder["passage_threshold"].error() != simdjson::NO_SUCH_FIELD &&
         encoder["passage_threshold"].get(passage_threshold) != simdjson::SUCCESS) ||
        !(passage_threshold >= 0 && passage_threshold <= 1)) {
      return InvalidArgumentError(manifest_path +
                                  ": \"encoder\": \"passage_threshold\" must be in [0,1]");
    }
    c->passage_threshold_ = static_cast<float>(passage_threshold);
    encoder_load = LoadModelPart(
        encoder, "encoder", "sentence encoder", model_path, manifest_path,
        [](std::string_view bytes, const std::string& path) -> StatusOr<SentenceEncoder> {
          auto e = SentenceEncoder::Parse(bytes, path);
          if (e.ok() && e->cascade() == nullptr) {
            return DataLossError(path + ": the encoder has no cascade");
          }
          return e;
        });
  }
  simdjson::dom::object thresholds;
  if (root["thresholds"].get(thresholds) != simdjson::SUCCESS) {
    return InvalidArgumentError(manifest_path + ": \"thresholds\" object is required");
  }
  for (auto field : thresholds) {
    const int index = LabelIndex(field.key);
    double value = 0;
    if (index < 0) {
      return InvalidArgumentError(manifest_path + ": thresholds: unknown label \"" +
                                  std::string(field.key) + "\"");
    }
    if (field.value.get(value) != simdjson::SUCCESS || !(value >= 0 && value <= 1)) {
      return InvalidArgumentError(manifest_path + ": thresholds." + std::string(field.key) +
                                  ": must be a number in [0,1]");
    }
    c->thresholds_[index] = static_cast<float>(value);
  }

  // fastText reports bad files by throwing (and may throw bad_alloc on absurd sizes); nothing
  // of that may escape into Warden.
  // FastText::loadModel(std::istream&) expects the stream after the file header (magic and
  // version, which only the protected checkModel() reads), so check the header here.
  constexpr int32_t kFastTextMagic = 793712314;
  constexpr int32_t kFastTextVersion = 12;
  const std::string_view model_bytes = model_file.view();
  int32_t header[2] = {0, 0};
  if (model_bytes.size() >= sizeof(header)) std::memcpy(header, model_bytes.data(), sizeof(header));
  if (header[0] != kFastTextMagic || header[1] != kFastTextVersion) {
    return DataLossError(model_path + ": not a fastText model (bad magic or version)");
  }
  auto model = std::make_unique<ModelAccess>();
  try {
    MemoryStreamBuf bytes(model_bytes.substr(sizeof(header)));
    std::istream in(&bytes);
    model->loadModel(in);
  } catch (const std::exception& e) {
    return DataLossError(model_path + ": not a valid fastText model: " + e.what());
  } catch (...) {
    return DataLossError(model_path + ": not a valid fastText model");
  }
  const fasttext::Args args = model->getArgs();
  if (args.loss != fasttext::loss_name::ova || args.model != fasttext::model_name::sup) {
    return InvalidArgumentError(model_path + ": model must be supervised with the one-vs-all loss");
  }
  if (semantic_load.valid()) {
    auto head = semantic_load.get();
    if (!head.ok()) return head.status();
    c->semantic_ = std::make_shared<const SemanticHead>(std::move(*head));
    c->semantic_weight_ = static_cast<float>(semantic_weight);
  }
  if (encoder_load.valid()) {
    auto e = encoder_load.get();
    if (!e.ok()) return e.status();
    c->encoder_ = std::make_shared<const SentenceEncoder>(std::move(*e));
  }
  c->dict_ = model->getDictionary();
  c->label_map_.assign(c->dict_->nlabels(), -1);
  c->scored_.fill(c->semantic_ != nullptr);
  for (int32_t i = 0; i < c->dict_->nlabels(); ++i) {
    std::string name = c->dict_->getLabel(i);
    constexpr std::string_view kPrefix = "__label__";
    if (name.rfind(kPrefix, 0) == 0) name.erase(0, kPrefix.size());
    c->label_map_[i] = LabelIndex(name);
    if (c->label_map_[i] >= 0) c->scored_[c->label_map_[i]] = true;
  }
  c->dim_ = args.dim;
  c->nwords_ = c->dict_->nwords();
  const int32_t entries = c->dict_->nwords() + c->dict_->nlabels();  // labels follow the words
  size_t word_capacity = 16;
  while (word_capacity < 2 * static_cast<size_t>(entries)) word_capacity *= 2;
  c->word_index_.assign(word_capacity, {});
  c->word_mask_ = word_capacity - 1;
  c->word_starts_.reserve(static_cast<size_t>(entries) + 1);
  for (int32_t id = 0; id < entries; ++id) {
    const std::string& word = c->dict_->getWord(id);
    c->word_starts_.push_back(static_cast<uint32_t>(c->word_bytes_.size()));
    c->word_bytes_.append(word);
    const uint32_t hash = FastTextHash(word);
    uint64_t slot = BucketSlot(static_cast<int32_t>(hash)) & c->word_mask_;
    while (c->word_index_[slot].id >= 0) slot = (slot + 1) & c->word_mask_;
    c->word_index_[slot] = {hash, id};
  }
  c->word_starts_.push_back(static_cast<uint32_t>(c->word_bytes_.size()));
  if (c->semantic_) {
    c->semantic_row_of_word_.resize(static_cast<size_t>(c->nwords_));
    for (int32_t id = 0; id < c->nwords_; ++id) {
      c->semantic_row_of_word_[id] = c->semantic_->Row(c->dict_->getWord(id));
    }
  }
  c->word_ngrams_ = args.wordNgrams;
  c->subwords_ = args.maxn > 0;
  c->bucket_ = args.bucket > 0 ? static_cast<uint64_t>(args.bucket) : 0;
  const fasttext::Matrix& input = model->input();
  const fasttext::Matrix& output = model->output();
  if (input.size(1) != args.dim || output.size(1) != args.dim ||
      output.size(0) != c->dict_->nlabels() || input.size(0) < c->nwords_) {
    return DataLossError(model_path + ": matrix shapes do not match the dictionary");
  }
  std::vector<std::pair<int32_t, int32_t>> kept;
  if (!ReadPruneIndex(*c->dict_, kept, c->pruned_)) {
    return DataLossError(model_path + ": unreadable dictionary");
  }
  size_t capacity = 16;
  while (capacity < 2 * kept.size()) capacity *= 2;
  c->pruneidx_.assign(c->pruned_ ? capacity : 0, {-1, -1});
  c->prune_mask_ = capacity - 1;
  for (const auto& [bucket, row] : kept) {
    if (bucket < 0 || row < 0 || c->nwords_ + static_cast<int64_t>(row) >= input.size(0)) {
      return DataLossError(model_path + ": n-gram index points past the input matrix");
    }
    uint64_t slot = BucketSlot(bucket) & c->prune_mask_;
    while (c->pruneidx_[slot].first >= 0) slot = (slot + 1) & c->prune_mask_;
    c->pruneidx_[slot] = {bucket, row};
  }
  if (!c->pruned_ && c->word_ngrams_ > 1 &&
      input.size(0) < c->nwords_ + static_cast<int64_t>(c->bucket_)) {
    return DataLossError(model_path + ": input matrix is smaller than its buckets");
  }
  try {
    c->input_ = DecodeMatrix(input);
    const auto by_label = DecodeMatrix(output);
    const size_t labels = static_cast<size_t>(output.size(0));
    c->output_.resize(by_label.size());
    for (size_t j = 0; j < labels; ++j) {
      for (size_t d = 0; d < static_cast<size_t>(c->dim_); ++d) {
        c->output_[d * labels + j] = by_label[j * c->dim_ + d];
      }
    }
  } catch (const std::exception& e) {
    return DataLossError(model_path + ": cannot decode the model's matrices: " + e.what());
  }
  return std::shared_ptr<const Classifier>(std::move(c));
}

Classifier::~Classifier() = default;

void Classifier::RowsOf(std::string_view features, std::vector<int32_t>& ids,
                        std::vector<uint32_t>& ends, std::vector<int32_t>& semantic_rows) const {
  // This is fastText's Dictionary::getLine for a supervised model, position by position: a
  // known word contributes its row (or its subword rows), an unknown word only its subwords;
  // every word's hash takes part in the word n-grams, which hash into buckets; a pruned model
  // keeps only some buckets. The text ends with fastText's end-of-line token "</s>", as every
  // training line did. Feature text never contains "__label__" tokens ('_' is a token of its
  // own), so no word here can be taken for a label.
  Scratch& s = ThreadScratch();
  ids.clear();
  ends.clear();
  semantic_rows.clear();
  s.hashes.clear();
  size_t at = 0;
  bool last = false;
  while (!last) {
    std::string_view word;
    const size_t space = features.find(' ', at);
    if (at < features.size()) {
      word = features.substr(at, space == std::string_view::npos ? space : space - at);
      at = space == std::string_view::npos ? features.size() : space + 1;
      if (word.empty()) continue;
    } else {
      word = fasttext::Dictionary::EOS;
      last = true;
    }
    const uint32_t h = FastTextHash(word);
    const int32_t wid = WordId(word, h);
    if (wid >= nwords_) continue;  // a label: fastText skips it (cannot happen, see above)
    if (wid >= 0 && !subwords_) {
      ids.push_back(wid);
    } else if (wid >= 0) {
      const std::vector<int32_t>& sub = dict_->getSubwords(wid);
      ids.insert(ids.end(), sub.begin(), sub.end());
    } else if (subwords_ && !last) {
      s.token.assign(word);
      dict_->computeSubwords(fasttext::Dictionary::BOW + s.token + fasttext::Dictionary::EOW, ids);
    }
    s.hashes.push_back(static_cast<int32_t>(h));
    if (semantic_) {
      semantic_rows.push_back(last       ? -1
                              : wid >= 0 ? semantic_row_of_word_[wid]
                                         : semantic_->Row(word));
    }
    // Word n-grams ending at this position, hashed exactly as fastText does (int32 hashes
    // sign-extended into a 64-bit accumulator).
    const size_t p = s.hashes.size() - 1;
    if (bucket_ > 0) {
      for (size_t n = 2; n <= static_cast<size_t>(word_ngrams_) && n <= p + 1; ++n) {
        const size_t start = p + 1 - n;
        uint64_t g = static_cast<uint64_t>(static_cast<int64_t>(s.hashes[start]));
        for (size_t j = start + 1; j <= p; ++j) {
          g = g * 116049371 + static_cast<uint64_t>(static_cast<int64_t>(s.hashes[j]));
        }
        const int32_t bucket = static_cast<int32_t>(g % bucket_);
        if (!pruned_) {
          ids.push_back(nwords_ + bucket);
        } else if (const int32_t row = PrunedRow(bucket); row >= 0) {
          ids.push_back(nwords_ + row);
        }
      }
    }
    // The rows are read only once every position is known; asking for them now lets their
    // cache misses overlap with the lookups of the words that follow.
    const size_t row_bytes = static_cast<size_t>(dim_) * sizeof(float);
    for (size_t i = ends.empty() ? 0 : ends.back(); i < ids.size(); ++i) {
      const char* row = reinterpret_cast<const char*>(input_.data() + size_t(ids[i]) * dim_);
      for (size_t b = 0; b < row_bytes; b += 64) __builtin_prefetch(row + b);
    }
    if (semantic_ && semantic_rows.back() >= 0) semantic_->Prefetch(semantic_rows.back());
    ends.push_back(static_cast<uint32_t>(ids.size()));
  }
}

int32_t Classifier::WordId(std::string_view word, uint32_t hash) const {
  for (uint64_t slot = BucketSlot(static_cast<int32_t>(hash)) & word_mask_;;
       slot = (slot + 1) & word_mask_) {
    const WordSlot& entry = word_index_[slot];
    if (entry.id < 0) return -1;
    if (entry.hash != hash) continue;
    const uint32_t start = word_starts_[entry.id];
    if (std::string_view(word_bytes_).substr(start, word_starts_[entry.id + 1] - start) == word) {
      return entry.id;
    }
  }
}

int32_t Classifier::PrunedRow(int32_t bucket) const {
  if (pruneidx_.empty()) return -1;
  for (uint64_t slot = BucketSlot(bucket) & prune_mask_;; slot = (slot + 1) & prune_mask_) {
    const auto& [key, row] = pruneidx_[slot];
    if (key == bucket) return row;
    if (key < 0) return -1;
  }
}

WARDEN_VECTOR_CLONES
void Classifier::ScoreSum(const float* sum, size_t n, const float* semantic_sum, size_t semantic_n,
                          LabelScores& out) const {
  Scratch& s = ThreadScratch();
  // The hidden layer is the mean of the rows; scaling the logits instead of the vector saves a
  // pass over it.
  const size_t labels = label_map_.size();
  s.dots.assign(labels, 0.0f);
  float* __restrict dots = s.dots.data();
  const size_t dim = static_cast<size_t>(dim_);
  for (size_t d = 0; d < dim; ++d) {
    const float x = sum[d];
    const float* __restrict row = output_.data() + d * labels;
    for (size_t j = 0; j < labels; ++j) dots[j] += x * row[j];
  }
  LabelScores logits{};
  const float scale =
      n > 0 ? static_cast<float>(1.0 / (static_cast<double>(n) * temperature_)) : 0.0f;
  for (size_t j = 0; j < labels; ++j) {
    if (label_map_[j] >= 0) logits[label_map_[j]] = dots[j] * scale;
  }
  if (semantic_ && semantic_n > 0) {
    s.semantic_mean.resize(semantic_->hidden);
    const float inv = 1.0f / static_cast<float>(semantic_n);
    for (uint32_t j = 0; j < semantic_->hidden; ++j) s.semantic_mean[j] = semantic_sum[j] * inv;
    semantic_->AddLogitsOfProjected(s.semantic_mean.data(), semantic_weight_, logits);
  }
  for (size_t i = 0; i < kNumLabels; ++i) {
    if (!scored_[i]) continue;
    out[i] = std::max(out[i], static_cast<float>(1.0 / (1.0 + std::exp(-double{logits[i]}))));
  }
}

WARDEN_VECTOR_CLONES
void Classifier::ScoreText(std::string_view text, LabelScores& out) const {
  // fastText's own predict() squashes through a 512-entry sigmoid table that saturates at a
  // logit of 8: thousands of dev messages tie at exactly 1.0 and no threshold can separate them.
  // So the hidden vector (the average of the input rows) is dotted with each output row here,
  // and the logit is squashed exactly, divided by the manifest's temperature.
  out.fill(0.0f);
  Scratch& s = ThreadScratch();
  s.features.clear();
  if (AppendFeatureText(text, max_tokens_, s.features) == 0) return;
  RowsOf(s.features, s.ids, s.ends, s.semantic_rows);
  // A text with no token the model knows is no evidence of anything: it scores 0, where
  // fastText would report the sigmoid of a zero logit, 0.5, for every label.
  const bool any_semantic = std::any_of(s.semantic_rows.begin(), s.semantic_rows.end(),
                                        [](int32_t row) { return row >= 0; });
  if (s.ids.empty() && !any_semantic) return;
  const size_t positions = s.ends.size();
  const size_t dim = static_cast<size_t>(dim_);
  const size_t sdim = semantic_ ? semantic_->hidden : 0;
  const bool windows = window_tokens_ > 0 && positions > window_tokens_;
  const size_t stride = window_tokens_ / 2;

  // The positions where a window starts or ends, ascending. Running sums of the rows (and of
  // the semantic head's projected word vectors, with a count of the positions that have one) are
  // kept at exactly these positions, so any window's sum is one subtraction and windows cost next
  // to nothing over the whole text.
  std::vector<uint32_t>& bounds = s.bounds;
  bounds.assign(1, 0);
  if (windows) {
    for (size_t start = 0;; start += stride) {
      const size_t end = std::min(positions, start + window_tokens_);
      bounds.push_back(static_cast<uint32_t>(start));
      bounds.push_back(static_cast<uint32_t>(end));
      if (end == positions) break;
    }
    std::sort(bounds.begin(), bounds.end());
    bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
  } else {
    bounds.push_back(static_cast<uint32_t>(positions));
  }
  std::vector<float>& prefix = s.prefix;
  std::vector<float>& semantic_prefix = s.semantic_prefix;
  std::vector<uint32_t>& semantic_count = s.semantic_count;
  prefix.assign(bounds.size() * dim, 0.0f);
  semantic_prefix.assign(bounds.size() * sdim, 0.0f);
  semantic_count.assign(bounds.size(), 0);
  std::vector<float>& acc = s.hidden;
  std::vector<float>& semantic_acc = s.semantic_window;
  acc.assign(dim, 0.0f);
  semantic_acc.assign(sdim, 0.0f);
  uint32_t count = 0;
  size_t next = 1;  // bounds[0] is position 0, whose sums are zero
  float* __restrict running = acc.data();
  float* __restrict semantic_running = semantic_acc.data();
  for (size_t p = 0, row_at = 0; p < positions; ++p) {
    for (; row_at < s.ends[p]; ++row_at) {
      const float* __restrict row = input_.data() + static_cast<size_t>(s.ids[row_at]) * dim;
      for (size_t d = 0; d < dim; ++d) running[d] += row[d];
    }
    if (semantic_ && s.semantic_rows[p] >= 0) {
      semantic_->AddProjected(s.semantic_rows[p], semantic_running);
      ++count;
    }
    if (next < bounds.size() && bounds[next] == p + 1) {
      std::copy(acc.begin(), acc.end(), prefix.begin() + next * dim);
      std::copy(semantic_acc.begin(), semantic_acc.end(), semantic_prefix.begin() + next * sdim);
      semantic_count[next] = count;
      ++next;
    }
  }
  ScoreSum(acc.data(), s.ids.size(), semantic_acc.data(), count, out);
  if (!windows) return;
  std::vector<float>& sum = s.window;
  sum.resize(dim + sdim);
  float* semantic_sum = sum.data() + dim;
  auto at = [&](size_t position) {
    return static_cast<size_t>(std::lower_bound(bounds.begin(), bounds.end(), position) -
                               bounds.begin());
  };
  for (size_t start = 0;; start += stride) {
    const size_t end = std::min(positions, start + window_tokens_);
    const size_t lo = at(start), hi = at(end);
    const uint32_t first = start == 0 ? 0 : s.ends[start - 1];
    const uint32_t rows = s.ends[end - 1] - first;
    const uint32_t words = semantic_count[hi] - semantic_count[lo];
    if (rows > 0 || words > 0) {
      for (size_t d = 0; d < dim; ++d) sum[d] = prefix[hi * dim + d] - prefix[lo * dim + d];
      for (size_t d = 0; d < sdim; ++d) {
        semantic_sum[d] = semantic_prefix[hi * sdim + d] - semantic_prefix[lo * sdim + d];
      }
      ScoreSum(sum.data(), rows, semantic_sum, words, out);
    }
    if (end == positions) break;
  }
}

size_t Classifier::ScoreNgramViews(const std::vector<text::View>& views, LabelScores& out) const {
  return ScoreNgramViews(views, out, nullptr);
}

size_t Classifier::ScoreNgramViews(const std::vector<text::View>& views, LabelScores& out,
                                   std::vector<float>* view_unsafe) const {
  out.fill(0.0f);
  LabelScores one;
  size_t most_unsafe = 0;  // over all views
  float decoded_max = 0.0f, glossed_max = 0.0f, plain_max = 0.0f;
  size_t decoded = 0, glossed = 0;
  // The view that undoes the most obfuscation in place: the deobfuscated one, else the
  // skeleton. The n-grams were trained on mutated copies and often score the leetspeak or
  // homoglyph original highest, but the encoder learnt from ordinary writing and reads
  // "1'm wr17ing 4 h0w-70" or Cyrillic look-alikes as noise.
  size_t undone = 0;
  int undone_rank = 0;
  for (size_t k = 0; k < views.size(); ++k) {
    ScoreText(views[k].text, one);
    const float unsafe = one[kUnsafeLabel];
    if (view_unsafe) view_unsafe->push_back(unsafe);
    if (unsafe > out[kUnsafeLabel]) most_unsafe = k;
    for (size_t i = 0; i < kNumLabels; ++i) out[i] = std::max(out[i], one[i]);
    if (views[k].kind == text::ViewKind::kDecoded) {
      if (unsafe > decoded_max) {
        decoded_max = unsafe;
        decoded = k;
      }
      continue;
    }
    if (views[k].kind == text::ViewKind::kGlossed) {
      glossed_max = unsafe;
      glossed = k;
      continue;
    }
    plain_max = std::max(plain_max, unsafe);
    const int rank = views[k].kind == text::ViewKind::kDeobfuscated ? 2
                     : views[k].kind == text::ViewKind::kSkeleton   ? 1
                                                                    : 0;
    if (rank > undone_rank) {
      undone_rank = rank;
      undone = k;
    }
  }
  // A decoded payload the n-grams find more unsafe than the text around it is what the message
  // hides; so is an English reading of a foreign text that they find more unsafe than the text
  // itself (the encoder reads neither a foreign text nor a word-by-word gloss of it well, and
  // the more suspicious one is the one to check). Otherwise the text as written, with its
  // obfuscation undone.
  if (decoded_max > plain_max && decoded_max >= glossed_max) return decoded;
  if (glossed_max > plain_max) return glossed;
  return undone_rank > 0 ? undone : most_unsafe;
}

void Classifier::ScoreViews(const std::vector<text::View>& views, LabelScores& out) const {
  ScoreViews(views, out, /*allow_encoder=*/true);
}

bool Classifier::ScoreViews(const std::vector<text::View>& views, LabelScores& out,
                            bool allow_encoder, UnsafeExplanation* why) const {
  const size_t encoder_view = ScoreNgramViews(views, out, why ? &why->view_unsafe : nullptr);
  if (why) {
    why->ngram_unsafe = out[kUnsafeLabel];
    why->threshold = thresholds_[kUnsafeLabel];
    if (encoder_) why->band = encoder_->cascade()->band;
  }
  // The sentence encoder reads only what the n-gram model already finds suspicious: it costs
  // milliseconds (encoder.h). It reads the view ScoreNgramViews chose, so that an obfuscated
  // request is encoded in its decoded, deobfuscated or skeleton form, and a Random-Case one
  // lower-cased (EncoderInput). With a passage threshold, then each suspicious passage of that
  // view alone (SentenceEncoder::PassageUnsafe), weighed against its own threshold.
  if (encoder_ && !views.empty() && out[kUnsafeLabel] >= encoder_->cascade()->band) {
    if (!allow_encoder) return false;
    const EncoderCascade& cascade = *encoder_->cascade();
    std::array<float, SentenceEncoder::kDim> v;
    thread_local std::string scratch;
    const std::string_view input = EncoderInput(views, encoder_view, scratch);
    encoder_->Embed(input, v.data());
    const float ngram_unsafe = out[kUnsafeLabel];
    out[kUnsafeLabel] = cascade.Combine(ngram_unsafe, v.data());
    if (why) {
      why->encoded = true;
      why->encoder_view = encoder_view;
      why->encoder_input = input;
      cascade.Logits(ngram_unsafe, v.data(), why->ngram_z, why->encoder_z);
      why->cascade = out[kUnsafeLabel];
    }
    if (passage_threshold_ > 0) {
      auto unsafe_alone = [this](std::string_view text) {
        LabelScores one;
        ScoreText(text, one);
        return one[kUnsafeLabel];
      };
      const float passage = PassageOnUnsafeScale(encoder_->PassageUnsafe(input, unsafe_alone),
                                                 passage_threshold_, thresholds_[kUnsafeLabel]);
      if (why) why->passage = passage;
      out[kUnsafeLabel] = std::max(out[kUnsafeLabel], passage);
    }
  }
  if (why) why->unsafe = out[kUnsafeLabel];
  return true;
}

void Classifier::Explain(const std::vector<text::View>& views, LabelScores& out,
                         UnsafeExplanation& why) const {
  why = UnsafeExplanation();
  ScoreViews(views, out, /*allow_encoder=*/true, &why);
}

float Classifier::PassageOnUnsafeScale(float passage, float passage_threshold,
                                       float unsafe_threshold) {
  if (passage >= passage_threshold) {
    return passage_threshold >= 1.0f
               ? 1.0f
               : unsafe_threshold + (1.0f - unsafe_threshold) * (passage - passage_threshold) /
                                        (1.0f - passage_threshold);
  }
  return passage * unsafe_threshold / passage_threshold;
}

float Classifier::Calibrate(size_t label, float p) const {
  const float t = thresholds_[label];
  if (p >= t) return t >= 1.0f ? 1.0f : 0.5f + 0.5f * (p - t) / (1.0f - t);
  return t <= 0.0f ? 0.0f : 0.5f * p / t;
}

float Classifier::Uncalibrate(size_t label, float score) const {
  const float t = thresholds_[label];
  if (score >= 0.5f) return t + (1.0f - t) * (score - 0.5f) * 2.0f;
  return t * score * 2.0f;
}

void Classifier::Score(const std::vector<text::View>& views,
                       std::vector<std::pair<std::string, float>>& scores) const {
  Score(views, scores, /*allow_encoder=*/true);
}

bool Classifier::ScoreWithoutEncoder(const std::vector<text::View>& views,
                                     std::vector<std::pair<std::string, float>>& scores) const {
  return Score(views, scores, /*allow_encoder=*/false);
}

bool Classifier::Score(const std::vector<text::View>& views,
                       std::vector<std::pair<std::string, float>>& scores,
                       bool allow_encoder) const {
  // The labels in name order, worked out once: sorting fourteen strings on every call cost
  // more than a short message's n-gram lookups.
  static const std::array<size_t, kNumLabels> kByName = [] {
    std::array<size_t, kNumLabels> order;
    for (size_t i = 0; i < kNumLabels; ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [](size_t a, size_t b) { return kLabels[a] < kLabels[b]; });
    return order;
  }();
  LabelScores s;
  if (!ScoreViews(views, s, allow_encoder)) return false;
  scores.resize(kNumLabels);
  for (size_t k = 0; k < kNumLabels; ++k) {
    const size_t i = kByName[k];
    scores[k].first.assign(kLabels[i]);  // fits the string's own buffer: no allocation
    scores[k].second = Calibrate(i, s[i]);
  }
  return true;
}

}  // namespace warden::classifier
