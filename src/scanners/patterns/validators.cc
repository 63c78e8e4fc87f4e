#include "scanners/patterns/validators.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <string>
#include <utility>

namespace warden::scanners {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAlnum(char c) { return IsDigit(c) || IsAlpha(c); }
char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string DigitsOf(std::string_view s) {
  std::string d;
  d.reserve(s.size());
  for (char c : s) {
    if (IsDigit(c)) d.push_back(c);
  }
  return d;
}

int PrefixNumber(std::string_view digits, size_t n) {
  int v = 0;
  for (size_t i = 0; i < n && i < digits.size(); ++i) v = v * 10 + (digits[i] - '0');
  return v;
}

// Case-insensitive: does text end, just before `pos`, with `word` (optionally followed by
// spaces)? Used for "version 1.2.3.4" style context.
bool PrecededByWord(std::string_view text, size_t pos, std::string_view word) {
  while (pos > 0 && (text[pos - 1] == ' ' || text[pos - 1] == '\t')) --pos;
  if (pos < word.size()) return false;
  for (size_t i = 0; i < word.size(); ++i) {
    if (Lower(text[pos - word.size() + i]) != word[i]) return false;
  }
  size_t before = pos - word.size();
  return before == 0 || !IsAlpha(text[before - 1]);
}

// A dotted/dashed number continues past the match ("1.2.3.4.5", "555-123-4567-89").
bool ContinuesNumber(std::string_view text, size_t begin, size_t end) {
  if (begin > 0) {
    char p = text[begin - 1];
    if (IsAlnum(p) || p == '_') return true;
    if ((p == '.' || p == '-' || p == '/') && begin > 1 && IsDigit(text[begin - 2])) return true;
  }
  if (end < text.size()) {
    char n = text[end];
    if (IsAlnum(n) || n == '_') return true;
    if ((n == '.' || n == '-' || n == '/') && end + 1 < text.size() && IsDigit(text[end + 1])) {
      return true;
    }
  }
  return false;
}

bool CardAt(std::string_view text, size_t b, size_t e) {
  std::string_view m = text.substr(b, e - b);
  // Separators must be single spaces or dashes, used consistently.
  char sep = 0;
  for (size_t i = 0; i < m.size(); ++i) {
    char c = m[i];
    if (IsDigit(c)) continue;
    if (c != ' ' && c != '-') return false;
    if (sep != 0 && c != sep) return false;
    sep = c;
  }
  if (ContinuesNumber(text, b, e)) return false;
  std::string d = DigitsOf(m);
  return LuhnValid(d) && CardIssuerValid(d);
}

bool ValidateCard(std::string_view text, size_t& b, size_t& e, const ValidatorParams&) {
  if (CardAt(text, b, e)) return true;
  // Hyperscan reports only the leftmost start for each end, so in "12 4111 1111 1111 1111" every
  // candidate starts at "12". Try the suffixes that start after a separator (narrowing the span).
  for (size_t i = b; i + 1 < e; ++i) {
    if ((text[i] == ' ' || text[i] == '-') && CardAt(text, i + 1, e)) {
      b = i + 1;
      return true;
    }
  }
  return false;
}

bool ValidateIban(std::string_view text, size_t& b, size_t& e, const ValidatorParams&) {
  if (b > 0 && IsAlnum(text[b - 1])) return false;
  if (e < text.size() && IsAlnum(text[e])) return false;
  return IbanValid(text.substr(b, e - b));
}

bool ValidateSsn(std::string_view text, size_t& b, size_t& e, const ValidatorParams&) {
  if (ContinuesNumber(text, b, e)) return false;
  return SsnValid(text.substr(b, e - b));
}

// Dates (2024-01-31, 31.01.2024, 01/31/2024) look like phone numbers to a regex.
bool LooksLikeDate(std::string_view m) {
  std::array<int, 4> len{};
  std::array<int, 4> val{};
  int groups = 0;
  char sep = 0;
  for (size_t i = 0; i < m.size();) {
    if (!IsDigit(m[i])) {
      if (sep == 0) sep = m[i];
      if (m[i] != sep) return false;
      ++i;
      continue;
    }
    if (groups == 4) return false;
    while (i < m.size() && IsDigit(m[i])) {
      ++len[groups];
      // Only groups of at most four digits can be a date; a longer one must not overflow.
      if (len[groups] <= 4) val[groups] = val[groups] * 10 + (m[i] - '0');
      ++i;
    }
    ++groups;
  }
  if (groups != 3 || (sep != '.' && sep != '/' && sep != '-')) return false;
  auto day_month = [](int a, int b) { return a >= 1 && a <= 31 && b >= 1 && b <= 31; };
  if (len[0] == 4) return day_month(val[1], val[2]) && len[1] <= 2 && len[2] <= 2;
  if (len[2] == 4 || len[2] == 2) return day_month(val[0], val[1]) && len[0] <= 2 && len[1] <= 2;
  return false;
}

bool ValidatePhone(std::string_view text, size_t& b, size_t& e, const ValidatorParams&) {
  std::string_view m = text.substr(b, e - b);
  std::string d = DigitsOf(m);
  if (d.size() < 7 || d.size() > 15) return false;
  if (ContinuesNumber(text, b, e)) return false;
  if (b > 0 && (text[b - 1] == '+' || text[b - 1] == '.')) return false;
  if (PrecededByWord(text, b, "v") || PrecededByWord(text, b, "version")) return false;
  if (LooksLikeDate(m)) return false;
  // Digit groups on either side: this is a slice of a longer number (an IBAN, an account).
  if (b >= 2 && text[b - 1] == ' ' && IsDigit(text[b - 2])) return false;
  if (e + 1 < text.size() && text[e] == ' ' && IsDigit(text[e + 1])) return false;
  // A run of one repeated digit is a filler, not a number.
  if (d.find_first_not_of(d[0]) == std::string::npos) return false;
  return true;
}

bool ValidateIpv4(std::string_view text, size_t& b, size_t& e, const ValidatorParams&) {
  std::string_view m = text.substr(b, e - b);
  if (ContinuesNumber(text, b, e)) return false;
  if (PrecededByWord(text, b, "v") || PrecededByWord(text, b, "version")) return false;
  int octets = 0;
  size_t i = 0;
  while (i <= m.size()) {
    size_t j = i;
    int v = 0;
    while (j < m.size() && IsDigit(m[j])) v = v * 10 + (m[j++] - '0');
    size_t n = j - i;
    if (n == 0 || n > 3 || v > 255 || (n > 1 && m[i] == '0')) return false;
    ++octets;
    if (j == m.size()) break;
    if (m[j] != '.') return false;
    i = j + 1;
  }
  return octets == 4;
}

bool IsHexOrColon(char c) {
  return IsDigit(c) || (Lower(c) >= 'a' && Lower(c) <= 'f') || c == ':';
}

bool ValidateIpv6(std::string_view text, size_t& b, size_t& e, const ValidatorParams&) {
  if (e - b > 45) return false;
  if (b > 0 && (IsHexOrColon(text[b - 1]) || IsAlpha(text[b - 1]))) return false;
  if (e < text.size() && (IsHexOrColon(text[e]) || IsAlpha(text[e]))) return false;
  if (e + 1 < text.size() && text[e] == '.' && IsDigit(text[e + 1])) return false;
  std::string m(text.substr(b, e - b));
  // "::" alone or a bare time like "12::" carries no address; require at least one hex group.
  if (m.find_first_not_of(':') == std::string::npos) return false;
  // "a::b" and "std::" in code are valid addresses to inet_pton; ask for more evidence: a
  // leading "::", or a group of three or more hex digits.
  if (m.rfind("::", 0) != 0) {
    size_t longest = 0, run = 0;
    for (char c : m) {
      run = c == ':' ? 0 : run + 1;
      longest = std::max(longest, run);
    }
    if (longest < 3) return false;
  }
  unsigned char buf[16];
  return inet_pton(AF_INET6, m.c_str(), buf) == 1;
}

bool ValidateEmail(std::string_view text, size_t& b, size_t& e, const ValidatorParams&) {
  // "scheme://user:pass@host" is a credential, not an address.
  if (b > 0 && (text[b - 1] == ':' || text[b - 1] == '/')) return false;
  for (size_t i = b; i >= 3 && text[i - 1] != ' ' && text[i - 1] != '\n' && b - i < 256; --i) {
    if (text.substr(i - 3, 3) == "://") return false;
  }
  std::string_view m = text.substr(b, e - b);
  size_t at = m.find('@');
  if (at == std::string_view::npos || at == 0) return false;
  std::string_view local = m.substr(0, at);
  std::string_view domain = m.substr(at + 1);
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) {
    return false;
  }
  if (domain.find("..") != std::string_view::npos || domain.front() == '-') return false;
  size_t dot = domain.rfind('.');
  if (dot == std::string_view::npos) return false;
  std::string_view tld = domain.substr(dot + 1);
  if (tld.size() < 2) return false;
  std::string lower_tld;
  for (char c : tld) {
    if (!IsAlpha(c)) return false;
    lower_tld.push_back(Lower(c));
  }
  // "icon@2x.png": image names, not addresses.
  for (std::string_view ext : {"png", "jpg", "jpeg", "gif", "svg", "webp", "pdf"}) {
    if (lower_tld == ext) return false;
  }
  return true;
}

