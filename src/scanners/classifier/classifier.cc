#include "scanners/classifier/classifier.h"

#include <fasttext/fasttext.h>
#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <istream>
#include <memory>
#include <sstream>
#include <streambuf>

#include "scanners/classifier/features.h"

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

bool ReadFile(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = std::move(ss).str();
  return static_cast<bool>(in) || in.eof();
}

// An istream over caller-owned bytes, so scoring does not copy the feature text again.
class MemoryBuf : public std::streambuf {
 public:
  MemoryBuf(const char* begin, const char* end) {
    char* b = const_cast<char*>(begin);  // never written: the streambuf is only read
    setg(b, b, const_cast<char*>(end));
  }
};

struct Scratch {
  std::string features;
  std::unique_ptr<fasttext::Vector> hidden;
};

Scratch& ThreadScratch() {
  thread_local Scratch scratch;
  return scratch;
}

}  // namespace

StatusOr<std::shared_ptr<const Classifier>> Classifier::Load(const std::string& model_path) {
  const std::string manifest_path = ManifestPath(model_path);
  std::string manifest;
  if (!ReadFile(manifest_path, manifest)) {
    return NotFoundError(manifest_path + ": cannot read classifier manifest");
  }
  std::string model_bytes;
  if (!ReadFile(model_path, model_bytes)) {
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
  std::string_view expected_hash;
  if (root["model_bytes"].get(expected_bytes) != simdjson::SUCCESS ||
      root["model_fnv1a64"].get(expected_hash) != simdjson::SUCCESS) {
    return InvalidArgumentError(manifest_path +
                                ": \"model_bytes\" and \"model_fnv1a64\" are required");
  }
  char hash_hex[17];
  std::snprintf(hash_hex, sizeof(hash_hex), "%016llx",
                static_cast<unsigned long long>(Fnv1a64(model_bytes)));
  if (model_bytes.size() != expected_bytes || expected_hash != hash_hex) {
    return DataLossError(model_path + ": model file does not match its manifest " +
                         manifest_path + " (" + std::to_string(model_bytes.size()) +
                         " bytes, fnv1a64 " + hash_hex + "; expected " +
                         std::to_string(expected_bytes) + " bytes, " +
                         std::string(expected_hash) + "): corrupt or replaced");
  }
  uint64_t max_tokens = 0;
  if (root["max_tokens"].get(max_tokens) == simdjson::SUCCESS && max_tokens > 0) {
    c->max_tokens_ = static_cast<size_t>(max_tokens);
  }
  double temperature = 1.0;
  if (root["temperature"].get(temperature) == simdjson::SUCCESS) {
    if (!(temperature > 0 && temperature < 1000)) {
      return InvalidArgumentError(manifest_path + ": \"temperature\" must be a positive number");
    }
    c->temperature_ = temperature;
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
  int32_t header[2] = {0, 0};
  if (model_bytes.size() >= sizeof(header)) std::memcpy(header, model_bytes.data(), sizeof(header));
  if (header[0] != kFastTextMagic || header[1] != kFastTextVersion) {
    return DataLossError(model_path + ": not a fastText model (bad magic or version)");
  }
  c->model_ = std::make_unique<fasttext::FastText>();
  try {
    std::istringstream in(model_bytes.substr(sizeof(header)));
    c->model_->loadModel(in);
  } catch (const std::exception& e) {
    return DataLossError(model_path + ": not a valid fastText model: " + e.what());
  } catch (...) {
    return DataLossError(model_path + ": not a valid fastText model");
  }
  auto dict = c->model_->getDictionary();
  c->label_map_.assign(dict->nlabels(), -1);
  for (int32_t i = 0; i < dict->nlabels(); ++i) {
    std::string name = dict->getLabel(i);
    constexpr std::string_view kPrefix = "__label__";
    if (name.rfind(kPrefix, 0) == 0) name.erase(0, kPrefix.size());
    c->label_map_[i] = LabelIndex(name);
  }
  if (c->model_->getArgs().loss != fasttext::loss_name::ova ||
      c->model_->getArgs().model != fasttext::model_name::sup) {
    return InvalidArgumentError(model_path +
                                ": model must be supervised with the one-vs-all loss");
  }
  try {
    c->output_ = c->model_->getOutputMatrix();  // throws for a quantised output matrix
  } catch (const std::exception& e) {
    return InvalidArgumentError(model_path + ": output matrix must not be quantised (qout)");
  }
  if (c->output_ == nullptr || c->output_->size(0) != dict->nlabels()) {
    return DataLossError(model_path + ": output matrix does not match the label count");
  }
  return std::shared_ptr<const Classifier>(std::move(c));
}

Classifier::~Classifier() = default;

void Classifier::ScoreText(std::string_view text, LabelScores& out) const {
  out.fill(0.0f);
  Scratch& s = ThreadScratch();
  s.features.clear();
  if (AppendFeatureText(text, max_tokens_, s.features) == 0) return;
  s.features.push_back('\n');
  MemoryBuf buf(s.features.data(), s.features.data() + s.features.size());
  std::istream in(&buf);
  // fastText's own predict() squashes through a 512-entry sigmoid table that saturates at a
  // logit of 8: thousands of dev messages tie at exactly 1.0 and no threshold can separate them.
  // So the hidden vector (the average of the input rows, which getSentenceVector computes for
  // supervised models, quantised or not) is dotted with each output row here, and the logit is
  // squashed exactly, divided by the manifest's temperature. getSentenceVector is not declared
  // const but only reads the model, so concurrent calls are safe.
  const int dim = model_->getDimension();
  if (s.hidden == nullptr || s.hidden->size() != dim) {
    s.hidden = std::make_unique<fasttext::Vector>(dim);
  }
  try {
    model_->getSentenceVector(in, *s.hidden);
  } catch (...) {
    return;  // does not happen for a loaded model; a text then scores 0, the process lives on
  }
  for (size_t j = 0; j < label_map_.size(); ++j) {
    const int index = label_map_[j];
    if (index < 0) continue;
    const double logit = output_->dotRow(*s.hidden, static_cast<int64_t>(j));
    out[index] = static_cast<float>(1.0 / (1.0 + std::exp(-logit / temperature_)));
  }
}

void Classifier::ScoreViews(const std::vector<text::View>& views, LabelScores& out) const {
  out.fill(0.0f);
  LabelScores one;
  for (const text::View& view : views) {
    ScoreText(view.text, one);
    for (size_t i = 0; i < kNumLabels; ++i) out[i] = std::max(out[i], one[i]);
  }
}

float Classifier::Calibrate(size_t label, float p) const {
  const float t = thresholds_[label];
  if (p >= t) return t >= 1.0f ? 1.0f : 0.5f + 0.5f * (p - t) / (1.0f - t);
  return t <= 0.0f ? 0.0f : 0.5f * p / t;
}

void Classifier::Score(const std::vector<text::View>& views,
                       std::vector<std::pair<std::string, float>>& scores) const {
  LabelScores s;
  ScoreViews(views, s);
  scores.clear();
  scores.reserve(kNumLabels);
  for (size_t i = 0; i < kNumLabels; ++i) {
    scores.emplace_back(std::string(kLabels[i]), Calibrate(i, s[i]));
  }
  std::sort(scores.begin(), scores.end());
}

}  // namespace warden::classifier
