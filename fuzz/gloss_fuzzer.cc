// Parses arbitrary bytes as a glossary file and as a word list, and splits them with the word
// list: an error or a result, never a crash.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "text/gloss.h"
#include "text/words.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto glossary = warden::text::Glossary::Parse(text, "fuzz.tsv");
  if (glossary.ok() && (*glossary)->size() == 0) std::abort();  // an empty one is an error
  auto words = warden::text::WordList::Parse(text, "fuzz.txt");
  if (!words.ok()) return 0;
  if ((*words)->size() == 0) std::abort();
  std::string letters;
  for (char c : text) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) letters += c;
  }
  std::vector<uint32_t> ends;
  if ((*words)->Split(letters, ends)) {
    // Word ends rise strictly and the last is the end of the letters.
    for (size_t i = 0; i < ends.size(); ++i) {
      if (ends[i] == 0 || (i > 0 && ends[i] <= ends[i - 1])) std::abort();
    }
    if (ends.back() != letters.size()) std::abort();
  }
  return 0;
}
