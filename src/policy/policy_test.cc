#include "policy/policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace warden::policy {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// A scratch tree <tmp>/policies (base dir) and <tmp>/rules/{pii,secrets,attacks}.yaml, so the
// default `../rules/<name>.yaml` packs resolve.
class PolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(::testing::TempDir()) /
            ("warden_policy_test_" +
             std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::create_directories(root_ / "policies");
    fs::create_directories(root_ / "rules");
    for (const char* name : {"pii", "secrets", "attacks"}) {
      std::ofstream(root_ / "rules" / (std::string(name) + ".yaml")) << "version: 1\n";
    }
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  std::string base_dir() const { return (root_ / "policies").string(); }

  StatusOr<PolicyConfig> Parse(const std::string& yaml) {
    return ParsePolicy(yaml, "p.yaml", base_dir());
  }

  // The first error line of a policy that must be rejected.
  std::string FirstError(const std::string& yaml) {
    StatusOr<PolicyConfig> p = Parse(yaml);
    EXPECT_FALSE(p.ok()) << "policy unexpectedly valid:\n" << yaml;
    if (p.ok()) return "";
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
    const std::string& m = p.status().message();
    return m.substr(0, m.find('\n'));
  }

  fs::path root_;
};

constexpr char kValid[] = R"(version: 1
name: test
description: A test policy.
max_input_bytes: 1000
views:
  normalized: true
  skeleton: false
  deobfuscated: false
  decoded: true
  max_decode_depth: 2
  max_decoded_bytes: 4096
  min_encoded_length: 20
scanners:
  pii: {pack: ../rules/pii.yaml, types: [email, credit_card], min_score: 0.5}
  secrets: {}
  attacks:
rules:
  - name: block-secrets
    when:
      direction: [input, output]
      findings: {scanner: secrets}
    action: block
    message: "This message contains a credential."
  - name: jailbreak
    description: High-confidence attack phrasing.
    when: {direction: input, scores: {jailbreak: 0.8, prompt_injection: 0.7}}
    action: block
  - name: redact-pii
    when:
      findings: {scanner: pii, type: [email], min_score: 0.6, min_count: 2}
      role: user
      tool: [search]
      tenant: acme
    action: redact
default_action: escalate
)";

// ---------------------------------------------------------------------------------------------
// Valid policies

TEST_F(PolicyTest, ValidPolicyParsesEveryField) {
  StatusOr<PolicyConfig> p = Parse(kValid);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->name, "test");
  EXPECT_EQ(p->path, "p.yaml");
  EXPECT_EQ(p->description, "A test policy.");
  EXPECT_EQ(p->max_input_bytes, 1000u);
  EXPECT_TRUE(p->views.normalized);
  EXPECT_FALSE(p->views.skeleton);
  EXPECT_FALSE(p->views.deobfuscated);
  EXPECT_TRUE(p->views.decoded);
  EXPECT_EQ(p->views.max_decode_depth, 2u);
  EXPECT_EQ(p->views.max_decoded_bytes, 4096u);
  EXPECT_EQ(p->views.min_encoded_length, 20u);

  ASSERT_EQ(p->pattern_scanners.size(), 3u);
  const PatternScannerSection& pii = p->pattern_scanners[0];
  EXPECT_EQ(pii.name, "pii");
  EXPECT_TRUE(pii.enabled);
  EXPECT_EQ(pii.pack_path, (root_ / "rules" / "pii.yaml").string());
  EXPECT_EQ(pii.types, (std::vector<std::string>{"email", "credit_card"}));
  EXPECT_EQ(pii.type_locations,
            (std::vector<std::string>{"p.yaml:14:42: scanners.pii.types[0]",
                                      "p.yaml:14:49: scanners.pii.types[1]"}));
  EXPECT_FLOAT_EQ(pii.min_score, 0.5f);
  EXPECT_EQ(p->pattern_scanners[2].name, "attacks");
  EXPECT_EQ(p->pattern_scanners[2].pack_path, (root_ / "rules" / "attacks.yaml").string());

  ASSERT_EQ(p->rules.size(), 3u);
  const Rule& r0 = p->rules[0];
  EXPECT_EQ(r0.name, "block-secrets");
  EXPECT_EQ(r0.action, Action::kBlock);
  EXPECT_EQ(r0.directions, (1 << 0) | (1 << 1));
  ASSERT_TRUE(r0.findings.has_value());
  EXPECT_EQ(r0.findings->scanners, std::vector<std::string>{"secrets"});
  EXPECT_EQ(r0.message, "This message contains a credential.");
  EXPECT_EQ(r0.line, 18);
  EXPECT_EQ(r0.column, 5);
  EXPECT_EQ(r0.location, "p.yaml:18:5: rules[0]");

  const Rule& r1 = p->rules[1];
  EXPECT_EQ(r1.description, "High-confidence attack phrasing.");
  ASSERT_EQ(r1.scores.size(), 2u);
  EXPECT_EQ(r1.scores[0].label, "jailbreak");
  EXPECT_FLOAT_EQ(r1.scores[0].min, 0.8f);
  EXPECT_EQ(r1.scores[1].label, "prompt_injection");
  EXPECT_FALSE(r1.findings.has_value());

  const Rule& r2 = p->rules[2];
  EXPECT_EQ(r2.action, Action::kRedact);
  EXPECT_EQ(r2.directions, 0);
  EXPECT_EQ(r2.roles, std::vector<std::string>{"user"});
  EXPECT_EQ(r2.tools, std::vector<std::string>{"search"});
  EXPECT_EQ(r2.tenants, std::vector<std::string>{"acme"});
  ASSERT_TRUE(r2.findings.has_value());
  EXPECT_EQ(r2.findings->types, std::vector<std::string>{"email"});
  EXPECT_EQ(r2.findings->type_locations,
            std::vector<std::string>{"p.yaml:30:39: rules[2].when.findings.type[0]"});
  EXPECT_FLOAT_EQ(r2.findings->min_score, 0.6f);
  EXPECT_EQ(r2.findings->min_count, 2u);
  EXPECT_EQ(p->default_action, Action::kEscalate);
}

TEST_F(PolicyTest, MinimalPolicyTakesDefaults) {
  StatusOr<PolicyConfig> p = Parse("version: 1\n");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->name, "p");  // the file's stem
  EXPECT_EQ(p->max_input_bytes, 64u << 20);
  EXPECT_TRUE(p->views.skeleton);
  EXPECT_TRUE(p->rules.empty());
  EXPECT_EQ(p->default_action, Action::kAllow);
}

