#include "scanners/classifier/encoder.h"

#include <simdjson.h>
#include <unicode/normalizer2.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>

#include "core/strings.h"
#include "scanners/classifier/binary_io.h"
#include "scanners/classifier/classifier.h"

namespace warden::classifier {
namespace {

constexpr char kMagic[8] = {'W', 'D', 'N', 'E', 'N', 'C', '1', '\0'};
constexpr int32_t kReservedPieces = 6;  // <unk>-like ids the tokenizer never produces by match
constexpr size_t kPieceDim = 256;
constexpr size_t kHeads = 4;
constexpr size_t kFfnDim = 1536;
constexpr float kNormEpsilon = 1e-6f;
constexpr size_t kMaxInputBytes = 16384;

// The TensorFlow.js names of the tensors, in file order (the same order as ForEachTensor).
// "A/" stands for module_apply_default/Encoder_en/KonaTransformer/Encode/, "M/" for
// module/Encoder_en/KonaTransformer/Encode/.
constexpr std::string_view kTensors[] = {
    "module/Embeddings_en",
    "A/TransformerStack/Layer_0/AddTimingSignal/TimingSignal/ExpandDims_1",
#define WARDEN_ENCODER_LAYER(L)                                                                  \
  "A/Layer_" L                                                                                   \
  "/TransformerLayer/layer_prepostprocess/layer_norm/layer_norm_scale/"                          \
  "ConcatPartitions/concat",                                                                     \
      "A/Layer_" L                                                                               \
      "/TransformerLayer/layer_prepostprocess/layer_norm/layer_norm_bias/"                       \
      "ConcatPartitions/concat",                                                                 \
      "M/Layer_" L "/TransformerLayer/MultiheadAttention/qkv_transform_single/kernel/part_0",    \
      "A/Layer_" L                                                                               \
      "/TransformerLayer/MultiheadAttention/qkv_transform_single/bias/ConcatPartitions/concat",  \
      "M/Layer_" L "/TransformerLayer/MultiheadAttention/output_transform_single/kernel/part_0", \
      "A/Layer_" L                                                                               \
      "/TransformerLayer/MultiheadAttention/output_transform_single/bias/ConcatPartitions/"      \
      "concat"
    WARDEN_ENCODER_LAYER("0"),
    "A/Layer_0/TransformerLayer/dense/kernel/ConcatPartitions/concat",
    "A/Layer_0/TransformerLayer/dense/bias/ConcatPartitions/concat",
#define WARDEN_ENCODER_FFN(L)                                                          \
  "A/Layer_" L                                                                         \
  "/TransformerLayer/FFN/layer_prepostprocess/layer_norm/layer_norm_scale/"            \
  "ConcatPartitions/concat",                                                           \
      "A/Layer_" L                                                                     \
      "/TransformerLayer/FFN/layer_prepostprocess/layer_norm/layer_norm_bias/"         \
      "ConcatPartitions/concat",                                                       \
      "A/TransformerStack/Layer_" L "/TransformerLayer/FFN/conv1/Tensordot/Reshape_1", \
      "A/Layer_" L "/TransformerLayer/FFN/conv1/bias/ConcatPartitions/concat",         \
      "A/TransformerStack/Layer_" L "/TransformerLayer/FFN/conv2/Tensordot/Reshape_1", \
      "A/Layer_" L "/TransformerLayer/FFN/conv2/bias/ConcatPartitions/concat"
    WARDEN_ENCODER_FFN("0"),
    WARDEN_ENCODER_LAYER("1"),
    WARDEN_ENCODER_FFN("1"),
#undef WARDEN_ENCODER_LAYER
#undef WARDEN_ENCODER_FFN
    "module/Encoder_en/hidden_layers/tanh_layer_0/weights",
    "module/Encoder_en/hidden_layers/tanh_layer_0/bias",
};

std::string FullName(std::string_view short_name) {
  if (short_name.substr(0, 2) == "A/") {
    return "module_apply_default/Encoder_en/KonaTransformer/Encode/" +
           std::string(short_name.substr(2));
  }
  if (short_name.substr(0, 2) == "M/") {
    return "module/Encoder_en/KonaTransformer/Encode/" + std::string(short_name.substr(2));
  }
  return std::string(short_name);
}

uint32_t Utf16Length(std::string_view utf8) {
  return static_cast<uint32_t>(
      icu::UnicodeString::fromUTF8(icu::StringPiece(utf8.data(), utf8.size())).length());
}

// y[t] = x[t] . w + bias for `rows` positions; x is rows x in, w in x out, y rows x out.
// Blocks of eight positions share each weight row while it is in the first-level cache.
WARDEN_VECTOR_CLONES
void Dense(const float* __restrict x, size_t rows, const float* __restrict w, uint32_t in,
           uint32_t out, const float* __restrict bias, float* __restrict y) {
  for (size_t t = 0; t < rows; ++t) std::memcpy(y + t * out, bias, out * sizeof(float));
  for (size_t t0 = 0; t0 < rows; t0 += 8) {
    const size_t t1 = std::min(rows, t0 + 8);
    for (uint32_t i = 0; i < in; ++i) {
      const float* __restrict wi = w + size_t(i) * out;
      for (size_t t = t0; t < t1; ++t) {
        const float xi = x[t * in + i];
        float* __restrict yt = y + t * out;
        for (uint32_t o = 0; o < out; ++o) yt[o] += xi * wi[o];
      }
    }
  }
}

void LayerNorm(const float* x, size_t rows, size_t width, const std::vector<float>& scale,
               const std::vector<float>& bias, float* y) {
  for (size_t t = 0; t < rows; ++t) {
    const float* xt = x + t * width;
    float* yt = y + t * width;
    float mean = 0;
    for (size_t d = 0; d < width; ++d) mean += xt[d];
    mean /= static_cast<float>(width);
    float var = 0;
    for (size_t d = 0; d < width; ++d) var += (xt[d] - mean) * (xt[d] - mean);
    var /= static_cast<float>(width);
    const float inv = 1.0f / std::sqrt(var + kNormEpsilon);
    for (size_t d = 0; d < width; ++d) yt[d] = (xt[d] - mean) * (scale[d] * inv) + bias[d];
  }
}

// Multi-head self-attention over `rows` positions; qkv is rows x 3 width (queries, keys,
// values), ctx rows x width.
void Attention(const float* qkv, size_t rows, size_t width, float* ctx, std::vector<float>& p) {
  const size_t head_dim = width / kHeads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  p.resize(rows);
  for (size_t h = 0; h < kHeads; ++h) {
    for (size_t t = 0; t < rows; ++t) {
      const float* q = qkv + t * 3 * width + h * head_dim;
      float top = -INFINITY;
      for (size_t s = 0; s < rows; ++s) {
        const float* k = qkv + s * 3 * width + width + h * head_dim;
        float dot = 0;
        for (size_t d = 0; d < head_dim; ++d) dot += (q[d] * scale) * k[d];
        p[s] = dot;
        top = std::max(top, dot);
      }
      float sum = 0;
      for (size_t s = 0; s < rows; ++s) sum += (p[s] = std::exp(p[s] - top));
      float* c = ctx + t * width + h * head_dim;
      std::fill(c, c + head_dim, 0.0f);
      for (size_t s = 0; s < rows; ++s) {
        const float a = p[s] / sum;
        const float* v = qkv + s * 3 * width + 2 * width + h * head_dim;
        for (size_t d = 0; d < head_dim; ++d) c[d] += a * v[d];
      }
    }
  }
}

}  // namespace

template <typename Self, typename F>
void SentenceEncoder::ForEachTensor(Self& self, F&& f) {
  f(&self.embeddings_, nullptr, 0, kPieceDim);
  f(nullptr, &self.inverse_timescales_, 1, kPieceDim / 2);
  for (size_t l = 0; l < 2; ++l) {
    auto& layer = self.layers_[l];
    const uint32_t width = l == 0 ? kPieceDim : kDim;
    f(nullptr, &layer.norm1_scale, 1, width);
    f(nullptr, &layer.norm1_bias, 1, width);
    f(&layer.qkv, nullptr, width, 3 * width);
    f(nullptr, &layer.qkv_bias, 1, 3 * width);
    f(&layer.out, nullptr, width, kDim);
    f(nullptr, &layer.out_bias, 1, kDim);
    if (l == 0) {
      f(&layer.residual, nullptr, kPieceDim, kDim);
      f(nullptr, &layer.residual_bias, 1, kDim);
    }
    f(nullptr, &layer.norm2_scale, 1, kDim);
    f(nullptr, &layer.norm2_bias, 1, kDim);
    f(&layer.ffn1, nullptr, kDim, kFfnDim);
    f(nullptr, &layer.ffn1_bias, 1, kFfnDim);
    f(&layer.ffn2, nullptr, kFfnDim, kDim);
    f(nullptr, &layer.ffn2_bias, 1, kDim);
  }
  f(&self.tanh_, nullptr, kDim, kDim);
  f(nullptr, &self.tanh_bias_, 1, kDim);
}

void SentenceEncoder::BuildIndex() {
  piece_ids_.clear();
  longest_piece_ = 0;
  for (size_t id = kReservedPieces; id < pieces_.size(); ++id) {
    piece_ids_.emplace(pieces_[id].text, static_cast<int32_t>(id));
    const icu::UnicodeString u = icu::UnicodeString::fromUTF8(pieces_[id].text);
    longest_piece_ = std::max<size_t>(longest_piece_, static_cast<size_t>(u.countChar32()));
  }
}

StatusOr<SentenceEncoder> SentenceEncoder::FromTfjs(const std::string& dir) {
  const std::string model_path = dir + "/model.json";
  const std::string vocab_path = dir + "/vocab.json";
  std::string model_json, vocab_json;
  if (!ReadFile(model_path, model_json)) return NotFoundError(model_path + ": cannot read");
  if (!ReadFile(vocab_path, vocab_json)) return NotFoundError(vocab_path + ": cannot read");

  SentenceEncoder e;
  simdjson::dom::parser parser;
  simdjson::dom::array vocab;
  if (parser.parse(vocab_json).get(vocab) != simdjson::SUCCESS) {
    return DataLossError(vocab_path + ": not a JSON array of [piece, score]");
  }
  for (simdjson::dom::element entry : vocab) {
    simdjson::dom::array pair;
    std::string_view text;
    double score = 0;
    // A score is a number, or null (read as 0, as the published tokenizer's sum does).
    if (entry.get(pair) != simdjson::SUCCESS || pair.size() != 2 ||
        pair.at(0).get(text) != simdjson::SUCCESS ||
        (!pair.at(1).is_null() && pair.at(1).get(score) != simdjson::SUCCESS) ||
        text.size() > 0xffff) {
      return DataLossError(vocab_path + ": entry " + std::to_string(e.pieces_.size()) +
                           " is not [piece, score]");
    }
    e.pieces_.push_back({std::string(text), score, Utf16Length(text)});
  }

  simdjson::dom::element model;
  if (parser.parse(model_json).get(model) != simdjson::SUCCESS) {
    return DataLossError(model_path + ": not JSON");
  }
  simdjson::dom::object manifest;
  simdjson::dom::array paths, weights;
  if (model["weightsManifest"].at(0).get(manifest) != simdjson::SUCCESS ||
      manifest["paths"].get(paths) != simdjson::SUCCESS ||
      manifest["weights"].get(weights) != simdjson::SUCCESS) {
    return DataLossError(model_path + ": no weightsManifest[0] with paths and weights");
  }
  std::string data;
  for (simdjson::dom::element p : paths) {
    std::string_view name;
    if (p.get(name) != simdjson::SUCCESS || name.find('/') != std::string_view::npos) {
      return DataLossError(model_path + ": a weight shard path is not a file name");
    }
    std::string shard;
    const std::string shard_path = dir + "/" + std::string(name);
    if (!ReadFile(shard_path, shard)) return NotFoundError(shard_path + ": cannot read");
    data += shard;
  }
  // Where each float32 tensor starts in the concatenated shards, and its element count.
  std::unordered_map<std::string, std::pair<size_t, size_t>> where;
  size_t offset = 0;
  for (simdjson::dom::element w : weights) {
    std::string_view name, dtype;
    simdjson::dom::array shape;
    if (w["name"].get(name) != simdjson::SUCCESS || w["dtype"].get(dtype) != simdjson::SUCCESS ||
        w["shape"].get(shape) != simdjson::SUCCESS) {
      return DataLossError(model_path + ": a weight lacks name, dtype or shape");
    }
    size_t count = 1;
    for (simdjson::dom::element d : shape) {
      uint64_t n = 0;
      if (d.get(n) != simdjson::SUCCESS || n > (1u << 24)) {
        return DataLossError(model_path + ": weight " + std::string(name) + " has a bad shape");
      }
      count *= n;
    }
    if (dtype != "float32" && dtype != "int32") {
      return DataLossError(model_path + ": weight " + std::string(name) + " is " +
                           std::string(dtype) + "; only float32 and int32 are read");
    }
    where[std::string(name)] = {offset, count};
    offset += count * 4;
  }
  if (offset != data.size()) {
    return DataLossError(model_path + ": the shards hold " + std::to_string(data.size()) +
                         " bytes, the manifest describes " + std::to_string(offset));
  }

  Status status = OkStatus();
  size_t next = 0;
  ForEachTensor(e, [&](Matrix* m, std::vector<float>* v, uint32_t rows, uint32_t cols) {
    const std::string name = FullName(kTensors[next++]);
    if (!status.ok()) return;
    auto it = where.find(name);
    if (rows == 0 && it != where.end()) {
      // The embedding table: one row per piece, and the release has a few rows to spare.
      rows = static_cast<uint32_t>(it->second.second / cols);
      if (rows < e.pieces_.size()) rows = 0;
    }
    const size_t count = size_t(rows) * cols;
    if (it == where.end() || count == 0 || it->second.second != count) {
      status = DataLossError(model_path + ": weight " + name + " is missing or not " +
                             std::to_string(rows) + " x " + std::to_string(cols));
      return;
    }
    const char* from = data.data() + it->second.first;
    float* to = nullptr;
    if (m) {
      m->w.resize(count);
      m->rows = rows;
      m->cols = cols;
      to = m->w.data();
    } else {
      v->resize(count);
      to = v->data();
    }
    std::memcpy(to, from, count * sizeof(float));
  });
  if (!status.ok()) return status;
  e.BuildIndex();
  return e;
}

std::string SentenceEncoder::Serialize() const {
  std::string out(kMagic, sizeof(kMagic));
  Put(out, static_cast<uint32_t>(pieces_.size()));
  for (const Piece& p : pieces_) {
    Put(out, static_cast<uint16_t>(p.text.size()));
    out += p.text;
    Put(out, p.score);
  }
  ForEachTensor(*this, [&](const Matrix* m, const std::vector<float>* v, uint32_t, uint32_t) {
    if (v) {
      Put(out, static_cast<uint32_t>(v->size()));
      PutFloats(out, *v);
      return;
    }
    Put(out, m->rows);
    Put(out, m->cols);
    std::vector<int8_t> codes(size_t(m->rows) * m->cols);
    std::string scales;
    for (size_t r = 0; r < m->rows; ++r) {
      const float* row = m->w.data() + r * m->cols;
      float top = 0;
      for (size_t c = 0; c < m->cols; ++c) top = std::max(top, std::fabs(row[c]));
      const float scale = top > 0 ? top / 127.0f : 1.0f;
      Put(scales, scale);
      for (size_t c = 0; c < m->cols; ++c) {
        codes[r * m->cols + c] = static_cast<int8_t>(std::lround(row[c] / scale));
      }
    }
    out += scales;
    out.append(reinterpret_cast<const char*>(codes.data()), codes.size());
  });
  if (cascade_) {
    const EncoderCascade& c = *cascade_;
    out += "CASC";
    Put(out, c.head.hidden);
    PutFloats(out, c.head.w1);
    PutFloats(out, c.head.b1);
    PutFloats(out, c.head.w2);
    for (float f : {c.head.b2, c.band, c.bow_mean, c.bow_sd, c.enc_mean, c.enc_sd}) Put(out, f);
  }
  return out;
}

StatusOr<SentenceEncoder> SentenceEncoder::Parse(std::string_view bytes, const std::string& path) {
  auto corrupt = [&](const std::string& what) {
    return DataLossError(path + ": not a Warden sentence encoder (" + what + ")");
  };
  ByteReader r(bytes);
  std::string_view magic;
  if (!r.GetBytes(magic, sizeof(kMagic)) || magic != std::string_view(kMagic, sizeof(kMagic))) {
    return corrupt("bad magic");
  }
  SentenceEncoder e;
  uint32_t count = 0;
  if (!r.Get(count) || count <= kReservedPieces || count > 1000000) {
    return corrupt("bad piece count");
  }
  e.pieces_.resize(count);
  for (Piece& p : e.pieces_) {
    uint16_t length = 0;
    if (!r.Get(length)) return corrupt("truncated vocabulary");
    std::string_view text;
    if (!r.GetBytes(text, length) || !r.Get(p.score)) return corrupt("truncated vocabulary");
    p.text = std::string(text);
    p.utf16_length = Utf16Length(p.text);
  }
  bool ok = true;
  ForEachTensor(e, [&](Matrix* m, std::vector<float>* v, uint32_t rows, uint32_t cols) {
    if (!ok) return;
    if (v) {
      uint32_t n = 0;
      ok = r.Get(n) && n == size_t(rows) * cols && r.GetFloats(*v, n);
      return;
    }
    ok = r.Get(m->rows) && r.Get(m->cols) && m->cols == cols &&
         (rows == 0 ? m->rows >= count && m->rows <= count + 1024 : m->rows == rows);
    rows = m->rows;
    if (!ok) return;
    std::vector<float> scales;
    std::string_view codes;
    ok = r.GetFloats(scales, rows) && r.GetBytes(codes, size_t(rows) * cols);
    if (!ok) return;
    m->w.resize(codes.size());
    for (size_t i = 0; i < codes.size(); ++i) {
      m->w[i] = scales[i / cols] * static_cast<float>(static_cast<int8_t>(codes[i]));
    }
  });
  if (!ok) return corrupt("a weight is truncated or has the wrong shape");
  std::string_view tag;
  if (!r.done()) {
    EncoderCascade c;
    if (!r.GetBytes(tag, 4) || tag != "CASC" || !r.Get(c.head.hidden) || c.head.hidden == 0 ||
        c.head.hidden > 4096 || !r.GetFloats(c.head.w1, size_t(kDim) * c.head.hidden) ||
        !r.GetFloats(c.head.b1, c.head.hidden) || !r.GetFloats(c.head.w2, c.head.hidden) ||
        !r.Get(c.head.b2) || !r.Get(c.band) || !r.Get(c.bow_mean) || !r.Get(c.bow_sd) ||
        !r.Get(c.enc_mean) || !r.Get(c.enc_sd) || !(c.bow_sd > 0) || !(c.enc_sd > 0)) {
      return corrupt("a malformed cascade section");
    }
    e.cascade_ = std::move(c);
  }
  if (!r.done()) return corrupt("trailing bytes");
  e.BuildIndex();
  return e;
}

std::vector<int32_t> SentenceEncoder::Tokenize(std::string_view text) const {
  // NFKC, then U+2581 before the text and for every space (SentencePiece's word marker).
  // Only the first kMaxPieces pieces count, and no piece is longer than a few dozen characters,
  // so a long text is cut first: a megabyte would otherwise cost a megabyte-long split table.
  // (A cut text splits differently only if its first 128 pieces spanned more than 16,384
  // bytes, which takes long runs of characters no piece covers.)
  text = text.substr(0, kMaxInputBytes);
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfkc = icu::Normalizer2::getNFKCInstance(status);
  icu::UnicodeString u = icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), text.size()));
  if (U_SUCCESS(status)) u = nfkc->normalize(u, status);
  std::vector<int32_t> ids;
  if (u.isEmpty()) return ids;
  std::string utf8 = "\xE2\x96\x81";
  std::vector<size_t> starts = {0};  // byte offset of each code point in utf8; one more at end
  for (int32_t i = 0; i < u.length();) {
    const UChar32 c = u.char32At(i);
    i += U16_LENGTH(c);
    starts.push_back(utf8.size());
    if (c == ' ') {
      utf8 += "\xE2\x96\x81";
    } else {
      icu::UnicodeString one(c);
      one.toUTF8String(utf8);
    }
  }
  starts.push_back(utf8.size());
  const size_t n = starts.size() - 1;  // code points

  // Unigram Viterbi as the published tokenizer computes it: best[end] is the best score of a
  // split of the first `end` code points, and 0 doubles as "not reached" (so a later candidate
  // replaces a score of exactly 0); ties go to the later start. A position no piece starts at
  // gets a one-character unknown piece (id 0, score 0).
  std::vector<double> best(n + 1, 0.0);
  std::vector<int32_t> word(n + 1, 0);
  // piece_at[end * (longest + 1) + length]: the id of the piece of that length ending at `end`,
  // or -1.
  const size_t stride = longest_piece_ + 1;
  std::vector<int32_t> piece_at((n + 1) * stride, -1);
  std::string key;
  for (size_t i = 0; i < n; ++i) {
    bool any = false;
    for (size_t length = 1; length <= longest_piece_ && i + length <= n; ++length) {
      key.assign(utf8, starts[i], starts[i + length] - starts[i]);
      auto it = piece_ids_.find(key);
      if (it == piece_ids_.end()) continue;
      piece_at[(i + length) * stride + length] = it->second;
      any = true;
    }
    if (!any) piece_at[(i + 1) * stride + 1] = 0;
  }
  for (size_t end = 1; end <= n; ++end) {
    for (size_t length = std::min(end, longest_piece_); length >= 1; --length) {
      const int32_t id = piece_at[end * stride + length];
      if (id < 0) continue;
      const double score = (id == 0 ? 0.0 : pieces_[id].score) + best[end - length];
      if (best[end] == 0 || score >= best[end]) {
        best[end] = score;
        word[end] = id;
      }
    }
  }
  // Back from the end, stepping by each chosen piece's length in UTF-16 units, as the
  // published tokenizer does (the same as code points for every piece outside the astral
  // planes).
  std::vector<int32_t> reversed;
  for (size_t at = n; at > 0;) {
    const int32_t id = word[at];
    reversed.push_back(id);
    const size_t step = std::max<uint32_t>(1, pieces_[id].utf16_length);
    at = step >= at ? 0 : at - step;
  }
  for (size_t i = reversed.size(); i-- > 0;) {
    if (reversed[i] == 0 && !ids.empty() && ids.back() == 0) continue;  // one id per unknown run
    ids.push_back(reversed[i]);
  }
  if (ids.size() > kMaxPieces) ids.resize(kMaxPieces);
  return ids;
}

