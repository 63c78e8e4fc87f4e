#include "scanners/classifier/semantic.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <thread>

#include "scanners/classifier/binary_io.h"

namespace warden::classifier {
namespace {

constexpr char kMagic[8] = {'W', 'D', 'N', 'S', 'E', 'M', '1', '\0'};
// Bounds that no real head comes near; they keep a corrupt header from asking for gigabytes.
constexpr uint32_t kMaxDim = 4096;
constexpr uint32_t kMaxHidden = 4096;
constexpr uint32_t kMaxWords = 10000000;

}  // namespace

float SifWeight(size_t rank) {
  // Zipf: p(rank) ~ 1 / (rank * H), H ~ 13 for a 400,000-word vocabulary; a = 1e-4.
  constexpr double kA = 1e-4;
  constexpr double kH = 13.0;
  const double p = 1.0 / (static_cast<double>(std::max<size_t>(rank, 1)) * kH);
  return static_cast<float>(kA / (kA + p));
}

void SemanticHead::BuildIndex() {
  size_t capacity = 16;
  while (capacity < 2 * words.size()) capacity *= 2;
  index_.assign(capacity, 0);
  index_mask_ = capacity - 1;
  for (size_t row = 0; row < words.size(); ++row) {
    uint64_t slot = Fnv1a64(words[row]) & index_mask_;
    while (index_[slot] != 0) slot = (slot + 1) & index_mask_;
    index_[slot] = static_cast<uint32_t>(row + 1);
  }
}

int32_t SemanticHead::Row(std::string_view word) const {
  if (index_.empty()) return -1;
  for (uint64_t slot = Fnv1a64(word) & index_mask_;; slot = (slot + 1) & index_mask_) {
    const uint32_t entry = index_[slot];
    if (entry == 0) return -1;
    if (words[entry - 1] == word) return static_cast<int32_t>(entry - 1);
  }
}

void SemanticHead::SetVectors(const std::vector<float>& weighted) {
  const size_t rows = dim == 0 ? 0 : weighted.size() / dim;
  codes.resize(rows * dim);
  scales.resize(rows);
  for (size_t row = 0; row < rows; ++row) {
    const float* v = weighted.data() + row * dim;
    float max_abs = 0;
    for (uint32_t d = 0; d < dim; ++d) max_abs = std::max(max_abs, std::fabs(v[d]));
    const float scale = max_abs / 127.0f;
    scales[row] = scale;
    for (uint32_t d = 0; d < dim; ++d) {
      codes[row * dim + d] = static_cast<int8_t>(scale > 0 ? std::nearbyint(v[d] / scale) : 0.0f);
    }
  }
}

std::string SemanticHead::Serialize() const {
  std::string out(kMagic, sizeof(kMagic));
  Put(out, dim);
  Put(out, hidden);
  Put(out, static_cast<uint32_t>(kNumLabels));
  Put(out, static_cast<uint32_t>(words.size()));
  for (const std::string& w : words) {
    Put(out, static_cast<uint8_t>(w.size()));
    out += w;
  }
  for (size_t row = 0; row < words.size(); ++row) {
    Put(out, scales[row]);
    out.append(reinterpret_cast<const char*>(codes.data() + row * dim), dim);
  }
  PutFloats(out, input_mean);
  PutFloats(out, input_scale);
  PutFloats(out, w1);
  PutFloats(out, b1);
  PutFloats(out, w2);
  PutFloats(out, b2);
  return out;
}

StatusOr<SemanticHead> SemanticHead::Parse(std::string_view bytes, const std::string& path) {
  auto corrupt = [&](const std::string& what) {
    return DataLossError(path + ": not a valid semantic head: " + what);
  };
  ByteReader in(bytes);
  std::string_view magic;
  if (!in.GetBytes(magic, sizeof(kMagic)) || magic != std::string_view(kMagic, sizeof(kMagic))) {
    return corrupt("bad magic (expected a WDNSEM1 file)");
  }
  SemanticHead h;
  uint32_t labels = 0, nwords = 0;
  if (!in.Get(h.dim) || !in.Get(h.hidden) || !in.Get(labels) || !in.Get(nwords)) {
    return corrupt("truncated header");
  }
  if (h.dim == 0 || h.dim > kMaxDim || h.hidden == 0 || h.hidden > kMaxHidden ||
      nwords > kMaxWords || labels != kNumLabels) {
    return corrupt("header out of range (dim " + std::to_string(h.dim) + ", hidden " +
                   std::to_string(h.hidden) + ", labels " + std::to_string(labels) + ", words " +
                   std::to_string(nwords) + ")");
  }
  h.words.reserve(nwords);
  for (uint32_t i = 0; i < nwords; ++i) {
    uint8_t len = 0;
    std::string_view w;
    if (!in.Get(len) || !in.GetBytes(w, len)) return corrupt("truncated word list");
    h.words.emplace_back(w);
  }
  h.codes.resize(size_t(nwords) * h.dim);
  h.scales.resize(nwords);
  for (uint32_t row = 0; row < nwords; ++row) {
    std::string_view q;
    if (!in.Get(h.scales[row]) || !in.GetBytes(q, h.dim)) return corrupt("truncated vectors");
    if (!std::isfinite(h.scales[row])) return corrupt("vector scale is not a number");
    std::memcpy(h.codes.data() + size_t(row) * h.dim, q.data(), h.dim);
  }
  if (!in.GetFloats(h.input_mean, h.dim) || !in.GetFloats(h.input_scale, h.dim) ||
      !in.GetFloats(h.w1, size_t(h.hidden) * h.dim) || !in.GetFloats(h.b1, h.hidden) ||
      !in.GetFloats(h.w2, kNumLabels * size_t(h.hidden)) || !in.GetFloats(h.b2, kNumLabels)) {
    return corrupt("truncated network weights");
  }
  if (!in.done()) return corrupt("trailing bytes");
  for (const auto* v : {&h.input_mean, &h.input_scale, &h.w1, &h.b1, &h.w2, &h.b2}) {
    for (float x : *v) {
      if (!std::isfinite(x)) return corrupt("a network weight is not a number");
    }
  }
  h.BuildIndex();
  h.PrepareForScoring();
  return h;
}

void SemanticHead::PrepareForScoring() {
  w1_t_.resize(w1.size());
  for (size_t j = 0; j < hidden; ++j) {
    for (size_t d = 0; d < dim; ++d) w1_t_[d * hidden + j] = w1[j * dim + d];
  }
  w2_t_.resize(w2.size());
  for (size_t k = 0; k < kNumLabels; ++k) {
    for (size_t j = 0; j < hidden; ++j) w2_t_[j * kNumLabels + k] = w2[k * hidden + j];
  }
  // First layer of an average vector m: b1 + W1 ((m - input_mean) * input_scale)
  //   = (b1 - W1 (input_mean * input_scale)) + average over words of W1 (v * input_scale).
  const size_t n_in = dim, n_hidden = hidden;
  projected_bias_.assign(b1.begin(), b1.end());
  for (size_t d = 0; d < n_in; ++d) {
    const float x = input_mean[d] * input_scale[d];
    for (size_t j = 0; j < n_hidden; ++j) projected_bias_[j] -= x * w1_t_[d * n_hidden + j];
  }
  const size_t rows = scales.size();
  projected_.assign(rows * n_hidden, 0.0f);
  // 100,000 words x 100 x 64 multiply-adds at every load: the words go to all cores.
  const size_t threads =
      rows < 10000 ? 1 : std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 8);
  std::vector<std::thread> workers;
  for (size_t t = 1; t < threads; ++t) {
    workers.emplace_back(
        [this, rows, t, threads] { ProjectRows(rows * t / threads, rows * (t + 1) / threads); });
  }
  ProjectRows(0, rows / threads);
  for (std::thread& w : workers) w.join();
}

