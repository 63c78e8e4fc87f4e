#include "scanners/patterns/database_cache.h"

#include <openssl/evp.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "core/hex.h"

namespace warden::scanners {

namespace {

namespace fs = std::filesystem;

fs::path CacheDir() {
  if (const char* dir = std::getenv("WARDEN_CACHE_DIR")) {
    if (std::strcmp(dir, "off") == 0 || *dir == '\0') return {};
    return dir;
  }
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) {
    return fs::path(xdg) / "warden";
  }
  if (const char* home = std::getenv("HOME"); home && *home) {
    return fs::path(home) / ".cache" / "warden";
  }
  return {};
}

std::string CacheKey(const char* const* expressions, const unsigned int* flags,
                     const unsigned int* ids, unsigned int count) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  auto add = [&](const void* data, size_t size) { EVP_DigestUpdate(ctx, data, size); };
  const char* version = hs_version();
  add(version, std::strlen(version) + 1);
  const uint32_t mode = HS_MODE_BLOCK;
  add(&mode, sizeof mode);
  add(&count, sizeof count);
  for (unsigned int i = 0; i < count; ++i) {
    add(expressions[i], std::strlen(expressions[i]) + 1);
    add(&flags[i], sizeof flags[i]);
    add(&ids[i], sizeof ids[i]);
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx, digest, &length);
  EVP_MD_CTX_free(ctx);
  return HexOf(digest, length);
}

bool Load(const fs::path& path, hs_database_t** db) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return hs_deserialize_database(bytes.data(), bytes.size(), db) == HS_SUCCESS;
}

void Store(const fs::path& dir, const fs::path& path, const hs_database_t* db) {
  char* bytes = nullptr;
  size_t length = 0;
  if (hs_serialize_database(db, &bytes, &length) != HS_SUCCESS) return;
  std::error_code ec;
  fs::create_directories(dir, ec);
  const fs::path tmp = path.string() + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes, static_cast<std::streamsize>(length));
    if (!out) {
      std::free(bytes);
      fs::remove(tmp, ec);
      return;
    }
  }
  std::free(bytes);
  fs::rename(tmp, path, ec);  // atomic: readers see the old entry or the whole new one
  if (ec) fs::remove(tmp, ec);
}

}  // namespace

hs_error_t CompileMultiCached(const char* const* expressions, const unsigned int* flags,
                              const unsigned int* ids, unsigned int count, hs_database_t** db,
                              hs_compile_error_t** error) {
  const fs::path dir = CacheDir();
  fs::path path;
  if (!dir.empty()) {
    path = dir / (CacheKey(expressions, flags, ids, count) + ".hsdb");
    if (Load(path, db)) return HS_SUCCESS;
  }
  const hs_error_t rc = hs_compile_multi(expressions, flags, ids, count, HS_MODE_BLOCK, nullptr,
                                         db, error);
  if (rc == HS_SUCCESS && !dir.empty()) Store(dir, path, *db);
  return rc;
}

}  // namespace warden::scanners