TEST_F(PolicyTest, DisabledScannerNeedsNoPack) {
  StatusOr<PolicyConfig> p =
      Parse("version: 1\nscanners:\n  pii: {enabled: false, pack: ../rules/none.yaml}\n");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_FALSE(p->pattern_scanners[0].enabled);
}

TEST_F(PolicyTest, AbsolutePackPath) {
  const std::string pack = (root_ / "rules" / "secrets.yaml").string();
  StatusOr<PolicyConfig> p = Parse("version: 1\nscanners:\n  pii: {pack: \"" + pack + "\"}\n");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->pattern_scanners[0].pack_path, pack);
}

// The shipped policies reference ../rules/*.yaml, written alongside; they must always load.
class ShippedPolicyTest : public ::testing::TestWithParam<const char*> {};

TEST_P(ShippedPolicyTest, Loads) {
  const fs::path rules = fs::path(WARDEN_SOURCE_DIR) / "rules";
  for (const char* pack : {"pii.yaml", "secrets.yaml", "attacks.yaml"}) {
    if (!fs::exists(rules / pack)) GTEST_SKIP() << "rules/" << pack << " not in the tree yet";
  }
  const std::string path = std::string(WARDEN_SOURCE_DIR) + "/policies/" + GetParam();
  StatusOr<PolicyConfig> p = LoadPolicyFile(path);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_FALSE(p->rules.empty());
  EXPECT_EQ(p->pattern_scanners.size(), 3u);
}

INSTANTIATE_TEST_SUITE_P(Policies, ShippedPolicyTest,
                         ::testing::Values("default.yaml", "patterns.yaml", "agent.yaml"));

// ---------------------------------------------------------------------------------------------
// File and syntax errors

TEST_F(PolicyTest, MissingFileNamesThePath) {
  StatusOr<PolicyConfig> p = LoadPolicyFile((root_ / "policies" / "nope.yaml").string());
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(p.status().message(), StartsWith((root_ / "policies" / "nope.yaml").string() +
                                               ": cannot open policy file"));
}

TEST_F(PolicyTest, LoadPolicyFileResolvesPacksNextToTheFile) {
  const fs::path file = root_ / "policies" / "x.yaml";
  std::ofstream(file) << "version: 1\nscanners:\n  pii: {}\n";
  StatusOr<PolicyConfig> p = LoadPolicyFile(file.string());
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->path, file.string());
  EXPECT_EQ(p->name, "x");
  EXPECT_EQ(p->pattern_scanners[0].pack_path, (root_ / "rules" / "pii.yaml").string());
}

TEST_F(PolicyTest, YamlSyntaxErrorReportsPosition) {
  EXPECT_THAT(FirstError("version: 1\nrules: [\n  {name: a\n"),
              StartsWith("p.yaml:4:1: YAML syntax error: "));
}

TEST_F(PolicyTest, YamlSyntaxErrorBadIndentation) {
  EXPECT_THAT(FirstError("version: 1\nviews:\n  skeleton: true\n normalized: true\n"),
              StartsWith("p.yaml:4:2: YAML syntax error: end of map not found"));
}

TEST_F(PolicyTest, EmptyDocument) {
  EXPECT_THAT(FirstError(""), StartsWith("p.yaml: the policy is empty"));
}

TEST_F(PolicyTest, RootNotAMap) {
  EXPECT_EQ(FirstError("- version: 1\n"), "p.yaml:1:1: expected a map, got a list");
}

TEST_F(PolicyTest, SecondDocument) {
  EXPECT_EQ(FirstError("version: 1\n---\nversion: 1\n"),
            "p.yaml:2:1: only one YAML document is allowed in a policy file");
}

TEST_F(PolicyTest, LeadingDocumentMarkerIsFine) {
  StatusOr<PolicyConfig> p = Parse("# comment\n---\nversion: 1\n");
  EXPECT_TRUE(p.ok()) << p.status().message();
}

// yaml-cpp 0.7's LoadAll never returns on a lone comma (jbeder/yaml-cpp#1040); found by the fuzzer.
TEST_F(PolicyTest, LoneCommaTerminates) {
  EXPECT_THAT(FirstError(","), StartsWith("p.yaml: the policy is empty"));
}

TEST_F(PolicyTest, DuplicateKey) {
  EXPECT_EQ(FirstError("version: 1\nversion: 1\n"),
            "p.yaml:2:1: version: duplicate key (first given at line 1)");
}

// ---------------------------------------------------------------------------------------------
// Top level

TEST_F(PolicyTest, UnknownTopLevelKey) {
  EXPECT_EQ(FirstError("version: 1\ndefualt_action: block\n"),
            "p.yaml:2:1: defualt_action: unknown key \"defualt_action\" (did you mean "
            "\"default_action\"?)");
}

TEST_F(PolicyTest, UnknownTopLevelKeyWithoutSuggestion) {
  EXPECT_EQ(FirstError("version: 1\nzzz: 1\n"), "p.yaml:2:1: zzz: unknown key \"zzz\"");
}

TEST_F(PolicyTest, MissingVersion) {
  EXPECT_THAT(FirstError("name: x\n"), StartsWith("p.yaml:1:1: version: missing required key"));
}

TEST_F(PolicyTest, UnsupportedVersion) {
  EXPECT_EQ(FirstError("version: 2\n"),
            "p.yaml:1:10: version: unsupported version 2 (this build reads version 1)");
}

TEST_F(PolicyTest, VersionNotANumber) {
  EXPECT_EQ(FirstError("version: one\n"),
            "p.yaml:1:10: version: expected a whole number, got \"one\"");
}

TEST_F(PolicyTest, InvalidPolicyName) {
  EXPECT_THAT(FirstError("version: 1\nname: My Policy\n"),
              StartsWith("p.yaml:2:7: name: \"My Policy\" is not a valid name"));
}

TEST_F(PolicyTest, DescriptionNotAString) {
  EXPECT_EQ(FirstError("version: 1\ndescription: [a]\n"),
            "p.yaml:2:14: description: expected a string, got a list");
}

TEST_F(PolicyTest, MaxInputBytesZero) {
  EXPECT_EQ(FirstError("version: 1\nmax_input_bytes: 0\n"),
            "p.yaml:2:18: max_input_bytes: must be between 1 and 4294967295, got 0");
}