// The value of `key = value` / `key: "value"`: after the first '=' or ':', without quotes.
// Returns offsets relative to `m`.
std::pair<size_t, size_t> AssignedValue(std::string_view m) {
  size_t b = 0, e = m.size();
  size_t p = m.find_first_of("=:");
  if (p != std::string_view::npos) b = p + 1;
  auto skip = [](char c) {
    return c == ' ' || c == '\t' || c == '"' || c == '\'' || c == '=' || c == '>' || c == ':';
  };
  while (b < e && skip(m[b])) ++b;
  // Closing quotes, and sentence punctuation the value class also admits.
  while (e > b && (m[e - 1] == '"' || m[e - 1] == '\'' || m[e - 1] == ' ' || m[e - 1] == '.' ||
                   m[e - 1] == ',' || m[e - 1] == '!')) {
    --e;
  }
  return {b, e};
}

bool IsTokenChar(char c) { return IsAlnum(c) || c == '_' || c == '-'; }

bool ValidateEntropy(std::string_view text, size_t& b, size_t& e, const ValidatorParams& p) {
  if (e < text.size() && IsTokenChar(text[e])) return false;  // cut inside a longer token
  auto [vb, ve] = AssignedValue(text.substr(b, e - b));
  std::string_view v = text.substr(b + vb, ve - vb);
  if (v.size() < p.min_length) return false;
  if (LooksLikePlaceholder(v)) return false;
  if (ShannonEntropy(v) < p.min_entropy) return false;
  e = b + ve;
  b = b + vb;
  return true;
}

