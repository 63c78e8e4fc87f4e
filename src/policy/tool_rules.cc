#include "policy/tool_rules.h"

#include <hs/hs.h>
#include <simdjson.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/utf8.h"

namespace warden::policy {

namespace dom = simdjson::dom;

// ---------------------------------------------------------------------------------------------
// JSON paths

namespace {

bool IsKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

Status PathError(std::string_view what, size_t pos) {
  return InvalidArgumentError(std::string(what) + " at character " + std::to_string(pos + 1));
}

}  // namespace

StatusOr<JsonPath> ParseJsonPath(std::string_view text) {
  JsonPath path;
  path.text = std::string(text);
  if (text.empty() || text[0] != '$') return PathError("a path starts with \"$\"", 0);
  size_t i = 1;
  while (i < text.size()) {
    if (path.steps.size() >= kMaxJsonPathSteps) {
      return PathError("too many steps (at most " + std::to_string(kMaxJsonPathSteps) + ")", i);
    }
    JsonPathStep step;
    if (text[i] == '.') {
      const size_t start = ++i;
      while (i < text.size() && IsKeyChar(text[i])) ++i;
      if (i == start) {
        return PathError(
            "expected a member name (letters, digits, '_', '-'; write ['name'] "
            "for others)",
            start);
      }
      step.kind = JsonPathStep::Kind::kKey;
      step.key = std::string(text.substr(start, i - start));
    } else if (text[i] == '[') {
      ++i;
      if (i >= text.size()) return PathError("expected an index, '*' or a quoted name", i);
      if (text[i] == '*') {
        step.kind = JsonPathStep::Kind::kAny;
        ++i;
      } else if (text[i] == '\'' || text[i] == '"') {
        const char quote = text[i++];
        step.kind = JsonPathStep::Kind::kKey;
        bool closed = false;
        while (i < text.size()) {
          char c = text[i];
          if (c == quote) {
            closed = true;
            ++i;
            break;
          }
          if (c == '\\') {
            if (i + 1 >= text.size() || (text[i + 1] != quote && text[i + 1] != '\\')) {
              return PathError(
                  "only \\\\ and \\" + std::string(1, quote) + " may follow a backslash", i);
            }
            c = text[i + 1];
            i += 2;
          } else {
            ++i;
          }
          step.key += c;
        }
        if (!closed) return PathError("unterminated quoted name", text.size());
      } else if (text[i] >= '0' && text[i] <= '9') {
        const size_t start = i;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
        if (i - start > 9) return PathError("index too large", start);
        step.kind = JsonPathStep::Kind::kIndex;
        step.index = std::stoull(std::string(text.substr(start, i - start)));
      } else {
        return PathError("expected an index, '*' or a quoted name", i);
      }
      if (i >= text.size() || text[i] != ']') return PathError("expected \"]\"", i);
      ++i;
    } else {
      return PathError("expected \".\" or \"[\"", i);
    }
    path.steps.push_back(std::move(step));
  }
  return path;
}

// ---------------------------------------------------------------------------------------------
// Regular expressions

namespace {

// Hyperscan's messages are written for its API; authors of a policy need the consequence.
std::string RephraseHyperscanError(std::string message, RegexSet::Mode mode) {
  if (message.find("empty buffer") != std::string::npos && mode == RegexSet::Mode::kSearch) {
    return "the pattern matches the empty string, so it would match every value";
  }
  return message;
}

struct RegexScratch {
  hs_scratch_t* scratch = nullptr;
  ~RegexScratch() { hs_free_scratch(scratch); }
};

int OnRegexMatch(unsigned int, unsigned long long, unsigned long long, unsigned int,
                 void* context) {
  *static_cast<bool*>(context) = true;
  return 1;  // one match decides; stop scanning
}

}  // namespace

std::shared_ptr<const RegexSet> RegexSet::Compile(const std::vector<std::string>& patterns,
                                                  Mode mode, CompileError* error) {
  std::vector<std::string> expressions;
  std::vector<unsigned int> flags;
  std::vector<unsigned int> ids;
  for (size_t i = 0; i < patterns.size(); ++i) {
    // Each pattern alone first: wrapping it for a full match could otherwise hide (or change the
    // meaning of) an unbalanced parenthesis, and the error should name the pattern as written.
    unsigned int f = HS_FLAG_UTF8 | HS_FLAG_SINGLEMATCH;
    if (mode == Mode::kFullMatch) f |= HS_FLAG_ALLOWEMPTY;
    hs_expr_info_t* info = nullptr;
    hs_compile_error_t* compile_error = nullptr;
    if (hs_expression_info(patterns[i].c_str(), f, &info, &compile_error) != HS_SUCCESS) {
      if (error != nullptr) {
        error->index = i;
        error->message = RephraseHyperscanError(
            compile_error != nullptr ? compile_error->message : "rejected", mode);
      }
      hs_free_compile_error(compile_error);
      return nullptr;
    }
    free(info);  // hs_expression_info allocates with the default (malloc) allocator
    expressions.push_back(mode == Mode::kFullMatch ? "\\A(?:" + patterns[i] + ")\\z" : patterns[i]);
    flags.push_back(f);
    ids.push_back(static_cast<unsigned int>(i));
  }
  std::vector<const char*> pointers;
  for (const std::string& e : expressions) pointers.push_back(e.c_str());
  std::shared_ptr<RegexSet> set(new RegexSet());
  hs_compile_error_t* compile_error = nullptr;
  if (hs_compile_multi(pointers.data(), flags.data(), ids.data(),
                       static_cast<unsigned int>(pointers.size()), HS_MODE_BLOCK, nullptr,
                       &set->db_, &compile_error) != HS_SUCCESS) {
    if (error != nullptr) {
      const int index = compile_error != nullptr ? compile_error->expression : -1;
      error->index = index >= 0 ? static_cast<size_t>(index) : 0;
      error->message = RephraseHyperscanError(
          compile_error != nullptr ? compile_error->message : "rejected", mode);
    }
    hs_free_compile_error(compile_error);
    return nullptr;
  }
  return set;
}

RegexSet::~RegexSet() { hs_free_database(db_); }

RegexSet::Result RegexSet::Match(std::string_view text) const {
  // Hyperscan's UTF-8 mode is undefined on invalid input. Values come from validated JSON, so
  // this only guards against a future caller.
  if (!IsValidUtf8(text)) return Result::kError;
  thread_local RegexScratch ts;
  // Grows the thread's scratch to fit this database; cheap when it already fits.
  if (hs_alloc_scratch(db_, &ts.scratch) != HS_SUCCESS) return Result::kError;
  bool matched = false;
  const hs_error_t rc = hs_scan(db_, text.data(), static_cast<unsigned int>(text.size()), 0,
                                ts.scratch, &OnRegexMatch, &matched);
  if (rc != HS_SUCCESS && rc != HS_SCAN_TERMINATED) return Result::kError;
  return matched ? Result::kMatch : Result::kNoMatch;
}

// ---------------------------------------------------------------------------------------------
// Names, hosts and paths

bool GlobMatch(std::string_view pattern, std::string_view name) {
  // Iterative matcher with one backtrack point: linear in practice, never exponential.
  size_t p = 0, n = 0, star = std::string_view::npos, mark = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = n;
    } else if (p < pattern.size() && pattern[p] == name[n]) {
      ++p;
      ++n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

namespace {

bool MatchesAny(const std::vector<std::string>& patterns, std::string_view name) {
  for (const std::string& p : patterns) {
    if (GlobMatch(p, name)) return true;
  }
  return false;
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

std::optional<std::string> UrlHost(std::string_view url) {
  for (char c : url) {
    const unsigned char u = static_cast<unsigned char>(c);
    // WHATWG URL parsers strip or skip some of these, others keep them: either way the host a
    // fetcher sees may not be the one checked here.
    if (u <= 0x20 || u == 0x7f) return std::nullopt;
  }
  size_t i = 0;
  while (i < url.size() && ((url[i] >= 'a' && url[i] <= 'z') || (url[i] >= 'A' && url[i] <= 'Z') ||
                            (i > 0 && ((url[i] >= '0' && url[i] <= '9') || url[i] == '+' ||
                                       url[i] == '-' || url[i] == '.')))) {
    ++i;
  }
  if (i == 0 || url.substr(i, 3) != "://") return std::nullopt;
  std::string_view rest = url.substr(i + 3);
  // A backslash ends the authority for http(s) in browsers and many libraries.
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#\\"));
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  std::string_view host = authority;
  if (!host.empty() && host[0] == '[') {
    const size_t close = host.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    std::string_view after = host.substr(close + 1);
    host = host.substr(0, close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return std::nullopt;
      after.remove_prefix(1);
      if (!std::all_of(after.begin(), after.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return std::nullopt;
      }
    }
    for (char c : host.substr(1, host.size() - 2)) {
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
            c == ':' || c == '.')) {
        return std::nullopt;
      }
    }
  } else {
    if (size_t colon = host.find(':'); colon != std::string_view::npos) {
      std::string_view port = host.substr(colon + 1);
      if (!std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return std::nullopt;
      }
      host = host.substr(0, colon);
    }
    if (!host.empty() && host.back() == '.') host.remove_suffix(1);  // "example.com." is absolute
    for (char c : host) {
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '.' || c == '-' || c == '_')) {
        return std::nullopt;
      }
    }
  }
  if (host.empty() || host == "[]") return std::nullopt;
  std::string out(host);
  for (char& c : out) c = Lower(c);
  return out;
}

bool HostAllowed(const std::vector<std::string>& allowed, std::string_view host) {
  for (const std::string& a : allowed) {
    if (a.size() > 2 && a[0] == '*' && a[1] == '.') {
      const std::string_view suffix = std::string_view(a).substr(1);  // ".example.org"
      if (host.size() > suffix.size() && host.substr(host.size() - suffix.size()) == suffix) {
        return true;
      }
    } else if (host == a) {
      return true;
    }
  }
  return false;
}

bool PathUnder(std::string_view root, std::string_view path) {
  if (path.empty() || path[0] == '~' || path.find('\0') != std::string_view::npos) return false;
  std::vector<std::string_view> parts;
  auto push = [&](std::string_view p) {
    size_t i = 0;
    while (i <= p.size()) {
      size_t end = p.find_first_of("/\\", i);
      if (end == std::string_view::npos) end = p.size();
      std::string_view seg = p.substr(i, end - i);
      if (seg == "..") {
        if (!parts.empty()) parts.pop_back();  // ".." at "/" stays at "/"
      } else if (!seg.empty() && seg != ".") {
        parts.push_back(seg);
      }
      i = end + 1;
    }
  };
  const bool absolute = path[0] == '/' || path[0] == '\\';
  if (!absolute) push(root);
  push(path);
  std::vector<std::string_view> root_parts;
  {
    std::vector<std::string_view> saved;
    saved.swap(parts);
    push(root);
    root_parts.swap(parts);
    parts.swap(saved);
  }
  if (parts.size() < root_parts.size()) return false;
  return std::equal(root_parts.begin(), root_parts.end(), parts.begin());
}

// ---------------------------------------------------------------------------------------------
// Evaluation

namespace {

struct ThreadJson {
  dom::parser parser;
  std::string buffer;  // the arguments, copied with simdjson's padding: no allocation per call
};

// Tool names come from the model; keep them short and printable in messages.
std::string QuoteName(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < 64; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    out += (c < 0x20 || c == 0x7f || c == '"' || c == '\\') ? '?' : static_cast<char>(c);
  }
  if (s.size() > 64) out += "...";
  return out + "\"";
}

std::string_view Outcome(Action a) {
  switch (a) {
    case Action::kAllow:
    case Action::kRedact:
    case Action::kEscalate:
    case Action::kDefer:
      return "was flagged for review";
    case Action::kRequireApproval:
      return "needs a human's approval";
    case Action::kBlock:
    case Action::kKill:
      break;
  }
  return "was refused";
}

std::string FormatNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

// Text of a scalar as the regex and deny constraints see it.
bool ScalarText(dom::element e, std::string& out) {
  switch (e.type()) {
    case dom::element_type::STRING: {
      std::string_view s;
      if (e.get_string().get(s)) return false;
      out.assign(s);
      return true;
    }
    case dom::element_type::INT64: {
      int64_t v = 0;
      if (e.get_int64().get(v)) return false;
      out = std::to_string(v);
      return true;
    }
    case dom::element_type::UINT64: {
      uint64_t v = 0;
      if (e.get_uint64().get(v)) return false;
      out = std::to_string(v);
      return true;
    }
    case dom::element_type::DOUBLE:
      out = simdjson::minify(e);
      return true;
    case dom::element_type::BOOL: {
      bool v = false;
      if (e.get_bool().get(v)) return false;
      out = v ? "true" : "false";
      return true;
    }
    default:
      return false;
  }
}

// Removes what a shell would remove before running a command: quotes, backslashes and $IFS, so
// `r"m" -rf` and `rm${IFS}-rf` meet the deny patterns as `rm -rf`.
std::string ShellFolded(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool space = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\'' || c == '"' || c == '\\' || c == '`') continue;
    bool blank = c == ' ' || c == '\t' || c == '\n' || c == '\r';
    if (s.substr(i, 6) == "${IFS}") {
      blank = true;
      i += 5;
    } else if (s.substr(i, 4) == "$IFS") {
      blank = true;
      i += 3;
    }
    if (blank) {
      if (!space) out += ' ';
      space = true;
      continue;
    }
    space = false;
    out += c;
  }
  return out;
}

