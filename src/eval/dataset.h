// Labelled data sets in the JSONL schema of ../shared/data/README.md:
//
//   {"id": "edos-0", "text": "...", "role": "user", "label": "unsafe", "categories": ["hate"],
//    "attack": null, "source": "edos", "source_labels": {...}}
//
//   StatusOr<std::vector<Example>> d = ReadDataset({"data/edos/dev.jsonl"});
//   if (!d.ok()) std::cerr << d.status().message();  // "data/edos/dev.jsonl:12: unknown ..."
//
// Thread-safety: free functions without shared state.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "warden/status.h"

namespace warden::eval {

struct Example {
  std::string id;
  std::string text;
  std::string role;    // "user", "assistant", "document"
  std::string source;  // data set name; "" when the record has none
  bool unsafe = false;
  // Indices into classifier::kLabels: the record's categories, and its attack label if any.
  std::vector<uint8_t> labels;
  int attack = -1;  // index into classifier::kLabels of "jailbreak"/"prompt_injection", or -1
};

// Reads every path; a directory means every `<dir>/*/<split>.jsonl` (and `<dir>/<split>.jsonl`),
// in sorted order. Errors (INVALID_ARGUMENT, NOT_FOUND) name file:line: malformed JSON, a
// missing or mistyped field, an unknown label, category or attack, a safe record with
// categories. A data set without any record is an error too.
StatusOr<std::vector<Example>> ReadDataset(const std::vector<std::string>& paths,
                                           const std::string& split = "dev");

// Expands `paths` as ReadDataset does, without reading them.
StatusOr<std::vector<std::string>> ExpandDataPaths(const std::vector<std::string>& paths,
                                                   const std::string& split);

}  // namespace warden::eval
