#include "scanners/classifier/features.h"

namespace warden::classifier {
namespace {

// Scripts written without spaces between words (Chinese, Japanese, Thai, Lao, Myanmar,
// Khmer) and the full-width forms around them: each such character is a token of its own,
// so word bigrams become character bigrams. Otherwise a whole sentence would be one token the
// model has never seen.
bool UnspacedScript(uint32_t cp) {
  return (cp >= 0x0E00 && cp <= 0x0EFF) ||  // Thai, Lao
         (cp >= 0x1000 && cp <= 0x109F) ||  // Myanmar
         (cp >= 0x1780 && cp <= 0x17FF) ||  // Khmer
         (cp >= 0x2E80 && cp <= 0x9FFF) ||  // CJK radicals, punctuation, kana, ideographs
         (cp >= 0xF900 && cp <= 0xFAFF) ||  // CJK compatibility ideographs
         (cp >= 0xFF00 && cp <= 0xFFEF) ||  // half- and full-width forms
         (cp >= 0x20000 && cp <= 0x3FFFF);  // CJK extensions
}

// Length and code point of the UTF-8 sequence at text[i] when it is well formed (2-4 bytes);
// 0 otherwise (a lone or invalid byte then stays part of an ordinary token).
size_t DecodeUtf8(std::string_view text, size_t i, uint32_t& cp) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(text[i + k]); };
  const unsigned char c = b(0);
  size_t n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 0;
  if (n == 0 || i + n > text.size()) return 0;
  cp = n == 2 ? c & 0x1F : n == 3 ? c & 0x0F : c & 0x07;
  for (size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(k) & 0x3F);
  }
  return n;
}

}  // namespace

size_t AppendFeatureText(std::string_view text, size_t max_tokens, std::string& out) {
  size_t tokens = 0;
  bool in_word = false;
  auto start_token = [&]() {
    if (!out.empty() && out.back() != ' ') out.push_back(' ');
    ++tokens;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0xE0) {
      uint32_t cp = 0;
      const size_t n = DecodeUtf8(text, i, cp);
      if (n > 0 && UnspacedScript(cp)) {
        if (tokens >= max_tokens) break;
        start_token();
        out.append(text.substr(i, n));
        in_word = false;
        i += n - 1;
        continue;
      }
    }
    const bool word_char = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                           (c >= '0' && c <= '9') || c >= 0x80 || c == '\'';
    if (word_char) {
      if (!in_word) {
        if (tokens >= max_tokens) break;
        start_token();
        in_word = true;
      }
      out.push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : static_cast<char>(c));
      continue;
    }
    in_word = false;
    // Whitespace and control characters only separate tokens; punctuation is a token because
    // "!!!", "::" and "{" carry signal (shouting, templates, code) for injection and abuse.
    if (c <= 0x20 || c == 0x7f) continue;
    if (tokens >= max_tokens) break;
    start_token();
    out.push_back(static_cast<char>(c));
  }
  return tokens;
}

}  // namespace warden::classifier