TEST_F(PolicyTest, MaxInputBytesNegative) {
  EXPECT_EQ(FirstError("version: 1\nmax_input_bytes: -5\n"),
            "p.yaml:2:18: max_input_bytes: expected a whole number, got \"-5\"");
}

TEST_F(PolicyTest, MaxInputBytesTooLarge) {
  EXPECT_EQ(FirstError("version: 1\nmax_input_bytes: 99999999999\n"),
            "p.yaml:2:18: max_input_bytes: must be between 1 and 4294967295, got 99999999999");
}

TEST_F(PolicyTest, MaxInputBytesQuoted) {
  EXPECT_EQ(FirstError("version: 1\nmax_input_bytes: \"1024\"\n"),
            "p.yaml:2:18: max_input_bytes: expected a whole number, got the string \"1024\"");
}

TEST_F(PolicyTest, DefaultActionUnknown) {
  EXPECT_EQ(FirstError("version: 1\ndefault_action: blok\n"),
            "p.yaml:2:17: default_action: unknown action \"blok\" (did you mean \"block\"?)");
}

TEST_F(PolicyTest, DefaultActionNotAString) {
  EXPECT_EQ(FirstError("version: 1\ndefault_action: {a: b}\n"),
            "p.yaml:2:17: default_action: expected a string, got a map");
}

// ---------------------------------------------------------------------------------------------
// views

TEST_F(PolicyTest, ViewsNotAMap) {
  EXPECT_EQ(FirstError("version: 1\nviews: [raw]\n"),
            "p.yaml:2:8: views: expected a map, got a list");
}

TEST_F(PolicyTest, ViewsUnknownKey) {
  EXPECT_EQ(FirstError("version: 1\nviews:\n  skeletn: true\n"),
            "p.yaml:3:3: views.skeletn: unknown key \"skeletn\" (did you mean \"skeleton\"?)");
}

TEST_F(PolicyTest, ViewsBoolYes) {
  EXPECT_EQ(FirstError("version: 1\nviews:\n  normalized: yes\n"),
            "p.yaml:3:15: views.normalized: expected true or false, got \"yes\"");
}

TEST_F(PolicyTest, ViewsBoolQuoted) {
  EXPECT_EQ(FirstError("version: 1\nviews:\n  decoded: \"true\"\n"),
            "p.yaml:3:12: views.decoded: expected true or false, got the string \"true\"");
}

TEST_F(PolicyTest, ViewsBoolList) {
  EXPECT_EQ(FirstError("version: 1\nviews:\n  deobfuscated: [true]\n"),
            "p.yaml:3:17: views.deobfuscated: expected true or false, got a list");
}

TEST_F(PolicyTest, ViewsSkeletonNotBool) {
  EXPECT_EQ(FirstError("version: 1\nviews:\n  skeleton: 1\n"),
            "p.yaml:3:13: views.skeleton: expected true or false, got \"1\"");
}

TEST_F(PolicyTest, ViewsDecodeDepthNotANumber) {
  EXPECT_EQ(FirstError("version: 1\nviews:\n  max_decode_depth: three\n"),
            "p.yaml:3:21: views.max_decode_depth: expected a whole number, got \"three\"");
}

TEST_F(PolicyTest, ViewsDecodeDepthOutOfRange) {
  EXPECT_EQ(FirstError("version: 1\nviews:\n  max_decode_depth: 17\n"),
            "p.yaml:3:21: views.max_decode_depth: must be between 0 and 16, got 17");
}

TEST_F(PolicyTest, ViewsMaxDecodedBytesFraction) {
  EXPECT_EQ(FirstError("version: 1\nviews:\n  max_decoded_bytes: 1.5\n"),
            "p.yaml:3:22: views.max_decoded_bytes: expected a whole number, got \"1.5\"");
}

TEST_F(PolicyTest, ViewsMinEncodedLengthOutOfRange) {
  EXPECT_EQ(FirstError("version: 1\nviews:\n  min_encoded_length: 2\n"),
            "p.yaml:3:23: views.min_encoded_length: must be between 4 and 65536, got 2");
}

TEST_F(PolicyTest, ViewsSkeletonWithoutNormalized) {
  EXPECT_THAT(FirstError("version: 1\nviews:\n  normalized: false\n"),
              StartsWith("p.yaml:3:15: views.normalized: the skeleton view needs the normalized "
                         "view"));
}

// ---------------------------------------------------------------------------------------------
// scanners

TEST_F(PolicyTest, ScannersNotAMap) {
  EXPECT_EQ(FirstError("version: 1\nscanners: [pii]\n"),
            "p.yaml:2:11: scanners: expected a map, got a list");
}

TEST_F(PolicyTest, ScannersUnknownName) {
  EXPECT_EQ(FirstError("version: 1\nscanners:\n  secret: {}\n"),
            "p.yaml:3:3: scanners.secret: unknown scanner \"secret\" (did you mean "
            "\"secrets\"?)");
}

TEST_F(PolicyTest, ScannerSectionNotAMap) {
  EXPECT_EQ(FirstError("version: 1\nscanners:\n  pii: [email]\n"),
            "p.yaml:3:8: scanners.pii: expected a map, got a list");
}

TEST_F(PolicyTest, ScannerUnknownKey) {
  EXPECT_EQ(FirstError("version: 1\nscanners:\n  pii: {pak: x.yaml}\n"),
            "p.yaml:3:9: scanners.pii.pak: unknown key \"pak\" (did you mean \"pack\"?)");
}

TEST_F(PolicyTest, ScannerPackMissing) {
  EXPECT_EQ(FirstError("version: 1\nscanners:\n  pii: {pack: ../rules/nope.yaml}\n"),
            "p.yaml:3:15: scanners.pii.pack: pack file not found: " +
                (root_ / "rules" / "nope.yaml").string());
}

TEST_F(PolicyTest, ScannerDefaultPackMissing) {
  fs::remove(root_ / "rules" / "attacks.yaml");
  EXPECT_EQ(FirstError("version: 1\nscanners:\n  attacks: {}\n"),
            "p.yaml:3:3: scanners.attacks: default pack file not found: " +
                (root_ / "rules" / "attacks.yaml").string() + " (set `pack:` to the pack's path)");
}

