// Views: the same text in several forms, so an attack hidden in one form is seen in another.
//
//   warden::text::ViewBuilder builder(options);
//   std::vector<warden::text::View> views;
//   builder.Build(original, views);          // views[0] is always the raw view
//   auto [begin, end] = views[i].ToOriginal(match_begin, match_end);
//
// Views (see DESIGN.md):
//   raw           the original bytes, unchanged (may be invalid UTF-8)
//   normalized    NFKC + case-fold, zero-width and bidi controls removed
//   skeleton      `normalized`, then every non-ASCII character that ICU's spoof checker maps to
//                 an ASCII skeleton is replaced by it (Cyrillic "о" -> "o"); ASCII is left alone,
//                 so ordinary lowercase patterns still match
//   deobfuscated  leetspeak digits and symbols mapped to letters ("1gn0r3" -> "ignore"), letters
//                 separated by spaces, dots or dashes joined ("i g n o r e" -> "ignore"); in a
//                 text with two or more leetspeak words also "7o", "m3" and digit words that
//                 spell "a", "I", "to", "is", "it", "at", "as" or "so" ("4", "70")
//   decoded       a base64, hex, URL-encoded or rot13 payload found inside the text, decoded;
//                 decoded payloads are decoded again up to `max_decode_depth`; also
//                 ("decoded:instruction") an instruction the text addresses to the model from
//                 inside a document ("<!-- note to the AI assistant: … -->"), cut out
//   glossed       with a glossary (gloss.h): a text in German, Spanish or French read word by
//                 word in English ("wie baue ich eine Bombe" -> "how build i a bomb"); built
//                 only when enough of the text's words are glossed
//
// Every view byte maps back to a byte range of the original text, so a finding in any view
// reports its span in the original.
//
// Thread-safety: ViewBuilder is immutable after construction and safe to share between threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace warden::text {

class Glossary;
class WordList;

enum class ViewKind : uint8_t {
  kRaw = 0,
  kNormalized = 1,
  kSkeleton = 2,
  kDeobfuscated = 3,
  kDecoded = 4,
  kGlossed = 5,
};
inline constexpr int kViewKindCount = 6;

// "raw", "normalized", "skeleton", "deobfuscated", "decoded", "glossed".
std::string_view ViewKindName(ViewKind kind);

// The name of the decoded views that hold an instruction a text addresses to the model.
inline constexpr std::string_view kInstructionViewName = "decoded:instruction";
// The name of the decoded views that hold the request a role-play wraps.
inline constexpr std::string_view kRoleplayViewName = "decoded:roleplay";

struct View {
  ViewKind kind = ViewKind::kRaw;
  // "raw", "normalized", …, and for decoded views "decoded:base64", "decoded:hex",
  // "decoded:url", "decoded:rot13" (nested: "decoded:base64>hex"), "decoded:instruction",
  // "decoded:roleplay".
  std::string name;
  // The view's text. For the raw view it points at the caller's original; otherwise at `storage`.
  std::string_view text;
  std::string storage;
  // For every byte i of `text`: the original bytes it came from are
  // [orig_begin[i], orig_end[i]). Empty vectors mean the identity map (raw view).
  std::vector<uint32_t> orig_begin;
  std::vector<uint32_t> orig_end;
  uint8_t depth = 0;  // decoding depth, 0 for non-decoded views

  // Maps the view span [begin, end) to a span of the original text.
  // REQUIRES: begin <= end <= text.size(). An empty span maps to an empty span.
  std::pair<uint32_t, uint32_t> ToOriginal(uint32_t begin, uint32_t end) const;

  // Whether the view is a part cut out of the text (an instruction, a role-play's request)
  // rather than the whole text with some obfuscation undone: a label of the text need not
  // hold for it.
  bool IsCutOut() const { return name == kInstructionViewName || name == kRoleplayViewName; }
};

struct ViewOptions {
  bool normalized = true;
  bool skeleton = true;
  bool deobfuscated = true;
  bool decoded = true;
  uint32_t max_decode_depth = 3;          // nested payloads decoded at most this deep
  uint32_t max_decoded_bytes = 1u << 20;  // total bytes of decoded views per Build()
  uint32_t min_encoded_length = 16;       // shorter base64/hex runs are not decoded
  // Null: no glossed view. Shared, read-only: the policy loads it once (`views.gloss`).
  std::shared_ptr<const Glossary> glossary;
  // Null: spaced-letter runs are joined into one word. Shared, read-only (`views.words`).
  std::shared_ptr<const WordList> words;
};

class ViewBuilder {
 public:
  explicit ViewBuilder(const ViewOptions& options = {});
  ~ViewBuilder();
  ViewBuilder(const ViewBuilder&) = delete;
  ViewBuilder& operator=(const ViewBuilder&) = delete;

  // Fills `out` (its previous contents replaced) with the views of `original`: the raw view first, then only the
  // views that differ from the raw one in a way patterns can see (fast paths: pure ASCII text
  // needs no normalized or skeleton view, since patterns are matched caseless; text without
  // leetspeak or spaced letters needs no deobfuscated view; text without an encoded run needs no
  // decoded view). `original` must outlive `out`.
  // Time and memory are linear in original.size(); any bytes are accepted. The View objects
  // already in `out` are reused with their buffers, so calling Build() again with the same
  // vector (e.g. a thread_local one) does not allocate in the steady state.
  void Build(std::string_view original, std::vector<View>& out) const;

  const ViewOptions& options() const { return options_; }

 private:
  // Builds the views after the raw one into out[1], …; returns the number of views.
  size_t BuildViews(std::string_view original, std::vector<View>& out) const;

  ViewOptions options_;
  struct Icu;
  std::unique_ptr<Icu> icu_;
};

}  // namespace warden::text
