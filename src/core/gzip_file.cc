#include "core/gzip_file.h"

#include <zlib.h>

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

}  // namespace warden