// The classifier section: one valid case, one test per rejected field.
TEST_F(PolicyTest, ClassifierSectionValid) {
  fs::create_directories(root_ / "models");
  std::ofstream(root_ / "models" / "m.ftz") << "x";
  auto p = Parse(
      "version: 1\nscanners:\n  classifier: {model: ../models/m.ftz}\nrules:\n"
      "  - name: harmful\n    when: {scores: {unsafe: 0.5}}\n    action: block\n");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_TRUE(p->classifier.has_value());
  EXPECT_TRUE(p->classifier->enabled);
  EXPECT_EQ(p->classifier->model_path, (root_ / "models" / "m.ftz").string());
  EXPECT_FALSE(p->classifier->tool_result_instructions_only);
  auto instructions = Parse(
      "version: 1\nscanners:\n  classifier: {model: ../models/m.ftz, tool_results: "
      "instructions}\n");
  ASSERT_TRUE(instructions.ok()) << instructions.status().ToString();
  EXPECT_TRUE(instructions->classifier->tool_result_instructions_only);
  // Disabled: the model need not exist.
  auto off = Parse("version: 1\nscanners:\n  classifier: {enabled: false, model: none.ftz}\n");
  ASSERT_TRUE(off.ok()) << off.status().ToString();
  EXPECT_FALSE(off->classifier->enabled);
}

TEST_F(PolicyTest, GlossPathResolvesAgainstThePolicyAndMustExist) {
  fs::create_directories(root_ / "models");
  std::ofstream(root_ / "models" / "g.tsv.gz") << "x";  // loaded by the engine, not here
  auto p = Parse("version: 1\nviews:\n  gloss: ../models/g.tsv.gz\n");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->gloss_path, (root_ / "models" / "g.tsv.gz").string());
  EXPECT_EQ(p->gloss_location, "p.yaml:3:3: views.gloss");
  EXPECT_EQ(FirstError("version: 1\nviews:\n  gloss: ../models/nope.tsv.gz\n"),
            "p.yaml:3:10: views.gloss: glossary file not found: " +
                (root_ / "models" / "nope.tsv.gz").string());
  EXPECT_EQ(FirstError("version: 1\nviews:\n  gloss: [a]\n"),
            "p.yaml:3:10: views.gloss: expected a string, got a list");
  EXPECT_EQ(FirstError("version: 1\nviews:\n  glos: x\n"),
            "p.yaml:3:3: views.glos: unknown key \"glos\" (did you mean \"gloss\"?)");
}

TEST_F(PolicyTest, WordListPathResolvesAgainstThePolicyAndMustExist) {
  fs::create_directories(root_ / "models");
  std::ofstream(root_ / "models" / "w.txt.gz") << "Not a word list";  // read by LoadViewWords
  auto p = Parse("version: 1\nviews:\n  words: ../models/w.txt.gz\n");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->words_path, (root_ / "models" / "w.txt.gz").string());
  EXPECT_EQ(p->words_location, "p.yaml:3:3: views.words");
  EXPECT_EQ(FirstError("version: 1\nviews:\n  words: ../models/nope.txt.gz\n"),
            "p.yaml:3:10: views.words: word list file not found: " +
                (root_ / "models" / "nope.txt.gz").string());
  // A file that is not a word list: the load names the policy line, then the file's line.
  text::ViewOptions views;
  const Status s = LoadViewWords(*p, views);
  EXPECT_EQ(s.message(), "p.yaml:3:3: views.words: " + (root_ / "models" / "w.txt.gz").string() +
                             ":1: expected one word of lowercase ASCII letters a line");
  EXPECT_EQ(views.words, nullptr);
}

TEST_F(PolicyTest, ClassifierUnknownKey) {
  fs::create_directories(root_ / "models");
  std::ofstream(root_ / "models" / "warden-v1.ftz") << "x";  // only the tested error
  EXPECT_EQ(FirstError("version: 1\nscanners:\n  classifier: {modl: m.ftz}\n"),
            "p.yaml:3:16: scanners.classifier.modl: unknown key \"modl\" (did you mean "
            "\"model\"?)");
}

TEST_F(PolicyTest, ClassifierToolResultsIsWholeOrInstructions) {
  fs::create_directories(root_ / "models");
  std::ofstream(root_ / "models" / "warden-v1.ftz") << "x";
  EXPECT_EQ(FirstError("version: 1\nscanners:\n  classifier: {tool_results: instruction}\n"),
            "p.yaml:3:30: scanners.classifier.tool_results: unknown tool_results scoring "
            "\"instruction\" (did you mean \"instructions\"?)");
  EXPECT_EQ(FirstError("version: 1\nscanners:\n  classifier: {tool_results: [whole]}\n"),
            "p.yaml:3:30: scanners.classifier.tool_results: expected a string, got a list");
}

TEST_F(PolicyTest, ClassifierModelMissing) {
  EXPECT_EQ(FirstError("version: 1\nscanners:\n  classifier: {model: ../models/nope.ftz}\n"),
            "p.yaml:3:23: scanners.classifier.model: model file not found: " +
                (root_ / "models" / "nope.ftz").string());
}

TEST_F(PolicyTest, ClassifierDefaultModelMissing) {
  EXPECT_EQ(FirstError("version: 1\nscanners:\n  classifier:\n"),
            "p.yaml:3:3: scanners.classifier: default model file not found: " +
                (root_ / "models" / "warden-v1.ftz").string() +
                " (set `model:` to the model's path)");
}

TEST_F(PolicyTest, ClassifierEnabledNotABool) {
  fs::create_directories(root_ / "models");
  std::ofstream(root_ / "models" / "warden-v1.ftz") << "x";  // only the tested error
  EXPECT_EQ(FirstError("version: 1\nscanners:\n  classifier: {enabled: yes}\n"),
            "p.yaml:3:25: scanners.classifier.enabled: expected true or false, got \"yes\"");
}

TEST_F(PolicyTest, ScannerPackNotAString) {
  EXPECT_EQ(FirstError("version: 1\nscanners:\n  pii: {pack: [a, b]}\n"),
            "p.yaml:3:15: scanners.pii.pack: expected a string, got a list");
}

TEST_F(PolicyTest, ScannerEnabledNotBool) {
  EXPECT_EQ(FirstError("version: 1\nscanners:\n  pii: {enabled: on}\n"),
            "p.yaml:3:18: scanners.pii.enabled: expected true or false, got \"on\"");
}

TEST_F(PolicyTest, ScannerTypesNotAList) {
  EXPECT_EQ(FirstError("version: 1\nscanners:\n  pii: {types: email}\n"),
            "p.yaml:3:16: scanners.pii.types: expected a list, got \"email\"");
}

