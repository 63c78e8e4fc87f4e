#include "text/views.h"

#include <algorithm>
#include <limits>

#include "core/utf8.h"
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

void ViewBuilder::Build(std::string_view original, std::vector<View>& out) const {
  out.clear();
  View& raw = out.emplace_back();
  raw.kind = ViewKind::kRaw;
  raw.name = "raw";
  raw.text = original;
  // Offsets are 32-bit; a larger input gets only the raw view rather than wrong spans.
  if (original.size() >= std::numeric_limits<uint32_t>::max()) return;

  View normalized;
  const View* deobf_source = &out[0];
  bool have_normalized = false;
  if (!IsAscii(original) && icu_->nfkc_cf != nullptr &&
      (options_.normalized || options_.skeleton || options_.deobfuscated)) {
    normalized.kind = ViewKind::kNormalized;
    normalized.name = "normalized";
    internal::BuildNormalized(*icu_, original, normalized);
    have_normalized = normalized.storage != original;
  }
  View skeleton;
  bool have_skeleton = false;
  if (options_.skeleton && icu_->spoof != nullptr && !normalized.storage.empty() &&
      !IsAscii(normalized.storage)) {
    skeleton.kind = ViewKind::kSkeleton;
    skeleton.name = "skeleton";
    have_skeleton = internal::BuildSkeleton(*icu_, normalized, skeleton);
  }
  View deobfuscated;
  bool have_deobfuscated = false;
  if (options_.deobfuscated) {
    if (have_normalized) deobf_source = &normalized;
    deobfuscated.kind = ViewKind::kDeobfuscated;
    deobfuscated.name = "deobfuscated";
    have_deobfuscated = internal::BuildDeobfuscated(*deobf_source, deobfuscated);
  }
  if (have_normalized && options_.normalized) out.push_back(std::move(normalized));
  if (have_skeleton) out.push_back(std::move(skeleton));
  if (have_deobfuscated) out.push_back(std::move(deobfuscated));
  if (options_.decoded) internal::AppendDecoded(options_, out);

  // Views were moved while `out` grew, so short (SSO) storage moved too: point text last.
  for (size_t i = 1; i < out.size(); ++i) out[i].text = out[i].storage;
}

}  // namespace warden::text