void SentenceEncoder::Embed(std::string_view text, float* out) const {
  const std::vector<int32_t> ids = Tokenize(text);
  std::fill(out, out + kDim, 0.0f);
  const size_t n = ids.size();
  if (n == 0) return;

  thread_local std::vector<float> x0, x, h, qkv, ctx, a, f, p;
  // Piece vectors plus the position signal (sines of the first half, cosines of the second).
  // The published graph adds the piece vectors twice: the timing step's output (vectors +
  // signal) is added to the vectors again.
  x0.resize(n * kPieceDim);
  const size_t half = kPieceDim / 2;
  for (size_t t = 0; t < n; ++t) {
    const float* v = embeddings_.w.data() + size_t(ids[t]) * kPieceDim;
    float* xt = x0.data() + t * kPieceDim;
    for (size_t d = 0; d < half; ++d) {
      const float angle = static_cast<float>(t) * inverse_timescales_[d];
      xt[d] = 2 * v[d] + std::sin(angle);
      xt[half + d] = 2 * v[half + d] + std::cos(angle);
    }
  }
  x.resize(n * kDim);
  a.resize(n * kDim);
  f.resize(n * kFfnDim);
  for (size_t l = 0; l < 2; ++l) {
    const Layer& layer = layers_[l];
    const uint32_t width = l == 0 ? kPieceDim : kDim;
    const float* in = l == 0 ? x0.data() : x.data();
    h.resize(n * width);
    qkv.resize(n * 3 * width);
    ctx.resize(n * width);
    LayerNorm(in, n, width, layer.norm1_scale, layer.norm1_bias, h.data());
    Dense(h.data(), n, layer.qkv.w.data(), width, 3 * width, layer.qkv_bias.data(), qkv.data());
    Attention(qkv.data(), n, width, ctx.data(), p);
    Dense(ctx.data(), n, layer.out.w.data(), width, kDim, layer.out_bias.data(), a.data());
    if (l == 0) {
      // The first layer widens its input (256) to the model's width (512) for the residual.
      Dense(x0.data(), n, layer.residual.w.data(), kPieceDim, kDim, layer.residual_bias.data(),
            x.data());
      for (size_t i = 0; i < n * kDim; ++i) x[i] += a[i];
    } else {
      for (size_t i = 0; i < n * kDim; ++i) x[i] += a[i];
    }
    h.resize(n * kDim);
    LayerNorm(x.data(), n, kDim, layer.norm2_scale, layer.norm2_bias, h.data());
    Dense(h.data(), n, layer.ffn1.w.data(), kDim, kFfnDim, layer.ffn1_bias.data(), f.data());
    for (float& v : f) v = std::max(v, 0.0f);
    Dense(f.data(), n, layer.ffn2.w.data(), kFfnDim, kDim, layer.ffn2_bias.data(), a.data());
    for (size_t i = 0; i < n * kDim; ++i) x[i] += a[i];
  }
  // Mean over positions, the tanh layer, unit length.
  std::vector<float>& mean = h;
  mean.assign(kDim, 0.0f);
  for (size_t t = 0; t < n; ++t) {
    for (size_t d = 0; d < kDim; ++d) mean[d] += x[t * kDim + d];
  }
  for (float& v : mean) v /= static_cast<float>(n);
  Dense(mean.data(), 1, tanh_.w.data(), kDim, kDim, tanh_bias_.data(), out);
  float norm = 0;
  for (size_t d = 0; d < kDim; ++d) {
    out[d] = std::tanh(out[d]);
    norm += out[d] * out[d];
  }
  const float inv = 1.0f / std::sqrt(std::max(norm, 1e-12f));
  for (size_t d = 0; d < kDim; ++d) out[d] *= inv;
}

