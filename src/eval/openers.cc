#include "eval/openers.h"

#include <algorithm>
#include <array>
#include <string>

#include "core/strings.h"

namespace warden::eval {
namespace {

// Sorted, lower-case: the words a request's formula is made of, and none that says what is
// asked for (no "make", "kill", "hack", "money"…).
constexpr std::array<std::string_view, 84> kOpenerWords = {
    "a",      "about",    "an",           "any",     "are",      "be",       "best",  "by",
    "can",    "compose",  "could",        "create",  "describe", "detailed", "did",   "do",
    "does",   "draft",    "easiest",      "explain", "for",      "generate", "get",   "give",
    "guide",  "help",     "hey",          "hi",      "how",      "i",        "i'd",   "i'm",
    "im",     "in",       "instructions", "is",      "it",       "kindly",   "know",  "let's",
    "lets",   "like",     "list",         "me",      "my",       "need",     "of",    "on",
    "please", "possible", "provide",      "should",  "show",     "some",     "step",  "suggest",
    "teach",  "tell",     "the",          "there",   "tips",     "to",       "us",    "want",
    "was",    "way",      "ways",         "we",      "what",     "what's",   "whats", "when",
    "where",  "which",    "who",          "why",     "will",     "would",    "write", "you",
    "you're", "your",     "steps",        "simple",
};

bool IsOpenerWord(std::string_view word) {
  static const std::array<std::string_view, kOpenerWords.size()> sorted = [] {
    auto words = kOpenerWords;
    std::sort(words.begin(), words.end());
    return words;
  }();
  return std::binary_search(sorted.begin(), sorted.end(), word);
}

bool IsQuote(char c) { return c == '"' || c == '\'' || c == '(' || c == ')'; }
bool EndsClause(char c) {
  return c == ',' || c == '.' || c == '?' || c == '!' || c == ':' || c == ';';
}

}  // namespace

std::string_view RequestOpener(std::string_view text) {
  size_t i = 0;
  size_t opener_end = 0;  // end of the last opener word taken, punctuation excluded
  int words = 0;
  std::string lower;
  while (true) {
    while (i < text.size() && IsAsciiSpace(text[i])) ++i;
    if (i == text.size()) break;
    size_t end = i;
    while (end < text.size() && !IsAsciiSpace(text[end])) ++end;
    // The word without the quotes and punctuation around it.
    size_t b = i;
    size_t e = end;
    while (b < e && IsQuote(text[b])) ++b;
    bool clause_ends = false;
    while (e > b && (IsQuote(text[e - 1]) || EndsClause(text[e - 1]))) {
      clause_ends = clause_ends || EndsClause(text[e - 1]) || text[e - 1] == '"';
      --e;
    }
    if (b == e) break;
    lower.assign(text.substr(b, e - b));
    for (char& c : lower) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    if (!IsOpenerWord(lower)) break;
    ++words;
    opener_end = e;
    i = end;
    if (clause_ends) break;
  }
  return words >= 2 ? text.substr(0, opener_end) : std::string_view();
}

}  // namespace warden::eval
