// OpenStore: one string names the audit log in the CLI (--db) and the gateway config.
#include "warden/audit.h"

namespace warden::audit {

namespace {

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

std::string RedactStoreUrl(std::string_view url) {
  std::string out(url);
  const size_t scheme = out.find("://");
  if (scheme != std::string::npos) {
    const size_t auth_start = scheme + 3;
    const size_t auth_end = out.find_first_of("/?", auth_start);
    const size_t at = out.rfind('@', auth_end == std::string::npos ? out.size() : auth_end);
    if (at != std::string::npos && at > auth_start) {
      const size_t colon = out.find(':', auth_start);
      if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  // A password given as a query parameter or a conninfo keyword.
  for (size_t pos = out.find("password="); pos != std::string::npos;
       pos = out.find("password=", pos + 1)) {
    const size_t start = pos + 9;
    const size_t end = out.find_first_of("& ", start);
    out.replace(start, (end == std::string::npos ? out.size() : end) - start, "***");
  }
  return out;
}

StatusOr<std::unique_ptr<Store>> OpenStore(std::string_view url, OpenMode mode) {
  if (url.empty()) return InvalidArgumentError("audit store: empty URL (expected sqlite:PATH, a "
                                               "path, or postgresql://…)");
  if (StartsWith(url, "postgresql://") || StartsWith(url, "postgres://")) {
    auto store = PostgresStore::Open(std::string(url), mode);
    if (!store.ok()) return store.status();
    return std::unique_ptr<Store>(std::move(*store));
  }
  std::string_view path = url;
  if (StartsWith(path, "sqlite://")) {
    path.remove_prefix(9);  // sqlite:///abs/path keeps its leading slash
  } else if (StartsWith(path, "sqlite:")) {
    path.remove_prefix(7);
  } else if (const size_t colon = url.find("://"); colon != std::string_view::npos) {
    return InvalidArgumentError("audit store \"" + RedactStoreUrl(url) +
                                "\": unknown scheme \"" + std::string(url.substr(0, colon)) +
                                "\" (expected sqlite:PATH, a path, postgresql:// or postgres://)");
  }
  if (path.empty()) return InvalidArgumentError("audit store \"" + std::string(url) + "\": no path");
  auto store = SqliteStore::Open(std::string(path), mode);
  if (!store.ok()) return store.status();
  return std::unique_ptr<Store>(std::move(*store));
}

}  // namespace warden::audit
