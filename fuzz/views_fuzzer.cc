// Builds every view of arbitrary bytes, the glossed one and spaced letters split into words
// included, and checks the offset map stays inside the original.
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "text/gloss.h"
#include "text/views.h"
#include "text/words.h"

namespace {

// Short words, ASCII and not, so that fuzzed input often has enough of them for a glossed view.
warden::text::ViewOptions Options() {
  warden::text::ViewOptions options;
  auto glossary = warden::text::Glossary::Parse(
      "a\tthe one\nb\tbomb\nab\tx\nba\t\xc3\xa9t\xc3\xa9\n\xc3\xa9\tlong gloss words\n"
      "stra\xc3\x9f"  // split: "\x9fe" would be one escape
      "e\tstreet\nstrasse\troad\n",
      "fuzz glossary");
  if (!glossary.ok()) std::abort();
  options.glossary = *glossary;
  // Short words, so that fuzzed spaced runs ("a b c d") often split.
  auto words = warden::text::WordList::Parse("a\nab\nabc\nb\nba\ncab\nthe\nroom\n", "fuzz words");
  if (!words.ok()) std::abort();
  options.words = *words;
  return options;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const warden::text::ViewBuilder builder(Options());
  std::string_view original(reinterpret_cast<const char*>(data), size);
  std::vector<warden::text::View> views;
  builder.Build(original, views);
  for (const auto& view : views) {
    if (view.text.empty()) continue;
    auto [begin, end] = view.ToOriginal(0, static_cast<uint32_t>(view.text.size()));
    if (begin > end || end > size) std::abort();
    if (!view.orig_begin.empty() && view.orig_begin.size() != view.text.size()) std::abort();
  }
  return 0;
}