// What `deny` patterns see of a value: a string itself; an array's scalar items joined by
// spaces (["rm", "-rf", "/"] reads as "rm -rf /"); anything else as compact JSON.
std::string DenyText(dom::element e) {
  std::string out;
  if (ScalarText(e, out)) return out;
  dom::array items;
  if (!e.get_array().get(items)) {
    bool all_scalars = true;
    std::string item;
    for (dom::element child : items) {
      if (!ScalarText(child, item)) {
        all_scalars = false;
        break;
      }
      if (!out.empty()) out += ' ';
      out += item;
    }
    if (all_scalars) return out;
  }
  return simdjson::minify(e);
}

bool DenyMatches(const RegexSet& deny, dom::element e) {
  const std::string text = DenyText(e);
  RegexSet::Result r = deny.Match(text);
  if (r != RegexSet::Result::kNoMatch) return true;  // a match, or an error: fail closed
  const std::string folded = ShellFolded(text);
  if (folded == text) return false;
  return deny.Match(folded) != RegexSet::Result::kNoMatch;
}

bool OneOfMatches(const std::vector<OneOfValue>& values, dom::element e) {
  switch (e.type()) {
    case dom::element_type::STRING: {
      std::string_view s;
      if (e.get_string().get(s)) return false;
      // Typed: "3" is not 3, and "true" is not true.
      return std::any_of(values.begin(), values.end(), [&](const OneOfValue& v) {
        return !v.number && !v.boolean && v.text == s;
      });
    }
    case dom::element_type::INT64:
    case dom::element_type::UINT64:
    case dom::element_type::DOUBLE: {
      double d = 0;
      if (e.get_double().get(d)) return false;
      return std::any_of(values.begin(), values.end(),
                         [&](const OneOfValue& v) { return v.number && *v.number == d; });
    }
    case dom::element_type::BOOL: {
      bool b = false;
      if (e.get_bool().get(b)) return false;
      return std::any_of(values.begin(), values.end(),
                         [&](const OneOfValue& v) { return v.boolean && *v.boolean == b; });
    }
    default:
      return false;
  }
}

