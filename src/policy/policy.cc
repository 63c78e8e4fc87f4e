#include "policy/policy.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <exception>
#include <filesystem>
#include <fstream>
#include <limits>
#include <span>
#include <sstream>
#include <system_error>
#include <utility>

#include "core/suggest.h"
#include "text/gloss.h"
#include "text/words.h"

namespace warden::policy {

namespace {

namespace fs = std::filesystem;

// Authors fix errors in batches; more than this many lines hides the first (root) cause.
constexpr size_t kMaxReportedErrors = 20;
// Bounds the memory an adversarial file can make us spend on error text.
constexpr size_t kMaxCollectedErrors = 1000;

constexpr std::string_view kTopLevelKeys[] = {
    "version", "name",  "description", "max_input_bytes", "views",
    "scanners", "rules", "tools", "review", "default_action"};
constexpr std::string_view kViewKeys[] = {
    "normalized",        "skeleton",           "deobfuscated", "decoded", "max_decode_depth",
    "max_decoded_bytes", "min_encoded_length", "gloss",        "words"};
constexpr std::string_view kPatternScannerKeys[] = {"enabled", "pack", "types", "min_score"};
constexpr std::string_view kClassifierScannerKeys[] = {"enabled", "model", "tool_results"};
constexpr std::string_view kToolResultScorings[] = {"whole", "instructions"};
constexpr std::string_view kJudgeScannerKeys[] = {
    "enabled",   "url",        "format",  "model",       "timeout_ms", "max_concurrency",
    "cache_size", "on_error",  "cascade", "api_key_env", "policies"};
constexpr std::string_view kJudgeFormats[] = {"llama_guard_3", "llama_guard_4", "shieldgemma"};
constexpr std::string_view kJudgeOnError[] = {"fail_open", "fail_closed"};
constexpr std::string_view kCascadeKeys[] = {"label", "min", "max"};
constexpr std::string_view kShieldGemmaPolicies[] = {"dangerous_content", "harassment",
                                                     "hate_speech", "sexually_explicit"};
constexpr std::string_view kRuleKeys[] = {"name", "description", "when", "action", "message"};
constexpr std::string_view kWhenKeys[] = {"direction", "role",     "tool",
                                          "tenant",    "findings", "scores"};
constexpr std::string_view kFindingKeys[] = {"scanner", "type", "min_score", "min_count"};
constexpr std::string_view kReviewKeys[] = {"suspicion", "budget",    "per_tenant",
                                           "window",    "min_score", "direction"};
constexpr std::string_view kSuspicionKeys[] = {"max_of", "weighted_sum"};
constexpr std::string_view kActionNames[] = {"allow", "redact", "escalate", "defer",
                                             "require_approval", "block", "kill"};
constexpr std::string_view kDirectionNames[] = {"input", "output", "tool_call", "tool_result"};
constexpr std::string_view kToolsKeys[] = {"allow", "deny", "unlisted_action",
                                           "max_argument_bytes", "rules", "taint"};
constexpr std::string_view kToolRuleKeys[] = {"name", "description", "tool",
                                              "args", "action",      "message"};
constexpr std::string_view kConstraintKeys[] = {"required", "host_in", "range",  "under",
                                                "deny",     "regex",   "one_of", "max_length"};
constexpr std::string_view kRangeKeys[] = {"min", "max"};
constexpr std::string_view kTaintKeys[] = {"name",            "description",
                                           "untrusted_sources", "sensitive_sinks",
                                           "action",          "message"};
// A tool decision never lets a call through silently (allow), cannot rewrite JSON arguments
// (redact) and has no trusted model to defer to.
constexpr std::string_view kToolActionNames[] = {"escalate", "require_approval", "block", "kill"};
// Bounds the time and memory a policy's patterns can cost Hyperscan's compiler.
constexpr size_t kMaxPatternBytes = 4096;
constexpr uint64_t kMaxArgumentBytesLimit = 64u << 20;

constexpr int kSupportedVersion = 1;

std::vector<std::string_view> Names(std::span<const std::string_view> names) {
  return {names.begin(), names.end()};
}

// Keeps error lines readable when a value is a long paragraph or binary junk.
std::string Quote(std::string_view s) {
  constexpr size_t kMax = 40;
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < kMax; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      out += '?';
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > kMax) out += "...";
  out += '"';
  return out;
}

bool IsQuoted(const YAML::Node& n) { return n.Tag() == "!"; }

std::string Describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Scalar:
      return IsQuoted(n) ? "the string " + Quote(n.Scalar()) : Quote(n.Scalar());
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Undefined:
      break;
  }
  return "an undefined value";
}

bool IsValidName(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
  });
}

std::string IndexPath(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

std::string Join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

// One `key: value` entry of a map, kept so sections can be processed in a fixed order (scanners
// before rules) whatever order the author wrote them in.
struct Entry {
  std::string key;
  YAML::Node key_node;
  YAML::Node value;
};

class Entries {
 public:
  void Add(Entry e) { entries_.push_back(std::move(e)); }
  const Entry* Find(std::string_view key) const {
    for (const Entry& e : entries_) {
      if (e.key == key) return &e;
    }
    return nullptr;
  }
  const std::vector<Entry>& all() const { return entries_; }

 private:
  std::vector<Entry> entries_;
};

// The 1-based line of a `---` marker that starts a second document, or 0. A marker line is `---`
// at column 0 followed by a space or the end of the line; YAML forbids such a line inside any
// scalar, so a textual scan is exact. The first marker only counts as a second document when
// content (not blank, not a comment, not a directive) came before it.
int SecondDocumentLine(std::string_view yaml) {
  bool content = false;
  int line = 0;
  size_t pos = 0;
  while (pos < yaml.size()) {
    ++line;
    size_t end = yaml.find('\n', pos);
    if (end == std::string_view::npos) end = yaml.size();
    std::string_view text = yaml.substr(pos, end - pos);
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    pos = end + 1;
    const bool marker = text.substr(0, 3) == "---" &&
                        (text.size() == 3 || text[3] == ' ' || text[3] == '\t');
    if (marker) {
      if (content) return line;
      content = true;  // `--- ` may carry content on the same line; either way, a document began
      continue;
    }
    const size_t first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos || text[first] == '#' || text[0] == '%') continue;
    content = true;
  }
  return 0;
}

class Parser;

// The scanner sections the language knows. A later kind (classifier, judge) adds a row here
// with its own section parser and a vector in PolicyConfig; rules then accept its name in
// `when.findings.scanner` automatically.
struct ScannerSectionSpec {
  std::string_view name;
  std::string_view kind;
  void (*parse)(Parser& parser, const Entry& entry, const std::string& path, PolicyConfig& out);
};

void ParsePatternScannerSection(Parser& parser, const Entry& entry, const std::string& path,
                                PolicyConfig& out);
void ParseClassifierScannerSection(Parser& parser, const Entry& entry, const std::string& path,
                                   PolicyConfig& out);
void ParseJudgeScannerSection(Parser& parser, const Entry& entry, const std::string& path,
                              PolicyConfig& out);

constexpr ScannerSectionSpec kScannerSections[] = {
    {"pii", "pattern", &ParsePatternScannerSection},
    {"secrets", "pattern", &ParsePatternScannerSection},
    {"attacks", "pattern", &ParsePatternScannerSection},
    {"classifier", "classifier", &ParseClassifierScannerSection},
    {"judge", "judge", &ParseJudgeScannerSection},
};

std::vector<std::string_view> ScannerNames() {
  std::vector<std::string_view> names;
  for (const ScannerSectionSpec& s : kScannerSections) names.push_back(s.name);
  return names;
}

// Parses and validates one policy document, collecting errors instead of stopping at the first.
// Not thread-safe; one Parser per call.
class Parser {
 public:
  Parser(std::string display_name, std::string base_dir)
      : display_name_(std::move(display_name)), base_dir_(std::move(base_dir)) {}

  StatusOr<PolicyConfig> Run(std::string_view yaml);

  // "file:line:col: path" (no trailing colon); "file: path" when the mark is unknown.
  std::string Where(const YAML::Mark& mark, std::string_view path) const {
    std::string out = display_name_;
    if (mark.line >= 0 && mark.column >= 0) {
      out += ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
    }
    if (!path.empty()) {
      out += ": ";
      out += path;
    }
    return out;
  }

