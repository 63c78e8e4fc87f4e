#include "core/hex.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace warden {
namespace {

TEST(Hex, TwoLowerCaseDigitsPerByteInOrder) {
  const uint8_t bytes[] = {0x00, 0x0f, 0xa5, 0xff, 0x10};
  EXPECT_EQ(HexOf(bytes, sizeof bytes), "000fa5ff10");
  EXPECT_EQ(HexOf(bytes, 0), "");
}

TEST(Hex, AppendsAfterWhatIsThere) {
  std::string out = "\\x";
  const char text[] = "Hi";
  AppendHex(out, text, 2);
  EXPECT_EQ(out, "\\x4869");
}

}  // namespace
}  // namespace warden
