#include "engine/redactor.h"

#include <algorithm>

namespace warden {

const std::string& Conversation::PlaceholderFor(std::string_view kind, std::string_view value) {
  std::string key;
  key.reserve(kind.size() + 1 + value.size());
  key.append(kind).push_back('\0');
  key.append(value);
  auto it = by_value_.find(key);
  if (it != by_value_.end()) return it->second;
  const int index = ++next_index_[std::string(kind)];
  std::string placeholder = "[" + std::string(kind) + "_" + std::to_string(index) + "]";
  by_placeholder_.emplace(placeholder, std::string(value));
  return by_value_.emplace(std::move(key), std::move(placeholder)).first->second;
}

std::string Conversation::Restore(std::string_view text) const {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const size_t open = text.find('[', i);
    if (open == std::string_view::npos) break;
    const size_t close = text.find(']', open + 1);
    if (close == std::string_view::npos) break;
    out.append(text.substr(i, open - i));
    auto it = by_placeholder_.find(std::string(text.substr(open, close - open + 1)));
    if (it != by_placeholder_.end()) {
      out.append(it->second);
      i = close + 1;
    } else {
      out.push_back('[');  // not ours: keep the bracket, look for a placeholder after it
      i = open + 1;
    }
  }
  out.append(text.substr(i));
  return out;
}

namespace engine {

RedactionResult Redact(std::string_view original, std::vector<RedactionSpan> spans,
                       Conversation& conversation, bool reversible) {
  std::sort(spans.begin(), spans.end(), [](const RedactionSpan& a, const RedactionSpan& b) {
    return a.start != b.start ? a.start < b.start : a.end > b.end;
  });
  // Merge overlaps so that no byte is replaced twice; the longest span names the merged one.
  std::vector<RedactionSpan> merged;
  for (const RedactionSpan& s : spans) {
    if (s.start >= s.end) continue;
    if (!merged.empty() && s.start < merged.back().end) {
      RedactionSpan& m = merged.back();
      if (s.end - s.start > m.end - m.start) m.kind = s.kind;
      m.end = std::max(m.end, s.end);
      continue;
    }
    merged.push_back(s);
  }
  RedactionResult result;
  result.text.reserve(original.size());
  uint32_t pos = 0;
  for (const RedactionSpan& s : merged) {
    result.text.append(original.substr(pos, s.start - pos));
    const std::string_view value = original.substr(s.start, s.end - s.start);
    const std::string& placeholder = conversation.PlaceholderFor(s.kind, value);
    result.text.append(placeholder);
    if (reversible) {
      const bool seen = std::any_of(result.replacements.begin(), result.replacements.end(),
                                    [&](const Replacement& r) { return r.placeholder == placeholder; });
      if (!seen) result.replacements.push_back({placeholder, std::string(value)});
    }
    pos = s.end;
  }
  result.text.append(original.substr(pos));
  return result;
}

}  // namespace engine
}  // namespace warden
