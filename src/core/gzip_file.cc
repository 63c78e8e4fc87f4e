#include "core/gzip_file.h"

#include <zlib.h>

#include <filesystem>
#include <vector>

namespace warden {

Status ReadMaybeGzipped(const std::string& path, std::string& out) {
  out.clear();
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) return NotFoundError(path + ": cannot open");
  std::vector<char> buffer(1 << 20);
  for (;;) {
    const int n = gzread(file, buffer.data(), static_cast<unsigned>(buffer.size()));
    if (n < 0) {
      int code = 0;
      const std::string reason = gzerror(file, &code);
      gzclose(file);
      return DataLossError(path + ": " + reason);
    }
    if (n == 0) break;
    out.append(buffer.data(), static_cast<size_t>(n));
  }
  gzclose(file);
  return OkStatus();
}

Status WriteGzippedAtomically(const std::string& path, std::string_view text) {
  namespace fs = std::filesystem;
  const std::string tmp = path + ".tmp";
  gzFile file = gzopen(tmp.c_str(), "wb9");
  if (file == nullptr) return InternalError(tmp + ": cannot write");
  const bool wrote = gzwrite(file, text.data(), static_cast<unsigned>(text.size())) ==
                     static_cast<int>(text.size());
  std::error_code ec;
  if (gzclose(file) != Z_OK || !wrote) {
    fs::remove(tmp, ec);
    return InternalError(tmp + ": cannot write");
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return InternalError(path + ": cannot rename " + tmp + ": " + ec.message());
  }
  return OkStatus();
}

}  // namespace warden
