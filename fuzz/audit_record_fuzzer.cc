// Feeds arbitrary bytes to the audit record parser: `warden audit verify` and `query` read
// record bodies from a database file that an attacker may have edited.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "warden/audit.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto record = warden::audit::ParseRecord(body);
  if (record.ok()) {
    // The body format is canonical: whatever parses must serialize back to the same bytes, or
    // two different bodies could carry one meaning (and one of them a different hash).
    if (warden::audit::SerializeRecord(*record) != body) std::abort();
    if (warden::audit::ComputeRecordHash(*record) != record->hash) std::abort();
  }
  return 0;
}
