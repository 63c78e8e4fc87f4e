#include "core/suggest.h"

#include <gtest/gtest.h>

namespace warden {
namespace {

TEST(Suggest, FindsCloseNamesOnly) {
  const std::vector<std::string_view> actions = {"allow", "redact", "block", "escalate"};
  EXPECT_EQ(ClosestName("blok", actions), "block");
  EXPECT_EQ(ClosestName("emial", {"email", "phone"}), "email");  // transposition: one edit
  EXPECT_EQ(ClosestName("zzz", actions), "");
  EXPECT_EQ(DidYouMean("redcat", actions), " (did you mean \"redact\"?)");
  EXPECT_EQ(DidYouMean("nothing-like-it", actions), "");
}

}  // namespace
}  // namespace warden
