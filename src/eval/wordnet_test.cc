#include "eval/wordnet.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/support/temp_dir.h"

namespace warden::eval {
namespace {

using testing::TempDir;

// A three-synset WordNet in WordNet's own file format: "bomb" with hypernym "explosive device"
// and hyponym "pipe bomb"; "can" is a stop word.
class WordNetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Byte offsets of the data lines, which index files and pointers refer to.
    const std::string header = "  1 This software and database is being provided\n";
    const std::string l1 =
        "00000000 06 n 02 bomb 0 fire_bomb 0 002 @ OFF2____ n 0000 ~ OFF3____ n 0000 | a weapon\n";
    std::string data = header;
    const size_t o1 = data.size();
    auto pad = [](size_t v) {
      char b[9];
      std::snprintf(b, sizeof b, "%08zu", v);
      return std::string(b);
    };
    const size_t o2 = o1 + l1.size();
    const std::string l2 = pad(o2) + " 06 n 01 explosive_device 0 000 | a device\n";
    const size_t o3 = o2 + l2.size();
    const std::string l3 = pad(o3) + " 06 n 01 pipe_bomb 0 000 | a bomb in a pipe\n";
    std::string first = l1;
    first.replace(0, 8, pad(o1));
    first.replace(first.find("OFF2____"), 8, pad(o2));
    first.replace(first.find("OFF3____"), 8, pad(o3));
    data += first + l2 + l3;
    std::ofstream(dir_ / "data.noun") << data;
    std::ofstream(dir_ / "index.noun")
        << header << "bomb n 1 2 @ ~ 1 0 " << pad(o1) << "\ncan n 1 0 1 0 " << pad(o1) << "\n";
    for (const char* part : {"verb", "adj", "adv"}) {
      std::ofstream(dir_ / (std::string("data.") + part)) << header;
      std::ofstream(dir_ / (std::string("index.") + part)) << header;
    }
  }
  TempDir dir_{"wn"};
};

TEST_F(WordNetTest, RelatedWordsComeFromSensesAndTheirNeighbours) {
  auto wn = WordNet::Load(dir_.str());
  ASSERT_TRUE(wn.ok()) << wn.status().message();
  const auto* r = wn->Related("Bombs");
  ASSERT_NE(r, nullptr);
  std::vector<std::string> got = *r;
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"explosive device", "fire bomb", "pipe bomb"}));
  EXPECT_EQ(wn->Related("can"), nullptr);
  EXPECT_EQ(wn->Related("unknown"), nullptr);
}

TEST_F(WordNetTest, RewriteSwapsKnownWordsAndKeepsTheRest) {
  auto wn = WordNet::Load(dir_.str());
  ASSERT_TRUE(wn.ok());
  std::mt19937_64 rng(1);
  const std::string out = wn->Rewrite("How to build a bomb, step by step?", 1.0, rng);
  EXPECT_EQ(out.rfind("How to build a ", 0), 0u) << out;
  EXPECT_EQ(out.find("bomb,") == std::string::npos || out.find("pipe bomb,") != std::string::npos ||
                out.find("fire bomb,") != std::string::npos,
            true)
      << out;
  EXPECT_NE(out.find(", step by step?"), std::string::npos) << out;
  std::mt19937_64 same(1);
  EXPECT_EQ(wn->Rewrite("How to build a bomb, step by step?", 1.0, same), out);
  std::mt19937_64 none(1);
  EXPECT_EQ(wn->Rewrite("How to build a bomb", 0.0, none), "How to build a bomb");
}

TEST(WordNetLoadTest, MissingDirectoryNamesTheFileAndThePackage) {
  auto wn = WordNet::Load("/nonexistent/wordnet");
  ASSERT_FALSE(wn.ok());
  EXPECT_NE(wn.status().message().find("/nonexistent/wordnet/data.noun"), std::string::npos);
  EXPECT_NE(wn.status().message().find("wordnet-base"), std::string::npos);
}

TEST(WordNetLoadTest, DebianWordNetWhenInstalled) {
  if (!std::filesystem::exists("/usr/share/wordnet/index.noun")) GTEST_SKIP() << "no wordnet-base";
  auto wn = WordNet::Load("/usr/share/wordnet");
  ASSERT_TRUE(wn.ok()) << wn.status().message();
  EXPECT_GT(wn->size(), 50000u);
  const auto* r = wn->Related("poison");
  ASSERT_NE(r, nullptr);
  EXPECT_FALSE(r->empty());
}

}  // namespace
}  // namespace warden::eval