WARDEN_VECTOR_CLONES
void SemanticHead::ProjectRows(size_t first, size_t last) {
  // The hidden values are summed in blocks held in registers across the whole input (in the
  // same order as one at a time); a row of 64 kept in memory took twice as long.
  constexpr size_t kBlock = 16;
  const size_t n_in = dim, n_hidden = hidden;
  std::vector<float> scaled(n_in);
  for (size_t row = first; row < last; ++row) {
    const int8_t* q = codes.data() + row * n_in;
    for (size_t d = 0; d < n_in; ++d) {
      scaled[d] = scales[row] * static_cast<float>(q[d]) * input_scale[d];
    }
    float* p = projected_.data() + row * n_hidden;
    size_t j0 = 0;
    for (; j0 + kBlock <= n_hidden; j0 += kBlock) {
      float acc[kBlock] = {};
      for (size_t d = 0; d < n_in; ++d) {
        const float x = scaled[d];
        const float* w = w1_t_.data() + d * n_hidden + j0;
        for (size_t j = 0; j < kBlock; ++j) acc[j] += x * w[j];
      }
      std::copy(acc, acc + kBlock, p + j0);
    }
    for (size_t d = 0; d < n_in; ++d) {
      for (size_t j = j0; j < n_hidden; ++j) p[j] += scaled[d] * w1_t_[d * n_hidden + j];
    }
  }
}

WARDEN_VECTOR_CLONES
void SemanticHead::AddLogits(const float* mean, float weight, std::vector<float>& scratch,
                             LabelScores& logits) const {
  // Local sizes and restrict-qualified pointers: otherwise the compiler must assume a store
  // into the hidden layer could change them, and leaves the loops scalar.
  const size_t n_in = dim, n_hidden = hidden;
  scratch.resize(n_hidden);
  float* __restrict h = scratch.data();
  std::copy(b1.begin(), b1.end(), h);
  for (size_t d = 0; d < n_in; ++d) {
    const float x = (mean[d] - input_mean[d]) * input_scale[d];
    const float* __restrict w = w1_t_.data() + d * n_hidden;
    for (size_t j = 0; j < n_hidden; ++j) h[j] += x * w[j];
  }
  AddOutputLayer(h, weight, logits);
}

void SemanticHead::AddLogitsOfProjected(const float* projected_mean, float weight,
                                        LabelScores& logits) const {
  // At most kMaxHidden values; the shipped head has 64.
  float h[kMaxHidden];
  for (size_t j = 0; j < hidden; ++j) h[j] = projected_bias_[j] + projected_mean[j];
  AddOutputLayer(h, weight, logits);
}

WARDEN_VECTOR_CLONES
void SemanticHead::AddOutputLayer(const float* h, float weight, LabelScores& logits) const {
  LabelScores out;
  std::copy(b2.begin(), b2.end(), out.begin());
  for (size_t j = 0; j < hidden; ++j) {
    if (h[j] <= 0) continue;  // ReLU
    const float hj = h[j];
    const float* __restrict w = w2_t_.data() + j * kNumLabels;
    for (size_t k = 0; k < kNumLabels; ++k) out[k] += hj * w[k];
  }
  for (size_t k = 0; k < kNumLabels; ++k) logits[k] += weight * out[k];
}

}  // namespace warden::classifier