// A token pattern with a fixed length must not be the prefix of a longer token.
bool ValidateStandalone(std::string_view text, size_t& b, size_t& e, const ValidatorParams&) {
  if (b > 0 && IsTokenChar(text[b - 1])) return false;
  return e == text.size() || !IsTokenChar(text[e]);
}

constexpr std::string_view kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                        "jul", "aug", "sep", "oct", "nov", "dec"};

// "DOB: 1990-03-14", "born on March 3, 1990": keeps only the date.
bool ValidateDob(std::string_view text, size_t& b, size_t& e, const ValidatorParams&) {
  if (e < text.size() && IsAlnum(text[e])) return false;
  std::string_view m = text.substr(b, e - b);
  size_t start = m.find_first_of("0123456789");
  if (start == std::string_view::npos) return false;
  std::string lower;
  for (char c : m) lower.push_back(Lower(c));
  for (std::string_view mon : kMonths) {
    size_t at = lower.find(mon);
    while (at != std::string::npos && at > 0 && IsAlpha(lower[at - 1])) {
      at = lower.find(mon, at + 1);
    }
    if (at != std::string::npos && at < start) start = at;
  }
  // Numeric parts: day or month in 1..31, year 1900..2099 (the regex fixes the shapes).
  int fields = 0;
  for (size_t i = start; i < m.size();) {
    if (!IsDigit(m[i])) {
      ++i;
      continue;
    }
    int v = 0, n = 0;
    while (i < m.size() && IsDigit(m[i])) v = v * 10 + (m[i++] - '0'), ++n;
    if (n <= 2 && (v < 1 || v > 31)) return false;
    ++fields;
  }
  if (fields < 2) return false;
  b += start;
  return true;
}

