#include <gtest/gtest.h>

#include "text/internal.h"

namespace warden::text::internal {
namespace {

std::string Deobfuscate(std::string_view s) {
  View raw;
  raw.text = s;
  View out;
  return BuildDeobfuscated(raw, out) ? out.storage : std::string("<unchanged>");
}

TEST(Deobfuscate, RewritesOnlyMixedWords) {
  EXPECT_EQ(Deobfuscate("p@$$w0rd"), "password");
  EXPECT_EQ(Deobfuscate("h3ll0 w0rld!"), "hello world!");
  EXPECT_EQ(Deobfuscate("in 2024 pay $5 to a@b.com on the 21st"), "<unchanged>");
  EXPECT_EQ(Deobfuscate("h264 and x86"), "<unchanged>");
  EXPECT_EQ(Deobfuscate("s-y-s-t-e-m p_r_o_m_p_t"), "system prompt");
  EXPECT_EQ(Deobfuscate("a b"), "<unchanged>");
}

}  // namespace
}  // namespace warden::text::internal
