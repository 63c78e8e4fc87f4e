#include "core/bundled_file.h"

#include <filesystem>
#include <system_error>
#include <vector>

namespace warden {

namespace fs = std::filesystem;

std::string FindBundledFile(const std::string& relative) {
  std::vector<fs::path> roots = {fs::current_path()};
#ifdef WARDEN_SOURCE_DIR
  roots.emplace_back(WARDEN_SOURCE_DIR);
#endif
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) roots.push_back(exe.parent_path().parent_path() / "share" / "warden");
  for (const fs::path& root : roots) {
    const fs::path candidate = root / relative;
    if (fs::exists(candidate, ec)) return candidate.lexically_normal().string();
  }
  return relative;
}

}  // namespace warden
