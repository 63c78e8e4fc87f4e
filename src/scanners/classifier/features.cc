#include "scanners/classifier/features.h"

namespace warden::classifier {

size_t AppendFeatureText(std::string_view text, size_t max_tokens, std::string& out) {
  size_t tokens = 0;
  bool in_word = false;
  auto start_token = [&]() {
    if (!out.empty() && out.back() != ' ') out.push_back(' ');
    ++tokens;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
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
