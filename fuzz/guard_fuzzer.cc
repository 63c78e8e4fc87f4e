// Screens arbitrary bytes under the default policy (views, pattern scanners, rules, redaction)
// and checks every finding's span lies inside the original text.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "warden/guard.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const warden::Guard* guard = [] {
    auto g = warden::Guard::Open(WARDEN_SOURCE_DIR "/policies/default.yaml");
    if (!g.ok()) std::abort();
    return new warden::Guard(std::move(g).value());
  }();
  std::string_view text(reinterpret_cast<const char*>(data), size);
  warden::Conversation conversation;
  const warden::Verdict v =
      guard->Check({.text = text, .direction = warden::Direction::kInput},
                   {.conversation = &conversation, .reversible = true});
  for (const auto& f : v.findings) {
    if (f.start > f.end || f.end > size) std::abort();
  }
  if (v.redacted) (void)conversation.Restore(*v.redacted);
  return 0;
}
