#include "eval/encoder_trainer.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <random>
#include <thread>
#include <utility>

#include "eval/mutators.h"

namespace warden::eval {

using classifier::EncoderHead;
using classifier::SentenceEncoder;
constexpr size_t kDim = SentenceEncoder::kDim;

std::vector<float> EmbedAll(const SentenceEncoder& encoder,
                            const std::vector<std::string_view>& texts,
                            const std::function<void(double)>& progress) {
  std::vector<float> out(texts.size() * kDim);
  std::atomic<size_t> next{0};
  std::atomic<size_t> done{0};
  // Every thread takes the next text; the calling thread also reports progress.
  auto work = [&](bool report) {
    for (size_t i; (i = next.fetch_add(1)) < texts.size();) {
      encoder.Embed(texts[i], out.data() + i * kDim);
      const size_t d = done.fetch_add(1) + 1;
      if (report && progress && d % 256 == 0) progress(double(d) / texts.size());
    }
  };
  const unsigned n = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> threads;
  for (unsigned t = 1; t < n; ++t) threads.emplace_back(work, false);
  work(true);
  for (auto& t : threads) t.join();
  if (progress) progress(1.0);
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

std::vector<float> EmbedAll(const SentenceEncoder& encoder,
                            const std::vector<std::string_view>& texts, EmbeddingCache* cache,
                            const std::function<void(double)>& progress) {
  return cache ? cache->Embed(encoder, texts, progress) : EmbedAll(encoder, texts, progress);
}

StatusOr<EncoderHead> TrainEncoderHead(const SentenceEncoder& encoder,
                                       const std::vector<Example>& train,
                                       const EncoderTrainOptions& o) {
  std::mt19937_64 rng(o.seed);
  // The sample: at most per_group records of each (source, label), in data order per group.
  std::map<std::pair<std::string, bool>, std::vector<size_t>> groups;
  for (size_t i = 0; i < train.size(); ++i) {
    groups[{train[i].source, train[i].unsafe}].push_back(i);
  }
  std::vector<size_t> sample;
  for (auto& [key, rows] : groups) {
    std::shuffle(rows.begin(), rows.end(), rng);
    if (rows.size() > o.per_group) rows.resize(o.per_group);
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
  for (size_t i : sample) {
    if (o.view) viewed.push_back(o.view(train[i].text));
    y.push_back(train[i].unsafe);
    positives += train[i].unsafe;
    if (std::optional<std::string> text = MaybeMutate(o.augment, train[i].text, augment_rng)) {
      mutated.push_back(o.view ? o.view(*text) : std::move(*text));
      mutated_y.push_back(train[i].unsafe);
    }
  }
  for (size_t k = 0; k < sample.size(); ++k) {
    texts.push_back(o.view ? std::string_view(viewed[k]) : std::string_view(train[sample[k]].text));
  }
  for (size_t k = 0; k < mutated.size(); ++k) {
    texts.push_back(mutated[k]);
    y.push_back(mutated_y[k]);
    positives += mutated_y[k];
  }
  const size_t rows = texts.size();
  if (positives == 0 || positives == rows) {
    return InvalidArgumentError("the encoder head needs safe and unsafe training records");
  }
  const std::vector<float> x = EmbedAll(encoder, texts, o.cache, [&](double f) {
    if (o.progress) o.progress("embed", f);
  });

  const uint32_t hidden = o.hidden;
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
  const double weight[2] = {double(rows) / (2.0 * (rows - positives)),
                            double(rows) / (2.0 * positives)};
  std::vector<float> h(hidden);
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
        const float e = static_cast<float>((p - y[i]) * weight[y[i]] / double(end - start));
        g_b2 += e;
        for (uint32_t j = 0; j < hidden; ++j) {
          if (h[j] <= 0) continue;
          g_w2[j] += e * h[j];
          const float eh = e * head.w2[j];
          g_b1[j] += eh;
          for (size_t d = 0; d < kDim; ++d) g_w1[d * hidden + j] += eh * xi[d];
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
      if (o.progress && step % 64 == 0) o.progress("encoder head", double(step) / steps);
    }
  }
  if (o.progress) o.progress("encoder head", 1.0);
  return head;
}

}  // namespace warden::eval
