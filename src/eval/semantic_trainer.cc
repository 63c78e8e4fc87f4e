#include "eval/semantic_trainer.h"

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <random>
#include <utility>
#include <vector>

#include "scanners/classifier/features.h"

namespace warden::eval {
namespace {

using classifier::kNumLabels;
using classifier::SemanticHead;

Status CannotRead(const std::string& path) {
  return NotFoundError(path + ": cannot read word vectors (run scripts/fetch-vectors.sh)");
}

struct RankedVector {
  size_t rank = 0;  // 0 = most frequent
  std::string word;
  std::vector<float> values;
};

// True when Warden's feature text turns `word` into exactly this one token, so the word can
// ever be looked up at scoring time.
bool IsFeatureToken(std::string_view word) {
  if (word.empty() || word.size() > 255) return false;
  std::string out;
  return classifier::AppendFeatureText(word, 2, out) == 1 && out == word;
}

Status ReadJsonVectors(const std::string& path, std::vector<RankedVector>& out) {
  simdjson::padded_string json;
  if (simdjson::padded_string::load(path).get(json) != simdjson::SUCCESS) {
    return CannotRead(path);
  }
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  simdjson::ondemand::object vectors;
  if (parser.iterate(json).get(doc) != simdjson::SUCCESS ||
      doc["vectors"].get_object().get(vectors) != simdjson::SUCCESS) {
    return DataLossError(path +
                         ": expected a JSON object with a \"vectors\" object "
                         "(wink-embeddings format) or GloVe's text format");
  }
  for (auto field : vectors) {
    std::string_view key;
    simdjson::ondemand::array values;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS ||
        field.value().get_array().get(values) != simdjson::SUCCESS) {
      return DataLossError(path + ": entry " + std::to_string(out.size() + 1) +
                           " of \"vectors\" is not WORD: [numbers]");
    }
    RankedVector v;
    v.word = std::string(key);
    for (auto x : values) {
      double d = 0;
      if (x.get_double().get(d) != simdjson::SUCCESS || !std::isfinite(d)) {
        return DataLossError(path + ": vector of \"" + v.word + "\" has a non-number");
      }
      v.values.push_back(static_cast<float>(d));
    }
    // [v_1 .. v_dim, l2 norm, frequency rank]
    if (v.values.size() < 3) {
      return DataLossError(path + ": vector of \"" + v.word + "\" is too short");
    }
    const float rank = v.values.back();
    if (!(rank >= 0 && rank < 1e9f)) {
      return DataLossError(path + ": vector of \"" + v.word + "\" has no frequency rank");
    }
    v.rank = static_cast<size_t>(rank);
    v.values.resize(v.values.size() - 2);
    out.push_back(std::move(v));
  }
  std::sort(out.begin(), out.end(),
            [](const RankedVector& a, const RankedVector& b) { return a.rank < b.rank; });
  return OkStatus();
}

Status ReadTextVectors(const std::string& path, std::vector<RankedVector>& out) {
  std::ifstream in(path);
  if (!in) return CannotRead(path);
  std::string line;
  for (size_t line_no = 1; std::getline(in, line); ++line_no) {
    const size_t space = line.find(' ');
    if (space == std::string::npos || space == 0) {
      if (line.empty()) continue;
      return DataLossError(path + ":" + std::to_string(line_no) + ": expected WORD NUMBERS...");
    }
    RankedVector v;
    v.rank = out.size();
    v.word = line.substr(0, space);
    const char* p = line.c_str() + space;
    while (*p != '\0') {
      char* end = nullptr;
      const float x = std::strtof(p, &end);
      if (end == p || !std::isfinite(x)) break;
      v.values.push_back(x);
      p = end;
    }
    while (*p == ' ' || *p == '\r') ++p;
    if (*p != '\0' || v.values.empty()) {
      return DataLossError(path + ":" + std::to_string(line_no) + ": not a number after \"" +
                           v.word + "\"");
    }
    // fastText's .vec files start with "WORDS DIM".
    if (line_no == 1 && v.values.size() == 1) continue;
    out.push_back(std::move(v));
  }
  return OkStatus();
}

float Sigmoid(float z) { return 1.0f / (1.0f + std::exp(-z)); }

}  // namespace

Status LoadWordVectors(const std::string& path, size_t max_words, SemanticHead& head) {
  std::ifstream probe(path);
  if (!probe) return CannotRead(path);
  char first = ' ';
  while (probe.get(first) && (first == ' ' || first == '\n' || first == '\r' || first == '\t')) {
  }
  probe.close();
  std::vector<RankedVector> all;
  Status s = first == '{' ? ReadJsonVectors(path, all) : ReadTextVectors(path, all);
  if (!s.ok()) return s;
  if (all.empty()) return DataLossError(path + ": no word vectors");
  const size_t dim = all.front().values.size();
  head.dim = static_cast<uint32_t>(dim);
  head.words.clear();
  std::vector<float> weighted;
  for (const RankedVector& v : all) {
    if (head.words.size() >= max_words) break;
    if (v.values.size() != dim) {
      return DataLossError(path + ": the vector of \"" + v.word + "\" has " +
                           std::to_string(v.values.size()) + " numbers, the first had " +
                           std::to_string(dim));
    }
    if (!IsFeatureToken(v.word)) continue;
    const float weight = classifier::SifWeight(v.rank + 1);
    head.words.push_back(v.word);
    for (float x : v.values) weighted.push_back(x * weight);
  }
  if (head.words.empty()) return DataLossError(path + ": no word is a Warden feature token");
  head.SetVectors(weighted);
  head.BuildIndex();
  return OkStatus();
}

