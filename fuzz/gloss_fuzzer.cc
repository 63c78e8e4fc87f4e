// Parses arbitrary bytes as a glossary file: an error or a glossary, never a crash.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "text/gloss.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto glossary = warden::text::Glossary::Parse(text, "fuzz.tsv");
  if (glossary.ok() && (*glossary)->size() == 0) std::abort();  // an empty one is an error
  return 0;
}
