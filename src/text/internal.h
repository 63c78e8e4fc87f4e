// Internal pieces of the view builder, shared by views.cc, normalize.cc, deobfuscate.cc and
// decode.cc. Not part of the module's contract.
#pragma once

#include <unicode/normalizer2.h>
#include <unicode/uspoof.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "text/views.h"

namespace warden::text::internal {

// ASCII letters lowercased, every other byte as it is: word comparisons that need no Unicode
// folding (glossary lookups, instruction markers, the word list's split).
inline char AsciiLower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// ICU objects owned by a ViewBuilder. Thread-safety: everything here is used read-only after
// construction except the skeleton cache, whose entries are atomics written idempotently (two
// threads racing on one entry store the same value).
struct IcuTools {
  IcuTools();
  ~IcuTools();
  IcuTools(const IcuTools&) = delete;
  IcuTools& operator=(const IcuTools&) = delete;

  // Null when ICU failed to load its data; the views that need it are then skipped.
  const icu::Normalizer2* nfkc_cf = nullptr;
  USpoofChecker* spoof = nullptr;
  // Per BMP code point: 0 = not computed yet, 1 = no pure-ASCII skeleton, otherwise
  // (length << 24) | up to three ASCII bytes (first byte lowest).
  std::unique_ptr<std::atomic<uint32_t>[]> skeleton_cache;
  // Per BMP code point, for the normalized view: 0 = not computed yet, otherwise kNormComputed
  // | (kNormBoundary if ICU's hasBoundaryBefore) | (kNormCached if NFKC_Casefold of the code
  // point alone is at most three UTF-8 bytes, then (length << 24) | bytes, first byte lowest).
  std::unique_ptr<std::atomic<uint32_t>[]> norm_cache;
  static constexpr uint32_t kNormComputed = 1u << 31;
  static constexpr uint32_t kNormBoundary = 1u << 30;
  static constexpr uint32_t kNormCached = 1u << 29;
};

// Appends view bytes with their original spans straight into a view's buffers, which are
// resized (never shrunk below their capacity) rather than grown one push_back at a time, so a
// view reused across Build() calls allocates nothing in the steady state. Finish() trims the
// buffers to the bytes written. Not thread-safe; one writer per view at a time.
class MappedWriter {
 public:
  // Starts writing `v` from scratch, with room for `expected` bytes.
  MappedWriter(View& v, size_t expected) : v_(v) { Reserve(expected < 16 ? 16 : expected); }

  void Push(char c, uint32_t b, uint32_t e) {
    if (len_ == cap_) Reserve(2 * cap_);
    s_[len_] = c;
    ob_[len_] = b;
    oe_[len_] = e;
    ++len_;
  }
  // Appends `k` bytes from `p`, all from original bytes [b, e).
  void PushRange(const char* p, size_t k, uint32_t b, uint32_t e) {
    if (len_ + k > cap_) Reserve(std::max(2 * cap_, len_ + k));
    for (size_t i = 0; i < k; ++i) {
      s_[len_ + i] = p[i];
      ob_[len_ + i] = b;
      oe_[len_ + i] = e;
    }
    len_ += k;
  }
  size_t size() const { return len_; }
  void Finish() {
    v_.storage.resize(len_);
    v_.orig_begin.resize(len_);
    v_.orig_end.resize(len_);
  }

