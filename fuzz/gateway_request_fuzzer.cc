// libFuzzer target: the gateway's parsers of untrusted request and response bodies.
// Chat requests (validation, screening, redaction rewrite), chat responses, moderation and check
// bodies; taking refused tool calls out of a response, restoring placeholders, replacing the
// model of a deferred request. Any input must give a value or an error, never a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

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
  if (auto s = ScreenChatResponse(body, guard, options); s.ok()) {
    if (s->modified) (void)WithWardenField(s->body, "{}");
    // Taking tool calls out of an upstream's response, as the gateway does for refused calls.
    std::vector<const ToolCallScreen*> all;
    for (const ToolCallScreen& tc : s->tool_calls) all.push_back(&tc);
    if (!all.empty()) (void)RemoveToolCalls(body, all, "why", "{}");
  }
  // Placeholders back into an upstream's response, and a deferred request's model replaced.
  conversation.PlaceholderFor("EMAIL", "bob@example.com");
  (void)RestorePlaceholders(body, conversation, kRestoreToolArguments | kRestoreContent);
  (void)ReplaceModel(body, "trusted-8b");
  std::string model;
  (void)ParseModerationInput(body, &model);
  (void)ParseCheckRequest(body);
  (void)WithWardenField(body, "{}");
  return 0;
}
