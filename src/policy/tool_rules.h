// Tool-call rules: the `tools:` section of a policy (docs/policy.md, "Tool calls" and "Taint").
// It says which tools an agent may call, what their JSON arguments may contain, and which tools
// may not be driven by a conversation that holds an untrusted tool's result.
//
//   const ToolPolicy& tools = policy.tools;   // parsed and validated by ParsePolicy()
//   ToolDecision d = EvaluateToolCall(tools, {.tool_name = "fetch",
//                                             .arguments = R"({"url": "https://evil.test"})"});
//   if (d.action >= Action::kBlock) refuse(d.rule, d.message);   // "fetch-known-hosts"
//
// Arguments are parsed with simdjson; regular expressions run on Hyperscan, whose matching time
// is linear in the input (no backtracking), so hostile arguments cannot make a check slow.
// Thread-safety: every type here is immutable after parsing and safe to share between threads;
// EvaluateToolCall is a pure function (it uses thread-local scratch space).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "warden/status.h"
#include "warden/verdict.h"

struct hs_database;  // Hyperscan's compiled database (<hs/hs.h>), kept out of this header

namespace warden::policy {

// Rule names the engine gives to decisions that no rule in the file names.
inline constexpr std::string_view kToolDeniedRule = "tool-denied";
inline constexpr std::string_view kToolNotAllowedRule = "tool-not-allowed";
inline constexpr std::string_view kToolArgumentsInvalidRule = "tool-arguments-invalid";
inline constexpr std::string_view kToolArgumentsTooLargeRule = "tool-arguments-too-large";
inline constexpr std::string_view kDefaultTaintRule = "tool-taint";

// ---------------------------------------------------------------------------------------------
// JSON paths: a small subset of JSONPath.
//   $            the whole arguments value
//   .key         member "key" of an object (letters, digits, '_' and '-')
//   ['key']      member of any name ("key" with '\'' and '\\' escaped by a backslash; "…" works
//   too) [3]          element 3 (0-based) of an array
//   [*]          every element of an array, or every member value of an object
struct JsonPathStep {
  enum class Kind : uint8_t { kKey, kIndex, kAny };
  Kind kind = Kind::kKey;
  std::string key;     // kKey
  uint64_t index = 0;  // kIndex
};

struct JsonPath {
  std::string text;  // as written in the policy
  std::vector<JsonPathStep> steps;
};

// Parses `text`. Errors say what is wrong and at which 1-based character, e.g.
// `expected "]" at character 7`. At most kMaxJsonPathSteps steps.
inline constexpr size_t kMaxJsonPathSteps = 32;
StatusOr<JsonPath> ParseJsonPath(std::string_view text);

// ---------------------------------------------------------------------------------------------
// Regular expressions compiled into one Hyperscan database (Hyperscan's syntax: PCRE without
// backreferences or lookaround; inline flags such as (?i) work). Matching is UTF-8 aware.
class RegexSet {
 public:
  enum class Mode : uint8_t {
    kSearch,     // a pattern matches when it matches anywhere in the text
    kFullMatch,  // a pattern matches only when it matches the whole text
  };
  enum class Result : uint8_t { kNoMatch, kMatch, kError };

  struct CompileError {
    size_t index = 0;     // which pattern failed
    std::string message;  // Hyperscan's reason, rephrased where it helps
  };

  // Compiles `patterns` (at least one). On failure, returns nullptr and fills `error`.
  static std::shared_ptr<const RegexSet> Compile(const std::vector<std::string>& patterns,
                                                 Mode mode, CompileError* error);

  // Whether any pattern matches `text`. kError when the text is not valid UTF-8 or Hyperscan
  // fails (callers fail closed).
  Result Match(std::string_view text) const;

  ~RegexSet();
  RegexSet(const RegexSet&) = delete;
  RegexSet& operator=(const RegexSet&) = delete;

