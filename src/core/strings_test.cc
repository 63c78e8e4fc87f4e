#include "core/strings.h"

#include <gtest/gtest.h>

namespace warden {
namespace {

TEST(Strings, TrimSpaceDropsAsciiWhitespaceAtBothEnds) {
  EXPECT_EQ(TrimSpace(" \t\n\v\f\r What is the capital of Brazil? \r\n"),
            "What is the capital of Brazil?");
  EXPECT_EQ(TrimSpace("a b"), "a b");  // inner spaces stay
  EXPECT_EQ(TrimSpace(" \n "), "");
  EXPECT_EQ(TrimSpace(""), "");
  // Not whitespace: a no-break space (UTF-8 C2 A0) and other bytes stay.
  EXPECT_EQ(TrimSpace("\xC2\xA0x\x1F"), "\xC2\xA0x\x1F");
  static_assert(TrimSpace("  x ") == "x");
}

}  // namespace
}  // namespace warden
