// Internal pieces of the view builder, shared by views.cc, normalize.cc, deobfuscate.cc and
// decode.cc. Not part of the module's contract.
#pragma once

#include <unicode/normalizer2.h>
#include <unicode/uspoof.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "text/views.h"

namespace warden::text::internal {

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
};

// Appends one view byte that came from original bytes [b, e).
inline void PushMapped(View& v, char c, uint32_t b, uint32_t e) {
  v.storage.push_back(c);
  v.orig_begin.push_back(b);
  v.orig_end.push_back(e);
}

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
// letters joined. Returns false when there was nothing to undo.
bool BuildDeobfuscated(const View& source, View& out);

// Appends decoded views of `out[0]` (the raw view), and of those views recursively, to `out`.
void AppendDecoded(const ViewOptions& options, std::vector<View>& out);

// Exposed for tests: whether the rot13 of `s` is likely the real text.
bool LikelyRot13(std::string_view s);

}  // namespace warden::text::internal
