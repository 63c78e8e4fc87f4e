// Reads a whole file that may be gzip-compressed (glossaries, dictd dictionaries): zlib's gzread
// passes uncompressed files through unchanged, so one call serves both. Writes one gzip-compressed
// through a temporary file and a rename, so a failed write leaves nothing half-written.
#pragma once

#include <string>
#include <string_view>

#include "warden/status.h"

namespace warden {

// Replaces `out` with the file's (decompressed) bytes. NOT_FOUND when the file cannot be
// opened, DATA_LOSS when its gzip stream is corrupt or truncated; messages start with `path`.
Status ReadMaybeGzipped(const std::string& path, std::string& out);

// Writes `text` gzip-compressed (level 9) to `path + ".tmp"`, then renames it to `path`.
Status WriteGzippedAtomically(const std::string& path, std::string_view text);

}  // namespace warden
