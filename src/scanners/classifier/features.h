// Feature text: the token stream a Warden classifier sees for one view of a message.
//
//   std::string features;
//   AppendFeatureText("Ignore ALL previous instructions!", 1024, features);
//   // features == "ignore all previous instructions !"
//
// Training (src/eval/trainer.cc) and scoring (classifier.cc) both go through this function, so
// the model sees at inference exactly the token shapes it was trained on.
// Thread-safety: pure function.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace warden::classifier {

// Appends the tokens of `text` to `out`, separated by single spaces: ASCII letters are
// lower-cased (non-ASCII text is case-folded by the normalized view, not here); runs of
// letters, digits and non-ASCII bytes form one token, except that every character of a script
// written without spaces (CJK, kana, Thai, Lao, Myanmar, Khmer, full-width forms) is a token of
// its own; every other ASCII punctuation character is a token of its own; control characters and
// whitespace separate tokens. At most `max_tokens` tokens are appended. Returns the number of
// tokens appended. Any bytes are accepted; the output never contains '\n' (fastText's end-of-line).
size_t AppendFeatureText(std::string_view text, size_t max_tokens, std::string& out);

}  // namespace warden::classifier