 private:
  RegexSet() = default;
  ::hs_database* db_ = nullptr;
};

// ---------------------------------------------------------------------------------------------
// The policy's `tools:` section, validated.

// A value listed under `one_of`.
struct OneOfValue {
  std::string text;              // the scalar as written
  std::optional<double> number;  // set when written as a plain (unquoted) number
  std::optional<bool> boolean;   // set when written as plain true / false
};

// Constraints on the values one JSON path selects in the arguments. Every constraint set must
// hold for every value the path selects (`[*]` selects several). A path that selects nothing,
// or only `null`, is missing: that violates `required: true` and nothing else.
struct ArgConstraint {
  JsonPath path;
  bool required = false;
  std::vector<std::string> host_in;       // lowercase hosts; "*.example.org" = any subdomain
  std::optional<double> min, max;         // range: a JSON number within [min, max]
  std::vector<std::string> under;         // absolute, normalised roots
  std::shared_ptr<const RegexSet> deny;   // violated when any pattern matches anywhere
  std::shared_ptr<const RegexSet> regex;  // violated unless the pattern matches all of it
  std::vector<OneOfValue> one_of;         // violated unless the value equals one of these
  std::optional<uint64_t> max_length;     // string characters, array elements, object members
  std::string location;                   // "file:line:col: tools.rules[0].args.$.url"
};

// One entry of `tools.rules`. It fires on a call to one of its tools when any of its argument
// constraints is violated; a rule without `args` fires on every call to its tools.
struct ToolRule {
  std::string name;
  std::string description;
  std::vector<std::string> tools;  // names or globs ("mcp__github__*"); empty = any tool
  std::vector<ArgConstraint> args;
  Action action = Action::kBlock;
  std::string message;
  std::string location;  // "file:line:col: tools.rules[0]"
};

// One taint rule: a call to a sensitive sink, in a conversation that holds the result of an
// untrusted source, gets `action`.
struct TaintRule {
  std::string name = std::string(kDefaultTaintRule);
  std::string description;
  std::vector<std::string> untrusted_sources;  // tool names or globs
  std::vector<std::string> sensitive_sinks;    // tool names or globs
  Action action = Action::kRequireApproval;
  std::string message;
  std::string location;
};

struct ToolPolicy {
  bool present = false;                     // the policy has a `tools:` section
  bool has_allow_list = false;              // `allow` was given
  std::vector<std::string> allow;           // names or globs
  std::vector<std::string> deny;            // names or globs; wins over `allow`
  Action unlisted_action = Action::kBlock;  // for a tool that `allow` does not list
  uint32_t max_argument_bytes = 256u << 10;
  std::vector<ToolRule> rules;
  std::vector<TaintRule> taint;
};

// What a tool-call decision sees.
struct ToolFacts {
  std::string_view tool_name;
  std::string_view arguments;  // JSON text; empty or blank means {}
  // Taint: names of tools whose results are already in the conversation. Both lists count.
  // A name that is empty (a result whose tool is unknown) counts as an untrusted source.
  const std::vector<std::string>* results_seen = nullptr;
  std::span<const std::string_view> more_results_seen = {};
  // The caller states the conversation holds untrusted content, whatever its source.
  bool untrusted_content = false;
};

struct ToolDecision {
  Action action = Action::kAllow;
  std::string rule;     // the deciding rule; empty when nothing fired
  std::string message;  // the rule's `message`, or an explanation written for the agent
};

// Evaluates the tool section for one tool call: deny list, allow list, argument size and JSON
// validity, argument rules (file order), taint rules (file order). The most severe action wins;
// the first in that order among equals. Returns {kAllow, "", ""} when the section is absent.
ToolDecision EvaluateToolCall(const ToolPolicy& tools, const ToolFacts& facts);

// Helpers, exposed for tests.

// True when `name` matches `pattern`, where '*' matches any run of characters.
bool GlobMatch(std::string_view pattern, std::string_view name);
// The lowercase host of an absolute URL ("scheme://[user@]host[:port]/…"), or nullopt when `url`
// has no such host or contains anything a careful fetcher might read differently (whitespace,
// control characters, '%' or other bytes outside host names in the host).
std::optional<std::string> UrlHost(std::string_view url);
// True when `host` equals an entry or, for "*.example.org", is a subdomain of example.org.
bool HostAllowed(const std::vector<std::string>& allowed, std::string_view host);
// True when `path`, normalised lexically ('.', '..', repeated and back-slashes) and resolved
// against `root` when relative, stays at or under `root`. Paths with NUL or starting with '~'
// never do. REQUIRES: `root` is absolute and normalised.
bool PathUnder(std::string_view root, std::string_view path);

}  // namespace warden::policy
