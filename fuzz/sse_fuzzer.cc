// libFuzzer target: the SSE parser and the incremental stream screener fed by it. The first byte
// chooses where the input is split (streams arrive in arbitrary pieces) and the hold-back window.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/config.h"
#include "gateway/sse.h"
#include "gateway/stream_screen.h"
#include "warden/guard.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace warden::gateway;
  static const warden::Guard guard = [] {
    auto g = warden::Guard::FromYaml("version: 1\nname: fuzz\nrules: []\n", "fuzz.yaml", ".");
    if (!g.ok()) __builtin_trap();
    return std::move(g).value();
  }();
  if (size == 0) return 0;
  const uint8_t control = data[0];
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  StreamingConfig config;
  config.hold_back_chars = control & 0x3F;
  config.sentence_boundary = control & 0x40;
  warden::Conversation conversation;
  StreamScreener screener(guard, config, {.conversation = &conversation});
  SseParser parser(4096);
  std::string out;
  StreamScreener::Outcome outcome = StreamScreener::kContinue;
  const size_t piece = 1 + (control % 17);
  for (size_t i = 0; i < input.size() && outcome == StreamScreener::kContinue; i += piece) {
    parser.Feed(input.substr(i, piece), [&](const SseEvent& e) {
      outcome = screener.OnEvent(e.data, out);
      return outcome == StreamScreener::kContinue;
    });
  }
  if (outcome == StreamScreener::kContinue) screener.OnTruncated(out);
  return 0;
}
