// The normalized and skeleton views.
#include <unicode/unistr.h>

#include <string>

#include "core/utf8.h"
#include "text/internal.h"

namespace warden::text::internal {
namespace {

// Longest run of code points normalised together. Canonical reordering inside one ICU call is
// not linear in the run length, so a pathological run of combining marks is cut into pieces;
// only such runs can normalise differently from NFKC over the whole text.
constexpr int kMaxSegmentCodePoints = 32;

// Invisible characters used to split words ("ig\u200Bnore"); removed even where NFKC_Casefold
// would keep them, and removed before ICU so that they never glue a segment together.
bool IsInvisible(char32_t c) {
  return (c >= 0x200B && c <= 0x200F) || (c >= 0x2060 && c <= 0x2064) || c == 0xFEFF ||
         c == 0x00AD || c == 0x180E || (c >= 0xFE00 && c <= 0xFE0F) ||
         (c >= 0xE0100 && c <= 0xE01EF) || (c >= 0x202A && c <= 0x202E) ||
         (c >= 0x2066 && c <= 0x2069) || c == 0x061C;
}

void PushRange(MappedWriter& w, std::string_view bytes, uint32_t b, uint32_t e) {
  w.PushRange(bytes.data(), bytes.size(), b, e);
}

// The normalisation facts about one code point that BuildNormalized needs; see
// IcuTools::norm_cache.
uint32_t ComputeNorm(const icu::Normalizer2& nfkc, char32_t c) {
  uint32_t v = IcuTools::kNormComputed;
  if (nfkc.hasBoundaryBefore(static_cast<UChar32>(c))) v |= IcuTools::kNormBoundary;
  std::string utf8;
  if (nfkc.isInert(static_cast<UChar32>(c))) {
    icu::UnicodeString(static_cast<UChar32>(c)).toUTF8String(utf8);
  } else {
    UErrorCode status = U_ZERO_ERROR;
    const icu::UnicodeString dst =
        nfkc.normalize(icu::UnicodeString(static_cast<UChar32>(c)), status);
    if (U_FAILURE(status)) return v;
    dst.toUTF8String(utf8);
  }
  if (utf8.size() > 3) return v;
  v |= IcuTools::kNormCached | static_cast<uint32_t>(utf8.size()) << 24;
  for (size_t i = 0; i < utf8.size(); ++i) {
    v |= static_cast<uint32_t>(static_cast<unsigned char>(utf8[i])) << (8 * i);
  }
  return v;
}

// The cached facts for a BMP code point. REQUIRES: c < 0x10000.
uint32_t NormOf(const IcuTools& icu, char32_t c) {
  std::atomic<uint32_t>& slot = icu.norm_cache[c];
  uint32_t v = slot.load(std::memory_order_relaxed);
  if (v == 0) {
    v = ComputeNorm(*icu.nfkc_cf, c);
    slot.store(v, std::memory_order_relaxed);
  }
  return v;
}

uint32_t ComputeSkeleton(const IcuTools& icu, char32_t c) {
  UErrorCode status = U_ZERO_ERROR;
  icu::UnicodeString src(static_cast<UChar32>(c));
  icu::UnicodeString dest;
  uspoof_getSkeletonUnicodeString(icu.spoof, 0, src, dest, &status);
  if (U_FAILURE(status) || dest.length() == 0 || dest.length() > 3) return 1;
  uint32_t packed = static_cast<uint32_t>(dest.length()) << 24;
  for (int i = 0; i < dest.length(); ++i) {
    UChar u = dest.charAt(i);
    if (u >= 0x80) return 1;
    if (u >= 'A' && u <= 'Z') u = static_cast<UChar>(u - 'A' + 'a');
    packed |= static_cast<uint32_t>(u) << (8 * i);
  }
  return packed;
}

uint32_t SkeletonOf(const IcuTools& icu, char32_t c) {
  if (c >= 0x10000) return ComputeSkeleton(icu, c);  // rare: not worth caching
  std::atomic<uint32_t>& slot = icu.skeleton_cache[c];
  uint32_t v = slot.load(std::memory_order_relaxed);
  if (v == 0) {
    v = ComputeSkeleton(icu, c);
    slot.store(v, std::memory_order_relaxed);
  }
  return v;
}

}  // namespace

IcuTools::IcuTools()
    : skeleton_cache(new std::atomic<uint32_t>[0x10000]),
      norm_cache(new std::atomic<uint32_t>[0x10000]) {
  for (size_t i = 0; i < 0x10000; ++i) {
    skeleton_cache[i].store(0, std::memory_order_relaxed);
    norm_cache[i].store(0, std::memory_order_relaxed);
  }
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* n = icu::Normalizer2::getNFKCCasefoldInstance(status);
  if (U_SUCCESS(status)) nfkc_cf = n;
  status = U_ZERO_ERROR;
  USpoofChecker* s = uspoof_open(&status);
  if (U_SUCCESS(status)) {
    // The skeleton is the same for every check type; restrict to confusables only.
    uspoof_setChecks(s, USPOOF_CONFUSABLE, &status);
    if (U_SUCCESS(status)) {
      spoof = s;
    } else {
      uspoof_close(s);
    }
  }
}

IcuTools::~IcuTools() {
  if (spoof != nullptr) uspoof_close(spoof);
}

void BuildNormalized(const IcuTools& icu, std::string_view s, View& out) {
  MappedWriter w(out, s.size() + s.size() / 8 + 16);
  const icu::Normalizer2& nfkc = *icu.nfkc_cf;
  std::string utf8;  // reused across segments
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const auto c0 = static_cast<unsigned char>(s[i]);
    if (c0 < 0x80 && (i + 1 == n || static_cast<unsigned char>(s[i + 1]) < 0x80)) {
      // An ASCII byte not followed by a possible combining mark is a segment of its own, and
      // NFKC_Casefold of ASCII is ASCII lowercase.
      const char lc = (c0 >= 'A' && c0 <= 'Z') ? static_cast<char>(c0 + 32) : static_cast<char>(c0);
      w.Push(lc, static_cast<uint32_t>(i), static_cast<uint32_t>(i + 1));
      ++i;
      continue;
    }
    const size_t len = Utf8SequenceLength(s, i);
    const uint32_t b = static_cast<uint32_t>(i);
    if (len == 0) {
      PushRange(w, "\xEF\xBF\xBD", b, b + 1);
      ++i;
      continue;
    }
    const char32_t cp = c0 < 0x80 ? c0 : Utf8Decode(s, i, len);
    if (IsInvisible(cp)) {
      i += len;
      continue;
    }
    // Extend over following code points that ICU may combine with this one.
    size_t j = i + len;
    int count = 1;
    while (j < n && count < kMaxSegmentCodePoints && static_cast<unsigned char>(s[j]) >= 0x80) {
      const size_t l2 = Utf8SequenceLength(s, j);
      if (l2 == 0) break;
      const char32_t cp2 = Utf8Decode(s, j, l2);
      if (IsInvisible(cp2)) break;
      if (cp2 < 0x10000 ? (NormOf(icu, cp2) & IcuTools::kNormBoundary) != 0
                        : nfkc.hasBoundaryBefore(static_cast<UChar32>(cp2))) {
        break;
      }
      j += l2;
      ++count;
    }
    const uint32_t e = static_cast<uint32_t>(j);
    uint32_t cached = 0;
    if (count == 1 && cp < 0x80) {
      const char lc = (cp >= 'A' && cp <= 'Z') ? static_cast<char>(cp + 32) : static_cast<char>(cp);
      w.Push(lc, b, e);
    } else if (count == 1 && cp < 0x10000 &&
               ((cached = NormOf(icu, cp)) & IcuTools::kNormCached) != 0) {
      // NFKC_Casefold of the code point alone (its own bytes when ICU calls it inert).
      for (uint32_t k = 0; k < ((cached >> 24) & 3); ++k) {
        w.Push(static_cast<char>((cached >> (8 * k)) & 0xFF), b, e);
      }
    } else if (count == 1 && nfkc.isInert(cp)) {
      PushRange(w, s.substr(i, len), b, e);
    } else {
      UErrorCode status = U_ZERO_ERROR;
      const icu::UnicodeString src =
          icu::UnicodeString::fromUTF8(icu::StringPiece(s.data() + i, static_cast<int32_t>(j - i)));
      const icu::UnicodeString dst = nfkc.normalize(src, status);
      if (U_SUCCESS(status)) {
        utf8.clear();
        dst.toUTF8String(utf8);
        PushRange(w, utf8, b, e);
      } else {
        PushRange(w, s.substr(i, j - i), b, e);
      }
    }
    i = j;
  }
  w.Finish();
}

