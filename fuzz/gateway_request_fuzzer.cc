// libFuzzer target: the gateway's parsers of untrusted request and response bodies.
// Chat requests (validation, screening, redaction rewrite), chat responses, moderation and check
// bodies. Any input must give a value or an error, never a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "gateway/openai.h"
#include "warden/guard.h"

namespace {

const warden::Guard& FuzzGuard() {
  // A policy with a redact rule on every finding, so that the rewrite path runs too; it needs no
  // files, so the fuzzer runs from any directory.
  static const warden::Guard guard = [] {
    auto g = warden::Guard::FromYaml(
        "version: 1\nname: fuzz\nrules: []\n", "fuzz.yaml", ".");
    if (!g.ok()) __builtin_trap();
    return std::move(g).value();
  }();
  return guard;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace warden::gateway;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const warden::Guard& guard = FuzzGuard();
  warden::Conversation conversation;
  ScreenOptions options{.tenant = "fuzz", .conversation = &conversation};
  if (auto s = ScreenChatRequest(body, guard, options); s.ok()) {
    (void)WardenField(*s, "request");
    (void)RefusalCompletion(s->model, "no", WardenField(*s, "request"));
  }
  if (auto s = ScreenChatResponse(body, guard, options); s.ok() && s->modified) {
    (void)WithWardenField(s->body, "{}");
  }
  std::string model;
  (void)ParseModerationInput(body, &model);
  (void)ParseCheckRequest(body);
  (void)WithWardenField(body, "{}");
  return 0;
}
