#include "core/json_writer.h"

#include <gtest/gtest.h>

namespace warden {
namespace {

std::string Str(std::string_view s) {
  std::string out;
  AppendJsonString(out, s);
  return out;
}

TEST(JsonWriter, EscapesControlAndQuotes) {
  EXPECT_EQ(Str("a\"b\\c\n\t"), R"("a\"b\\c\n\t")");
  EXPECT_EQ(Str(std::string_view("\0x", 2)), R"("\u0000x")");
  EXPECT_EQ(Str("\x1f"), R"("\u001f")");
}

TEST(JsonWriter, KeepsValidUtf8AndReplacesInvalidBytes) {
  EXPECT_EQ(Str("caf\xC3\xA9"), "\"caf\xC3\xA9\"");
  EXPECT_EQ(Str("a\xFF" "b"), "\"a\xEF\xBF\xBD" "b\"");
  EXPECT_EQ(Str("\xC3"), "\"\xEF\xBF\xBD\"");  // truncated sequence
  EXPECT_EQ(Str("\xED\xA0\x80"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");  // surrogate
}

TEST(JsonWriter, Numbers) {
  std::string out;
  AppendJsonNumber(out, 0.5);
  out.push_back(' ');
  AppendJsonNumber(out, 3.0);
  out.push_back(' ');
  AppendJsonNumber(out, 0.0000001);
  out.push_back(' ');
  AppendJsonNumber(out, 12.25);
  EXPECT_EQ(out, "0.5 3 0 12.25");
}

TEST(JsonWriter, Scores) {
  std::string out;
  AppendJsonScores(out, {});
  out.push_back(' ');
  AppendJsonScores(out, {{"jailbreak", 0.25f}, {"pii", 1.0f}});
  EXPECT_EQ(out, R"({} {"jailbreak":0.25,"pii":1})");
}

TEST(JsonWriter, StringOrNull) {
  std::string out;
  AppendJsonStringOrNull(out, "");
  out.push_back(' ');
  AppendJsonStringOrNull(out, "r1");
  EXPECT_EQ(out, R"(null "r1")");
}

}  // namespace
}  // namespace warden
