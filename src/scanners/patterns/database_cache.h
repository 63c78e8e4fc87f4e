// A disk cache of compiled Hyperscan databases. Compiling the packs' patterns (twice: prefilter
// and start-of-match) costs about a second of CPU, which every `warden check`, test and policy
// reload would otherwise pay; a cached database loads in about a millisecond.
//
//   hs_database_t* db = nullptr;
//   hs_compile_error_t* error = nullptr;
//   hs_error_t rc = CompileMultiCached(exprs, flags, ids, count, &db, &error);
//
// The key is a SHA-256 over the Hyperscan version, the mode and every (expression, flags, id),
// so a changed pack never loads a stale database. Location: $WARDEN_CACHE_DIR, else
// $XDG_CACHE_HOME/warden, else $HOME/.cache/warden; WARDEN_CACHE_DIR=off disables the cache.
// Writes go to a temporary file that is renamed into place; a missing, unreadable or corrupt
// entry is simply compiled again. The cache holds nothing secret (only the packs' patterns), but
// whoever can write to it can change what Warden detects: keep it owned by the service's user.
//
// Thread-safety: safe to call from several threads and processes at once.
#pragma once

#include <hs/hs.h>

namespace warden::scanners {

// Same contract as hs_compile_multi in block mode (platform: the host's), using the cache.
hs_error_t CompileMultiCached(const char* const* expressions, const unsigned int* flags,
                              const unsigned int* ids, unsigned int count, hs_database_t** db,
                              hs_compile_error_t** error);

}  // namespace warden::scanners