  void ErrorAt(const YAML::Mark& mark, std::string_view path, std::string_view what) {
    if (errors_.size() >= kMaxCollectedErrors) {
      ++dropped_errors_;
      return;
    }
    errors_.push_back({mark.line, mark.column, Where(mark, path) + ": " + std::string(what)});
  }
  void Error(const YAML::Node& node, std::string_view path, std::string_view what) {
    ErrorAt(node.Mark(), path, what);
  }
  size_t error_count() const { return errors_.size() + dropped_errors_; }

  // Checks that `node` is a map whose keys are all in `keys` and none repeats; returns its
  // entries. Unknown and duplicate keys are reported and left out.
  std::optional<Entries> Map(const YAML::Node& node, const std::string& path,
                             std::span<const std::string_view> keys,
                             std::string_view noun = "key") {
    if (!node.IsMap()) {
      Error(node, path, "expected a map, got " + Describe(node));
      return std::nullopt;
    }
    Entries entries;
    for (auto it = node.begin(); it != node.end(); ++it) {
      const YAML::Node key = it->first;
      if (!key.IsScalar()) {
        Error(key, path, "keys must be plain words, got " + Describe(key));
        continue;
      }
      const std::string& name = key.Scalar();
      const std::string key_path = Join(path, name);
      if (std::find(keys.begin(), keys.end(), name) == keys.end()) {
        Error(key, key_path,
              "unknown " + std::string(noun) + " " + Quote(name) + DidYouMean(name, Names(keys)));
        continue;
      }
      // yaml-cpp keeps both copies of a repeated key; the second would silently win elsewhere.
      if (const Entry* first = entries.Find(name)) {
        Error(key, key_path,
              "duplicate key (first given at line " +
                  std::to_string(first->key_node.Mark().line + 1) + ")");
        continue;
      }
      entries.Add({name, key, it->second});
    }
    return entries;
  }

  std::optional<std::string> String(const YAML::Node& node, const std::string& path,
                                    bool allow_empty) {
    if (!node.IsScalar()) {
      Error(node, path, "expected a string, got " + Describe(node));
      return std::nullopt;
    }
    if (!allow_empty && node.Scalar().empty()) {
      Error(node, path, "must not be empty");
      return std::nullopt;
    }
    return node.Scalar();
  }

  std::optional<bool> Bool(const YAML::Node& node, const std::string& path) {
    // YAML 1.1 also reads yes/no/on/off as booleans; a policy should say exactly what it means.
    if (node.IsScalar() && !IsQuoted(node)) {
      if (node.Scalar() == "true") return true;
      if (node.Scalar() == "false") return false;
    }
    Error(node, path, "expected true or false, got " + Describe(node));
    return std::nullopt;
  }

  std::optional<uint64_t> Uint(const YAML::Node& node, const std::string& path, uint64_t min,
                               uint64_t max) {
    uint64_t value = 0;
    if (node.IsScalar() && !IsQuoted(node)) {
      const std::string& s = node.Scalar();
      const char* end = s.data() + s.size();
      auto [ptr, ec] = std::from_chars(s.data(), end, value);
      if (!s.empty() && s[0] != '-' && ec == std::errc() && ptr == end) {
        if (value < min || value > max) {
          Error(node, path,
                "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                    ", got " + s);
          return std::nullopt;
        }
        return value;
      }
      if (ec == std::errc::result_out_of_range) {
        Error(node, path, "must be at most " + std::to_string(max) + ", got " + Quote(s));
        return std::nullopt;
      }
    }
    Error(node, path, "expected a whole number, got " + Describe(node));
    return std::nullopt;
  }

  std::optional<float> Score(const YAML::Node& node, const std::string& path) {
    if (node.IsScalar() && !IsQuoted(node)) {
      const std::string& s = node.Scalar();
      const char* end = s.data() + s.size();
      double value = 0;
      auto [ptr, ec] = std::from_chars(s.data(), end, value);
      if (!s.empty() && ec == std::errc() && ptr == end) {
        if (!(value >= 0.0 && value <= 1.0)) {
          Error(node, path, "must be between 0 and 1, got " + s);
          return std::nullopt;
        }
        return static_cast<float>(value);
      }
    }
    Error(node, path, "expected a number between 0 and 1, got " + Describe(node));
    return std::nullopt;
  }

  // A single string or a non-empty list of strings; each item comes with its own path and mark.
  struct Item {
    std::string value;
    std::string path;
    YAML::Mark mark;
  };
  std::optional<std::vector<Item>> StringOrList(const YAML::Node& node, const std::string& path,
                                                bool list_only) {
    std::vector<Item> items;
    if (node.IsScalar() && !list_only) {
      if (auto s = String(node, path, false)) items.push_back({*s, path, node.Mark()});
      if (items.empty()) return std::nullopt;
      return items;
    }
    if (!node.IsSequence()) {
      Error(node, path,
            std::string(list_only ? "expected a list" : "expected a string or a list") +
                ", got " + Describe(node));
      return std::nullopt;
    }
    if (node.size() == 0) {
      Error(node, path, "must list at least one value (leave the key out to match any)");
      return std::nullopt;
    }
    bool ok = true;
    for (size_t i = 0; i < node.size(); ++i) {
      const YAML::Node item = node[i];
      const std::string item_path = IndexPath(path, i);
      auto s = String(item, item_path, false);
      if (!s) {
        ok = false;
        continue;
      }
      const bool repeated = std::any_of(items.begin(), items.end(),
                                        [&](const Item& it) { return it.value == *s; });
      if (repeated) {
        Error(item, item_path, Quote(*s) + " is listed twice");
        ok = false;
        continue;
      }
      items.push_back({*s, item_path, item.Mark()});
    }
    if (!ok) return std::nullopt;
    return items;
  }

  // A file the policy names at `node` (`what`: "pack", "model", …), resolved against the
  // policy's folder; when `must_exist`, a missing file is an error at the line that names it.
  // Loading is the engine's; nullopt when the value is not a string.
  std::optional<std::string> FilePath(const YAML::Node& node, const std::string& path,
                                      std::string_view what, bool must_exist) {
    auto p = String(node, path, false);
    if (!p) return std::nullopt;
    std::string resolved = ResolvePath(*p);
    std::error_code ec;
    if (must_exist && !fs::is_regular_file(resolved, ec)) {
      Error(node, path, std::string(what) + " file not found: " + resolved);
    }
    return resolved;
  }

  // Relative paths resolve against the policy file's folder, so a policy works from any cwd.
  std::string ResolvePath(std::string_view p) const {
    fs::path path(p);
    if (path.is_relative()) path = fs::path(base_dir_.empty() ? "." : base_dir_) / path;
    return path.lexically_normal().string();
  }

  // Records that scanner `name` appears under `scanners:`; `enabled` is false when the section
  // says `enabled: false`. Sections with errors count as enabled so one mistake does not cascade
  // into an error on every rule that names the scanner.
  void NoteScanner(std::string_view name, bool enabled) {
    scanners_seen_.emplace_back(std::string(name), enabled);
  }

 private:
  struct ErrorLine {
    int line;
    int column;
    std::string text;
  };

  void ParseViews(const YAML::Node& node, PolicyConfig& config);
  void ParseScanners(const YAML::Node& node, PolicyConfig& out);
  void ParseRules(const YAML::Node& node, PolicyConfig& out);
  void ParseRule(const YAML::Node& node, size_t index, PolicyConfig& out);
  void ParseWhen(const YAML::Node& node, const std::string& path, Rule& rule);
  void ParseFindings(const YAML::Node& node, const std::string& path, FindingMatcher& m);
  void ParseScores(const YAML::Node& node, const std::string& path, Rule& rule);
  std::optional<Action> ActionValue(const YAML::Node& node, const std::string& path);
  // Records a rule name (content, tool or taint rule), reporting invalid and repeated names.
  void CheckRuleName(const YAML::Node& value, const std::string& path, const std::string& name);

  void ParseTools(const YAML::Node& node, PolicyConfig& out);
  void ParseReview(const YAML::Node& node, PolicyConfig& out);
  void ParseSuspicion(const YAML::Node& node, const std::string& path, ReviewSection& review);
  void ParseToolRule(const YAML::Node& node, const std::string& path, ToolPolicy& tools);
  void ParseArgs(const YAML::Node& node, const std::string& path, ToolRule& rule);
  void ParseConstraint(const YAML::Node& node, const std::string& path, ArgConstraint& c);
  void ParseTaintRule(const YAML::Node& node, const std::string& path, bool name_required,
                      ToolPolicy& tools);
  std::optional<std::vector<Item>> ToolNames(const YAML::Node& node, const std::string& path);
  std::optional<Action> ToolActionValue(const YAML::Node& node, const std::string& path);
  std::optional<double> Number(const YAML::Node& node, const std::string& path);
  std::shared_ptr<const RegexSet> Patterns(const std::vector<Item>& items, RegexSet::Mode mode);

  Status Failure() const;

  std::string display_name_;
  std::string base_dir_;
  std::vector<ErrorLine> errors_;
  size_t dropped_errors_ = 0;
  std::vector<std::pair<std::string, bool>> scanners_seen_;
  std::vector<std::pair<std::string, int>> rule_names_;  // name, 1-based line
};

Status Parser::Failure() const {
  std::vector<ErrorLine> sorted = errors_;
  // Report in file order: processing order (scanners before rules) is an implementation detail.
  std::stable_sort(sorted.begin(), sorted.end(), [](const ErrorLine& a, const ErrorLine& b) {
    return std::pair(a.line, a.column) < std::pair(b.line, b.column);
  });
  std::string message;
  const size_t shown = std::min(sorted.size(), kMaxReportedErrors);
  for (size_t i = 0; i < shown; ++i) {
    if (i > 0) message += '\n';
    message += sorted[i].text;
  }
  const size_t hidden = error_count() - shown;
  if (hidden > 0) {
    message += "\n" + display_name_ + ": " + std::to_string(hidden) + " more error" +
               (hidden == 1 ? "" : "s") + " not shown";
  }
  return InvalidArgumentError(std::move(message));
}

std::optional<Action> Parser::ActionValue(const YAML::Node& node, const std::string& path) {
  auto s = String(node, path, false);
  if (!s) return std::nullopt;
  std::optional<Action> action = ParseAction(*s);
  if (!action) {
    Error(node, path, "unknown action " + Quote(*s) + DidYouMean(*s, Names(kActionNames)));
  }
  return action;
}

StatusOr<PolicyConfig> Parser::Run(std::string_view yaml) {
  // YAML::Load, not LoadAll: yaml-cpp 0.7's LoadAll loops forever, allocating, on a stray ","
  // (jbeder/yaml-cpp#1040, fixed upstream by #1319 after 0.8). A second document is found by
  // its marker instead.
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    ErrorAt(e.mark, "", "YAML syntax error: " + e.msg);
    return Failure();
  }
  if (root.IsNull()) {
    ErrorAt(YAML::Mark::null_mark(), "",
            "the policy is empty; it needs at least `version: 1` and some rules");
    return Failure();
  }
  if (int line = SecondDocumentLine(yaml); line > 0) {
    YAML::Mark mark;
    mark.line = line - 1;
    mark.column = 0;
    ErrorAt(mark, "", "only one YAML document is allowed in a policy file");
  }