TEST_F(PolicyTest, ScannerTypesEmptyList) {
  EXPECT_THAT(FirstError("version: 1\nscanners:\n  pii: {types: []}\n"),
              StartsWith("p.yaml:3:16: scanners.pii.types: must list at least one value"));
}

TEST_F(PolicyTest, ScannerTypesItemNotAString) {
  EXPECT_EQ(FirstError("version: 1\nscanners:\n  pii:\n    types: [email, [phone]]\n"),
            "p.yaml:4:20: scanners.pii.types[1]: expected a string, got a list");
}

TEST_F(PolicyTest, ScannerTypesRepeated) {
  EXPECT_EQ(FirstError("version: 1\nscanners:\n  pii:\n    types: [email, email]\n"),
            "p.yaml:4:20: scanners.pii.types[1]: \"email\" is listed twice");
}

TEST_F(PolicyTest, ScannerMinScoreOutOfRange) {
  EXPECT_EQ(FirstError("version: 1\nscanners:\n  pii: {min_score: 1.5}\n"),
            "p.yaml:3:20: scanners.pii.min_score: must be between 0 and 1, got 1.5");
}

TEST_F(PolicyTest, ScannerMinScoreNotANumber) {
  EXPECT_EQ(FirstError("version: 1\nscanners:\n  pii: {min_score: high}\n"),
            "p.yaml:3:20: scanners.pii.min_score: expected a number between 0 and 1, got "
            "\"high\"");
}

TEST_F(PolicyTest, ScannerMinScoreNan) {
  EXPECT_EQ(FirstError("version: 1\nscanners:\n  pii: {min_score: nan}\n"),
            "p.yaml:3:20: scanners.pii.min_score: must be between 0 and 1, got nan");
}

// ---------------------------------------------------------------------------------------------
// rules

TEST_F(PolicyTest, RulesNotAList) {
  EXPECT_THAT(FirstError("version: 1\nrules:\n  name: x\n  action: block\n"),
              StartsWith("p.yaml:3:3: rules: expected a list of rules"));
}

TEST_F(PolicyTest, RuleNotAMap) {
  EXPECT_EQ(FirstError("version: 1\nrules:\n  - block\n"),
            "p.yaml:3:5: rules[0]: expected a map, got \"block\"");
}

TEST_F(PolicyTest, RuleUnknownKey) {
  StatusOr<PolicyConfig> p = Parse("version: 1\nrules:\n  - name: a\n    acton: block\n");
  ASSERT_FALSE(p.ok());
  // The misspelt key also leaves the rule without an action; both are reported, in file order.
  EXPECT_EQ(p.status().message(),
            "p.yaml:3:5: rules[0].action: missing required key (one of allow, redact, escalate, "
            "defer, require_approval, block, kill)\n"
            "p.yaml:4:5: rules[0].acton: unknown key \"acton\" (did you mean \"action\"?)");
}

TEST_F(PolicyTest, RuleMissingName) {
  EXPECT_EQ(FirstError("version: 1\nrules:\n  - action: block\n"),
            "p.yaml:3:5: rules[0].name: missing required key (every rule needs a name)");
}

TEST_F(PolicyTest, RuleEmptyName) {
  EXPECT_EQ(FirstError("version: 1\nrules:\n  - name: \"\"\n    action: block\n"),
            "p.yaml:3:11: rules[0].name: must not be empty");
}

TEST_F(PolicyTest, RuleInvalidName) {
  EXPECT_THAT(FirstError("version: 1\nrules:\n  - name: Block Secrets\n    action: block\n"),
              StartsWith("p.yaml:3:11: rules[0].name: \"Block Secrets\" is not a valid rule "
                         "name"));
}

TEST_F(PolicyTest, RuleMissingAction) {
  EXPECT_THAT(FirstError("version: 1\nrules:\n  - name: a\n"),
              StartsWith("p.yaml:3:5: rules[0].action: missing required key"));
}

TEST_F(PolicyTest, DuplicateRuleNames) {
  EXPECT_EQ(FirstError("version: 1\nrules:\n  - name: a\n    action: block\n"
                       "  - name: a\n    action: allow\n"),
            "p.yaml:5:11: rules[1].name: duplicate rule name \"a\" (first used at line 3)");
}

TEST_F(PolicyTest, UnknownAction) {
  EXPECT_EQ(FirstError("version: 1\nrules:\n  - name: a\n    action: blok\n"),
            "p.yaml:4:13: rules[0].action: unknown action \"blok\" (did you mean \"block\"?)");
}

TEST_F(PolicyTest, UnknownActionRequireApproval) {
  EXPECT_EQ(FirstError("version: 1\nrules:\n  - name: a\n    action: require-approval\n"),
            "p.yaml:4:13: rules[0].action: unknown action \"require-approval\" (did you mean "
            "\"require_approval\"?)");
}

TEST_F(PolicyTest, MessageNotAString) {
  EXPECT_EQ(FirstError("version: 1\nrules:\n  - name: a\n    action: block\n    message: [x]\n"),
            "p.yaml:5:14: rules[0].message: expected a string, got a list");
}

TEST_F(PolicyTest, WhenNotAMap) {
  EXPECT_EQ(FirstError("version: 1\nrules:\n  - name: a\n    when: input\n    action: block\n"),
            "p.yaml:4:11: rules[0].when: expected a map, got \"input\"");
}

TEST_F(PolicyTest, WhenUnknownKey) {
  EXPECT_EQ(FirstError("version: 1\nrules:\n  - name: a\n    when: {directions: input}\n"
                       "    action: block\n"),
            "p.yaml:4:12: rules[0].when.directions: unknown key \"directions\" (did you mean "
            "\"direction\"?)");
}

TEST_F(PolicyTest, UnknownDirection) {
  EXPECT_EQ(FirstError("version: 1\nrules:\n  - name: a\n    when: {direction: [input, ouput]}\n"
                       "    action: block\n"),
            "p.yaml:4:31: rules[0].when.direction[1]: unknown direction \"ouput\" (did you mean "
            "\"output\"?)");
}

TEST_F(PolicyTest, UnknownSingleDirection) {
  EXPECT_EQ(FirstError("version: 1\nrules:\n  - name: a\n    when: {direction: toolcall}\n"
                       "    action: block\n"),
            "p.yaml:4:23: rules[0].when.direction: unknown direction \"toolcall\" (did you mean "
            "\"tool_call\"?)");
}

