#include "eval/gloss_builder.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "scanners/classifier/semantic.h"
#include "tests/support/temp_dir.h"
#include "text/gloss.h"
#include "text/words.h"

namespace warden::eval {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

// dictd's index numbers: base64 digits, most significant first.
std::string Base64Number(size_t v) {
  static constexpr char kDigits[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  do {
    out.insert(out.begin(), kDigits[v % 64]);
    v /= 64;
  } while (v > 0);
  return out;
}

void WriteGzip(const std::string& path, const std::string& text) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  gzwrite(f, text.data(), static_cast<unsigned>(text.size()));
  gzclose(f);
}

// A dictd dictionary in FreeDict's layout (headword line, sense lines, examples, notes,
// synonyms, cross references), a word list and a classifier's semantic head, in a temp dir.
class GlossBuilderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The classifier's words, most frequent first.
    classifier::SemanticHead h;
    h.dim = 1;
    h.hidden = 1;
    h.words = {"the",     "for",           "but",  "house", "how",    "kill",     "bomb",
               "without", "establishment", "slay", "gun",   "weapon", "fabricate"};
    h.SetVectors(std::vector<float>(h.words.size(), 1.0f));
    h.input_mean = {0.0f};
    h.input_scale = {1.0f};
    h.w1 = {1.0f};
    h.b1 = {0.0f};
    h.w2.assign(classifier::kNumLabels, 0.0f);
    h.b2.assign(classifier::kNumLabels, 0.0f);
    std::ofstream(dir_ / "m.sem", std::ios::binary) << h.Serialize();
    std::ofstream(dir_ / "english.txt") << "the\nfor\nhouse\nKind\nbomb\n";

    AddEntry("00databaseinfo", "00-database-info\nA test dictionary.\n");
    AddEntry("bombe",
             "Bombe /bˈɔmbə/ <fem, n, sg>\n [mil.] bomb <n>\n"
             "      \"A-Bombe\"  - nuclear bomb\n");
    // Two entries: the better translation comes from the later one only when it is much more
    // common; "establishment" is listed first but "house" is both early and common.
    AddEntry("haus", "Haus /hˈaʊs/ <neut, n, sg>\nestablishment <n>, house <n>\n");
    AddEntry("ohne", "ohne /ˈoːnə/\nun…\n   Synonyms: {nicht}, {un…}\n\n");
    AddEntry("ohne",
             "ohne /ˈoːnə/ <prep>\nwithout <prep>, but for <prep>\n"
             "          Note: w/o, sans <prep> [archaic]\n");
    AddEntry("töten", "töten /tˈøːtən/ <v>\n1. kill sth., slay\n see: {tötend}\n");
    // Listed under "waffe", but the entry is the multi-word headword's: not a gloss of "waffe".
    AddEntry("waffe", "Waffe tragen /vˈafə/ <v>\ncarry a gun <v>\n");
    AddEntry("waffe", "Waffe /vˈafə/ <fem, n, sg>\n[ugs.] gun <n>\n");
    // An English word (the word list) and a word whose translation the classifier does not know.
    AddEntry("kind", "Kind /kˈɪnt/ <neut, n, sg>\nchild <n>\n");
    AddEntry("gurke", "Gurke /ɡˈʊɾkə/ <fem, n, sg>\ncucumber <n>\n");
    AddEntry("straße", "Straße /ʃtɾˈaːsə/ <fem, n, sg>\nweapon <n>\n");  // folded to "strasse"
    AddEntry("zwei wörter", "zwei Wörter\nhow\n");                       // not one word
    std::ofstream(dir_ / "de-en.index") << index_;
    WriteGzip((dir_ / "de-en.dict.dz").string(), data_);
    options_.dictionaries = {(dir_ / "de-en").string()};
    options_.english_words = (dir_ / "english.txt").string();
    options_.model = (dir_ / "m.ftz").string();
  }
  void AddEntry(const std::string& key, const std::string& entry) {
    index_ += key + "\t" + Base64Number(data_.size()) + "\t" + Base64Number(entry.size()) + "\n";
    data_ += entry;
  }

  TempDir dir_{"gloss"};
  std::string index_, data_;
  GlossBuildOptions options_;
};

TEST_F(GlossBuilderTest, GlossesEachHeadwordWithAnEarlyCommonTranslation) {
  const std::string out = (dir_ / "g.tsv.gz").string();
  auto stats = BuildGlossary(options_, out);
  ASSERT_TRUE(stats.ok()) << stats.status().message();
  auto g = text::Glossary::Load(out);
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ((*g)->Find("bombe"), "bomb");
  EXPECT_EQ((*g)->Find("haus"), "house");
  EXPECT_EQ((*g)->Find("ohne"), "without");  // one common word beats "but for"
  EXPECT_EQ((*g)->Find("töten"), "kill");    // "sth." dropped, the numbered sense read
  EXPECT_EQ((*g)->Find("waffe"), "gun");
  EXPECT_EQ((*g)->Find("strasse"), "weapon");
  EXPECT_EQ((*g)->Find("kind"), "");   // an English word is never glossed
  EXPECT_EQ((*g)->Find("gurke"), "");  // "cucumber" is not a word the classifier knows
  EXPECT_EQ((*g)->size(), 6u);
  EXPECT_EQ(stats->entries, 6u);
  ASSERT_EQ(stats->dictionaries.size(), 1u);
  EXPECT_EQ(stats->dictionaries[0].glossed, 6u);
  EXPECT_FALSE(fs::exists(out + ".tmp"));
}

