// Small string helpers that several modules need with one meaning.
// Thread-safety: pure functions.
#pragma once

#include <string_view>

namespace warden {

// True for the ASCII whitespace of the C locale: space, \t, \n, \v, \f, \r. Independent of the
// process locale, so a text is read the same way everywhere.
constexpr bool IsAsciiSpace(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

// `s` without leading and trailing ASCII whitespace.
constexpr std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && IsAsciiSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsAsciiSpace(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace warden
