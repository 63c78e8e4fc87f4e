#include "eval/encoder_trainer.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>
#include <utility>

#include "eval/mutators.h"
#include "scanners/classifier/binary_io.h"

namespace warden::eval {

using classifier::EncoderHead;
using classifier::SentenceEncoder;
constexpr size_t kDim = SentenceEncoder::kDim;

void ForEachOnEveryCore(size_t n, const std::function<void(size_t)>& work,
                        const std::function<void(double)>& progress) {
  std::atomic<size_t> next{0};
  std::atomic<size_t> done{0};
  // Every thread takes the next index; the calling thread also reports progress.
  auto run = [&](bool report) {
    for (size_t i; (i = next.fetch_add(1)) < n;) {
      work(i);
      const size_t d = done.fetch_add(1) + 1;
      if (report && progress && d % 256 == 0) progress(double(d) / n);
    }
  };
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(run, false);
  run(true);
  for (auto& t : pool) t.join();
  if (progress) progress(1.0);
}

std::vector<float> EmbedAll(const SentenceEncoder& encoder,
                            const std::vector<std::string_view>& texts,
                            const std::function<void(double)>& progress) {
  std::vector<float> out(texts.size() * kDim);
  ForEachOnEveryCore(
      texts.size(), [&](size_t i) { encoder.Embed(texts[i], out.data() + i * kDim); }, progress);
  return out;
}

std::vector<float> EmbeddingCache::Embed(const SentenceEncoder& encoder,
                                         const std::vector<std::string_view>& texts,
                                         const std::function<void(double)>& progress) {
  std::vector<std::string_view> missing;
  for (std::string_view t : texts) {
    if (index_.try_emplace(std::string(t), index_.size()).second) missing.push_back(t);
  }
  const std::vector<float> fresh = EmbedAll(encoder, missing, progress);
  rows_.insert(rows_.end(), fresh.begin(), fresh.end());
  std::vector<float> out(texts.size() * kDim);
  for (size_t i = 0; i < texts.size(); ++i) {
    const float* row = rows_.data() + index_.find(std::string(texts[i]))->second * kDim;
    std::copy(row, row + kDim, out.begin() + i * kDim);
  }
  return out;
}

namespace {

constexpr char kCacheMagic[8] = {'W', 'R', 'D', 'N', 'E', 'M', 'B', '1'};
// Embedded when a cache is saved and again when it is loaded: another encoder (or another
// version of Warden's encoder code) gives other numbers, and its cache is refused.
constexpr std::string_view kProbeText = "Warden embedding cache probe: how do I bake bread?";

std::vector<float> Probe(const SentenceEncoder& encoder) {
  std::vector<float> v(kDim);
  encoder.Embed(kProbeText, v.data());
  return v;
}

}  // namespace

Status EmbeddingCache::Load(const SentenceEncoder& encoder, const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return OkStatus();
  classifier::FileBytes file;
  if (!file.Open(path)) return InvalidArgumentError(path + ": cannot read the embedding cache");
  auto corrupt = [&path](const char* what) {
    return InvalidArgumentError(path + ": not a Warden embedding cache (" + what +
                                "); delete it to start a new one");
  };
  classifier::ByteReader in(file.view());
  std::string_view magic;
  uint32_t dim = 0;
  uint64_t count = 0;
  if (!in.GetBytes(magic, sizeof(kCacheMagic)) ||
      std::memcmp(magic.data(), kCacheMagic, sizeof(kCacheMagic)) != 0) {
    return corrupt("bad magic");
  }
  if (!in.Get(dim) || dim != kDim || !in.Get(count)) return corrupt("bad header");
  std::vector<float> probe;
  if (!in.GetFloats(probe, kDim)) return corrupt("truncated header");
  if (probe != Probe(encoder)) {
    return InvalidArgumentError(path +
                                ": this embedding cache was made by another sentence encoder; "
                                "delete it or name another file");
  }
  std::unordered_map<std::string, size_t> index;
  std::vector<float> rows, row;
  for (uint64_t i = 0; i < count; ++i) {
    uint32_t length = 0;
    std::string_view text;
    if (!in.Get(length) || !in.GetBytes(text, length) || !in.GetFloats(row, kDim)) {
      return corrupt("truncated entry");
    }
    if (!index.try_emplace(std::string(text), index.size()).second) {
      return corrupt("repeated text");
    }
    rows.insert(rows.end(), row.begin(), row.end());
  }
  if (!in.done()) return corrupt("trailing bytes");
  // Entries already embedded in this run stay; the file's are added behind them.
  for (auto& [text, at] : index) {
    if (index_.try_emplace(text, index_.size()).second) {
      rows_.insert(rows_.end(), rows.begin() + at * kDim, rows.begin() + (at + 1) * kDim);
    }
  }
  return OkStatus();
}

Status EmbeddingCache::Save(const SentenceEncoder& encoder, const std::string& path) const {
  std::vector<const std::string*> texts(index_.size());
  for (const auto& [text, at] : index_) texts[at] = &text;
  // Written entry by entry: the file is a few hundred megabytes, and a copy of it in memory
  // would double the peak at the end of a training.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream file(tmp, std::ios::binary | std::ios::trunc);
    std::string header(kCacheMagic, sizeof(kCacheMagic));
    classifier::Put(header, static_cast<uint32_t>(kDim));
    classifier::Put(header, static_cast<uint64_t>(texts.size()));
    classifier::PutFloats(header, Probe(encoder));
    file.write(header.data(), static_cast<std::streamsize>(header.size()));
    std::string length;
    for (size_t i = 0; i < texts.size() && file; ++i) {
      length.clear();
      classifier::Put(length, static_cast<uint32_t>(texts[i]->size()));
      file.write(length.data(), static_cast<std::streamsize>(length.size()));
      file.write(texts[i]->data(), static_cast<std::streamsize>(texts[i]->size()));
      file.write(reinterpret_cast<const char*>(rows_.data() + i * kDim), kDim * sizeof(float));
    }
    if (!file.flush()) {
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      return InternalError(tmp + ": cannot write the embedding cache");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return InternalError(path + ": cannot rename " + tmp + ": " + ec.message());
  return OkStatus();
}

std::vector<float> EmbedAll(const SentenceEncoder& encoder,
                            const std::vector<std::string_view>& texts, EmbeddingCache* cache,
                            const std::function<void(double)>& progress) {
  return cache ? cache->Embed(encoder, texts, progress) : EmbedAll(encoder, texts, progress);
}

namespace {

// One network of `hidden` units trained on embeddings `x` (kDim floats a row) with labels `y`;
// `done` heads were trained before it (for the progress report).
EncoderHead TrainOneHead(const std::vector<float>& x, const std::vector<uint8_t>& y,
                         const std::vector<float>& row_weight, uint32_t hidden,
                         const EncoderTrainOptions& o, std::mt19937_64& rng, uint32_t done) {
  EncoderHead head;
  head.hidden = hidden;
  head.w1.resize(kDim * hidden);
  head.b1.assign(hidden, 0.0f);
  head.w2.assign(hidden, 0.0f);
  const double limit = std::sqrt(6.0 / (kDim + hidden));
  std::uniform_real_distribution<double> init(-limit, limit);
  for (float& w : head.w1) w = static_cast<float>(init(rng));
  for (float& w : head.w2) w = static_cast<float>(init(rng) * 0.1);

  // Adam over all parameters, laid out as w1, b1, w2, b2.
  const size_t nparams = head.w1.size() + 2 * hidden + 1;
  std::vector<double> m(nparams, 0.0), v(nparams, 0.0);
  std::vector<float> grad(nparams, 0.0f);
  const size_t rows = y.size();
  // Each label weighs half of the loss, counting repeated sources' rows as repeated.
  double label_mass[2] = {0, 0};
  for (size_t i = 0; i < rows; ++i) label_mass[y[i]] += row_weight[i];
  const double total_mass = label_mass[0] + label_mass[1];
  const double weight[2] = {total_mass / (2.0 * label_mass[0]), total_mass / (2.0 * label_mass[1])};
  std::vector<float> h(hidden), eh(hidden);  // eh: the loss's gradient at each hidden unit
  std::vector<uint32_t> active;              // the hidden units a record turns on
  active.reserve(hidden);
  std::vector<size_t> order(rows);
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  constexpr size_t kBatch = 64;
  size_t step = 0;
  const size_t steps = size_t(o.epoch) * ((order.size() + kBatch - 1) / kBatch);
  for (int epoch = 0; epoch < o.epoch; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    for (size_t start = 0; start < order.size(); start += kBatch) {
      const size_t end = std::min(order.size(), start + kBatch);
      std::fill(grad.begin(), grad.end(), 0.0f);
      float* g_w1 = grad.data();
      float* g_b1 = g_w1 + head.w1.size();
      float* g_w2 = g_b1 + hidden;
      float& g_b2 = grad[nparams - 1];
      for (size_t k = start; k < end; ++k) {
        const size_t i = order[k];
        const float* xi = x.data() + i * kDim;
        head.Hidden(xi, h.data());
        double z = head.b2;
        for (uint32_t j = 0; j < hidden; ++j) z += std::max(h[j], 0.0f) * head.w2[j];
        const double p = 1.0 / (1.0 + std::exp(-z));
        const float e =
            static_cast<float>((p - y[i]) * weight[y[i]] * row_weight[i] / double(end - start));
        g_b2 += e;
        active.clear();
        for (uint32_t j = 0; j < hidden; ++j) {
          if (h[j] <= 0) continue;
          g_w2[j] += e * h[j];
          eh[j] = e * head.w2[j];
          g_b1[j] += eh[j];
          active.push_back(j);
        }
        // Row by row of w1, so the gradient is written where it lies in memory (a column at a
        // time strides a kilobyte per add); each element adds the same terms in the same order.
        for (size_t d = 0; d < kDim; ++d) {
          float* g_row = g_w1 + d * hidden;
          const float xd = xi[d];
          for (const uint32_t j : active) g_row[j] += eh[j] * xd;
        }
      }
      ++step;
      const double c1 = 1.0 - std::pow(0.9, double(step));
      const double c2 = 1.0 - std::pow(0.999, double(step));
      auto update = [&](float& param, size_t at) {
        const double g = grad[at] + 1e-5 * param;
        m[at] = 0.9 * m[at] + 0.1 * g;
        v[at] = 0.999 * v[at] + 0.001 * g * g;
        param -= static_cast<float>(o.lr * (m[at] / c1) / (std::sqrt(v[at] / c2) + 1e-8));
      };
      size_t at = 0;
      for (float& w : head.w1) update(w, at++);
      for (float& w : head.b1) update(w, at++);
      for (float& w : head.w2) update(w, at++);
      update(head.b2, at++);
      if (o.progress && step % 64 == 0) {
        o.progress("encoder head", (double(done) + double(step) / steps) / o.heads);
      }
    }
  }
  return head;
}

}  // namespace

EncoderHead AverageHeads(const std::vector<EncoderHead>& heads) {
  if (heads.size() == 1) return heads[0];
  EncoderHead sum;
  for (const EncoderHead& h : heads) sum.hidden += h.hidden;
  sum.w1.reserve(size_t(kDim) * sum.hidden);
  for (size_t d = 0; d < kDim; ++d) {
    for (const EncoderHead& h : heads) {
      sum.w1.insert(sum.w1.end(), h.w1.begin() + d * h.hidden, h.w1.begin() + (d + 1) * h.hidden);
    }
  }
  const float share = 1.0f / static_cast<float>(heads.size());
  for (const EncoderHead& h : heads) {
    sum.b1.insert(sum.b1.end(), h.b1.begin(), h.b1.end());
    for (float w : h.w2) sum.w2.push_back(w * share);
    sum.b2 += h.b2 * share;
  }
  return sum;
}

StatusOr<EncoderHead> TrainEncoderHead(const SentenceEncoder& encoder,
                                       const std::vector<Example>& train,
                                       const EncoderTrainOptions& o) {
  if (o.heads == 0 || o.hidden == 0 || o.hidden % o.heads != 0) {
    return InvalidArgumentError("the encoder head's " + std::to_string(o.hidden) +
                                " hidden units do not split into " + std::to_string(o.heads) +
                                " heads of equal size");
  }
  std::mt19937_64 rng(o.seed);
  // The sample: at most per_group records of each (source, label), in data order per group.
  std::map<std::pair<std::string, bool>, std::vector<size_t>> groups;
  for (size_t i = 0; i < train.size(); ++i) {
    groups[{train[i].source, train[i].unsafe}].push_back(i);
  }
  std::vector<size_t> sample;
  for (auto& [key, rows] : groups) {
    std::shuffle(rows.begin(), rows.end(), rng);
    const size_t cap = !key.second && o.safe_per_group > 0 ? o.safe_per_group : o.per_group;
    if (rows.size() > cap) rows.resize(cap);
    sample.insert(sample.end(), rows.begin(), rows.end());
  }
  std::sort(sample.begin(), sample.end());
  size_t positives = 0;
  std::vector<std::string> viewed;
  std::vector<std::string_view> texts;
  std::vector<uint8_t> y;
  // Mutated copies draw from their own stream, so the sample is the same with or without them.
  std::mt19937_64 augment_rng(o.seed ^ 0x61756d67u);  // "aumg"
  std::vector<std::string> mutated;
  std::vector<uint8_t> mutated_y;
  std::vector<float> row_weight, mutated_weight;
  auto source_weight = [&o](const std::string& source) {
    const auto it = o.source_weight.find(source);
    return it == o.source_weight.end() ? 1.0f : static_cast<float>(it->second);
  };
  for (size_t i : sample) {
    if (o.view) viewed.push_back(o.view(train[i].text));
    y.push_back(train[i].unsafe);
    row_weight.push_back(source_weight(train[i].source));
    positives += train[i].unsafe;
    if (std::optional<std::string> text = MaybeMutate(o.augment, train[i].text, augment_rng)) {
      mutated.push_back(o.view ? o.view(*text) : std::move(*text));
      mutated_y.push_back(train[i].unsafe);
      mutated_weight.push_back(row_weight.back());
    }
  }
  for (size_t k = 0; k < sample.size(); ++k) {
    texts.push_back(o.view ? std::string_view(viewed[k]) : std::string_view(train[sample[k]].text));
  }
  for (size_t k = 0; k < mutated.size(); ++k) {
    texts.push_back(mutated[k]);
    y.push_back(mutated_y[k]);
    row_weight.push_back(mutated_weight[k]);
    positives += mutated_y[k];
  }
  const size_t rows = texts.size();
  if (positives == 0 || positives == rows) {
    return InvalidArgumentError("the encoder head needs safe and unsafe training records");
  }
  const std::vector<float> x = EmbedAll(encoder, texts, o.cache, [&](double f) {
    if (o.progress) o.progress("embed", f);
  });

  // Several smaller networks from different random starts and orders, averaged: one network's
  // logit moved by up to two thirds of a standard deviation between trainings that differed in
  // under 1% of their texts, and many texts sit where such a move decides (models/warden-v1.md).
  std::vector<EncoderHead> heads;
  for (uint32_t k = 0; k < o.heads; ++k) {
    heads.push_back(TrainOneHead(x, y, row_weight, o.hidden / o.heads, o, rng, k));
  }
  if (o.progress) o.progress("encoder head", 1.0);
  return AverageHeads(heads);
}

}  // namespace warden::eval
