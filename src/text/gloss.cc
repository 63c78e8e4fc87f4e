#include "text/gloss.h"

#include <unicode/uchar.h>

#include <cstdint>
#include <vector>

#include "core/gzip_file.h"
#include "core/utf8.h"
#include "text/internal.h"
#include "text/views.h"

namespace warden::text {
namespace {

// The length of the letter at text[i] (an ASCII letter, or a non-ASCII code point ICU calls
// alphabetic or a combining mark), or 0 when text[i] starts no letter: apostrophes split ("l'arme"
// looks up "arme") and so do "¿", "«" and "’".
size_t LetterLength(std::string_view text, size_t i) {
  const unsigned char c = static_cast<unsigned char>(text[i]);
  if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ? 1 : 0;
  const size_t length = Utf8SequenceLength(text, i);
  if (length == 0) return 0;
  const UChar32 cp = static_cast<UChar32>(Utf8Decode(text, i, length));
  return u_isalpha(cp) || (U_GET_GC_MASK(cp) & U_GC_M_MASK) ? length : 0;
}

// The end of the word that starts at text[i] (a letter).
size_t WordEnd(std::string_view text, size_t i) {
  for (size_t n; i < text.size() && (n = LetterLength(text, i)) > 0;) i += n;
  return i;
}

Status LineError(std::string_view name, size_t line, std::string_view what) {
  return DataLossError(std::string(name) + ":" + std::to_string(line) + ": " + std::string(what));
}

constexpr uint64_t kBloomBits = uint64_t{1} << 21;

// A blocked Bloom filter: a word's two bits lie in one 64-bit word, so a lookup reads one
// cache line.
size_t BloomWord(uint64_t h) { return (h >> 12) & (kBloomBits / 64 - 1); }
uint64_t BloomBits(uint64_t h) {
  return (uint64_t{1} << (h & 63)) | (uint64_t{1} << ((h >> 6) & 63));
}

// FNV-1a over the word's bytes, ASCII letters lowercased: a text's words are hashed as they
// stand, without a lowercase copy.
uint64_t HashFolded(std::string_view word) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (char c : word) {
    h ^= static_cast<unsigned char>(internal::AsciiLower(c));
    h *= 0x100000001b3ull;
  }
  return h ^ (h >> 29);
}

bool EqualsFolded(std::string_view lowercase, std::string_view word) {
  if (lowercase.size() != word.size()) return false;
  for (size_t i = 0; i < word.size(); ++i) {
    if (lowercase[i] != internal::AsciiLower(word[i])) return false;
  }
  return true;
}

}  // namespace

StatusOr<std::shared_ptr<const Glossary>> Glossary::Load(const std::string& path) {
  std::string text;
  if (Status s = ReadMaybeGzipped(path, text); !s.ok()) {
    if (s.code() != StatusCode::kNotFound) return s;
    return NotFoundError(path + ": cannot open the glossary (build it with `warden gloss`)");
  }
  return ParseOwned(std::move(text), path);
}

StatusOr<std::shared_ptr<const Glossary>> Glossary::Parse(std::string_view text,
                                                          std::string_view name) {
  return ParseOwned(std::string(text), name);
}