bool BuildSkeleton(const IcuTools& icu, const View& norm, View& out) {
  const std::string& s = norm.storage;
  const size_t n = s.size();
  // A skeleton has at most three bytes per code point, so at most 3/2 of the input.
  MappedWriter w(out, n + n / 2 + 1);
  bool changed = false;
  const uint32_t* ob = norm.orig_begin.data();
  const uint32_t* oe = norm.orig_end.data();
  for (size_t i = 0; i < n;) {
    const auto c0 = static_cast<unsigned char>(s[i]);
    if (c0 < 0x80) {
      w.Push(s[i], ob[i], oe[i]);
      ++i;
      continue;
    }
    size_t len = Utf8SequenceLength(s, i);
    const size_t last = i + (len == 0 ? 1 : len) - 1;
    // As norm.ToOriginal(i, i + len).
    const uint32_t b = std::min(ob[i], ob[last]);
    const uint32_t e = std::max(oe[i], oe[last]);
    if (len == 0) {  // cannot happen for ICU output, but never trust it blindly
      w.Push(s[i], b, e);
      ++i;
      continue;
    }
    const uint32_t sk = SkeletonOf(icu, Utf8Decode(s, i, len));
    if (sk == 1) {
      w.PushRange(s.data() + i, len, b, e);
    } else {
      changed = true;
      const uint32_t count = sk >> 24;
      for (uint32_t k = 0; k < count; ++k) {
        w.Push(static_cast<char>((sk >> (8 * k)) & 0xFF), b, e);
      }
    }
    i += len;
  }
  w.Finish();
  return changed;
}

}  // namespace warden::text::internal
