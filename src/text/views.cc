#include "text/views.h"

#include <algorithm>
#include <limits>

#include "core/utf8.h"
#include "text/gloss.h"
#include "text/internal.h"

namespace warden::text {

std::string_view ViewKindName(ViewKind kind) {
  switch (kind) {
    case ViewKind::kRaw:
      return "raw";
    case ViewKind::kNormalized:
      return "normalized";
    case ViewKind::kSkeleton:
      return "skeleton";
    case ViewKind::kDeobfuscated:
      return "deobfuscated";
    case ViewKind::kDecoded:
      return "decoded";
    case ViewKind::kGlossed:
      return "glossed";
  }
  return "unknown";
}

std::pair<uint32_t, uint32_t> View::ToOriginal(uint32_t begin, uint32_t end) const {
  if (orig_begin.empty()) return {begin, end};
  const uint32_t n = static_cast<uint32_t>(orig_begin.size());
  if (begin >= n) {
    // An empty span at the end of the view sits at the end of the last byte's source.
    const uint32_t at = n == 0 ? 0 : orig_end[n - 1];
    return {at, at};
  }
  if (end > n) end = n;
  if (begin >= end) return {orig_begin[begin], orig_begin[begin]};
  // Maps are monotonic, but take min/max so that a non-monotonic map still yields a covering span.
  const uint32_t b = std::min(orig_begin[begin], orig_begin[end - 1]);
  const uint32_t e = std::max(orig_end[begin], orig_end[end - 1]);
  return {b, e};
}

struct ViewBuilder::Icu : internal::IcuTools {};

ViewBuilder::ViewBuilder(const ViewOptions& options)
    : options_(options), icu_(std::make_unique<Icu>()) {}

ViewBuilder::~ViewBuilder() = default;

namespace internal {
namespace {

// Views that fell off the end of a caller's vector on this thread, kept with their buffers for
// the next Build() that needs more views.
thread_local std::vector<View> spare_views;

}  // namespace

View& ViewSlot(std::vector<View>& out, size_t i) {
  while (out.size() <= i) {
    if (spare_views.empty()) {
      out.emplace_back();
    } else {
      out.push_back(std::move(spare_views.back()));
      spare_views.pop_back();
    }
  }
  return out[i];
}

}  // namespace internal

namespace {

void Reset(View& v, ViewKind kind, std::string_view name) {
  v.kind = kind;
  v.name.assign(name);
  v.depth = 0;
}

}  // namespace

void ViewBuilder::Build(std::string_view original, std::vector<View>& out) const {
  // Views already in `out` are reused with their buffers: a steady stream of messages costs no
  // allocation. Views are built into slots out[1], out[2], … and the unwanted ones dropped.
  View& raw = internal::ViewSlot(out, 0);
  Reset(raw, ViewKind::kRaw, "raw");
  raw.text = original;
  raw.storage.clear();
  raw.orig_begin.clear();
  raw.orig_end.clear();
  size_t count = 1;
  // Offsets are 32-bit; a larger input gets only the raw view rather than wrong spans.
  if (original.size() < std::numeric_limits<uint32_t>::max()) count = BuildViews(original, out);

  for (size_t i = count; i < out.size(); ++i) internal::spare_views.push_back(std::move(out[i]));
  out.resize(count);
  // Views were moved while `out` grew, so short (SSO) storage moved too: point text last.
  for (size_t i = 1; i < out.size(); ++i) out[i].text = out[i].storage;
}

size_t ViewBuilder::BuildViews(std::string_view original, std::vector<View>& out) const {
  constexpr size_t kNone = ~size_t{0};
  const bool ascii = IsAscii(original);
  // One cheap pass over the raw text rules out the deobfuscated and decoded views of most
  // messages; see screen.cc.
  const internal::Screen screen = internal::ScreenText(original, options_.min_encoded_length);
  size_t next = 1;  // first free slot

  size_t norm = kNone;
  bool have_normalized = false;
  if (!ascii && icu_->nfkc_cf != nullptr &&
      (options_.normalized || options_.skeleton || options_.deobfuscated)) {
    norm = next++;
    View& v = internal::ViewSlot(out, norm);
    Reset(v, ViewKind::kNormalized, "normalized");
    internal::BuildNormalized(*icu_, original, v);
    have_normalized = v.storage != original;
  }
  if (options_.skeleton && icu_->spoof != nullptr && norm != kNone &&
      !out[norm].storage.empty() && !IsAscii(out[norm].storage)) {
    View& v = internal::ViewSlot(out, next);
    Reset(v, ViewKind::kSkeleton, "skeleton");
    if (internal::BuildSkeleton(*icu_, out[norm], v)) ++next;
  }
  if (options_.deobfuscated) {
    const size_t source = have_normalized ? norm : 0;
    const bool maybe =
        source == 0 ? screen.deobfuscated
                    : internal::ScreenText(out[source].storage, options_.min_encoded_length)
                          .deobfuscated;
    if (maybe) {
      View& v = internal::ViewSlot(out, next);
      Reset(v, ViewKind::kDeobfuscated, "deobfuscated");
      if (internal::BuildDeobfuscated(out[source], options_.words.get(), v)) ++next;
    }
  }
  if (options_.glossary) {
    // Glossary words are lowercase, as the normalized view folds them; ASCII text has no
    // normalized view, and BuildGlossed folds its ASCII letters itself.
    const size_t source = have_normalized ? norm : 0;
    View& v = internal::ViewSlot(out, next);
    Reset(v, ViewKind::kGlossed, "glossed");
    if (internal::BuildGlossed(*options_.glossary, out[source], v)) ++next;
  }
  if (norm != kNone && !(have_normalized && options_.normalized)) {
    // Built only as the source of the views after it: move it (and its buffers) out of the way.
    std::rotate(out.begin() + static_cast<ptrdiff_t>(norm),
                out.begin() + static_cast<ptrdiff_t>(norm) + 1,
                out.begin() + static_cast<ptrdiff_t>(next));
    --next;
  }
  if (options_.decoded) {
    next = internal::AppendDecoded(options_, screen, out, next);
    next = internal::AppendInstructions(options_, out, next);
  }
  return next;
}

}  // namespace warden::text
