// The sentence encoder reads message text from strangers: its tokenizer (NFKC, unigram Viterbi
// over the pieces), the transformer and the passage splitter (EncoderSegments) must take any
// bytes, invalid UTF-8 included. Uses the
// published release (scripts/fetch-encoder.sh, which scripts/install-deps.sh runs); without it
// every input is a no-op and the run says so once.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string_view>
#include <vector>

#include "scanners/classifier/encoder.h"

using warden::classifier::SentenceEncoder;

namespace {

// Passages are pieces of the text, in order, apart, with no space at either end, never one alone.
void CheckPassages(std::string_view text) {
  std::vector<std::string_view> passages;
  warden::classifier::EncoderSegments(text, passages);
  if (passages.size() == 1) __builtin_trap();
  const char* end = text.data();
  for (const std::string_view p : passages) {
    if (p.empty() || p.data() < end || p.data() + p.size() > text.data() + text.size()) {
      __builtin_trap();
    }
    if (p.front() == ' ' || p.back() == ' ' || p.front() == '\n' || p.back() == '\n') {
      __builtin_trap();
    }
    end = p.data() + p.size();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  CheckPassages(text);
  static const std::unique_ptr<SentenceEncoder> encoder = [] {
    auto e = SentenceEncoder::FromTfjs(WARDEN_SOURCE_DIR "/build/encoder/dist");
    if (!e.ok()) {
      std::fprintf(stderr, "encoder_text_fuzzer: %s; nothing is fuzzed\n",
                   e.status().message().c_str());
      return std::unique_ptr<SentenceEncoder>();
    }
    return std::make_unique<SentenceEncoder>(std::move(*e));
  }();
  if (!encoder) return 0;
  const std::vector<int32_t> ids = encoder->Tokenize(text);
  if (ids.size() > SentenceEncoder::kMaxPieces) __builtin_trap();
  for (int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= encoder->pieces()) __builtin_trap();
  }
  // The transformer costs tens of milliseconds under the sanitizers even for one piece, and its
  // input is only the ids checked above; it runs for inputs ending in a newline (a fraction
  // the fuzzer finds and keeps), so the tokenizer still gets thousands of runs a second.
  if (size > 0 && data[size - 1] == '\n' && ids.size() <= 12) {
    std::vector<float> v(SentenceEncoder::kDim);
    encoder->Embed(text, v.data());
  }
  return 0;
}