bool ValidateJwt(std::string_view text, size_t& b, size_t& e, const ValidatorParams&) {
  if (e < text.size() && IsTokenChar(text[e])) return false;
  if (e + 1 < text.size() && text[e] == '.' && IsTokenChar(text[e + 1])) return false;
  return JwtValid(text.substr(b, e - b));
}

bool ValidateUrlPassword(std::string_view text, size_t& b, size_t& e, const ValidatorParams&) {
  std::string_view m = text.substr(b, e - b);
  size_t scheme = m.find("://");
  if (scheme == std::string_view::npos) return false;
  std::string_view rest = m.substr(scheme + 3);
  size_t at = rest.rfind('@');
  size_t colon = rest.find(':');
  if (at == std::string_view::npos || colon == std::string_view::npos || colon > at) return false;
  std::string_view password = rest.substr(colon + 1, at - colon - 1);
  if (password.empty() || colon == 0) return false;
  if (LooksLikePlaceholder(password)) return false;
  // Report the password only: that is what needs redacting.
  b += scheme + 3 + colon + 1;
  e = b + password.size();
  return true;
}

constexpr Validator kValidators[] = {
    {"luhn_card", &ValidateCard},   {"iban", &ValidateIban},
    {"ssn", &ValidateSsn},          {"phone", &ValidatePhone},
    {"ipv4", &ValidateIpv4},        {"ipv6", &ValidateIpv6},
    {"email", &ValidateEmail},      {"entropy", &ValidateEntropy},
    {"jwt", &ValidateJwt},          {"url_password", &ValidateUrlPassword},
    {"standalone", &ValidateStandalone}, {"dob", &ValidateDob},
};

int Base64UrlValue(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (IsDigit(c)) return c - '0' + 52;
  if (c == '-' || c == '+') return 62;
  if (c == '_' || c == '/') return 63;
  return -1;
}

bool Base64UrlDecode(std::string_view in, std::string& out) {
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    int v = Base64UrlValue(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return true;
}

}  // namespace

