// Validators: named C++ checks that confirm a regex candidate (Luhn, IBAN mod-97, entropy…).
// A pattern in a pack names one with `validator: <name>`; the engine calls it for each candidate
// span, longest first, and keeps the first span it accepts.
//
//   const Validator* v = FindValidator("luhn_card");
//   bool ok = v->fn(view_text, begin, end, params);  // may narrow [begin, end)
//
// Validators see the whole view text, not just the match, because Hyperscan has no look-around:
// context checks ("not preceded by 'v'", "not part of a longer dotted number") live here.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace warden::scanners {

// Per-pattern parameters a validator may use (from the pack).
struct ValidatorParams {
  double min_entropy = 3.5;  // bits per character, for `entropy`
  uint32_t min_length = 16;  // minimum value length, for `entropy`
};

// Returns true when text[begin, end) is a real instance of the pattern's type. A validator may
// narrow the span to the part worth reporting (the value of `password = value`, the date after
// "born on"); it never widens it.
// REQUIRES: begin <= end <= text.size().
using ValidatorFn = bool (*)(std::string_view text, size_t& begin, size_t& end,
                             const ValidatorParams& params);

struct Validator {
  std::string_view name;
  ValidatorFn fn;
};

// Returns the validator called `name`, or nullptr.
const Validator* FindValidator(std::string_view name);
// All validator names, for error messages.
std::vector<std::string_view> ValidatorNames();

// The building blocks, exposed for unit tests.

// Luhn checksum over the decimal digits of `digits` (other characters must be removed first).
bool LuhnValid(std::string_view digits);
// True when the digit string has a length and prefix of a known card issuer.
bool CardIssuerValid(std::string_view digits);
// ISO 13616 check: per-country length and mod-97 == 1. Spaces are ignored; letters any case.
bool IbanValid(std::string_view iban);
// US SSN "AAA-GG-SSSS" or 9 digits: area not 000/666/900-999, group not 00, serial not 0000.
bool SsnValid(std::string_view ssn);
// Shannon entropy in bits per character.
double ShannonEntropy(std::string_view s);
// True for obvious placeholder values: "changeme", "xxxxxxxx", "<your-key>", "${TOKEN}"…
bool LooksLikePlaceholder(std::string_view value);
// True when `token` is header.payload.signature whose header base64url-decodes to a JSON object
// with an "alg" member.
bool JwtValid(std::string_view token);

}  // namespace warden::scanners
