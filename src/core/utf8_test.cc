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

}  // namespace
}  // namespace warden