WARDEN_VECTOR_CLONES
void EncoderHead::Hidden(const float* v, float* h) const {
  std::copy(b1.begin(), b1.end(), h);
  for (size_t d = 0; d < SentenceEncoder::kDim; ++d) {
    const float x = v[d];
    const float* w = w1.data() + d * hidden;
    for (uint32_t j = 0; j < hidden; ++j) h[j] += x * w[j];
  }
}

float EncoderHead::Logit(const float* v) const {
  thread_local std::vector<float> h;
  h.resize(hidden);
  Hidden(v, h.data());
  float z = b2;
  for (uint32_t j = 0; j < hidden; ++j) z += std::max(h[j], 0.0f) * w2[j];
  return z;
}

double EncoderCascade::NgramLogit(float p) {
  const double q = std::clamp(static_cast<double>(p), 1e-6, 1 - 1e-6);
  return std::log(q / (1 - q));
}

void EncoderCascade::Logits(float p, const float* v, double& zb, double& ze) const {
  zb = (NgramLogit(p) - bow_mean) / bow_sd;
  ze = (head.Logit(v) - enc_mean) / enc_sd;
}

float EncoderCascade::Combine(float p, const float* v) const {
  double zb = 0, ze = 0;
  Logits(p, v, zb, ze);
  return static_cast<float>(band + (1.0 - band) / (1.0 + std::exp(-(zb + ze))));
}