  PolicyConfig config;
  config.path = display_name_;
  config.name = fs::path(display_name_).stem().string();
  std::optional<Entries> top = Map(root, "", kTopLevelKeys);
  if (!top) return Failure();

  if (const Entry* e = top->Find("version")) {
    if (auto v = Uint(e->value, "version", 0, std::numeric_limits<uint32_t>::max())) {
      if (*v != kSupportedVersion) {
        Error(e->value, "version",
              "unsupported version " + std::to_string(*v) + " (this build reads version " +
                  std::to_string(kSupportedVersion) + ")");
      }
    }
  } else {
    // The version is required so that a future format change is never misread silently.
    Error(root, "version", "missing required key (add `version: 1`)");
  }
  if (const Entry* e = top->Find("name")) {
    if (auto s = String(e->value, "name", false)) {
      if (IsValidName(*s)) {
        config.name = *s;
      } else {
        Error(e->value, "name",
              Quote(*s) + " is not a valid name (use lowercase letters, digits, '_', '.', '-')");
      }
    }
  }
  if (const Entry* e = top->Find("description")) {
    if (auto s = String(e->value, "description", true)) config.description = *s;
  }
  if (const Entry* e = top->Find("max_input_bytes")) {
    if (auto v = Uint(e->value, "max_input_bytes", 1, std::numeric_limits<uint32_t>::max())) {
      config.max_input_bytes = static_cast<uint32_t>(*v);
    }
  }
  if (const Entry* e = top->Find("views")) ParseViews(e->value, config);
  // Scanners first: rules refer to them.
  if (const Entry* e = top->Find("scanners")) ParseScanners(e->value, config);
  if (const Entry* e = top->Find("rules")) ParseRules(e->value, config);
  // After rules: tool and taint rule names share the rules' namespace.
  if (const Entry* e = top->Find("tools")) ParseTools(e->value, config);
  if (const Entry* e = top->Find("review")) ParseReview(e->value, config);
  if (const Entry* e = top->Find("default_action")) {
    if (auto a = ActionValue(e->value, "default_action")) config.default_action = *a;
  }

  if (error_count() > 0) return Failure();
  return config;
}

void Parser::ParseViews(const YAML::Node& node, PolicyConfig& config) {
  text::ViewOptions& views = config.views;
  std::optional<Entries> entries = Map(node, "views", kViewKeys);
  if (!entries) return;
  for (const Entry& e : entries->all()) {
    const std::string path = "views." + e.key;
    if (e.key == "normalized" || e.key == "skeleton" || e.key == "deobfuscated" ||
        e.key == "decoded") {
      auto b = Bool(e.value, path);
      if (!b) continue;
      if (e.key == "normalized") views.normalized = *b;
      if (e.key == "skeleton") views.skeleton = *b;
      if (e.key == "deobfuscated") views.deobfuscated = *b;
      if (e.key == "decoded") views.decoded = *b;
    } else if (e.key == "max_decode_depth") {
      if (auto v = Uint(e.value, path, 0, 16)) views.max_decode_depth = static_cast<uint32_t>(*v);
    } else if (e.key == "max_decoded_bytes") {
      if (auto v = Uint(e.value, path, 0, std::numeric_limits<uint32_t>::max())) {
        views.max_decoded_bytes = static_cast<uint32_t>(*v);
      }
    } else if (e.key == "min_encoded_length") {
      if (auto v = Uint(e.value, path, 4, 65536)) views.min_encoded_length = static_cast<uint32_t>(*v);
    } else if (e.key == "gloss") {
      if (auto p = FilePath(e.value, path, "glossary", true)) {
        config.gloss_path = *p;
        config.gloss_location = Where(e.key_node.Mark(), path);
      }
    } else if (e.key == "words") {
      if (auto p = FilePath(e.value, path, "word list", true)) {
        config.words_path = *p;
        config.words_location = Where(e.key_node.Mark(), path);
      }
    }
  }
  // A skeleton is computed from the normalized text; asking for one without the other is a
  // contradiction the author should resolve, not one we pick a side of.
  if (!views.normalized && views.skeleton) {
    if (const Entry* e = entries->Find("normalized")) {
      Error(e->value, "views.normalized",
            "the skeleton view needs the normalized view (set `skeleton: false` too)");
    }
  }
}

void Parser::ParseScanners(const YAML::Node& node, PolicyConfig& out) {
  const std::vector<std::string_view> names = ScannerNames();
  std::optional<Entries> entries = Map(node, "scanners", names, "scanner");
  if (!entries) return;
  for (const Entry& e : entries->all()) {
    for (const ScannerSectionSpec& spec : kScannerSections) {
      if (spec.name == e.key) spec.parse(*this, e, "scanners." + e.key, out);
    }
  }
}

