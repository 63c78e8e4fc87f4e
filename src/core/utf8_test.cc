#include "core/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace warden {
namespace {

TEST(Utf8, SequenceLengths) {
  EXPECT_EQ(Utf8SequenceLength("a", 0), 1u);
  EXPECT_EQ(Utf8SequenceLength("\xC3\xA9", 0), 2u);
  EXPECT_EQ(Utf8SequenceLength("\xE2\x80\x8B", 0), 3u);      // U+200B
  EXPECT_EQ(Utf8SequenceLength("\xF0\x9F\x98\x80", 0), 4u);  // emoji
  EXPECT_EQ(Utf8SequenceLength("\xC0\x80", 0), 0u);          // overlong NUL
  EXPECT_EQ(Utf8SequenceLength("\xE0\x80\x80", 0), 0u);      // overlong
  EXPECT_EQ(Utf8SequenceLength("\xED\xA0\x80", 0), 0u);      // surrogate
  EXPECT_EQ(Utf8SequenceLength("\xF4\x90\x80\x80", 0), 0u);  // > U+10FFFF
  EXPECT_EQ(Utf8SequenceLength("\xE2\x80", 0), 0u);          // truncated
}

TEST(Utf8, Decode) {
  std::string s = "\xE2\x80\x8B";
  EXPECT_EQ(Utf8Decode(s, 0, 3), U'\u200B');
}

TEST(Utf8, AsciiAndValidity) {
  EXPECT_TRUE(IsAscii("hello world, this is longer than eight bytes"));
  EXPECT_FALSE(IsAscii("hello world, caf\xC3\xA9"));
  EXPECT_TRUE(IsValidUtf8("caf\xC3\xA9"));
  EXPECT_FALSE(IsValidUtf8("caf\xC3"));
}

// A cut at Utf8Floor / Utf8Ceil keeps every character whole: "a€b" is 'a', three bytes of the
// euro sign, 'b'.
TEST(Utf8, FloorAndCeilNeverSplitACharacter) {
  const std::string s = "a\xE2\x82\xAC" "b";
  const size_t floors[] = {0, 1, 1, 1, 4, 5, 5};
  const size_t ceils[] = {0, 1, 4, 4, 4, 5, 5};
  for (size_t pos = 0; pos <= 6; ++pos) {
    EXPECT_EQ(Utf8Floor(s, pos), floors[pos]) << pos;
    EXPECT_EQ(Utf8Ceil(s, pos), ceils[pos]) << pos;
  }
  EXPECT_EQ(Utf8Floor("", 3), 0u);
  EXPECT_EQ(Utf8Ceil("", 0), 0u);
}

}  // namespace
}  // namespace warden