namespace {

// Whether `text`'s casing looks mechanical rather than written (EncoderInput, encoder.h).
bool MechanicalCasing(std::string_view text) {
  size_t words = 0, mixed = 0, upper = 0, lower = 0;
  bool in_word = false, seen_lower = false, word_mixed = false;
  for (const char c : text) {
    const bool is_upper = c >= 'A' && c <= 'Z', is_lower = c >= 'a' && c <= 'z';
    if (!is_upper && !is_lower) {
      in_word = false;
      continue;
    }
    if (!in_word) {
      in_word = true;
      seen_lower = word_mixed = false;
      ++words;
    }
    upper += is_upper;
    lower += is_lower;
    if (is_upper && seen_lower && !word_mixed) {
      word_mixed = true;
      ++mixed;
    }
    seen_lower = seen_lower || is_lower;
  }
  return (mixed >= 2 && mixed * 5 >= words) || (upper > lower && upper >= 8);
}

// Rewrites the ASCII letters of `text` as ordinary writing has them: small, except the first
// letter of the text and of each sentence (after '.', '!', '?' or a line break) and the word
// "I". The encoder is case-sensitive, and "plan an attack on the crowd" reads less like the
// requests it learnt from than "Plan an attack on the crowd".
void SentenceCaseAscii(std::string& text) {
  auto is_letter = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); };
  bool sentence_start = true;
  for (size_t i = 0; i < text.size(); ++i) {
    char& c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c >= 'a' && c <= 'z') {
      const bool lone_i = c == 'i' && (i == 0 || !is_letter(text[i - 1])) &&
                          (i + 1 == text.size() || !is_letter(text[i + 1]));
      if (sentence_start || lone_i) c = static_cast<char>(c - 'a' + 'A');
      sentence_start = false;
    } else if (c == '.' || c == '!' || c == '?' || c == '\n') {
      sentence_start = true;
    }
  }
}

