// The deobfuscated view: leetspeak undone inside words that mix letters with leet characters,
// and runs of single letters joined ("i g n o r e"), split into words where a word list says
// the run spells several ("t h e r o o m" -> "the room").
#include <algorithm>
#include <array>
#include <cstring>

#include "text/internal.h"
#include "text/words.h"

namespace warden::text::internal {
namespace {

enum : uint8_t {
  kLetter = 1,      // ASCII letter
  kLeetDigit = 2,   // 0 1 3 4 5 7 8 9
  kLeetSymbol = 4,  // @ $ ! | +
  kOtherDigit = 8,  // 2 6
  kNonAscii = 16,   // part of a word, but never rewritten
  kSeparator = 32,  // joins spaced letters: space . - _ *
};
constexpr uint8_t kWord = kLetter | kLeetDigit | kLeetSymbol | kOtherDigit | kNonAscii;

constexpr std::array<uint8_t, 256> MakeClasses() {
  std::array<uint8_t, 256> t{};
  for (int c = 'a'; c <= 'z'; ++c) t[c] = kLetter;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = kLetter;
  for (char c : {'0', '1', '3', '4', '5', '7', '8', '9'}) t[static_cast<uint8_t>(c)] = kLeetDigit;
  for (char c : {'@', '$', '!', '|', '+'}) t[static_cast<uint8_t>(c)] = kLeetSymbol;
  t['2'] = t['6'] = kOtherDigit;
  for (int c = 0x80; c < 256; ++c) t[c] = kNonAscii;
  for (char c : {' ', '.', '-', '_', '*'}) t[static_cast<uint8_t>(c)] = kSeparator;
  return t;
}
constexpr std::array<uint8_t, 256> kClass = MakeClasses();

char Unleet(char c) {
  switch (c) {
    case '0':
      return 'o';
    case '1':
      return 'i';
    case '3':
      return 'e';
    case '4':
      return 'a';
    case '5':
      return 's';
    case '7':
      return 't';
    case '8':
      return 'b';
    case '9':
      return 'g';
    case '@':
      return 'a';
    case '$':
      return 's';
    case '!':
      return 'i';
    case '|':
      return 'l';
    case '+':
      return 't';
    default:
      return c;
  }
}

inline uint8_t ClassAt(std::string_view s, size_t i) {
  return kClass[static_cast<unsigned char>(s[i])];
}

// Edits are collected in text order; an unchanged text allocates nothing.
struct Edit {
  uint32_t pos;
  char c;  // replacement, or '\0' with erase
  bool erase;
};

// A single letter (or leet digit) standing alone: the item of a spaced-letter run.
inline bool IsItem(std::string_view s, size_t i) {
  return (ClassAt(s, i) & (kLetter | kLeetDigit)) != 0;
}
inline bool EndsWord(std::string_view s, size_t i) {
  return i >= s.size() || (ClassAt(s, i) & kWord) == 0;
}

// Tries a spaced-letter run starting at the single item s[i]; returns its end or i. Attackers
// space whole phrases letter by letter, so with a word list (`words`) a run that spells several
// words keeps a space between them.
size_t SpacedRun(std::string_view s, size_t i, const WordList* words, std::vector<Edit>& edits) {
  const size_t n = s.size();
  size_t j = i;
  int count = 1;
  int letters = (ClassAt(s, i) & kLetter) ? 1 : 0;
  const char sep = i + 1 < n ? s[i + 1] : '\0';  // one separator per run: "a-b c-d" is two
  while (j + 2 < n && s[j + 1] == sep && (ClassAt(s, j + 1) & kSeparator) && IsItem(s, j + 2) &&
         EndsWord(s, j + 3)) {
    j += 2;
    ++count;
    letters += (ClassAt(s, j) & kLetter) ? 1 : 0;
  }
  if (count < 3 || letters < 2) return i;
  thread_local std::string spelled;
  thread_local std::vector<uint32_t> word_ends;  // in items
  word_ends.clear();
  if (words != nullptr && count >= 4) {
    spelled.clear();
    for (size_t k = i; k <= j; k += 2) spelled += Unleet(s[k]);
    words->Split(spelled, word_ends);
  }
  size_t next_end = 0;
  for (size_t k = i, item = 1; k <= j; k += 2, ++item) {
    if (ClassAt(s, k) & kLeetDigit)
      edits.push_back({static_cast<uint32_t>(k), Unleet(s[k]), false});
    if (k == j) break;
    if (next_end < word_ends.size() && word_ends[next_end] == item) {
      ++next_end;
      if (sep != ' ') edits.push_back({static_cast<uint32_t>(k + 1), ' ', false});
    } else {
      edits.push_back({static_cast<uint32_t>(k + 1), '\0', true});
    }
  }
  return j + 1;
}

// Whether the word [a, b) is a number with a one- or two-letter suffix that is not leetspeak:
// an ordinal ("1st", "4th"), a unit ("4pm", "5kg") or a format ("3d", "4k", "1080p"). Other
// letters after digits are leetspeak ("4ll" -> "all").
bool IsNumberWithSuffix(std::string_view s, size_t a, size_t b) {
  size_t digits = a;
  while (digits < b && (ClassAt(s, digits) & kLeetDigit)) ++digits;
  if (digits == a || digits == b || b - digits > 2) return false;
  char l[2];
  for (size_t k = digits; k < b; ++k) {
    if ((ClassAt(s, k) & kLetter) == 0) return false;
    l[k - digits] = static_cast<char>(s[k] | 0x20);
  }
  const std::string_view w(l, b - digits);
  if (w.size() == 1) return w.find_first_of("dgkmpx") == 0;
  const char digit = s[digits - 1];
  if (w == "th") return true;
  if (w == "st") return digit == '1';
  if (w == "nd") return digit == '2';
  if (w == "rd") return digit == '3';
  static constexpr std::string_view kUnits[] = {"am", "pm", "kg", "km", "cm", "mm", "ml", "mg",
                                                "ms", "ns", "us", "gb", "mb", "kb", "tb", "hz",
                                                "px", "pt", "ft", "lb", "oz", "in"};
  return std::find(std::begin(kUnits), std::end(kUnits), w) != std::end(kUnits);
}

// Rewrites the word [a, b) when it mixes letters with leet characters. Returns whether it did.
// In a text already written in leetspeak (`dense`), one letter is enough ("1n70" -> "into",
// "m3" -> "me"); elsewhere two are needed, so that "4k", "x2" or "3d" stay as written.
bool LeetWord(std::string_view s, size_t a, size_t b, bool dense, std::vector<Edit>& edits) {
  const size_t word_end = b;
  while (b > a && (s[b - 1] == '!' || s[b - 1] == '|' || s[b - 1] == '+')) --b;  // "hi!"
  int letters = 0, leet = 0;
  bool has_at = false;
  for (size_t k = a; k < b; ++k) {
    const uint8_t c = ClassAt(s, k);
    if (c & (kOtherDigit | kNonAscii)) return false;  // "h264", mixed scripts: not leetspeak
    letters += (c & kLetter) ? 1 : 0;
    leet += (c & (kLeetDigit | kLeetSymbol)) ? 1 : 0;
    has_at |= s[k] == '@';
  }
  if (letters < (dense ? 1 : 2) || leet == 0 || IsNumberWithSuffix(s, a, b)) return false;
  // "user@example.com": an address, not "usaraexample".
  if (has_at && word_end + 1 < s.size() && s[word_end] == '.' &&
      (ClassAt(s, word_end + 1) & kLetter)) {
    return false;
  }
  for (size_t k = a; k < b; ++k) {
    if (ClassAt(s, k) & (kLeetDigit | kLeetSymbol)) {
      edits.push_back({static_cast<uint32_t>(k), Unleet(s[k]), false});
    }
  }
  return true;
}

// In a text written in leetspeak, a word of digits alone that spells one of the short words
// leetspeak turns wholly into digits ("4" a, "1" I, "70" to, "15" is): a number elsewhere.
void LeetNumber(std::string_view s, size_t a, size_t b, std::vector<Edit>& edits) {
  if (b - a > 2) return;
  char word[2] = {};
  for (size_t k = a; k < b; ++k) {
    if ((ClassAt(s, k) & kLeetDigit) == 0) return;
    word[k - a] = Unleet(s[k]);
  }
  static constexpr std::string_view kWords[] = {"a", "i", "to", "is", "it", "at", "as", "so"};
  const std::string_view w(word, b - a);
  if (std::find(std::begin(kWords), std::end(kWords), w) == std::end(kWords)) return;
  for (size_t k = a; k < b; ++k) edits.push_back({static_cast<uint32_t>(k), word[k - a], false});
}

// Collects the edits of the deobfuscated view; returns how many words were leetspeak.
int CollectEdits(std::string_view s, bool dense, const WordList* words, std::vector<Edit>& edits) {
  const size_t n = s.size();
  int leet_words = 0;
  for (size_t i = 0; i < n;) {
    if ((ClassAt(s, i) & kWord) == 0) {
      ++i;
      continue;
    }
    size_t b = i + 1;
    uint8_t classes = ClassAt(s, i);
    while (b < n && (ClassAt(s, b) & kWord)) classes |= ClassAt(s, b++);
    if (b == i + 1 && IsItem(s, i)) {
      const size_t end = SpacedRun(s, i, words, edits);
      if (end != i) {
        i = end;
        continue;
      }
    }
    if (b - i >= 2 && (classes & kLetter) && (classes & (kLeetDigit | kLeetSymbol))) {
      leet_words += LeetWord(s, i, b, dense, edits) ? 1 : 0;
    } else if (dense && (classes & kLetter) == 0) {
      LeetNumber(s, i, b, edits);
    }
    i = b;
  }
  return leet_words;
}

}  // namespace

bool BuildDeobfuscated(const View& source, const WordList* words, View& out) {
  const std::string_view s = source.orig_begin.empty() ? source.text : source.storage;
  const size_t n = s.size();
  thread_local std::vector<Edit> edits;  // reused: no allocation in the steady state
  edits.clear();
  // Two words that are plainly leetspeak make the text leetspeak: read again with the looser
  // rules, which would misread "4k" or "70" in ordinary text.
  if (CollectEdits(s, /*dense=*/false, words, edits) >= 2) {
    edits.clear();
    CollectEdits(s, /*dense=*/true, words, edits);
  }
  if (edits.empty()) return false;

  size_t erased = 0;
  for (const Edit& e : edits) erased += e.erase ? 1 : 0;
  const size_t m = n - erased;
  out.storage.resize(m);
  out.orig_begin.resize(m);
  out.orig_end.resize(m);
  char* text = out.storage.data();
  uint32_t* ob = out.orig_begin.data();
  uint32_t* oe = out.orig_end.data();
  const bool identity = source.orig_begin.empty();
  size_t next = 0, k = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[i];
    if (next < edits.size() && edits[next].pos == i) {
      const Edit& e = edits[next++];
      if (e.erase) continue;
      c = e.c;
    }
    text[k] = c;
    ob[k] = identity ? static_cast<uint32_t>(i) : source.orig_begin[i];
    oe[k] = identity ? static_cast<uint32_t>(i + 1) : source.orig_end[i];
    ++k;
  }
  return true;
}

}  // namespace warden::text::internal
