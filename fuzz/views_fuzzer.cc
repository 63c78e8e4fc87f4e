// Builds every view of arbitrary bytes and checks the offset map stays inside the original.
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "text/views.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const warden::text::ViewBuilder builder;
  std::string_view original(reinterpret_cast<const char*>(data), size);
  std::vector<warden::text::View> views;
  builder.Build(original, views);
  for (const auto& view : views) {
    if (view.text.empty()) continue;
    auto [begin, end] = view.ToOriginal(0, static_cast<uint32_t>(view.text.size()));
    if (begin > end || end > size) std::abort();
  }
  return 0;
}
