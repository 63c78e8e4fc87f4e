// Redaction: replaces the spans of findings with typed placeholders ("[EMAIL_1]").
//
//   Conversation conv;
//   RedactionResult r = Redact(text, spans, conv, /*reversible=*/true);
//   // r.text == "write to [EMAIL_1]", r.replacements == {{"[EMAIL_1]", "a@b.example"}}
//
// Thread-safety: pure function apart from the Conversation it updates (not thread-safe).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "warden/guard.h"
#include "warden/verdict.h"

namespace warden::engine {

struct RedactionSpan {
  uint32_t start = 0;
  uint32_t end = 0;
  std::string_view kind;  // placeholder kind, "EMAIL"
};

struct RedactionResult {
  std::string text;
  std::vector<Replacement> replacements;  // filled only when reversible
};

// Replaces every span of `original` with the conversation's placeholder for its value.
// Overlapping or touching spans merge into one, named by the longest span's kind.
// REQUIRES: spans lie within `original`.
RedactionResult Redact(std::string_view original, std::vector<RedactionSpan> spans,
                       Conversation& conversation, bool reversible);

}  // namespace warden::engine
