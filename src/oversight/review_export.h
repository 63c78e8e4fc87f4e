// Review export: turns what human reviewers decided about escalated items into training data,
// so that `warden train` learns from the cases the classifier was unsure about.
//
//   ReviewExportStats stats;
//   Status s = ExportReviews("reviews.jsonl", "train.jsonl", &stats);
//   // train.jsonl: one record per reviewed item in the schema of ../shared/data/README.md
//
// Input (one JSON object per line, specified in docs/oversight.md):
//   {"id": "q-17", "text": "...", "label": "unsafe", "labels": ["hate"], "role": "user",
//    "reviewer": "alice", "note": "slur in the second sentence", "reviewed_at": "..."}
// `label` is "safe", "unsafe", "unsure" (left out of the export) or a single taxonomy label
// (which implies unsafe); `labels` lists taxonomy labels (harm categories, "jailbreak",
// "prompt_injection"). `text` and `reviewer` are required, the rest optional.
//
// Output records: {"id": "review-<id>", "text", "role", "label", "categories", "attack",
// "source": "review", "source_labels": {"reviewer", "note", "labels", "id"}}.
// Items whose text another reviewer labelled differently are left out (counted as conflicts);
// exact repeats with the same label are written once.
// Thread-safety: free functions without shared state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "warden/status.h"

namespace warden::oversight {

struct ReviewExportStats {
  uint64_t read = 0;        // reviewed items read
  uint64_t written = 0;     // training records written
  uint64_t safe = 0;        // of which safe
  uint64_t unsafe = 0;      // of which unsafe
  uint64_t unsure = 0;      // items marked "unsure", left out
  uint64_t duplicates = 0;  // repeats of an earlier text with the same label, left out
  uint64_t conflicts = 0;   // items whose text reviewers labelled differently, all left out
};

// Reads reviewed items from `from` and writes training records to `out` (replaced). Errors
// (INVALID_ARGUMENT, NOT_FOUND) name file:line: malformed JSON, a missing or mistyped field, an
// unknown label, a "safe" item that lists harm labels. Nothing is written when an error is found.
Status ExportReviews(const std::string& from, const std::string& out, ReviewExportStats* stats);

// Same, on in-memory JSONL; `display_name` appears in errors. Appends records to `*out`.
Status ExportReviewsText(std::string_view jsonl, const std::string& display_name, std::string* out,
                         ReviewExportStats* stats);

}  // namespace warden::oversight
