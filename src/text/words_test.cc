#include "text/words.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/temp_dir.h"
#include "text/views.h"
#include "text/views_test_util.h"

namespace warden::text {
namespace {

std::shared_ptr<const WordList> TestWords() {
  auto w = WordList::Parse("# most frequent first\nthe\na\nroom\nto\nget\nher\nhurt\ntogether\n",
                           "test.txt");
  EXPECT_TRUE(w.ok()) << w.status().message();
  return *w;
}

std::string Joined(std::string_view letters, const std::vector<uint32_t>& ends) {
  std::string out;
  uint32_t begin = 0;
  for (uint32_t end : ends) {
    if (!out.empty()) out += ' ';
    out.append(letters.substr(begin, end - begin));
    begin = end;
  }
  return out;
}

std::string Split(const WordList& words, std::string_view letters) {
  std::vector<uint32_t> ends;
  return words.Split(letters, ends) ? Joined(letters, ends) : "<one word>";
}

TEST(WordList, SplitsIntoFewCommonWords) {
  auto w = TestWords();
  EXPECT_EQ(w->size(), 8u);
  EXPECT_EQ(Split(*w, "theroom"), "the room");
  EXPECT_EQ(Split(*w, "GetHurt"), "Get Hurt");     // compared case-insensitively, kept as written
  EXPECT_EQ(Split(*w, "together"), "<one word>");  // one listed word beats "to get her"
  EXPECT_EQ(Split(*w, "room"), "<one word>");
  EXPECT_EQ(Split(*w, "xqz"), "<one word>");           // nothing known: kept whole
  EXPECT_EQ(Split(*w, "xqztheroom"), "xqz the room");  // the unknown stretch stays whole
  EXPECT_EQ(Split(*w, ""), "<one word>");
  EXPECT_EQ(Split(*w, std::string(WordList::kMaxLetters + 1, 'a')), "<one word>");
}

// Costs below zero (the first words of a short list) are costs like any other.
TEST(WordList, ShortListsSplitToo) {
  auto one = WordList::Parse("room\n", "one.txt");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(Split(**one, "roomroom"), "room room");
  EXPECT_EQ(Split(**one, "xroom"), "x room");
}

TEST(WordList, BadFilesNameTheFileAndLine) {
  EXPECT_EQ(WordList::Parse("the\nRoom\n", "w.txt").status().message(),
            "w.txt:2: expected one word of lowercase ASCII letters a line");
  EXPECT_EQ(WordList::Parse("the\ntwo words\n", "w.txt").status().message(),
            "w.txt:2: expected one word of lowercase ASCII letters a line");
  EXPECT_EQ(WordList::Parse("# only a comment\n\n", "w.txt").status().message(),
            "w.txt: the word list has no words");
  const testing::TempDir dir("words");
  auto missing = WordList::Load(dir.str() + "/nope.txt");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("build it with `warden words`"), std::string::npos);
}

// The shipped list splits a spaced phrase in the deobfuscated view; the offsets of the view still
// point at the spaced letters.
TEST(WordList, DeobfuscatedViewSplitsSpacedPhrases) {
  auto words = WordList::Load(WARDEN_SOURCE_DIR "/models/words-en.txt.gz");
  ASSERT_TRUE(words.ok()) << words.status().ToString();
  ViewOptions options;
  options.words = *words;
  ViewBuilder builder(options);
  std::vector<View> views;
  const std::string text = "Plan it so that many people g e t h u r t.";
  builder.Build(text, views);
  const View* v = test_util::Find(views, "deobfuscated");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->text, "Plan it so that many people get hurt.");
  EXPECT_EQ(test_util::OriginalOf(text, views, "deobfuscated", "hurt"), "h u r t");
}

}  // namespace
}  // namespace warden::text
