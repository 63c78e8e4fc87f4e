// The sentence encoder reads message text from strangers: its tokenizer (NFKC, unigram Viterbi
// over the pieces) and the transformer must take any bytes, invalid UTF-8 included. Uses the
// published release (scripts/fetch-encoder.sh, which scripts/install-deps.sh runs); without it
// every input is a no-op and the run says so once.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string_view>
#include <vector>

#include "scanners/classifier/encoder.h"

using warden::classifier::SentenceEncoder;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
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
  const std::string_view text(reinterpret_cast<const char*>(data), size);
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
