// Reads a whole file that may be gzip-compressed (glossaries, dictd dictionaries): zlib's gzread
// passes uncompressed files through unchanged, so one call serves both.
#pragma once

#include <string>

#include "warden/status.h"

namespace warden {

// Replaces `out` with the file's (decompressed) bytes. NOT_FOUND when the file cannot be
// opened, DATA_LOSS when its gzip stream is corrupt or truncated; messages start with `path`.
Status ReadMaybeGzipped(const std::string& path, std::string& out);

}  // namespace warden
