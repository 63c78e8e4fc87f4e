// The judge reads answers from a guard-model server: bodies of either API, then the formats'
// words, codes and probabilities. None of it may crash, hang or throw on any bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "scanners/judge/judge.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  for (warden::judge::Api api : {warden::judge::Api::kChat, warden::judge::Api::kCompletion}) {
    auto answer = warden::judge::ParseResponseBody(api, body);
    if (!answer.ok()) continue;
    (void)warden::judge::InterpretLlamaGuard(*answer);
    (void)warden::judge::InterpretShieldGemma(*answer);
  }
  // The answer text alone, as a server without JSON escapes would send it.
  (void)warden::judge::InterpretLlamaGuard({.text = std::string(body)});
  return 0;
}
