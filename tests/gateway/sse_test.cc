#include "gateway/sse.h"

#include <gtest/gtest.h>

#include <vector>

namespace warden::gateway {
namespace {

std::vector<std::string> Parse(const std::vector<std::string_view>& pieces, SseParser& p) {
  std::vector<std::string> out;
  for (std::string_view piece : pieces) {
    p.Feed(piece, [&](const SseEvent& e) {
      out.push_back(e.event.empty() ? e.data : e.event + "|" + e.data);
      return true;
    });
  }
  return out;
}

TEST(SseParser, SplitAnywhereGivesSameEvents) {
  const std::string stream =
      "data: {\"a\":1}\n\n: comment\r\ndata: line1\r\ndata: line2\r\n\r\nevent: x\ndata:y\n\n"
      "data: [DONE]\n\n";
  const std::vector<std::string> expected = {"{\"a\":1}", "line1\nline2", "x|y", "[DONE]"};
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    SseParser p;
    std::string_view s(stream);
    EXPECT_EQ(Parse({s.substr(0, cut), s.substr(cut)}, p), expected) << "cut at " << cut;
  }
  SseParser bytewise;
  std::vector<std::string_view> bytes;
  for (size_t i = 0; i < stream.size(); ++i) bytes.push_back(std::string_view(stream).substr(i, 1));
  EXPECT_EQ(Parse(bytes, bytewise), expected);
}

TEST(SseParser, OverlongEventFails) {
  SseParser p(16);
  EXPECT_TRUE(Parse({"data: 0123456789abcdef0123"}, p).empty());
  EXPECT_TRUE(p.failed());
}

TEST(SseParser, StopsWhenCallbackSaysSo) {
  SseParser p;
  int n = 0;
  EXPECT_FALSE(p.Feed("data: a\n\ndata: b\n\n", [&](const SseEvent&) { return ++n < 1; }));
  EXPECT_EQ(n, 1);
}

TEST(SseParser, PartialAtEnd) {
  SseParser p;
  Parse({"data: a\n\ndata: b"}, p);
  EXPECT_TRUE(p.has_partial());
}

}  // namespace
}  // namespace warden::gateway
