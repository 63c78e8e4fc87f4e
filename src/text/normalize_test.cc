#include <gtest/gtest.h>

#include "text/internal.h"

namespace warden::text::internal {
namespace {

TEST(Normalize, ComposesFoldsAndMapsSegments) {
  IcuTools icu;
  ASSERT_NE(icu.nfkc_cf, nullptr);
  View out;
  const std::string s = "E\xCC\x81\xEF\xBC\xA1\xE2\x80\xAE!";  // E + U+0301, fullwidth A, RLO
  BuildNormalized(icu, s, out);
  EXPECT_EQ(out.storage,
            "\xC3\xA9"
            "a!");
  ASSERT_EQ(out.orig_begin.size(), 4u);
  EXPECT_EQ(out.ToOriginal(0, 2), std::make_pair(0u, 3u));  // é <- "E\u0301"
  EXPECT_EQ(out.ToOriginal(2, 3), std::make_pair(3u, 6u));  // a <- fullwidth A
  EXPECT_EQ(out.ToOriginal(3, 4), std::make_pair(9u, 10u));
}

TEST(Skeleton, FoldsCyrillicOnly) {
  IcuTools icu;
  View norm;
  BuildNormalized(icu, "ign\xD0\xBEre", norm);
  View out;
  ASSERT_TRUE(BuildSkeleton(icu, norm, out));
  EXPECT_EQ(out.storage, "ignore");
}

}  // namespace
}  // namespace warden::text::internal