// Returns an explanation when `e` breaks one of the constraint's value conditions (not
// `required`, which concerns absence), or an empty string.
std::string Violation(const ArgConstraint& c, dom::element e) {
  if (!c.host_in.empty()) {
    std::string_view s;
    std::optional<std::string> host;
    if (e.type() == dom::element_type::STRING && !e.get_string().get(s)) host = UrlHost(s);
    if (!host || !HostAllowed(c.host_in, *host)) return "must be a URL on an allowed host";
  }
  if (c.min || c.max) {
    double d = 0;
    const bool number = e.is_number() && !e.get_double().get(d);
    if (!number || (c.min && d < *c.min) || (c.max && d > *c.max)) {
      if (c.min && c.max) {
        return "must be a number from " + FormatNumber(*c.min) + " to " + FormatNumber(*c.max);
      }
      return c.min ? "must be a number of at least " + FormatNumber(*c.min)
                   : "must be a number of at most " + FormatNumber(*c.max);
    }
  }
  if (!c.under.empty()) {
    std::string_view s;
    const bool ok = e.type() == dom::element_type::STRING && !e.get_string().get(s) &&
                    std::any_of(c.under.begin(), c.under.end(),
                                [&](const std::string& root) { return PathUnder(root, s); });
    if (!ok) return "must be a path under " + c.under.front();
  }
  if (c.deny && DenyMatches(*c.deny, e)) return "matches a denied pattern";
  if (c.regex) {
    std::string text;
    if (!ScalarText(e, text) || c.regex->Match(text) != RegexSet::Result::kMatch) {
      return "does not have the required form";
    }
  }
  if (!c.one_of.empty() && !OneOfMatches(c.one_of, e)) {
    std::string list;
    for (size_t i = 0; i < c.one_of.size() && i < 8; ++i) {
      list += (i ? ", " : "") + c.one_of[i].text;
    }
    if (c.one_of.size() > 8) list += ", ...";
    return "must be one of: " + list;
  }
  if (c.max_length) {
    uint64_t length = 0;
    std::string_view s;
    dom::array a;
    dom::object o;
    if (!e.get_string().get(s)) {
      for (char ch : s) length += (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
    } else if (!e.get_array().get(a)) {
      length = a.size();
    } else if (!e.get_object().get(o)) {
      length = o.size();
    } else {
      return "has no length (expected a string, a list or an object)";
    }
    if (length > *c.max_length) {
      return "is longer than " + std::to_string(*c.max_length);
    }
  }
  return {};
}

// Calls `visit` with every value `steps` select from `e`. A key that occurs several times in one
// object selects every occurrence: parsers disagree on which duplicate wins, so all are checked.
// `visit` returns false to stop early; Resolve returns false when stopped.
template <typename Visit>
bool Resolve(dom::element e, std::span<const JsonPathStep> steps, Visit& visit) {
  if (steps.empty()) return visit(e);
  const JsonPathStep& step = steps.front();
  const std::span<const JsonPathStep> rest = steps.subspan(1);
  switch (step.kind) {
    case JsonPathStep::Kind::kKey: {
      dom::object object;
      if (e.get_object().get(object)) return true;
      for (dom::key_value_pair field : object) {
        if (field.key == step.key && !Resolve(field.value, rest, visit)) return false;
      }
      return true;
    }
    case JsonPathStep::Kind::kIndex: {
      dom::array array;
      dom::element child;
      if (e.get_array().get(array) || array.at(step.index).get(child)) return true;
      return Resolve(child, rest, visit);
    }
    case JsonPathStep::Kind::kAny: {
      dom::array array;
      dom::object object;
      if (!e.get_array().get(array)) {
        for (dom::element child : array) {
          if (!Resolve(child, rest, visit)) return false;
        }
      } else if (!e.get_object().get(object)) {
        for (dom::key_value_pair field : object) {
          if (!Resolve(field.value, rest, visit)) return false;
        }
      }
      return true;
    }
  }
  return true;
}

// The first violated constraint of `rule` as "$.url must be …", or an empty string.
std::string RuleViolation(const ToolRule& rule, dom::element root) {
  for (const ArgConstraint& c : rule.args) {
    bool present = false;
    std::string why;
    auto visit = [&](dom::element value) {
      if (value.is_null()) return true;  // null counts as absent (optional arguments)
      present = true;
      why = Violation(c, value);
      return why.empty();
    };
    Resolve(root, c.path.steps, visit);
    if (!why.empty()) return c.path.text + " " + why;
    if (!present && c.required) return c.path.text + " is required";
  }
  return {};
}

// Keeps the most severe decision; the earlier one among equals.
void Consider(ToolDecision& best, Action action, std::string_view rule, const std::string& message,
              const std::string& fallback) {
  if (!best.rule.empty() && action <= best.action) return;
  best.action = action;
  best.rule = std::string(rule);
  best.message = message.empty() ? fallback : message;
}

bool SeenUntrusted(const TaintRule& rule, const ToolFacts& facts) {
  if (facts.untrusted_content) return true;
  auto untrusted = [&](std::string_view name) {
    return name.empty() || MatchesAny(rule.untrusted_sources, name);
  };
  if (facts.results_seen != nullptr) {
    for (const std::string& name : *facts.results_seen) {
      if (untrusted(name)) return true;
    }
  }
  for (std::string_view name : facts.more_results_seen) {
    if (untrusted(name)) return true;
  }
  return false;
}

}  // namespace