TEST_F(PolicyTest, DirectionEmptyList) {
  EXPECT_THAT(FirstError("version: 1\nrules:\n  - name: a\n    when: {direction: []}\n"
                         "    action: block\n"),
              StartsWith("p.yaml:4:23: rules[0].when.direction: must list at least one value"));
}

TEST_F(PolicyTest, RoleNotAString) {
  EXPECT_EQ(FirstError("version: 1\nrules:\n  - name: a\n    when: {role: {user: 1}}\n"
                       "    action: block\n"),
            "p.yaml:4:18: rules[0].when.role: expected a string or a list, got a map");
}

TEST_F(PolicyTest, ToolItemNotAString) {
  EXPECT_EQ(FirstError("version: 1\nrules:\n  - name: a\n    when: {tool: [shell, {}]}\n"
                       "    action: block\n"),
            "p.yaml:4:26: rules[0].when.tool[1]: expected a string, got a map");
}

TEST_F(PolicyTest, TenantEmptyString) {
  EXPECT_EQ(FirstError("version: 1\nrules:\n  - name: a\n    when: {tenant: ''}\n"
                       "    action: block\n"),
            "p.yaml:4:20: rules[0].when.tenant: must not be empty");
}

TEST_F(PolicyTest, FindingsNotAMap) {
  EXPECT_EQ(FirstError("version: 1\nrules:\n  - name: a\n    when: {findings: pii}\n"
                       "    action: block\n"),
            "p.yaml:4:22: rules[0].when.findings: expected a map, got \"pii\"");
}

TEST_F(PolicyTest, FindingsUnknownKey) {
  EXPECT_EQ(FirstError("version: 1\nscanners: {pii: {}}\nrules:\n  - name: a\n"
                       "    when: {findings: {scanner: pii, typ: email}}\n    action: block\n"),
            "p.yaml:5:37: rules[0].when.findings.typ: unknown key \"typ\" (did you mean "
            "\"type\"?)");
}

TEST_F(PolicyTest, FindingsUnknownScanner) {
  EXPECT_EQ(FirstError("version: 1\nscanners: {secrets: {}}\nrules:\n  - name: a\n"
                       "    when: {findings: {scanner: secret}}\n    action: block\n"),
            "p.yaml:5:32: rules[0].when.findings.scanner: unknown scanner \"secret\" (did you "
            "mean \"secrets\"?)");
}

TEST_F(PolicyTest, FindingsScannerNotEnabled) {
  EXPECT_EQ(FirstError("version: 1\nscanners: {secrets: {}}\nrules:\n  - name: a\n"
                       "    when: {findings: {scanner: [secrets, pii]}}\n    action: block\n"),
            "p.yaml:5:42: rules[0].when.findings.scanner[1]: scanner \"pii\" is not enabled in "
            "this policy (add it under `scanners:`)");
}

TEST_F(PolicyTest, FindingsScannerDisabled) {
  EXPECT_THAT(FirstError("version: 1\nscanners: {pii: {enabled: false}}\nrules:\n  - name: a\n"
                         "    when: {findings: {scanner: pii}}\n    action: block\n"),
              StartsWith("p.yaml:5:32: rules[0].when.findings.scanner: scanner \"pii\" is "
                         "disabled"));
}

TEST_F(PolicyTest, FindingsTypeNotAString) {
  EXPECT_EQ(FirstError("version: 1\nrules:\n  - name: a\n    when: {findings: {type: {a: 1}}}\n"
                       "    action: block\n"),
            "p.yaml:4:29: rules[0].when.findings.type: expected a string or a list, got a map");
}

TEST_F(PolicyTest, FindingsMinScoreOutOfRange) {
  EXPECT_EQ(FirstError("version: 1\nrules:\n  - name: a\n    when: {findings: {min_score: -0.1}}\n"
                       "    action: block\n"),
            "p.yaml:4:34: rules[0].when.findings.min_score: must be between 0 and 1, got -0.1");
}

TEST_F(PolicyTest, FindingsMinCountZero) {
  EXPECT_EQ(FirstError("version: 1\nrules:\n  - name: a\n    when: {findings: {min_count: 0}}\n"
                       "    action: block\n"),
            "p.yaml:4:34: rules[0].when.findings.min_count: must be between 1 and 1000000, got 0");
}

TEST_F(PolicyTest, FindingsMinCountNotANumber) {
  EXPECT_EQ(FirstError("version: 1\nrules:\n  - name: a\n    when: {findings: {min_count: two}}\n"
                       "    action: block\n"),
            "p.yaml:4:34: rules[0].when.findings.min_count: expected a whole number, got "
            "\"two\"");
}

TEST_F(PolicyTest, ScoresNotAMap) {
  EXPECT_EQ(FirstError("version: 1\nrules:\n  - name: a\n    when: {scores: [jailbreak]}\n"
                       "    action: block\n"),
            "p.yaml:4:20: rules[0].when.scores: expected a map of label: threshold, got a list");
}

TEST_F(PolicyTest, ScoresEmpty) {
  EXPECT_THAT(FirstError("version: 1\nrules:\n  - name: a\n    when: {scores: {}}\n"
                         "    action: block\n"),
              StartsWith("p.yaml:4:20: rules[0].when.scores: must list at least one label"));
}

TEST_F(PolicyTest, ScoresUnknownLabel) {
  EXPECT_EQ(FirstError("version: 1\nrules:\n  - name: a\n    when: {scores: {jailbrake: 0.8}}\n"
                       "    action: block\n"),
            "p.yaml:4:21: rules[0].when.scores.jailbrake: unknown score label \"jailbrake\" "
            "(did you mean \"jailbreak\"?)");
}

TEST_F(PolicyTest, ScoresOutOfRange) {
  EXPECT_EQ(FirstError("version: 1\nrules:\n  - name: a\n    when: {scores: {jailbreak: 80}}\n"
                       "    action: block\n"),
            "p.yaml:4:32: rules[0].when.scores.jailbreak: must be between 0 and 1, got 80");
}

TEST_F(PolicyTest, ScoresNotANumber) {
  EXPECT_EQ(FirstError("version: 1\nrules:\n  - name: a\n    when: {scores: {hate: high}}\n"
                       "    action: block\n"),
            "p.yaml:4:27: rules[0].when.scores.hate: expected a number between 0 and 1, got "
            "\"high\"");
}

