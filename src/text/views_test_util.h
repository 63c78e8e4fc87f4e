// Test helpers shared by the text module's tests: find a view by name, and the original span of
// a piece of a view.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "text/views.h"

namespace warden::text::test_util {

inline const View* Find(const std::vector<View>& views, std::string_view name) {
  for (const View& v : views) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

// The original span of the first occurrence of `needle` in view `name`.
inline std::string OriginalOf(std::string_view original, const std::vector<View>& views,
                              std::string_view name, std::string_view needle) {
  const View* v = Find(views, name);
  if (v == nullptr) return "<no view " + std::string(name) + ">";
  const size_t at = v->text.find(needle);
  if (at == std::string_view::npos) return "<not found in " + std::string(v->text) + ">";
  const auto [b, e] =
      v->ToOriginal(static_cast<uint32_t>(at), static_cast<uint32_t>(at + needle.size()));
  return std::string(original.substr(b, e - b));
}

}  // namespace warden::text::test_util