ToolDecision EvaluateToolCall(const ToolPolicy& tools, const ToolFacts& facts) {
  ToolDecision best;
  if (!tools.present) return best;
  const std::string_view name = facts.tool_name;
  // Messages are only written for what fires: a passing call allocates nothing for them.
  auto call = [&] { return "The call to tool " + QuoteName(name); };

  if (MatchesAny(tools.deny, name)) {
    Consider(best, Action::kBlock, kToolDeniedRule, "",
             call() + " was refused: this tool is not permitted.");
  }
  if (tools.has_allow_list && !MatchesAny(tools.allow, name)) {
    Consider(best, tools.unlisted_action, kToolNotAllowedRule, "",
             call() + " " + std::string(Outcome(tools.unlisted_action)) +
                 ": this tool is not on the list of allowed tools.");
  }

  // Arguments: size first, so that a huge body costs nothing to refuse.
  std::string_view args = facts.arguments;
  const size_t first = args.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) args = "{}";  // a call without arguments
  bool parsed = false;
  dom::element root;
  if (args.size() > tools.max_argument_bytes) {
    Consider(best, Action::kBlock, kToolArgumentsTooLargeRule, "",
             call() + " was refused: its arguments are " + std::to_string(args.size()) +
                 " bytes, more than the " + std::to_string(tools.max_argument_bytes) +
                 " bytes the policy allows.");
  } else {
    thread_local ThreadJson json;
    json.buffer.resize(args.size() + simdjson::SIMDJSON_PADDING);
    std::memcpy(json.buffer.data(), args.data(), args.size());
    const simdjson::error_code err =
        json.parser.parse(json.buffer.data(), args.size(), false).get(root);
    if (err) {
      Consider(best, Action::kBlock, kToolArgumentsInvalidRule, "",
               call() + " was refused: its arguments are not valid JSON (" +
                   simdjson::error_message(err) + ").");
    } else if (root.type() != dom::element_type::OBJECT) {
      Consider(best, Action::kBlock, kToolArgumentsInvalidRule, "",
               call() + " was refused: its arguments must be a JSON object.");
    } else {
      parsed = true;
    }
  }

  for (const ToolRule& rule : tools.rules) {
    if (!rule.tools.empty() && !MatchesAny(rule.tools, name)) continue;
    if (rule.args.empty()) {
      Consider(best, rule.action, rule.name, rule.message,
               call() + " " + std::string(Outcome(rule.action)) + " (policy rule \"" + rule.name +
                   "\").");
      continue;
    }
    // Constraints need the arguments; invalid ones are already refused above.
    if (!parsed) continue;
    // Evaluating a rule costs regex scans; skip it when it could not change the decision.
    if (!best.rule.empty() && rule.action <= best.action) continue;
    std::string why = RuleViolation(rule, root);
    if (why.empty()) continue;
    Consider(best, rule.action, rule.name, rule.message,
             call() + " " + std::string(Outcome(rule.action)) + ": " + why + " (policy rule \"" +
                 rule.name + "\").");
  }

  for (const TaintRule& rule : tools.taint) {
    if (!MatchesAny(rule.sensitive_sinks, name) || !SeenUntrusted(rule, facts)) continue;
    Consider(best, rule.action, rule.name, rule.message,
             call() + " " + std::string(Outcome(rule.action)) +
                 ": the conversation holds content from an untrusted source, which may not "
                 "drive this tool.");
  }
  return best;
}

}  // namespace warden::policy
