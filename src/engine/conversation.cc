// Conversation's taint record (its placeholder half lives in redactor.cc).
#include <algorithm>

#include "warden/guard.h"

namespace warden {

namespace {

// Tool names come from the client or the model. Beyond these bounds a name is recorded as
// unknown (""), which taint rules treat as untrusted: the record stays small and fails closed.
constexpr size_t kMaxToolNames = 1024;
constexpr size_t kMaxToolNameBytes = 256;

}  // namespace

void Conversation::NoteToolResult(std::string_view tool_name) {
  if (tool_name.size() > kMaxToolNameBytes ||
      (tool_results_.size() >= kMaxToolNames && !SawToolResult(tool_name))) {
    tool_name = {};
  }
  if (SawToolResult(tool_name)) return;
  tool_results_.emplace_back(tool_name);
}

bool Conversation::SawToolResult(std::string_view tool_name) const {
  return std::find(tool_results_.begin(), tool_results_.end(), tool_name) != tool_results_.end();
}

}  // namespace warden