// Whether `passage` has at least three words (runs of ASCII letters and digits or of non-ASCII
// bytes): shorter ones ("Stay in character.", "Best regards") say too little to encode alone.
bool HasThreeWords(std::string_view passage) {
  size_t words = 0;
  bool in_word = false;
  for (const char c : passage) {
    const auto u = static_cast<unsigned char>(c);
    const bool word = u >= 0x80 || std::isalnum(u);
    if (word && !in_word && ++words == 3) return true;
    in_word = word;
  }
  return false;
}

// The length of the passage break at `text[i]`, or 0. A sentence end counts only before a
// space, quote or line end, so "3.5", "e.g" and "http://" stay whole.
size_t BreakAt(std::string_view text, size_t i) {
  const char c = text[i];
  switch (c) {
    case '\n':
    case '"':
    case ';':
    case '[':
    case ']':
      return 1;
    case '.':
    case '!':
    case '?':
    case ':': {
      const bool last = i + 1 == text.size();
      return last || text[i + 1] == ' ' || text[i + 1] == '"' || text[i + 1] == '\n' ? 1 : 0;
    }
    case '<':
      return text.compare(i, 4, "<!--") == 0 ? 4 : 0;
    case '-':
      return text.compare(i, 3, "-->") == 0 ? 3 : 0;
    case '\xe2':  // “ and ”
      return text.compare(i, 3, "\u201c") == 0 || text.compare(i, 3, "\u201d") == 0 ? 3 : 0;
    default:
      return 0;
  }
}

}  // namespace

