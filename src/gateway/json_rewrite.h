// Rewrites a parsed JSON document with some string values replaced, for forwarding redacted
// requests and responses. Everything not replaced is re-serialised unchanged in meaning.
//
//   std::map<std::string, std::string> repl{{"/messages/0/content", "[EMAIL_1] wrote"}};
//   std::string out;
//   WriteJsonWithReplacements(out, doc, repl);
//
// Paths are JSON Pointers (RFC 6901, without escaping: keys containing '/' or '~' are never
// replaced). Thread-safety: pure function.
#pragma once

#include <simdjson.h>

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace warden::gateway {

// Replacement values are raw text; they are written as JSON strings.
void WriteJsonWithReplacements(std::string& out, simdjson::dom::element root,
                               const std::map<std::string, std::string>& replacements);

// A general edit of a parsed document, for taking tool calls out of a response.
struct JsonEdits {
  std::map<std::string, std::string> strings;  // pointer -> new string value (raw text)
  std::map<std::string, std::string> raw;      // pointer -> JSON text replacing any value
  std::set<std::string> removed;               // pointers of array elements or members to drop
  // pointer of an object -> members to add (key, JSON text) when the object lacks them
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> added;
};
void WriteJsonEdited(std::string& out, simdjson::dom::element root, const JsonEdits& edits);

// Thread-local DOM parser shared by the gateway's JSON code. Elements it returns are valid only
// until the next parse on the same thread: never keep them across a co_await.
simdjson::dom::parser& ThreadParser();

}  // namespace warden::gateway