StatusOr<std::shared_ptr<const Glossary>> Glossary::ParseOwned(std::string owned,
                                                               std::string_view name) {
  auto glossary = std::make_shared<Glossary>();
  glossary->text_ = std::move(owned);
  std::string_view text = glossary->text_;
  std::vector<size_t> lines;  // each entry's line, for the duplicate error
  size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    if (!IsValidUtf8(line)) return LineError(name, line_number, "not valid UTF-8");
    const size_t tab = line.find('\t');
    if (tab == std::string_view::npos || tab == 0 || tab + 1 == line.size() ||
        line.find('\t', tab + 1) != std::string_view::npos) {
      return LineError(name, line_number, "expected `word<TAB>gloss`");
    }
    const std::string_view word = line.substr(0, tab);
    if (!IsGlossWord(word)) {
      return LineError(
          name, line_number,
          "the word \"" + std::string(word) + "\" must be one lowercase word (letters only)");
    }
    glossary->entries_.push_back({word, line.substr(tab + 1)});
    lines.push_back(line_number);
  }
  const size_t n = glossary->entries_.size();
  if (n == 0) return DataLossError(std::string(name) + ": the glossary has no entries");
  if (n >= (size_t{1} << 30)) return DataLossError(std::string(name) + ": too many entries");

  size_t capacity = 16;
  while (capacity < 2 * n) capacity *= 2;
  glossary->slots_.assign(capacity, 0);
  glossary->bloom_.assign(kBloomBits / 64, 0);
  for (size_t i = 0; i < n; ++i) {
    const std::string_view word = glossary->entries_[i].word;
    const uint64_t h = HashFolded(word);
    for (size_t at = h & (capacity - 1);; at = (at + 1) & (capacity - 1)) {
      uint32_t& slot = glossary->slots_[at];
      if (slot == 0) {
        slot = static_cast<uint32_t>(i + 1);
        break;
      }
      if (glossary->entries_[slot - 1].word == word) {
        return LineError(name, lines[i],
                         "\"" + std::string(word) + "\" is glossed twice (first on line " +
                             std::to_string(lines[slot - 1]) + ")");
      }
    }
    glossary->bloom_[BloomWord(h)] |= BloomBits(h);
  }
  return std::shared_ptr<const Glossary>(std::move(glossary));
}

std::string_view Glossary::Find(std::string_view word) const {
  const uint64_t h = HashFolded(word);
  const uint64_t bits = BloomBits(h);
  if ((bloom_[BloomWord(h)] & bits) != bits) return {};
  const size_t mask = slots_.size() - 1;
  for (size_t at = h & mask;; at = (at + 1) & mask) {
    const uint32_t slot = slots_[at];
    if (slot == 0) return {};
    if (EqualsFolded(entries_[slot - 1].word, word)) return entries_[slot - 1].gloss;
  }
}

bool IsGlossWord(std::string_view word) {
  if (word.empty() || WordEnd(word, 0) != word.size()) return false;
  for (char c : word) {
    if (c >= 'A' && c <= 'Z') return false;
  }
  return true;
}

namespace internal {

bool BuildGlossed(const Glossary& glossary, const View& source, View& out) {
  const std::string_view s = source.orig_begin.empty() ? source.text : source.storage;
  // One pass finds the words and their glosses; the view is written only when enough of the
  // text is in a glossed language, which for English text (the common case) it never is.
  struct Hit {
    size_t begin, end;
    std::string_view gloss;
  };
  thread_local std::vector<Hit> hits;
  hits.clear();
  size_t words = 0;
  for (size_t i = 0; i < s.size();) {
    if (LetterLength(s, i) == 0) {
      ++i;
      continue;
    }
    const size_t j = WordEnd(s, i);
    ++words;
    const std::string_view word = s.substr(i, j - i);
    std::string_view gloss = glossary.Find(word);
    // Dictionaries list nouns in the singular: Spanish and French plurals end in -s or -es
    // ("armas", "drogues"). An English plural is never glossed this way, since its singular,
    // an English word, is not in the glossary.
    for (size_t strip = 1; gloss.empty() && strip <= 2 && word.size() > strip + 2; ++strip) {
      if (internal::AsciiLower(word.back()) != 's' ||
          (strip == 2 && internal::AsciiLower(word[word.size() - 2]) != 'e'))
        break;
      gloss = glossary.Find(word.substr(0, word.size() - strip));
    }
    if (!gloss.empty()) hits.push_back({i, j, gloss});
    i = j;
  }
  if (hits.size() < kMinGlossedWords || hits.size() * kGlossedShare < words) return false;

  MappedWriter w(out, s.size());
  auto copy = [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      const auto [b, e] = SpanOf(source, static_cast<uint32_t>(i), static_cast<uint32_t>(i + 1));
      w.Push(s[i], b, e);
    }
  };
  size_t at = 0;
  for (const Hit& hit : hits) {
    copy(at, hit.begin);
    const auto [b, e] =
        SpanOf(source, static_cast<uint32_t>(hit.begin), static_cast<uint32_t>(hit.end));
    w.PushRange(hit.gloss.data(), hit.gloss.size(), b, e);
    at = hit.end;
  }
  copy(at, s.size());
  w.Finish();
  return true;
}

}  // namespace internal
}  // namespace warden::text