std::string_view EncoderInput(std::string_view text, std::string& scratch) {
  if (!MechanicalCasing(text)) return text;
  scratch.assign(text);
  SentenceCaseAscii(scratch);
  return scratch;
}

std::string_view EncoderInput(const std::vector<text::View>& views, size_t k,
                              std::string& scratch) {
  const text::View& view = views[k];
  // The raw view (no byte map) and decoded payloads were never case-folded.
  if (view.orig_begin.empty() || view.kind == text::ViewKind::kDecoded) {
    return EncoderInput(view.text, scratch);
  }
  const std::string_view original = views[0].text;
  scratch.assign(view.text);
  for (size_t i = 0; i < scratch.size(); ++i) {
    const uint32_t from = view.orig_begin[i];
    if (view.orig_end[i] != from + 1 || from >= original.size()) continue;
    const char c = original[from];
    if (c >= 'A' && c <= 'Z' && scratch[i] == c - 'A' + 'a') scratch[i] = c;
  }
  if (MechanicalCasing(scratch)) SentenceCaseAscii(scratch);
  return scratch;
}

void EncoderSegments(std::string_view text, std::vector<std::string_view>& out) {
  out.clear();
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    const size_t length = i < text.size() ? BreakAt(text, i) : 1;
    if (length == 0) continue;
    // A sentence keeps its final mark ("How do I …?"), as the texts the head learnt from do.
    const bool keep = i < text.size() && (text[i] == '.' || text[i] == '!' || text[i] == '?');
    const std::string_view passage = TrimSpace(text.substr(start, i + (keep ? 1 : 0) - start));
    if (HasThreeWords(passage)) out.push_back(passage);
    start = i + length;
    i = start - 1;
  }
  if (out.size() == 1) out.clear();
}

}  // namespace warden::classifier
