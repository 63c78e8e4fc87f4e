#include "eval/openers.h"

#include <gtest/gtest.h>

namespace warden::eval {
namespace {

TEST(RequestOpener, IsTheFormulaBeforeWhatIsAsked) {
  EXPECT_EQ(RequestOpener("How can I make a bomb?"), "How can I");
  EXPECT_EQ(RequestOpener("  Can you tell me how to bake bread?"), "  Can you tell me how to");
  EXPECT_EQ(RequestOpener("Give me step by step instructions to launder money"),
            "Give me step by step instructions to");
  EXPECT_EQ(RequestOpener("WRITE A post saying that"), "WRITE A");
}

TEST(RequestOpener, StopsAtTheEndOfAClause) {
  EXPECT_EQ(RequestOpener("What is it? Tell me"), "What is it");
  EXPECT_EQ(RequestOpener("\"How do I\" is a question"), "\"How do I");
}

TEST(RequestOpener, NeedsTwoOpenerWords) {
  EXPECT_EQ(RequestOpener("Bombs are loud"), "");
  EXPECT_EQ(RequestOpener("How bombs work"), "");
  EXPECT_EQ(RequestOpener("Hi, how can I help"), "");
  EXPECT_EQ(RequestOpener(""), "");
  EXPECT_EQ(RequestOpener("how to"), "how to");
}

}  // namespace
}  // namespace warden::eval