TEST_F(PolicyTest, ScoresDuplicateLabel) {
  EXPECT_EQ(FirstError("version: 1\nrules:\n  - name: a\n"
                       "    when: {scores: {hate: 0.5, hate: 0.6}}\n    action: block\n"),
            "p.yaml:4:32: rules[0].when.scores.hate: duplicate key");
}

// ---------------------------------------------------------------------------------------------
// Error collection

TEST_F(PolicyTest, CollectsSeveralErrorsInFileOrder) {
  StatusOr<PolicyConfig> p = Parse(
      "version: 1\n"
      "rules:\n"
      "  - name: a\n"
      "    when: {findings: {scanner: pii}}\n"  // pii not enabled (checked after scanners)
      "    action: blok\n"
      "scanners:\n"
      "  pi: {}\n"
      "default_action: nope\n");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(),
            "p.yaml:4:32: rules[0].when.findings.scanner: scanner \"pii\" is not enabled in this "
            "policy (add it under `scanners:`)\n"
            "p.yaml:5:13: rules[0].action: unknown action \"blok\" (did you mean \"block\"?)\n"
            "p.yaml:7:3: scanners.pi: unknown scanner \"pi\" (did you mean \"pii\"?)\n"
            "p.yaml:8:17: default_action: unknown action \"nope\"");
}

TEST_F(PolicyTest, CapsTheNumberOfErrors) {
  std::string yaml = "version: 1\nrules:\n";
  for (int i = 0; i < 30; ++i) yaml += "  - {name: r" + std::to_string(i) + ", action: blok}\n";
  StatusOr<PolicyConfig> p = Parse(yaml);
  ASSERT_FALSE(p.ok());
  const std::string& m = p.status().message();
  EXPECT_EQ(std::count(m.begin(), m.end(), '\n'), 20);
  EXPECT_THAT(m, HasSubstr("\np.yaml: 10 more errors not shown"));
}

TEST_F(PolicyTest, GarbageNeverThrows) {
  const std::string inputs[] = {
      std::string("\0\xff\xfe", 3), "[[[[[[[[[[", "{a: *b}", "&a [*a]", "version: !!binary x",
      "? [a]: b", std::string(20000, '['), "rules: [{when: {scores: {? [a] : 1}}}]"};
  for (const std::string& in : inputs) {
    StatusOr<PolicyConfig> p = Parse(in);
    EXPECT_FALSE(p.ok()) << in.substr(0, 40);
  }
}

// ---------------------------------------------------------------------------------------------
// EvaluateRules

class EvaluateTest : public PolicyTest {
 protected:
  const PolicyConfig& Load(const std::string& yaml) {
    StatusOr<PolicyConfig> p = Parse(yaml);
    EXPECT_TRUE(p.ok()) << p.status().message();
    if (p.ok()) policy_ = std::move(*p);
    return policy_;
  }

  Decision Eval(const Message& m, const std::vector<Finding>& findings = {},
                const std::vector<std::pair<std::string, float>>& scores = {}) {
    return EvaluateRules(policy_, Facts{&m, &findings, &scores});
  }

  // Designated initializers would leave the other fields to -Wmissing-field-initializers.
  static Message M(Direction direction = Direction::kInput, std::string_view role = "",
                   std::string_view tool = "", std::string_view tenant = "") {
    Message m;
    m.direction = direction;
    m.role = role;
    m.tool_name = tool;
    m.tenant = tenant;
    return m;
  }

  static Finding F(std::string scanner, std::string type, float score = 1.0f) {
    Finding f;
    f.scanner = std::move(scanner);
    f.type = std::move(type);
    f.score = score;
    return f;
  }

  PolicyConfig policy_;
};

constexpr char kScannersHeader[] =
    "version: 1\nscanners: {pii: {}, secrets: {}, attacks: {}}\n";

TEST_F(EvaluateTest, DefaultActionWhenNothingMatches) {
  Load(std::string(kScannersHeader) +
       "rules:\n  - {name: s, when: {findings: {scanner: secrets}}, action: block}\n"
       "default_action: escalate\n");
  Decision d = Eval(M());
  EXPECT_EQ(d.action, Action::kEscalate);
  EXPECT_EQ(d.rule, nullptr);
  EXPECT_TRUE(d.redact_rules.empty());
}

TEST_F(EvaluateTest, MatchedRuleOverridesDefaultEvenWhenMilder) {
  Load("version: 1\nrules:\n  - {name: ok, when: {role: system}, action: allow}\n"
       "default_action: block\n");
  EXPECT_EQ(Eval(M(Direction::kInput, "system")).action, Action::kAllow);
  EXPECT_EQ(Eval(M(Direction::kInput, "user")).action, Action::kBlock);
}

TEST_F(EvaluateTest, MostSevereActionWins) {
  Load("version: 1\nrules:\n"
       "  - {name: r, action: redact}\n"
       "  - {name: k, action: kill}\n"
       "  - {name: b, action: block}\n"
       "  - {name: e, action: escalate}\n");
  Decision d = Eval(M());
  EXPECT_EQ(d.action, Action::kKill);
  ASSERT_NE(d.rule, nullptr);
  EXPECT_EQ(d.rule->name, "k");
}

TEST_F(EvaluateTest, EveryActionOrdersBySeverity) {
  const char* names[] = {"allow", "redact", "escalate", "defer", "require_approval", "block",
                         "kill"};
  for (int hi = 0; hi < 7; ++hi) {
    std::string yaml = "version: 1\nrules:\n";
    for (int i = 0; i <= hi; ++i) {
      yaml += "  - {name: r" + std::to_string(i) + ", action: " + names[i] + "}\n";
    }
    Load(yaml);
    EXPECT_EQ(Eval(M()).action, static_cast<Action>(hi)) << names[hi];
  }
}

TEST_F(EvaluateTest, FirstRuleWinsAmongEquals) {
  Load("version: 1\nrules:\n  - {name: first, action: block}\n  - {name: second, action: block}\n");
  Decision d = Eval(M());
  ASSERT_NE(d.rule, nullptr);
  EXPECT_EQ(d.rule->name, "first");
}

TEST_F(EvaluateTest, DirectionFilter) {
  Load("version: 1\nrules:\n  - {name: b, when: {direction: [input, tool_result]}, action: block}\n");
  EXPECT_EQ(Eval(M(Direction::kInput)).action, Action::kBlock);
  EXPECT_EQ(Eval(M(Direction::kToolResult)).action, Action::kBlock);
  EXPECT_EQ(Eval(M(Direction::kOutput)).action, Action::kAllow);
  EXPECT_EQ(Eval(M(Direction::kToolCall)).action, Action::kAllow);
}