void ParsePatternScannerSection(Parser& parser, const Entry& entry, const std::string& path,
                                PolicyConfig& out) {
  PatternScannerSection section;
  section.name = entry.key;
  section.location = parser.Where(entry.key_node.Mark(), path);
  const size_t errors_before = parser.error_count();
  // `secrets:` with nothing after it means "on, with defaults", same as `secrets: {}`.
  std::optional<Entries> entries;
  if (!entry.value.IsNull()) {
    entries = parser.Map(entry.value, path, kPatternScannerKeys);
    if (!entries) {
      parser.NoteScanner(entry.key, true);
      return;
    }
  }
  const Entry* pack = nullptr;
  if (entries) {
    for (const Entry& e : entries->all()) {
      const std::string field = path + "." + e.key;
      if (e.key == "enabled") {
        if (auto b = parser.Bool(e.value, field)) section.enabled = *b;
      } else if (e.key == "pack") {
        pack = &e;
      } else if (e.key == "types") {
        if (auto items = parser.StringOrList(e.value, field, /*list_only=*/true)) {
          for (const auto& item : *items) {
            section.types.push_back(item.value);
            section.type_locations.push_back(parser.Where(item.mark, item.path));
          }
        }
      } else if (e.key == "min_score") {
        if (auto s = parser.Score(e.value, field)) section.min_score = *s;
      }
    }
  }
  if (pack != nullptr) {
    if (auto p = parser.FilePath(pack->value, path + ".pack", "pack", section.enabled)) {
      section.pack_path = *p;
    }
  } else {
    section.pack_path = parser.ResolvePath("../rules/" + entry.key + ".yaml");
    std::error_code ec;
    if (section.enabled && !fs::is_regular_file(section.pack_path, ec)) {
      parser.Error(entry.key_node, path,
                   "default pack file not found: " + section.pack_path +
                       " (set `pack:` to the pack's path)");
    }
  }
  parser.NoteScanner(entry.key, section.enabled || parser.error_count() > errors_before);
  out.pattern_scanners.push_back(std::move(section));
}

// One of `names`, reported with a suggestion otherwise.
std::optional<std::string> OneOf(Parser& parser, const YAML::Node& node, const std::string& path,
                                 std::span<const std::string_view> names, std::string_view noun) {
  auto s = parser.String(node, path, false);
  if (!s) return std::nullopt;
  if (std::find(names.begin(), names.end(), *s) != names.end()) return s;
  parser.Error(node, path,
               "unknown " + std::string(noun) + " " + Quote(*s) + DidYouMean(*s, Names(names)));
  return std::nullopt;
}

void ParseClassifierScannerSection(Parser& parser, const Entry& entry, const std::string& path,
                                   PolicyConfig& out) {
  ClassifierScannerSection section;
  section.location = parser.Where(entry.key_node.Mark(), path);
  const size_t errors_before = parser.error_count();
  std::optional<Entries> entries;
  if (!entry.value.IsNull()) {
    entries = parser.Map(entry.value, path, kClassifierScannerKeys);
    if (!entries) {
      parser.NoteScanner(entry.key, true);
      return;
    }
  }
  const Entry* model = nullptr;
  if (entries) {
    for (const Entry& e : entries->all()) {
      if (e.key == "enabled") {
        if (auto b = parser.Bool(e.value, path + ".enabled")) section.enabled = *b;
      } else if (e.key == "model") {
        model = &e;
      } else if (e.key == "tool_results") {
        if (auto v = OneOf(parser, e.value, path + ".tool_results", kToolResultScorings,
                           "tool_results scoring")) {
          section.tool_result_instructions_only = *v == "instructions";
        }
      }
    }
  }
  // The model is loaded (and its manifest checked) by the engine; here only its presence, so a
  // typo in the path is reported at the line that holds it.
  if (model != nullptr) {
    if (auto p = parser.FilePath(model->value, path + ".model", "model", section.enabled)) {
      section.model_path = *p;
    }
  } else {
    section.model_path = parser.ResolvePath("../models/warden-v1.ftz");
    std::error_code ec;
    if (section.enabled && !fs::is_regular_file(section.model_path, ec)) {
      parser.Error(entry.key_node, path,
                   "default model file not found: " + section.model_path +
                       " (set `model:` to the model's path)");
    }
  }
  parser.NoteScanner(entry.key, section.enabled || parser.error_count() > errors_before);
  out.classifier = std::move(section);
}

void ParseJudgeScannerSection(Parser& parser, const Entry& entry, const std::string& path,
                              PolicyConfig& out) {
  JudgeScannerSection section;
  section.location = parser.Where(entry.key_node.Mark(), path);
  const size_t errors_before = parser.error_count();
  std::optional<Entries> entries = parser.Map(entry.value, path, kJudgeScannerKeys);
  if (!entries) {
    parser.NoteScanner(entry.key, true);
    return;
  }
  for (const Entry& e : entries->all()) {
    const std::string field = path + "." + e.key;
    if (e.key == "enabled") {
      if (auto b = parser.Bool(e.value, field)) section.enabled = *b;
    } else if (e.key == "url") {
      auto s = parser.String(e.value, field, false);
      if (!s) continue;
      std::string_view url = *s;
      const std::string_view p = url.substr(0, url.find('?'));
      auto ends_with = [&](std::string_view x) {
        return p.size() >= x.size() && p.substr(p.size() - x.size()) == x;
      };
      if (url.substr(0, 8) == "https://") {
        parser.Error(e.value, field,
                     "https is not supported for the judge (use http:// on a private network "
                     "or a local TLS terminator)");
      } else if (url.substr(0, 7) != "http://" || url.size() == 7) {
        parser.Error(e.value, field, "expected an http:// URL, got " + Quote(url));
      } else if (!ends_with("/chat/completions") && !ends_with("/completion")) {
        parser.Error(e.value, field,
                     "the path must end in /chat/completions (OpenAI-compatible) or /completion "
                     "(llama.cpp), got " + Quote(url));
      } else {
        section.url = *s;
      }
    } else if (e.key == "format") {
      if (auto f = OneOf(parser, e.value, field, kJudgeFormats, "format")) section.format = *f;
    } else if (e.key == "model") {
      if (auto s = parser.String(e.value, field, false)) section.model = *s;
    } else if (e.key == "timeout_ms") {
      if (auto v = parser.Uint(e.value, field, 1, 600000)) section.timeout_ms = uint32_t(*v);
    } else if (e.key == "max_concurrency") {
      if (auto v = parser.Uint(e.value, field, 1, 1024)) section.max_concurrency = uint32_t(*v);
    } else if (e.key == "cache_size") {
      if (auto v = parser.Uint(e.value, field, 0, 10000000)) section.cache_size = uint32_t(*v);
    } else if (e.key == "on_error") {
      if (auto v = OneOf(parser, e.value, field, kJudgeOnError, "on_error value")) {
        section.fail_closed = *v == "fail_closed";
      }
    } else if (e.key == "api_key_env") {
      if (auto s = parser.String(e.value, field, false)) section.api_key_env = *s;
    } else if (e.key == "policies") {
      auto items = parser.StringOrList(e.value, field, false);
      if (!items) continue;
      for (const auto& item : *items) {
        const auto& known = kShieldGemmaPolicies;
        if (std::find(std::begin(known), std::end(known), item.value) == std::end(known)) {
          parser.ErrorAt(item.mark, item.path,
                         "unknown ShieldGemma policy " + Quote(item.value) +
                             DidYouMean(item.value, Names(kShieldGemmaPolicies)));
          continue;
        }
        section.policies.push_back(item.value);
      }
    } else if (e.key == "cascade") {
      std::optional<Entries> c = parser.Map(e.value, field, kCascadeKeys);
      if (!c) continue;
      JudgeScannerSection::Cascade cascade;
      if (const Entry* l = c->Find("label")) {
        const std::vector<std::string_view> labels = Names(kKnownScoreLabels);
        if (auto s = parser.String(l->value, field + ".label", false)) {
          if (std::find(labels.begin(), labels.end(), *s) == labels.end() ||
              *s == "judge_unsafe") {
            parser.Error(l->value, field + ".label",
                         "unknown score label " + Quote(*s) + DidYouMean(*s, labels));
          } else {
            cascade.label = *s;
          }
        }
      }
      if (const Entry* m = c->Find("min")) {
        if (auto v = parser.Score(m->value, field + ".min")) cascade.min = *v;
      }
      if (const Entry* m = c->Find("max")) {
        if (auto v = parser.Score(m->value, field + ".max")) cascade.max = *v;
      }
      if (cascade.min > cascade.max) {
        parser.Error(e.value, field,
                     "min is greater than max, so the judge would never be asked");
      }
      section.cascade = cascade;
    }
  }
  if (section.url.empty() && entries->Find("url") == nullptr) {
    parser.Error(entry.key_node, path + ".url",
                 "missing required key (the judge's endpoint, e.g. "
                 "http://127.0.0.1:8080/completion)");
  }
  if (!section.policies.empty() && section.format != "shieldgemma") {
    parser.Error(entries->Find("policies")->value, path + ".policies",
                 "only the shieldgemma format takes policies");
  }
  parser.NoteScanner(entry.key, section.enabled || parser.error_count() > errors_before);
  out.judge = std::move(section);
}