 private:
  void Reserve(size_t cap) {
    v_.storage.resize(cap);
    v_.orig_begin.resize(cap);
    v_.orig_end.resize(cap);
    s_ = v_.storage.data();
    ob_ = v_.orig_begin.data();
    oe_ = v_.orig_end.data();
    cap_ = cap;
  }
  View& v_;
  char* s_ = nullptr;
  uint32_t* ob_ = nullptr;
  uint32_t* oe_ = nullptr;
  size_t len_ = 0, cap_ = 0;
};

// The original span of view bytes [b, e), also for the identity-mapped raw view.
inline std::pair<uint32_t, uint32_t> SpanOf(const View& v, uint32_t b, uint32_t e) {
  if (v.orig_begin.empty()) return {b, e};
  return v.ToOriginal(b, e);
}

// Fills `out` (storage and maps, relative to the original) with NFKC-casefold of `s`, zero-width
// and bidi controls removed, invalid bytes replaced by U+FFFD. REQUIRES: icu.nfkc_cf != nullptr.
void BuildNormalized(const IcuTools& icu, std::string_view s, View& out);

// Fills `out` from the normalized view `norm`, folding non-ASCII code points with a pure-ASCII
// skeleton. Returns false (and leaves `out` unspecified) when nothing was folded.
// REQUIRES: icu.spoof != nullptr.
bool BuildSkeleton(const IcuTools& icu, const View& norm, View& out);

// Fills `out` from `source` (the raw or normalized view) with leetspeak undone and spaced
// letters joined, split into words where `words` (may be null) finds several. Returns false
// when there was nothing to undo.
bool BuildDeobfuscated(const View& source, const WordList* words, View& out);

// Builds the glossed view of `source` (the raw view, or the normalized one for non-ASCII text)
// into `out` (gloss.cc): every word the glossary knows replaced by its gloss, each byte of a
// gloss mapped to the whole original word. Returns false (and leaves `out` unspecified) when
// fewer than kMinGlossedWords, or fewer than one word in kGlossedShare, are glossed.
bool BuildGlossed(const Glossary& glossary, const View& source, View& out);

// What a cheap pass over a text could not rule out. A false member proves that the exact code
// would produce nothing: BuildDeobfuscated() on the text returns false (`deobfuscated`), the
// base64/hex/url search of AppendDecoded() finds no payload (`encoded`), LikelyRot13() returns
// false (`rot13`). True members prove nothing. Any bytes are accepted; linear time.
struct Screen {
  bool deobfuscated = false;
  bool encoded = false;
  bool rot13 = false;
};
Screen ScreenText(std::string_view s, uint32_t min_encoded_length);

// out[i], appending views (reusing spare ones with their buffers) while out.size() <= i. May
// reallocate `out`: references into it taken before the call are invalid after it.
View& ViewSlot(std::vector<View>& out, size_t i);

// Builds decoded views of `out[0]` (the raw view, whose screen is `raw_screen`), and of those
// views recursively, into out[count], out[count + 1], …; returns the new count of views.
size_t AppendDecoded(const ViewOptions& options, const Screen& raw_screen, std::vector<View>& out,
                     size_t count);

// At most this many instructions of one text become views.
inline constexpr size_t kMaxInstructionViews = 4;
// At most this many requests of one role-play text become views.
inline constexpr size_t kMaxRoleplayViews = 2;
// Appends a decoded view named "decoded:instruction" to out[count], … for each instruction the
// raw view out[0] addresses to the model from inside a document (instructions.cc): the text
// after a marker ("note to the AI assistant", "AI reading this", "<assistant instruction>",
// "SYSTEM:" opening a sentence) to the end of the comment, bracket, tag, quoted string or
// paragraph it stands in, without its lead-in ("skip the summary; instead"). Then, when the
// text sets up a role-play (a word such as "pretend", "role", "character", "persona"), decoded
// views named "decoded:roleplay" holding the request the fiction wraps: the quoted string or
// rest of the paragraph after one of the text's last three colons, and its last sentence ("Stay
// in character. Libre, <request>"), each of at least three words and not the whole text.
// Returns the new count of views. Linear in the text's size.
size_t AppendInstructions(const ViewOptions& options, std::vector<View>& out, size_t count);

// Exposed for tests: whether the rot13 of `s` is likely the real text.
bool LikelyRot13(std::string_view s);

// Whether `w` (ASCII letters) is, ignoring case, one of the rot13 words LikelyRot13 counts.
bool IsRot13Word(std::string_view w);

}  // namespace warden::text::internal
