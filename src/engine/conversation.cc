// Conversation's taint record (its placeholder half lives in redactor.cc).
#include <algorithm>
#include <array>
#include <string>

#include "warden/guard.h"

namespace warden {

namespace {

// Tool names come from the client or the model. Beyond these bounds a name is recorded as
// unknown (""), which taint rules treat as untrusted: the record stays small and fails closed.
constexpr size_t kMaxToolNames = 1024;
constexpr size_t kMaxToolNameBytes = 256;

// Bounds of the split-payload record: names are short identifiers, values short requests.
constexpr size_t kMaxVariables = 64;
constexpr size_t kMaxNameBytes = 16;
constexpr size_t kMaxValueBytes = 4096;
// A join reads at most this many names ("A + B + …"), so "A+A+A…" cannot make a view thousands
// of values long.
constexpr size_t kMaxJoinedParts = 16;

bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }
bool IsSpace(char c) { return c == ' ' || c == '\t'; }

// The identifier that starts at s[i] (not inside a longer word), or empty.
std::string_view NameAt(std::string_view s, size_t i) {
  if (i >= s.size() || !IsNameStart(s[i]) || (i > 0 && IsNameChar(s[i - 1]))) return {};
  size_t end = i + 1;
  while (end < s.size() && IsNameChar(s[end])) ++end;
  if (end - i > kMaxNameBytes) return {};
  return s.substr(i, end - i);
}

size_t SkipSpaces(std::string_view s, size_t i) {
  while (i < s.size() && IsSpace(s[i])) ++i;
  return i;
}

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

void Conversation::NoteAssignments(std::string_view text) {
  for (size_t eq = text.find('='); eq != std::string_view::npos; eq = text.find('=', eq + 1)) {
    // NAME, spaces, '=', spaces, a quote; not "==", "<=", "!=".
    if (eq + 1 < text.size() && text[eq + 1] == '=') continue;
    size_t name_end = eq;
    while (name_end > 0 && IsSpace(text[name_end - 1])) --name_end;
    size_t name_begin = name_end;
    while (name_begin > 0 && IsNameChar(text[name_begin - 1])) --name_begin;
    const std::string_view name = NameAt(text, name_begin);
    if (name.empty() || name_begin + name.size() != name_end) continue;
    const size_t open = SkipSpaces(text, eq + 1);
    if (open >= text.size() || (text[open] != '"' && text[open] != '\'')) continue;
    const size_t close = text.find(text[open], open + 1);
    if (close == std::string_view::npos) continue;
    const std::string_view value = text.substr(open + 1, close - open - 1);
    eq = close;  // what a value holds is not read for assignments
    if (value.size() > kMaxValueBytes) continue;
    auto known = std::find_if(variables_.begin(), variables_.end(),
                              [name](const auto& v) { return v.first == name; });
    if (known != variables_.end()) {
      known->second.assign(value);
    } else if (variables_.size() < kMaxVariables) {
      variables_.emplace_back(name, value);
    }
  }
}

std::string Conversation::JoinedPayload(std::string_view text, uint32_t& begin,
                                        uint32_t& end) const {
  if (variables_.size() < 2) return {};
  auto value_of = [this](std::string_view name) -> const std::string* {
    for (const auto& [n, v] : variables_) {
      if (n == name) return &v;
    }
    return nullptr;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const std::string_view first = NameAt(text, i);
    if (first.empty()) continue;
    const std::string* value = value_of(first);
    if (value == nullptr) {
      i += first.size() - 1;
      continue;
    }
    // The values are copied only once a join is found: a known name alone is common.
    std::array<const std::string*, kMaxJoinedParts> parts = {value};
    size_t count = 1, at = i + first.size();
    while (count < kMaxJoinedParts) {
      const size_t plus = SkipSpaces(text, at);
      if (plus >= text.size() || text[plus] != '+') break;
      const size_t next = SkipSpaces(text, plus + 1);
      const std::string_view name = NameAt(text, next);
      const std::string* more = name.empty() ? nullptr : value_of(name);
      if (more == nullptr) break;
      parts[count++] = more;
      at = next + name.size();
    }
    if (count < 2) {
      i += first.size() - 1;
      continue;
    }
    std::string joined;
    for (size_t k = 0; k < count; ++k) {
      const std::string* part = parts[k];
      const bool seam = !joined.empty() && !part->empty() && !IsSpace(joined.back()) &&
                        joined.back() != '\n' && !IsSpace(part->front()) && part->front() != '\n';
      if (seam) joined.push_back(' ');
      joined += *part;
    }
    begin = static_cast<uint32_t>(i);
    end = static_cast<uint32_t>(at);
    return joined;
  }
  return {};
}

}  // namespace warden
