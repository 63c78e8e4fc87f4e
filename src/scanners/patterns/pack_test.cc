#include "scanners/patterns/pack.h"

#include <gtest/gtest.h>

#include <string>

namespace warden::scanners {
namespace {

constexpr const char* kValid = R"(pack: demo
label: pii
views: [raw, normalized]
patterns:
  - type: email
    placeholder: EMAIL
    regex: 'x@y'
    caseless: true
    validator: email
    score: 0.5
  - type: token
    placeholder: TOKEN
    regex: 'tok_[a-z]+'
    label: secrets
    validator: entropy
    min_entropy: 2.5
    min_length: 8
    views: [raw]
)";

TEST(PackTest, ParsesValidPack) {
  StatusOr<Pack> pack = ParsePack(kValid, "demo.yaml");
  ASSERT_TRUE(pack.ok()) << pack.status().ToString();
  EXPECT_EQ(pack->name, "demo");
  ASSERT_EQ(pack->patterns.size(), 2u);
  const PatternSpec& a = pack->patterns[0];
  EXPECT_EQ(a.type, "email");
  EXPECT_TRUE(a.caseless);
  EXPECT_EQ(a.label, "pii");
  EXPECT_EQ(a.views, ViewBit("raw") | ViewBit("normalized"));
  EXPECT_EQ(a.line, 5);
  const PatternSpec& b = pack->patterns[1];
  EXPECT_EQ(b.label, "secrets");
  EXPECT_DOUBLE_EQ(b.params.min_entropy, 2.5);
  EXPECT_EQ(b.params.min_length, 8u);
  EXPECT_EQ(b.views, ViewBit("raw"));
}

// Replaces the first occurrence of `from` in the valid pack and expects an error mentioning
// every fragment of `want`.
void ExpectError(const std::string& from, const std::string& to,
                 std::initializer_list<std::string> want) {
  std::string yaml = kValid;
  size_t at = yaml.find(from);
  ASSERT_NE(at, std::string::npos) << from;
  yaml.replace(at, from.size(), to);
  StatusOr<Pack> pack = ParsePack(yaml, "demo.yaml");
  ASSERT_FALSE(pack.ok()) << "accepted: " << to;
  for (const std::string& w : want) {
    EXPECT_NE(pack.status().message().find(w), std::string::npos)
        << pack.status().message() << " lacks " << w;
  }
}

TEST(PackTest, RejectsUnknownTopLevelKey) {
  ExpectError("label: pii", "lable: pii", {"demo.yaml:2:", "lable: unknown key"});
}
TEST(PackTest, RejectsUnknownPatternKey) {
  ExpectError("    caseless: true", "    caseles: true", {"demo.yaml:8:", "patterns[0].caseles"});
}
TEST(PackTest, RejectsMissingPack) { ExpectError("pack: demo\n", "", {"missing \"pack\""}); }
TEST(PackTest, RejectsMissingRegex) {
  ExpectError("    regex: 'x@y'\n", "", {"demo.yaml:5:", "missing \"regex\""});
}
TEST(PackTest, RejectsBadCaseless) {
  ExpectError("caseless: true", "caseless: maybe", {"demo.yaml:8:", "true or false"});
}
TEST(PackTest, RejectsUnknownValidator) {
  ExpectError("validator: email", "validator: emaill", {"demo.yaml:9:", "did you mean \"email\""});
}
TEST(PackTest, RejectsBadScore) {
  ExpectError("score: 0.5", "score: 1.5", {"demo.yaml:10:", "score"});
}
TEST(PackTest, RejectsBadMinEntropy) {
  ExpectError("min_entropy: 2.5", "min_entropy: nine", {"demo.yaml:16:", "min_entropy"});
}
TEST(PackTest, RejectsBadMinLength) {
  ExpectError("min_length: 8", "min_length: 0", {"demo.yaml:17:", "min_length"});
}
TEST(PackTest, RejectsEntropyParamsWithoutEntropyValidator) {
  ExpectError("validator: entropy", "validator: jwt", {"need validator: entropy"});
}
TEST(PackTest, RejectsUnknownView) {
  ExpectError("views: [raw]", "views: [rw]", {"demo.yaml:18:", "unknown view \"rw\""});
}
TEST(PackTest, RejectsEmptyPatterns) {
  StatusOr<Pack> pack = ParsePack("pack: x\nlabel: y\npatterns: []\n", "p.yaml");
  ASSERT_FALSE(pack.ok());
  EXPECT_NE(pack.status().message().find("patterns"), std::string::npos);
}
TEST(PackTest, RejectsMissingLabel) {
  ExpectError("label: pii\n", "", {"no label"});
}
TEST(PackTest, ReportsYamlSyntaxErrorWithLine) {
  StatusOr<Pack> pack = ParsePack("pack: x\npatterns: [\n", "bad.yaml");
  ASSERT_FALSE(pack.ok());
  EXPECT_NE(pack.status().message().find("bad.yaml:"), std::string::npos);
}
TEST(PackTest, MissingFileIsNotFound) {
  StatusOr<Pack> pack = LoadPack("/nonexistent/pack.yaml");
  ASSERT_FALSE(pack.ok());
  EXPECT_EQ(pack.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace warden::scanners