const Validator* FindValidator(std::string_view name) {
  for (const Validator& v : kValidators) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

std::vector<std::string_view> ValidatorNames() {
  std::vector<std::string_view> names;
  for (const Validator& v : kValidators) names.push_back(v.name);
  return names;
}

bool LuhnValid(std::string_view digits) {
  if (digits.empty()) return false;
  int sum = 0;
  bool dbl = false;
  for (size_t i = digits.size(); i-- > 0;) {
    if (!IsDigit(digits[i])) return false;
    int d = digits[i] - '0';
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return sum % 10 == 0;
}

bool CardIssuerValid(std::string_view d) {
  size_t n = d.size();
  if (n < 13 || n > 19) return false;
  int p1 = PrefixNumber(d, 1), p2 = PrefixNumber(d, 2), p3 = PrefixNumber(d, 3),
      p4 = PrefixNumber(d, 4);
  if (p1 == 4) return n == 13 || n == 16 || n == 19;                          // Visa
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n == 16;  // Mastercard
  if (p2 == 34 || p2 == 37) return n == 15;                                   // Amex
  if (p4 == 6011 || p2 == 65 || (p3 >= 644 && p3 <= 649)) return n >= 16;    // Discover
  if (p4 >= 3528 && p4 <= 3589) return n >= 16;                              // JCB
  if ((p3 >= 300 && p3 <= 305) || p2 == 36 || p2 == 38) return n >= 14;      // Diners
  if (p2 == 62) return n >= 16;                                               // UnionPay
  return false;
}

namespace {
struct IbanLength {
  char cc[3];
  uint8_t length;
};
// ISO 13616 registry lengths (SWIFT IBAN registry).
constexpr IbanLength kIbanLengths[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16},
    {"BG", 22}, {"BH", 22}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28},
    {"CZ", 24}, {"DE", 22}, {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24},
    {"FI", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18},
    {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IQ", 23},
    {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LC", 32},
    {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21}, {"MC", 27}, {"MD", 24}, {"ME", 22},
    {"MK", 19}, {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NL", 18}, {"NO", 15}, {"PK", 24},
    {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"SA", 24},
    {"SC", 31}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"ST", 25}, {"SV", 28},
    {"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20},
};
}  // namespace

bool IbanValid(std::string_view iban) {
  std::string s;
  for (char c : iban) {
    if (c == ' ') continue;
    if (!IsAlnum(c)) return false;
    s.push_back(static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c));
  }
  if (s.size() < 15 || !IsAlpha(s[0]) || !IsAlpha(s[1]) || !IsDigit(s[2]) || !IsDigit(s[3])) {
    return false;
  }
  bool known = false;
  for (const IbanLength& l : kIbanLengths) {
    if (s[0] == l.cc[0] && s[1] == l.cc[1]) {
      if (s.size() != l.length) return false;
      known = true;
      break;
    }
  }
  if (!known) return false;
  // Move the country code and check digits to the end; letters count as 10..35.
  std::string r = s.substr(4) + s.substr(0, 4);
  int rem = 0;
  for (char c : r) {
    if (IsDigit(c)) {
      rem = (rem * 10 + (c - '0')) % 97;
    } else {
      int v = c - 'A' + 10;
      rem = (rem * 100 + v) % 97;
    }
  }
  return rem == 1;
}

bool SsnValid(std::string_view ssn) {
  std::string d = DigitsOf(ssn);
  if (d.size() != 9) return false;
  int area = PrefixNumber(d, 3);
  int group = PrefixNumber(std::string_view(d).substr(3), 2);
  int serial = PrefixNumber(std::string_view(d).substr(5), 4);
  if (area == 0 || area == 666 || area >= 900) return false;
  return group != 0 && serial != 0;
}

double ShannonEntropy(std::string_view s) {
  if (s.empty()) return 0;
  std::array<uint32_t, 256> counts{};
  for (unsigned char c : s) ++counts[c];
  double h = 0;
  double n = static_cast<double>(s.size());
  for (uint32_t c : counts) {
    if (c == 0) continue;
    double p = c / n;
    h -= p * std::log2(p);
  }
  return h;
}

bool LooksLikePlaceholder(std::string_view v) {
  if (v.empty()) return true;
  if (v.front() == '<' || v.front() == '$' || v.front() == '{' || v.front() == '%' ||
      v.front() == '[') {
    return true;  // <your-key>, ${TOKEN}, {{secret}}, %(pw)s, [REDACTED]
  }
  std::string lower;
  for (char c : v) lower.push_back(Lower(c));
  static constexpr std::string_view kWords[] = {
      "changeme", "change_me", "change-me", "password", "passw0rd", "secret", "example",
      "your_",    "your-",     "yourkey",   "placeholder", "redacted", "dummy", "replace",
      "insert",   "todo",      "xxxx",      "****",     "....",     "1234",  "abcd",
  };
  for (std::string_view w : kWords) {
    if (lower.find(w) != std::string::npos) return true;
  }
  // Very few distinct characters: "aaaaaaaaaaaaaaaa", "abababab…".
  std::array<bool, 256> seen{};
  int distinct = 0;
  for (unsigned char c : lower) distinct += !seen[c], seen[c] = true;
  return distinct <= 3;
}

bool JwtValid(std::string_view token) {
  size_t d1 = token.find('.');
  if (d1 == std::string_view::npos) return false;
  size_t d2 = token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos) {
    return false;
  }
  std::string header;
  if (!Base64UrlDecode(token.substr(0, d1), header)) return false;
  size_t first = header.find_first_not_of(" \t\r\n");
  if (first == std::string::npos || header[first] != '{') return false;
  if (header.find('}') == std::string::npos) return false;
  return header.find("\"alg\"") != std::string::npos;
}

}  // namespace warden::scanners
