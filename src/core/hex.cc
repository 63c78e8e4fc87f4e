#include "core/hex.h"

namespace warden {

void AppendHex(std::string& out, const void* data, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  const auto* bytes = static_cast<const unsigned char*>(data);
  out.reserve(out.size() + 2 * n);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[bytes[i] >> 4]);
    out.push_back(kDigits[bytes[i] & 15]);
  }
}

std::string HexOf(const void* data, size_t n) {
  std::string out;
  AppendHex(out, data, n);
  return out;
}

}  // namespace warden
