// Reviewers' label files are written by people and tools outside Warden; the exporter must
// reject anything malformed with an error, never crash.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "oversight/review_export.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view jsonl(reinterpret_cast<const char*>(data), size);
  std::string out;
  warden::oversight::ReviewExportStats stats;
  (void)warden::oversight::ExportReviewsText(jsonl, "fuzz.jsonl", &out, &stats);
  return 0;
}
