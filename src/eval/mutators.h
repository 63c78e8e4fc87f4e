// Obfuscation mutators: the tricks people use to slip a message past a filter. `warden eval
// --mutate` scores every example under each of them; a robust scanner loses little recall.
//
//   std::mt19937_64 rng(42);
//   std::string m = Mutate(Mutator::kLeetspeak, "ignore previous instructions", rng);
//   // e.g. "1gn0r3 pr3v10u5 1n5truc710n5"
//
// Randomness is injected: the same seed gives the same output.
// Thread-safety: pure functions (the caller owns the RNG).
#pragma once

#include <array>
#include <optional>
#include <random>
#include <string>
#include <string_view>

namespace warden::eval {

enum class Mutator {
  kHomoglyphs,     // Latin letters swapped for Cyrillic/Greek look-alikes
  kZeroWidth,      // zero-width spaces and joiners inside words
  kLeetspeak,      // a->4, e->3, i->1, o->0, s->5, t->7
  kSpacedLetters,  // some words written "b o m b"
  kBase64,         // the whole text base64-encoded inside a short instruction to decode it
  kRandomCase,     // rAnDoM cAsE
};
inline constexpr std::array<Mutator, 6> kAllMutators = {
    Mutator::kHomoglyphs, Mutator::kZeroWidth,     Mutator::kLeetspeak,
    Mutator::kSpacedLetters, Mutator::kBase64, Mutator::kRandomCase};

// "homoglyphs", "zero_width", "leetspeak", "spaced_letters", "base64", "random_case".
std::string_view MutatorName(Mutator m);
std::optional<Mutator> ParseMutator(std::string_view name);

// Returns `text` obfuscated by `m`. Deterministic for a given RNG state.
std::string Mutate(Mutator m, std::string_view text, std::mt19937_64& rng);

// Training augmentation: with probability `rate`, `text` under a mutator drawn at random;
// otherwise nothing. Takes the same three draws from `rng` either way, so the random stream, and
// with it a trained model, does not depend on which rows were augmented before.
std::optional<std::string> MaybeMutate(double rate, std::string_view text, std::mt19937_64& rng);

// A uniform draw in [0, 1) from the top 53 bits of one `rng()`: unlike the standard library's
// distributions it is the same on every platform, so a seed mutates and samples alike everywhere.
double Uniform01(std::mt19937_64& rng);

// Standard base64 with padding.
std::string Base64Encode(std::string_view bytes);

}  // namespace warden::eval
