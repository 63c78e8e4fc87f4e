// Lower-case hexadecimal for digests, random ids and byte literals: one spelling everywhere a
// hash or token is printed, stored or compared as text.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>

namespace warden {

// Appends two lower-case hex digits per byte of data[0, n) to `out`.
void AppendHex(std::string& out, const void* data, size_t n);

// The bytes as lower-case hex, two digits per byte.
std::string HexOf(const void* data, size_t n);

}  // namespace warden