TEST_F(EvaluateTest, RoleToolTenantFilters) {
  Load("version: 1\nrules:\n"
       "  - {name: r, when: {role: [user, system]}, action: redact}\n"
       "  - {name: t, when: {tool: shell}, action: require_approval}\n"
       "  - {name: n, when: {tenant: [acme]}, action: kill}\n");
  EXPECT_EQ(Eval(M(Direction::kInput, "user")).action, Action::kRedact);
  EXPECT_EQ(Eval(M(Direction::kInput, "assistant")).action, Action::kAllow);
  EXPECT_EQ(Eval(M(Direction::kInput, "", "shell")).action, Action::kRequireApproval);
  EXPECT_EQ(Eval(M(Direction::kInput, "", "search")).action, Action::kAllow);
  EXPECT_EQ(Eval(M(Direction::kInput, "", "", "acme")).action, Action::kKill);
  EXPECT_EQ(Eval(M(Direction::kInput, "", "", "other")).action, Action::kAllow);
}

TEST_F(EvaluateTest, AllConditionsMustHold) {
  Load(std::string(kScannersHeader) +
       "rules:\n  - name: b\n    when: {direction: output, findings: {scanner: secrets}}\n"
       "    action: block\n");
  const std::vector<Finding> secret = {F("secrets", "aws_access_key")};
  EXPECT_EQ(Eval(M(Direction::kOutput), secret).action, Action::kBlock);
  EXPECT_EQ(Eval(M(Direction::kInput), secret).action, Action::kAllow);
  EXPECT_EQ(Eval(M(Direction::kOutput)).action, Action::kAllow);
}

TEST_F(EvaluateTest, FindingScannerAndType) {
  Load(std::string(kScannersHeader) +
       "rules:\n  - {name: e, when: {findings: {scanner: pii, type: [email, phone]}}, "
       "action: block}\n");
  EXPECT_EQ(Eval(M(), {F("pii", "email")}).action, Action::kBlock);
  EXPECT_EQ(Eval(M(), {F("pii", "credit_card")}).action, Action::kAllow);
  EXPECT_EQ(Eval(M(), {F("secrets", "email")}).action, Action::kAllow);
}

TEST_F(EvaluateTest, FindingMinCount) {
  Load(std::string(kScannersHeader) +
       "rules:\n  - {name: e, when: {findings: {scanner: pii, min_count: 3}}, action: block}\n");
  EXPECT_EQ(Eval(M(), {F("pii", "email"), F("pii", "phone")}).action, Action::kAllow);
  EXPECT_EQ(Eval(M(), {F("pii", "email"), F("secrets", "x"), F("pii", "phone")}).action,
            Action::kAllow);
  EXPECT_EQ(Eval(M(), {F("pii", "email"), F("pii", "phone"), F("pii", "ssn")}).action,
            Action::kBlock);
}

TEST_F(EvaluateTest, FindingMinScore) {
  Load(std::string(kScannersHeader) +
       "rules:\n  - {name: e, when: {findings: {scanner: attacks, min_score: 0.7}}, "
       "action: block}\n");
  EXPECT_EQ(Eval(M(), {F("attacks", "x", 0.69f)}).action, Action::kAllow);
  EXPECT_EQ(Eval(M(), {F("attacks", "x", 0.7f)}).action, Action::kBlock);
}

TEST_F(EvaluateTest, EmptyFindingsMatcherMatchesAnyFinding) {
  Load("version: 1\nrules:\n  - {name: any, when: {findings: {}}, action: escalate}\n");
  EXPECT_EQ(Eval(M()).action, Action::kAllow);
  EXPECT_EQ(Eval(M(), {F("classifier", "hate")}).action, Action::kEscalate);
}

TEST_F(EvaluateTest, ScoresAnyOf) {
  Load("version: 1\nrules:\n"
       "  - {name: j, when: {scores: {jailbreak: 0.8, prompt_injection: 0.6}}, action: block}\n");
  EXPECT_EQ(Eval(M(), {}, {{"jailbreak", 0.9f}}).action, Action::kBlock);
  EXPECT_EQ(Eval(M(), {}, {{"jailbreak", 0.5f}, {"prompt_injection", 0.6f}}).action,
            Action::kBlock);
  EXPECT_EQ(Eval(M(), {}, {{"jailbreak", 0.79f}, {"prompt_injection", 0.5f}}).action,
            Action::kAllow);
  EXPECT_EQ(Eval(M(), {}, {{"hate", 1.0f}}).action, Action::kAllow);  // missing = 0
  EXPECT_EQ(Eval(M()).action, Action::kAllow);
}

TEST_F(EvaluateTest, RedactRulesCollectedEvenWhenAnotherRuleWins) {
  Load(std::string(kScannersHeader) +
       "rules:\n"
       "  - {name: redact-email, when: {findings: {scanner: pii, type: email}}, action: redact}\n"
       "  - {name: escalate-all, action: escalate}\n"
       "  - {name: redact-phone, when: {findings: {scanner: pii, type: phone}}, action: redact}\n"
       "  - {name: redact-ssn, when: {findings: {scanner: pii, type: ssn}}, action: redact}\n");
  Decision d = Eval(M(), {F("pii", "email"), F("pii", "phone")});
  EXPECT_EQ(d.action, Action::kEscalate);
  ASSERT_EQ(d.redact_rules.size(), 2u);
  EXPECT_EQ(d.redact_rules[0]->name, "redact-email");
  EXPECT_EQ(d.redact_rules[1]->name, "redact-phone");
}

TEST_F(EvaluateTest, NullFactsAreEmpty) {
  Load("version: 1\nrules:\n"
       "  - {name: d, when: {direction: input}, action: block}\n"
       "  - {name: always, action: escalate}\n");
  Decision d = EvaluateRules(policy_, Facts{});
  EXPECT_EQ(d.action, Action::kEscalate);
  EXPECT_EQ(d.rule->name, "always");
}

TEST(FindingMatchesTest, EmptyMatcherCountsEverything) {
  Finding f;
  f.scanner = "pii";
  f.type = "email";
  f.score = 0.0f;
  EXPECT_TRUE(FindingMatches(FindingMatcher{}, f));
  FindingMatcher m;
  m.min_score = 0.1f;
  EXPECT_FALSE(FindingMatches(m, f));
}

}  // namespace
}  // namespace warden::policy