void Parser::ParseRules(const YAML::Node& node, PolicyConfig& out) {
  if (!node.IsSequence()) {
    Error(node, "rules", "expected a list of rules (each starting with `- name:`), got " +
                             Describe(node));
    return;
  }
  out.rules.reserve(node.size());
  for (size_t i = 0; i < node.size(); ++i) ParseRule(node[i], i, out);
}

void Parser::ParseRule(const YAML::Node& node, size_t index, PolicyConfig& out) {
  const std::string path = IndexPath("rules", index);
  std::optional<Entries> entries = Map(node, path, kRuleKeys);
  if (!entries) return;
  Rule rule;
  rule.line = node.Mark().line + 1;
  rule.column = node.Mark().column + 1;
  rule.location = Where(node.Mark(), path);

  if (const Entry* e = entries->Find("name")) {
    if (auto s = String(e->value, path + ".name", false)) {
      CheckRuleName(e->value, path + ".name", *s);
      rule.name = *s;
    }
  } else {
    Error(node, path + ".name", "missing required key (every rule needs a name)");
  }
  if (const Entry* e = entries->Find("description")) {
    if (auto s = String(e->value, path + ".description", true)) rule.description = *s;
  }
  if (const Entry* e = entries->Find("when")) ParseWhen(e->value, path + ".when", rule);
  if (const Entry* e = entries->Find("action")) {
    if (auto a = ActionValue(e->value, path + ".action")) rule.action = *a;
  } else {
    Error(node, path + ".action",
          "missing required key (one of allow, redact, escalate, defer, require_approval, "
          "block, kill)");
  }
  if (const Entry* e = entries->Find("message")) {
    if (auto s = String(e->value, path + ".message", true)) rule.message = *s;
  }
  out.rules.push_back(std::move(rule));
}

void Parser::CheckRuleName(const YAML::Node& value, const std::string& path,
                           const std::string& name) {
  if (!IsValidName(name)) {
    Error(value, path,
          Quote(name) + " is not a valid rule name (use lowercase letters, digits, '_', '.', '-')");
    return;
  }
  auto first = std::find_if(rule_names_.begin(), rule_names_.end(),
                            [&](const auto& p) { return p.first == name; });
  if (first != rule_names_.end()) {
    Error(value, path,
          "duplicate rule name " + Quote(name) + " (first used at line " +
              std::to_string(first->second) + ")");
    return;
  }
  rule_names_.emplace_back(name, value.Mark().line + 1);
}

void Parser::ParseWhen(const YAML::Node& node, const std::string& path, Rule& rule) {
  std::optional<Entries> entries = Map(node, path, kWhenKeys);
  if (!entries) return;
  for (const Entry& e : entries->all()) {
    const std::string field = path + "." + e.key;
    if (e.key == "direction") {
      auto items = StringOrList(e.value, field, false);
      if (!items) continue;
      for (const Item& item : *items) {
        if (std::optional<Direction> d = ParseDirection(item.value)) {
          rule.directions |= static_cast<uint8_t>(1u << static_cast<unsigned>(*d));
        } else {
          ErrorAt(item.mark, item.path,
                  "unknown direction " + Quote(item.value) +
                      DidYouMean(item.value, Names(kDirectionNames)));
        }
      }
    } else if (e.key == "role" || e.key == "tool" || e.key == "tenant") {
      auto items = StringOrList(e.value, field, false);
      if (!items) continue;
      std::vector<std::string>& target =
          e.key == "role" ? rule.roles : (e.key == "tool" ? rule.tools : rule.tenants);
      for (const Item& item : *items) target.push_back(item.value);
    } else if (e.key == "findings") {
      FindingMatcher matcher;
      ParseFindings(e.value, field, matcher);
      rule.findings = std::move(matcher);
    } else if (e.key == "scores") {
      ParseScores(e.value, field, rule);
    }
  }
}

void Parser::ParseFindings(const YAML::Node& node, const std::string& path, FindingMatcher& m) {
  std::optional<Entries> entries = Map(node, path, kFindingKeys);
  if (!entries) return;
  for (const Entry& e : entries->all()) {
    const std::string field = path + "." + e.key;
    if (e.key == "scanner") {
      auto items = StringOrList(e.value, field, false);
      if (!items) continue;
      for (const Item& item : *items) {
        const std::vector<std::string_view> known = ScannerNames();
        if (std::find(known.begin(), known.end(), item.value) == known.end()) {
          ErrorAt(item.mark, item.path,
                  "unknown scanner " + Quote(item.value) + DidYouMean(item.value, known));
          continue;
        }
        auto seen = std::find_if(scanners_seen_.begin(), scanners_seen_.end(),
                                 [&](const auto& s) { return s.first == item.value; });
        if (seen == scanners_seen_.end()) {
          ErrorAt(item.mark, item.path,
                  "scanner " + Quote(item.value) +
                      " is not enabled in this policy (add it under `scanners:`)");
          continue;
        }
        if (!seen->second) {
          ErrorAt(item.mark, item.path,
                  "scanner " + Quote(item.value) + " is disabled (`enabled: false`) in " +
                      "`scanners:`, so this rule could never match");
          continue;
        }
        m.scanners.push_back(item.value);
      }
    } else if (e.key == "type") {
      auto items = StringOrList(e.value, field, false);
      if (!items) continue;
      for (const Item& item : *items) {
        m.types.push_back(item.value);
        m.type_locations.push_back(Where(item.mark, item.path));
      }
    } else if (e.key == "min_score") {
      if (auto s = Score(e.value, field)) m.min_score = *s;
    } else if (e.key == "min_count") {
      if (auto v = Uint(e.value, field, 1, 1000000)) m.min_count = static_cast<uint32_t>(*v);
    }
  }
}

void Parser::ParseScores(const YAML::Node& node, const std::string& path, Rule& rule) {
  if (!node.IsMap()) {
    Error(node, path, "expected a map of label: threshold, got " + Describe(node));
    return;
  }
  if (node.size() == 0) {
    Error(node, path, "must list at least one label (leave the key out for no score condition)");
    return;
  }
  const std::vector<std::string_view> labels = Names(kKnownScoreLabels);
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node key = it->first;
    if (!key.IsScalar()) {
      Error(key, path, "labels must be plain words, got " + Describe(key));
      continue;
    }
    const std::string& label = key.Scalar();
    const std::string field = Join(path, label);
    if (std::find(labels.begin(), labels.end(), label) == labels.end()) {
      Error(key, field, "unknown score label " + Quote(label) + DidYouMean(label, labels));
      continue;
    }
    const bool repeated = std::any_of(rule.scores.begin(), rule.scores.end(),
                                      [&](const ScoreThreshold& t) { return t.label == label; });
    if (repeated) {
      Error(key, field, "duplicate key");
      continue;
    }
    if (auto s = Score(it->second, field)) rule.scores.push_back({label, *s});
  }
}


// ---------------------------------------------------------------------------------------------
// review:

void Parser::ParseReview(const YAML::Node& node, PolicyConfig& out) {
  ReviewSection review;
  review.location = Where(node.Mark(), "review");
  std::optional<Entries> entries = Map(node, "review", kReviewKeys);
  if (!entries) return;
  if (const Entry* e = entries->Find("suspicion")) {
    ParseSuspicion(e->value, "review.suspicion", review);
  } else {
    Error(node, "review.suspicion",
          "missing required key (e.g. `suspicion: {max_of: [unsafe, jailbreak, "
          "prompt_injection]}`)");
  }
  if (const Entry* e = entries->Find("budget")) {
    if (auto v = Number(e->value, "review.budget")) {
      if (*v <= 0 || *v > 0.5) {
        Error(e->value, "review.budget",
              "must be a fraction of traffic above 0 and at most 0.5 (e.g. 0.01 for 1%), got " +
                  e->value.Scalar());
      } else {
        review.budget = *v;
      }
    }
  }
  if (const Entry* e = entries->Find("per_tenant")) {
    if (auto b = Bool(e->value, "review.per_tenant")) review.per_tenant = *b;
  }
  if (const Entry* e = entries->Find("window")) {
    if (auto v = Uint(e->value, "review.window", 100, 100000000)) review.window = *v;
  }
  if (const Entry* e = entries->Find("min_score")) {
    if (auto v = Number(e->value, "review.min_score")) review.min_score = *v;
  }
  if (const Entry* e = entries->Find("direction")) {
    if (auto items = StringOrList(e->value, "review.direction", false)) {
      for (const Item& item : *items) {
        if (std::optional<Direction> d = ParseDirection(item.value)) {
          review.directions |= static_cast<uint8_t>(1u << static_cast<unsigned>(*d));
        } else {
          ErrorAt(item.mark, item.path,
                  "unknown direction " + Quote(item.value) +
                      DidYouMean(item.value, Names(kDirectionNames)));
        }
      }
    }
  }
  out.review = std::move(review);
}

void Parser::ParseSuspicion(const YAML::Node& node, const std::string& path,
                            ReviewSection& review) {
  std::optional<Entries> entries = Map(node, path, kSuspicionKeys, "combination");
  if (!entries) return;
  if (entries->all().size() != 1) {
    // An unknown key was already reported; saying "needs one" as well would only repeat it.
    if (entries->all().size() > 1 || node.size() == 0) {
      Error(node, path, "needs exactly one of max_of (a list of labels) or weighted_sum (a map "
                        "of label: weight)");
    }
    return;
  }
  const Entry& e = entries->all().front();
  const std::string field = path + "." + e.key;
  const std::vector<std::string_view> labels = Names(kKnownScoreLabels);
  auto check_label = [&](const std::string& label, const YAML::Mark& mark,
                         const std::string& where) {
    if (std::find(labels.begin(), labels.end(), label) != labels.end()) return true;
    ErrorAt(mark, where, "unknown score label " + Quote(label) + DidYouMean(label, labels));
    return false;
  };
  if (e.key == "max_of") {
    review.combine = ReviewSection::Combine::kMaxOf;
    auto items = StringOrList(e.value, field, /*list_only=*/true);
    if (!items) return;
    for (const Item& item : *items) {
      if (check_label(item.value, item.mark, item.path)) review.terms.emplace_back(item.value, 1.0f);
    }
    return;
  }
  review.combine = ReviewSection::Combine::kWeightedSum;
  if (!e.value.IsMap() || e.value.size() == 0) {
    Error(e.value, field, "expected a map of label: weight, got " + Describe(e.value));
    return;
  }
  for (auto it = e.value.begin(); it != e.value.end(); ++it) {
    const YAML::Node key = it->first;
    if (!key.IsScalar()) {
      Error(key, field, "labels must be plain words, got " + Describe(key));
      continue;
    }
    const std::string label = key.Scalar();
    const std::string label_path = Join(field, label);
    if (!check_label(label, key.Mark(), label_path)) continue;
    if (std::any_of(review.terms.begin(), review.terms.end(),
                    [&](const auto& t) { return t.first == label; })) {
      Error(key, label_path, "duplicate key");
      continue;
    }
    auto w = Number(it->second, label_path);
    if (!w) continue;
    if (*w <= 0 || *w > 100) {
      Error(it->second, label_path, "weight must be above 0 and at most 100, got " +
                                        it->second.Scalar());
      continue;
    }
    review.terms.emplace_back(label, static_cast<float>(*w));
  }
}

// ---------------------------------------------------------------------------------------------
// tools:

namespace {

bool IsToolName(std::string_view s) {
  return !s.empty() && std::none_of(s.begin(), s.end(), [](char c) {
    const unsigned char u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f;
  });
}

bool IsGlob(std::string_view s) { return s.find('*') != std::string_view::npos; }

// A host_in entry: a host name, "*.domain", or a bracketed IPv6 address; lowercase on return.
std::optional<std::string> HostPattern(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  std::string_view host = out;
  if (host.size() > 2 && host[0] == '[' && host.back() == ']') {
    const std::string_view inner = host.substr(1, host.size() - 2);
    const bool ok = std::all_of(inner.begin(), inner.end(), [](char c) {
      return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == ':' || c == '.';
    });
    return ok ? std::optional<std::string>(out) : std::nullopt;
  }
  if (host.substr(0, 2) == "*.") host.remove_prefix(2);
  if (!host.empty() && host.back() == '.') {
    out.pop_back();
    host.remove_suffix(1);
  }
  if (host.empty() || host.front() == '.' || host.find("..") != std::string_view::npos) {
    return std::nullopt;
  }
  const bool ok = std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
  });
  return ok ? std::optional<std::string>(out) : std::nullopt;
}

}  // namespace

std::optional<double> Parser::Number(const YAML::Node& node, const std::string& path) {
  if (node.IsScalar() && !IsQuoted(node)) {
    const std::string& s = node.Scalar();
    const char* end = s.data() + s.size();
    double value = 0;
    auto [ptr, ec] = std::from_chars(s.data(), end, value);
    if (!s.empty() && ec == std::errc() && ptr == end && std::isfinite(value)) return value;
  }
  Error(node, path, "expected a number, got " + Describe(node));
  return std::nullopt;
}

