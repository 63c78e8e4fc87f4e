#include "eval/dataset.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/support/temp_dir.h"

namespace warden::eval {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

class DatasetTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& content) {
    const fs::path p = dir_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << content;
    return p.string();
  }
  TempDir dir_{"dataset-test"};
};

TEST_F(DatasetTest, ReadsValidRecords) {
  const std::string f = Write(
      "a/dev.jsonl",
      R"({"id":"a-0","text":"hello","role":"user","label":"safe","categories":[],"attack":null,"source":"a"})"
      "\n"
      R"({"id":"a-1","text":"x","role":"user","label":"unsafe","categories":["hate"],"attack":"jailbreak","source":"a"})"
      "\n");
  auto d = ReadDataset({f});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ASSERT_EQ(d->size(), 2u);
  EXPECT_FALSE((*d)[0].unsafe);
  EXPECT_TRUE((*d)[1].unsafe);
  EXPECT_EQ((*d)[1].labels.size(), 2u);
  // A directory means its */dev.jsonl.
  auto by_dir = ReadDataset({dir_.str()});
  ASSERT_TRUE(by_dir.ok());
  EXPECT_EQ(by_dir->size(), 2u);
}

TEST_F(DatasetTest, MalformedLineNamesFileAndLine) {
  const std::string f =
      Write("bad.jsonl", R"({"text":"ok","label":"safe"})" "\n{not json\n");
  auto d = ReadDataset({f});
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find(f + ":2:"), std::string::npos) << d.status().message();
}

TEST_F(DatasetTest, UnknownLabelCategoryAndAttack) {
  auto label = ReadDataset({Write("l.jsonl", R"({"text":"a","label":"maybe"})" "\n")});
  ASSERT_FALSE(label.ok());
  EXPECT_NE(label.status().message().find(":1: unknown label \"maybe\""), std::string::npos);
  auto cat = ReadDataset(
      {Write("c.jsonl", R"({"text":"a","label":"unsafe","categories":["hats"]})" "\n")});
  ASSERT_FALSE(cat.ok());
  EXPECT_NE(cat.status().message().find("unknown category \"hats\""), std::string::npos);
  auto attack =
      ReadDataset({Write("t.jsonl", R"({"text":"a","label":"unsafe","attack":"dan"})" "\n")});
  ASSERT_FALSE(attack.ok());
  EXPECT_NE(attack.status().message().find("unknown attack"), std::string::npos);
  auto missing = ReadDataset({Write("m.jsonl", R"({"label":"safe"})" "\n")});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("\"text\""), std::string::npos);
}

TEST_F(DatasetTest, EmptyDataSetIsAnError) {
  auto d = ReadDataset({Write("empty.jsonl", "\n")});
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("empty data set"), std::string::npos);
  auto missing = ReadDataset({(dir_ / "nope.jsonl").string()});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace warden::eval