Status TrainSemanticHead(const std::string& training_file, const SemanticTrainOptions& o,
                         SemanticHead& head) {
  std::ifstream in(training_file);
  if (!in) return InternalError(training_file + ": cannot read training file");
  const size_t dim = head.dim;
  // Each usable line once: its mean vector and its labels as a bit set.
  std::vector<float> inputs;
  std::vector<uint32_t> targets;
  std::vector<float> mean(dim);
  std::string line;
  while (std::getline(in, line)) {
    uint32_t target = 0;
    size_t words = 0;
    std::fill(mean.begin(), mean.end(), 0.0f);
    size_t at = 0;
    while (at < line.size()) {
      size_t end = line.find(' ', at);
      if (end == std::string::npos) end = line.size();
      const std::string_view token(line.data() + at, end - at);
      at = end + 1;
      constexpr std::string_view kPrefix = "__label__";
      if (token.substr(0, kPrefix.size()) == kPrefix) {
        const int label = classifier::LabelIndex(token.substr(kPrefix.size()));
        if (label >= 0) target |= 1u << label;
        continue;
      }
      const int32_t row = head.Row(token);
      if (row < 0) continue;
      head.AddVector(row, mean.data());
      ++words;
    }
    if (words == 0) continue;
    for (size_t d = 0; d < dim; ++d) inputs.push_back(mean[d] / static_cast<float>(words));
    targets.push_back(target);
  }
  const size_t n = targets.size();
  if (n == 0) {
    return InvalidArgumentError(training_file + ": no training line has a word with a vector");
  }

  // Standardise the inputs (per dimension), so one learning rate suits every weight.
  head.input_mean.assign(dim, 0.0f);
  head.input_scale.assign(dim, 1.0f);
  for (size_t d = 0; d < dim; ++d) {
    double sum = 0, sq = 0;
    for (size_t i = 0; i < n; ++i) {
      const double x = inputs[i * dim + d];
      sum += x;
      sq += x * x;
    }
    const double m = sum / n;
    const double var = sq / n - m * m;
    head.input_mean[d] = static_cast<float>(m);
    head.input_scale[d] = static_cast<float>(var > 1e-12 ? 1.0 / std::sqrt(var) : 1.0);
  }
  for (size_t i = 0; i < n; ++i) {
    for (size_t d = 0; d < dim; ++d) {
      float& x = inputs[i * dim + d];
      x = (x - head.input_mean[d]) * head.input_scale[d];
    }
  }

  const size_t hidden = o.hidden;
  head.hidden = static_cast<uint32_t>(hidden);
  std::mt19937_64 rng(o.seed ^ 0x73656d61u);  // "sema"
  auto init = [&rng](std::vector<float>& w, size_t count, size_t fan_in, size_t fan_out) {
    const float limit = std::sqrt(6.0f / static_cast<float>(fan_in + fan_out));
    std::uniform_real_distribution<float> u(-limit, limit);
    w.resize(count);
    for (float& x : w) x = u(rng);
  };
  init(head.w1, hidden * dim, dim, hidden);
  init(head.w2, kNumLabels * hidden, hidden, kNumLabels);
  head.b1.assign(hidden, 0.0f);
  head.b2.assign(kNumLabels, 0.0f);

  // Plain SGD, one example at a time, the learning rate falling linearly to 0 (as fastText's).
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::vector<float> h(hidden), grad_h(hidden);
  std::array<float, kNumLabels> grad_out{};
  const double total = static_cast<double>(n) * o.epoch;
  double done = 0;
  for (int epoch = 0; epoch < o.epoch; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    for (size_t step = 0; step < n; ++step, done += 1) {
      const size_t i = order[step];
      const float lr = static_cast<float>(o.lr * (1.0 - done / total));
      const float* x = inputs.data() + i * dim;
      for (size_t j = 0; j < hidden; ++j) {
        const float* w = head.w1.data() + j * dim;
        float a = head.b1[j];
        for (size_t d = 0; d < dim; ++d) a += w[d] * x[d];
        h[j] = a > 0 ? a : 0;
      }
      std::fill(grad_h.begin(), grad_h.end(), 0.0f);
      for (size_t k = 0; k < kNumLabels; ++k) {
        float* w = head.w2.data() + k * hidden;
        float z = head.b2[k];
        for (size_t j = 0; j < hidden; ++j) z += w[j] * h[j];
        // Binary cross-entropy of each label's sigmoid: d loss / d z = p - y.
        const float g = Sigmoid(z) - static_cast<float>((targets[i] >> k) & 1u);
        grad_out[k] = g;
        for (size_t j = 0; j < hidden; ++j) grad_h[j] += g * w[j];
      }
      for (size_t k = 0; k < kNumLabels; ++k) {
        float* w = head.w2.data() + k * hidden;
        const float g = lr * grad_out[k];
        for (size_t j = 0; j < hidden; ++j) w[j] -= g * h[j];
        head.b2[k] -= g;
      }
      for (size_t j = 0; j < hidden; ++j) {
        if (h[j] <= 0) continue;  // ReLU: no gradient through an inactive unit
        float* w = head.w1.data() + j * dim;
        const float g = lr * grad_h[j];
        for (size_t d = 0; d < dim; ++d) w[d] -= g * x[d];
        head.b1[j] -= g;
      }
      if (o.progress && step % 4096 == 0) o.progress(done / total);
    }
  }
  if (o.progress) o.progress(1.0);
  return OkStatus();
}

}  // namespace warden::eval