std::optional<std::vector<Parser::Item>> Parser::ToolNames(const YAML::Node& node,
                                                           const std::string& path) {
  auto items = StringOrList(node, path, false);
  if (!items) return std::nullopt;
  bool ok = true;
  for (const Item& item : *items) {
    if (!IsToolName(item.value)) {
      ErrorAt(item.mark, item.path,
              Quote(item.value) + " is not a tool name (no spaces or control characters)");
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return items;
}

std::optional<Action> Parser::ToolActionValue(const YAML::Node& node, const std::string& path) {
  auto s = String(node, path, false);
  if (!s) return std::nullopt;
  const std::vector<std::string_view> names = Names(kToolActionNames);
  if (std::find(names.begin(), names.end(), *s) != names.end()) return ParseAction(*s);
  if (ParseAction(*s)) {
    Error(node, path,
          "action " + Quote(*s) +
              " cannot decide a tool call (use escalate, require_approval, block or kill)");
  } else {
    Error(node, path, "unknown action " + Quote(*s) + DidYouMean(*s, names));
  }
  return std::nullopt;
}

std::shared_ptr<const RegexSet> Parser::Patterns(const std::vector<Item>& items,
                                                 RegexSet::Mode mode) {
  std::vector<std::string> patterns;
  for (const Item& item : items) {
    if (item.value.size() > kMaxPatternBytes) {
      ErrorAt(item.mark, item.path,
              "pattern is longer than " + std::to_string(kMaxPatternBytes) + " bytes");
      return nullptr;
    }
    patterns.push_back(item.value);
  }
  RegexSet::CompileError error;
  std::shared_ptr<const RegexSet> set = RegexSet::Compile(patterns, mode, &error);
  if (set == nullptr) {
    const Item& bad = items[std::min(error.index, items.size() - 1)];
    ErrorAt(bad.mark, bad.path, "invalid pattern " + Quote(bad.value) + ": " + error.message);
  }
  return set;
}

void Parser::ParseTools(const YAML::Node& node, PolicyConfig& out) {
  ToolPolicy& tools = out.tools;
  tools.present = true;
  if (node.IsNull()) return;  // `tools:` alone: the section's defaults
  std::optional<Entries> entries = Map(node, "tools", kToolsKeys);
  if (!entries) return;
  // Fixed order whatever the author's: rules are checked against the allow list.
  std::vector<Item> allow_items;
  if (const Entry* e = entries->Find("allow")) {
    if (auto items = ToolNames(e->value, "tools.allow")) {
      tools.has_allow_list = true;
      allow_items = *items;
      for (const Item& item : *items) tools.allow.push_back(item.value);
    } else {
      tools.has_allow_list = true;  // keep later checks quiet about a list that had errors
      tools.allow.push_back("*");
    }
  }
  if (const Entry* e = entries->Find("deny")) {
    if (auto items = ToolNames(e->value, "tools.deny")) {
      for (const Item& item : *items) {
        auto both = std::find_if(allow_items.begin(), allow_items.end(),
                                 [&](const Item& a) { return a.value == item.value; });
        if (both != allow_items.end()) {
          ErrorAt(item.mark, item.path,
                  Quote(item.value) + " is also listed in tools.allow (line " +
                      std::to_string(both->mark.line + 1) +
                      "); a tool is either allowed or denied");
          continue;
        }
        tools.deny.push_back(item.value);
      }
    }
  }
  if (const Entry* e = entries->Find("unlisted_action")) {
    if (auto a = ToolActionValue(e->value, "tools.unlisted_action")) {
      tools.unlisted_action = *a;
      if (entries->Find("allow") == nullptr) {
        Error(e->value, "tools.unlisted_action",
              "has no effect without tools.allow (every tool is listed when there is no allow "
              "list)");
      }
    }
  }
  if (const Entry* e = entries->Find("max_argument_bytes")) {
    if (auto v = Uint(e->value, "tools.max_argument_bytes", 2, kMaxArgumentBytesLimit)) {
      tools.max_argument_bytes = static_cast<uint32_t>(*v);
    }
  }
  if (const Entry* e = entries->Find("rules")) {
    if (!e->value.IsSequence()) {
      Error(e->value, "tools.rules",
            "expected a list of tool rules (each starting with `- name:`), got " +
                Describe(e->value));
    } else {
      for (size_t i = 0; i < e->value.size(); ++i) {
        ParseToolRule(e->value[i], IndexPath("tools.rules", i), tools);
      }
    }
  }
  if (const Entry* e = entries->Find("taint")) {
    if (e->value.IsSequence()) {
      if (e->value.size() == 0) {
        Error(e->value, "tools.taint", "must list at least one taint rule (or leave it out)");
      }
      for (size_t i = 0; i < e->value.size(); ++i) {
        ParseTaintRule(e->value[i], IndexPath("tools.taint", i), /*name_required=*/true, tools);
      }
    } else {
      ParseTaintRule(e->value, "tools.taint", /*name_required=*/false, tools);
    }
  }
}

void Parser::ParseToolRule(const YAML::Node& node, const std::string& path, ToolPolicy& tools) {
  std::optional<Entries> entries = Map(node, path, kToolRuleKeys);
  if (!entries) return;
  ToolRule rule;
  rule.location = Where(node.Mark(), path);
  if (const Entry* e = entries->Find("name")) {
    if (auto s = String(e->value, path + ".name", false)) {
      CheckRuleName(e->value, path + ".name", *s);
      rule.name = *s;
    }
  } else {
    Error(node, path + ".name", "missing required key (every tool rule needs a name)");
  }
  if (const Entry* e = entries->Find("description")) {
    if (auto s = String(e->value, path + ".description", true)) rule.description = *s;
  }
  if (const Entry* e = entries->Find("tool")) {
    if (auto items = ToolNames(e->value, path + ".tool")) {
      for (const Item& item : *items) {
        // With an allow list that blocks everything else, a rule for an unlisted tool never
        // decides anything: almost always a typo.
        if (tools.has_allow_list && tools.unlisted_action == Action::kBlock &&
            !IsGlob(item.value) &&
            std::none_of(tools.allow.begin(), tools.allow.end(),
                         [&](const std::string& a) { return GlobMatch(a, item.value); })) {
          std::vector<std::string_view> names(tools.allow.begin(), tools.allow.end());
          ErrorAt(item.mark, item.path,
                  "tool " + Quote(item.value) +
                      " is not in tools.allow, so its calls are refused before this rule "
                      "applies" +
                      DidYouMean(item.value, names));
          continue;
        }
        rule.tools.push_back(item.value);
      }
    }
  }
  if (const Entry* e = entries->Find("args")) ParseArgs(e->value, path + ".args", rule);
  if (const Entry* e = entries->Find("action")) {
    if (auto a = ToolActionValue(e->value, path + ".action")) rule.action = *a;
  }
  if (const Entry* e = entries->Find("message")) {
    if (auto s = String(e->value, path + ".message", true)) rule.message = *s;
  }
  tools.rules.push_back(std::move(rule));
}

void Parser::ParseArgs(const YAML::Node& node, const std::string& path, ToolRule& rule) {
  if (!node.IsMap()) {
    Error(node, path, "expected a map of JSON path: constraints, got " + Describe(node));
    return;
  }
  if (node.size() == 0) {
    Error(node, path,
          "must list at least one JSON path (leave `args` out for a rule on every call)");
    return;
  }
  std::vector<std::pair<std::string, int>> seen;  // path text, line
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node key = it->first;
    if (!key.IsScalar()) {
      Error(key, path, "JSON paths must be strings, got " + Describe(key));
      continue;
    }
    const std::string& text = key.Scalar();
    const std::string field = Join(path, text);
    auto first = std::find_if(seen.begin(), seen.end(),
                              [&](const auto& s) { return s.first == text; });
    if (first != seen.end()) {
      Error(key, field,
            "duplicate key (first given at line " + std::to_string(first->second) + ")");
      continue;
    }
    seen.emplace_back(text, key.Mark().line + 1);
    ArgConstraint c;
    c.location = Where(key.Mark(), field);
    StatusOr<JsonPath> parsed = ParseJsonPath(text);
    if (!parsed.ok()) {
      Error(key, field,
            "invalid JSON path " + Quote(text) + ": " + parsed.status().message() +
                " (use $, .name, ['name'], [0] and [*])");
      continue;
    }
    c.path = std::move(parsed).value();
    ParseConstraint(it->second, field, c);
    rule.args.push_back(std::move(c));
  }
}

void Parser::ParseConstraint(const YAML::Node& node, const std::string& path, ArgConstraint& c) {
  std::optional<Entries> entries = Map(node, path, kConstraintKeys, "constraint");
  if (!entries) return;
  if (entries->all().empty() && node.size() == 0) {
    Error(node, path,
          "lists no constraint (use required, host_in, range, under, deny, regex, one_of or "
          "max_length)");
    return;
  }
  for (const Entry& e : entries->all()) {
    const std::string field = path + "." + e.key;
    if (e.key == "required") {
      if (auto b = Bool(e.value, field)) c.required = *b;
    } else if (e.key == "host_in") {
      auto items = StringOrList(e.value, field, false);
      if (!items) continue;
      for (const Item& item : *items) {
        if (auto host = HostPattern(item.value)) {
          c.host_in.push_back(*host);
        } else {
          ErrorAt(item.mark, item.path,
                  Quote(item.value) +
                      " is not a host name (write the host alone, e.g. \"docs.example.com\" or "
                      "\"*.example.com\")");
        }
      }
    } else if (e.key == "range") {
      std::optional<Entries> bounds = Map(e.value, field, kRangeKeys);
      if (!bounds) continue;
      if (const Entry* b = bounds->Find("min")) c.min = Number(b->value, field + ".min");
      if (const Entry* b = bounds->Find("max")) c.max = Number(b->value, field + ".max");
      if (e.value.size() == 0) {
        Error(e.value, field, "needs min, max or both");
      } else if (c.min && c.max && *c.min > *c.max) {
        Error(e.value, field,
              "min (" + bounds->Find("min")->value.Scalar() + ") is greater than max (" +
                  bounds->Find("max")->value.Scalar() + "), so no value could pass");
      }
    } else if (e.key == "under") {
      auto items = StringOrList(e.value, field, false);
      if (!items) continue;
      for (const Item& item : *items) {
        if (item.value[0] != '/' || item.value.find('\0') != std::string::npos) {
          ErrorAt(item.mark, item.path,
                  Quote(item.value) + " is not an absolute path (start it with \"/\")");
          continue;
        }
        std::string root = fs::path(item.value).lexically_normal().string();
        while (root.size() > 1 && root.back() == '/') root.pop_back();
        c.under.push_back(std::move(root));
      }
    } else if (e.key == "deny") {
      if (auto items = StringOrList(e.value, field, false)) {
        c.deny = Patterns(*items, RegexSet::Mode::kSearch);
      }
    } else if (e.key == "regex") {
      if (auto s = String(e.value, field, false)) {
        c.regex = Patterns({Item{*s, field, e.value.Mark()}}, RegexSet::Mode::kFullMatch);
      }
    } else if (e.key == "one_of") {
      if (!e.value.IsSequence()) {
        Error(e.value, field, "expected a list, got " + Describe(e.value));
        continue;
      }
      if (e.value.size() == 0) {
        Error(e.value, field, "must list at least one value");
        continue;
      }
      for (size_t i = 0; i < e.value.size(); ++i) {
        const YAML::Node item = e.value[i];
        const std::string item_path = IndexPath(field, i);
        if (!item.IsScalar()) {
          Error(item, item_path, "expected a string, number or true/false, got " + Describe(item));
          continue;
        }
        OneOfValue v;
        v.text = item.Scalar();
        if (!IsQuoted(item)) {
          double d = 0;
          const char* end = v.text.data() + v.text.size();
          auto [ptr, ec] = std::from_chars(v.text.data(), end, d);
          if (!v.text.empty() && ec == std::errc() && ptr == end) v.number = d;
          if (v.text == "true") v.boolean = true;
          if (v.text == "false") v.boolean = false;
        }
        const bool repeated = std::any_of(c.one_of.begin(), c.one_of.end(),
                                          [&](const OneOfValue& o) { return o.text == v.text; });
        if (repeated) {
          Error(item, item_path, Quote(v.text) + " is listed twice");
          continue;
        }
        c.one_of.push_back(std::move(v));
      }
    } else if (e.key == "max_length") {
      if (auto v = Uint(e.value, field, 0, std::numeric_limits<uint32_t>::max())) {
        c.max_length = *v;
      }
    }
  }
}

void Parser::ParseTaintRule(const YAML::Node& node, const std::string& path, bool name_required,
                            ToolPolicy& tools) {
  std::optional<Entries> entries = Map(node, path, kTaintKeys);
  if (!entries) return;
  TaintRule rule;
  rule.location = Where(node.Mark(), path);
  if (const Entry* e = entries->Find("name")) {
    if (auto s = String(e->value, path + ".name", false)) {
      CheckRuleName(e->value, path + ".name", *s);
      rule.name = *s;
    }
  } else if (name_required) {
    Error(node, path + ".name", "missing required key (each of several taint rules needs a name)");
  } else {
    CheckRuleName(node, path, rule.name);
  }
  if (const Entry* e = entries->Find("description")) {
    if (auto s = String(e->value, path + ".description", true)) rule.description = *s;
  }
  for (std::string_view key : {"untrusted_sources", "sensitive_sinks"}) {
    const Entry* e = entries->Find(key);
    if (e == nullptr) {
      Error(node, Join(path, key),
            std::string("missing required key (the tools whose ") +
                (key == "untrusted_sources" ? "results are untrusted" : "calls are sensitive") +
                ")");
      continue;
    }
    if (auto items = ToolNames(e->value, Join(path, key))) {
      auto& target = key == "untrusted_sources" ? rule.untrusted_sources : rule.sensitive_sinks;
      for (const Item& item : *items) target.push_back(item.value);
    }
  }
  if (const Entry* e = entries->Find("action")) {
    if (auto a = ToolActionValue(e->value, path + ".action")) rule.action = *a;
  }
  if (const Entry* e = entries->Find("message")) {
    if (auto s = String(e->value, path + ".message", true)) rule.message = *s;
  }
  tools.taint.push_back(std::move(rule));
}

// Scores are sorted by label (Facts contract), so a lookup is a binary search, no allocation.
float ScoreOf(const std::vector<std::pair<std::string, float>>* scores, std::string_view label) {
  if (scores == nullptr) return 0.0f;
  auto it = std::lower_bound(
      scores->begin(), scores->end(), label,
      [](const std::pair<std::string, float>& s, std::string_view l) { return s.first < l; });
  if (it == scores->end() || it->first != label) return 0.0f;
  return it->second;
}

bool Contains(const std::vector<std::string>& list, std::string_view value) {
  for (const std::string& s : list) {
    if (s == value) return true;
  }
  return false;
}

bool RuleMatches(const Rule& rule, const Facts& facts) {
  const Message* m = facts.message;
  if (rule.directions != 0) {
    if (m == nullptr) return false;
    if ((rule.directions & (1u << static_cast<unsigned>(m->direction))) == 0) return false;
  }
  if (!rule.roles.empty() && (m == nullptr || !Contains(rule.roles, m->role))) return false;
  if (!rule.tools.empty() && (m == nullptr || !Contains(rule.tools, m->tool_name))) return false;
  if (!rule.tenants.empty() && (m == nullptr || !Contains(rule.tenants, m->tenant))) {
    return false;
  }
  if (rule.findings) {
    const FindingMatcher& matcher = *rule.findings;
    uint32_t count = 0;
    if (facts.findings != nullptr) {
      for (const Finding& f : *facts.findings) {
        if (FindingMatches(matcher, f) && ++count >= matcher.min_count) break;
      }
    }
    if (count < matcher.min_count) return false;
  }
  if (!rule.scores.empty()) {
    bool any = false;
    for (const ScoreThreshold& t : rule.scores) {
      if (ScoreOf(facts.scores, t.label) >= t.min) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  return true;
}

}  // namespace

StatusOr<PolicyConfig> ParsePolicy(std::string_view yaml, const std::string& display_name,
                                   const std::string& base_dir) {
  // yaml-cpp reports errors by throwing; nothing may escape into callers that do not expect it.
  try {
    Parser parser(display_name, base_dir);
    return parser.Run(yaml);
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(display_name + ": " + e.what());
  } catch (const std::exception& e) {
    return InternalError(display_name + ": unexpected error while reading the policy: " +
                         e.what());
  }
}

Status LoadViewWords(const PolicyConfig& policy, text::ViewOptions& views) {
  if (!policy.gloss_path.empty()) {
    auto glossary = text::Glossary::Load(policy.gloss_path);
    if (!glossary.ok()) {
      return Status(glossary.status().code(),
                    policy.gloss_location + ": " + glossary.status().message());
    }
    views.glossary = std::move(glossary).value();
  }
  if (!policy.words_path.empty()) {
    auto words = text::WordList::Load(policy.words_path);
    if (!words.ok()) {
      return Status(words.status().code(), policy.words_location + ": " + words.status().message());
    }
    views.words = std::move(words).value();
  }
  return OkStatus();
}

StatusOr<PolicyConfig> LoadPolicyFile(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    return InvalidArgumentError(path + ": is a directory, not a policy file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError(path + ": cannot open policy file (no such file or unreadable)");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return NotFoundError(path + ": error while reading the policy file");
  std::string base_dir = fs::path(path).parent_path().string();
  if (base_dir.empty()) base_dir = ".";
  return ParsePolicy(text.str(), path, base_dir);
}

double SuspicionScore(const ReviewSection& review,
                      const std::vector<std::pair<std::string, float>>& scores) {
  double out = 0;
  for (const auto& [label, weight] : review.terms) {
    const double s = ScoreOf(&scores, label);
    if (review.combine == ReviewSection::Combine::kMaxOf) {
      out = std::max(out, s);
    } else {
      out += weight * s;
    }
  }
  return out;
}

bool FindingMatches(const FindingMatcher& matcher, const Finding& finding) {
  if (!matcher.scanners.empty() && !Contains(matcher.scanners, finding.scanner)) return false;
  if (!matcher.types.empty() && !Contains(matcher.types, finding.type)) return false;
  return finding.score >= matcher.min_score;
}

Decision EvaluateRules(const PolicyConfig& policy, const Facts& facts) {
  Decision decision;
  decision.action = policy.default_action;
  for (const Rule& rule : policy.rules) {
    if (!RuleMatches(rule, facts)) continue;
    // Only a matched redact rule allocates (the list of what to redact).
    if (rule.action == Action::kRedact) decision.redact_rules.push_back(&rule);
    if (decision.rule == nullptr || rule.action > decision.action) {
      decision.rule = &rule;
      decision.action = rule.action;
    }
  }
  return decision;
}

}  // namespace warden::policy