TEST_F(GlossBuilderTest, BadInputNamesTheFileAndLeavesNothingBehind) {
  const std::string out = (dir_ / "g.tsv.gz").string();
  GlossBuildOptions o = options_;
  o.dictionaries = {(dir_ / "missing").string()};
  auto missing = BuildGlossary(o, out);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("missing.index: cannot read"), std::string::npos);

  o = options_;
  o.model = (dir_ / "none.ftz").string();
  auto no_model = BuildGlossary(o, out);
  ASSERT_FALSE(no_model.ok());
  EXPECT_NE(no_model.status().message().find("none.sem"), std::string::npos);

  // An index line past the end of the entries, and one without numbers.
  std::ofstream(dir_ / "de-en.index", std::ios::app) << "bombe\tAAAAAA\tZZZZ\n";
  auto past = BuildGlossary(options_, out);
  ASSERT_FALSE(past.ok());
  EXPECT_NE(past.status().message().find("de-en.index:13: the entry lies past the end"),
            std::string::npos)
      << past.status().message();
  std::ofstream(dir_ / "de-en.index") << index_ << "bombe only\n";
  auto malformed = BuildGlossary(options_, out);
  ASSERT_FALSE(malformed.ok());
  EXPECT_NE(malformed.status().message().find("de-en.index:13: expected"), std::string::npos)
      << malformed.status().message();
  EXPECT_FALSE(fs::exists(out));
  EXPECT_FALSE(fs::exists(out + ".tmp"));
}

std::string ReadGzip(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  std::string text;
  if (f == nullptr) return text;
  char buffer[1 << 16];
  int n;
  while ((n = gzread(f, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<size_t>(n));
  gzclose(f);
  return text;
}

// The shipped glossary is what the documented command builds (models/gloss-de-es-fr.md), from
// Debian's dictionaries when they are installed (scripts/install-deps.sh installs them).
TEST(ShippedGlossary, IsRebuiltByTheDocumentedCommand) {
  GlossBuildOptions o;
  for (const char* name : {"deu", "spa", "fra"}) {
    o.dictionaries.push_back(std::string("/usr/share/dictd/freedict-") + name + "-eng");
    if (!fs::exists(o.dictionaries.back() + ".index")) {
      GTEST_SKIP() << o.dictionaries.back() << " is not installed (dict-freedict-" << name
                   << "-eng)";
    }
  }
  if (!fs::exists(o.english_words)) GTEST_SKIP() << o.english_words << " (wamerican) is missing";
  o.model = WARDEN_SOURCE_DIR "/models/warden-v1.ftz";
  const TempDir dir("shipped-gloss");
  const std::string out = (dir / "gloss.tsv.gz").string();
  auto stats = BuildGlossary(o, out);
  ASSERT_TRUE(stats.ok()) << stats.status().message();
  const std::string rebuilt = ReadGzip(out);
  const std::string shipped = ReadGzip(WARDEN_SOURCE_DIR "/models/gloss-de-es-fr.tsv.gz");
  ASSERT_FALSE(shipped.empty());
  EXPECT_TRUE(rebuilt == shipped) << "models/gloss-de-es-fr.tsv.gz differs from what `warden "
                                     "gloss` builds now: rebuild it (models/gloss-de-es-fr.md)";
}

// The word list counts the English words of the training texts: most frequent first, ties in
// alphabetical order, words seen once, single letters other than "a" and "i", words glued to
// digits and words the English list lacks left out.
TEST(WordListBuilder, RanksTheTrainingTextsEnglishWords) {
  const TempDir dir("words-build");
  std::ofstream(dir / "english.txt") << "the\nRoom\nroom's\nb\na\ni\nhurt\nget\nrare\nmp\n";
  fs::create_directories(dir / "set");
  std::ofstream(dir / "set" / "train.jsonl")
      << R"({"id": "1", "text": "The room, the ROOM: get hurt b a", "label": "safe"})"
         "\n"
      << R"({"id": "2", "text": "the get hurt i a rare mp3 zzz", "label": "safe"})"
         "\n";
  const std::string out = (dir / "words.txt.gz").string();
  auto count = BuildWordList({dir.str()}, (dir / "english.txt").string(), out);
  ASSERT_TRUE(count.ok()) << count.status().message();
  EXPECT_EQ(*count, 5u);
  const std::string text = ReadGzip(out);
  EXPECT_EQ(text.substr(text.find("\nthe")), "\nthe\na\nget\nhurt\nroom\n");
  auto words = text::WordList::Load(out);
  ASSERT_TRUE(words.ok()) << words.status().message();

  EXPECT_EQ(BuildWordList({dir.str()}, (dir / "nope.txt").string(), out).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(
      BuildWordList({(dir / "none").string()}, (dir / "english.txt").string(), out).status().code(),
      StatusCode::kNotFound);
}

TEST(ShippedWordList, IsRebuiltByTheDocumentedCommand) {
  const std::string data = WARDEN_SOURCE_DIR "/../shared/data";
  const std::string english = "/usr/share/dict/american-english";
  if (!fs::exists(data)) GTEST_SKIP() << data << " is missing";
  if (!fs::exists(english)) GTEST_SKIP() << english << " (wamerican) is missing";
  const TempDir dir("shipped-words");
  const std::string out = (dir / "words.txt.gz").string();
  auto count = BuildWordList({data}, english, out);
  ASSERT_TRUE(count.ok()) << count.status().message();
  const std::string rebuilt = ReadGzip(out);
  const std::string shipped = ReadGzip(WARDEN_SOURCE_DIR "/models/words-en.txt.gz");
  ASSERT_FALSE(shipped.empty());
  EXPECT_TRUE(rebuilt == shipped) << "models/words-en.txt.gz differs from what `warden words` "
                                     "builds now: rebuild it (models/words-en.md)";
}

}  // namespace
}  // namespace warden::eval
