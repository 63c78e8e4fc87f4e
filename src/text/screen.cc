// The screen: one pass over the text, 64 bytes at a time, that rules out the expensive views.
//
// Each 64-byte block becomes a few bitmasks (bit k = byte k of the block): letters, digits, spaces,
// bytes >= 0x80, and "other" bytes. Letters, digits and spaces are classified with SSE2; the rare
// other bytes (punctuation, controls) are looked up one by one. The conditions below are then
// evaluated on whole masks, with one bit of carry from the previous block and a few bits of
// look-ahead from the next one. Every condition is necessary (not sufficient) for the exact code in
// deobfuscate.cc / decode.cc to produce something, so a false flag is proof that nothing would be
// produced; screen_test.cc checks this against the exact code.
#include <array>
#include <bit>
#include <cstring>

#include "text/internal.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace warden::text::internal {
namespace {

using u128 = unsigned __int128;

// Classes of the "other" bytes (neither letter, digit, space nor >= 0x80).
enum : uint8_t {
  kLeetCore = 1,    // @ $: leet characters wherever they are
  kLeetTrail = 2,   // ! | +: leet characters unless they end a word
  kWordSym = 4,     // @ $ ! | +: part of a word
  kB64Sym = 8,      // + / _ -: part of a base64 run
  kSepSym = 16,     // . - _ *: joins spaced letters
  kPercent = 32,    // %
  kBackslash = 64,  // backslash
};

constexpr std::array<uint8_t, 256> MakeOther() {
  std::array<uint8_t, 256> t{};
  t['@'] = t['$'] = kLeetCore | kWordSym;
  t['!'] = t['|'] = kLeetTrail | kWordSym;
  t['+'] = kLeetTrail | kWordSym | kB64Sym;
  t['/'] = kB64Sym;
  t['_'] = kB64Sym | kSepSym;
  t['-'] = kB64Sym | kSepSym;
  t['.'] = t['*'] = kSepSym;
  t['%'] = kPercent;
  t['\\'] = kBackslash;
  return t;
}
constexpr std::array<uint8_t, 256> kOther = MakeOther();

// Word bytes of the deobfuscator: letters, digits, @ $ ! | + and bytes >= 0x80.
constexpr std::array<bool, 256> MakeWordByte() {
  std::array<bool, 256> t{};
  for (int c = 'a'; c <= 'z'; ++c) t[c] = t[c - 32] = true;
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (char c : {'@', '$', '!', '|', '+'}) t[static_cast<uint8_t>(c)] = true;
  for (int c = 0x80; c < 256; ++c) t[c] = true;
  return t;
}
constexpr std::array<bool, 256> kWordByte = MakeWordByte();

inline bool IsHexByte(char c) {
  const unsigned u = static_cast<unsigned char>(c);
  return (u - '0') < 10 || ((u | 0x20) - 'a') < 6;
}

// Per first letter (lowercase, & 31): the lengths (bit per length) of the words LikelyRot13 reacts
// to: the rot13 forms of its common words, "rot" and "caesar".
constexpr std::array<uint16_t, 32> MakeRotFirst() {
  std::array<uint16_t, 32> t{};
  for (std::string_view w : {"gur", "naq", "lbh", "vtaber", "vafgehpgvbaf", "nyy", "cerivbhf",
                             "flfgrz", "cebzcg", "vf", "gb", "bs", "rot", "caesar"}) {
    t[w[0] & 31] = static_cast<uint16_t>(t[w[0] & 31] | (1u << w.size()));
  }
  return t;
}
constexpr std::array<uint16_t, 32> kRotFirst = MakeRotFirst();

struct Block {
  uint64_t letter = 0, digit = 0, hex = 0, high = 0;
  uint64_t word = 0;   // deobfuscator word bytes
  uint64_t leet = 0;   // leet characters that may be rewritten (digits count, 2 and 6 too)
  uint64_t sep = 0;    // spaced-letter separators
  uint64_t space = 0;  // ' '
  uint64_t b64 = 0;
  bool encoded = false;  // a "\x" escape or a "%XX" escape
};

// Classifies the 64 bytes at p (bytes past `avail` are treated as NUL). `s` and `base` locate the
// block in the whole text for the look-ahead of the rare other bytes.
Block Classify(std::string_view s, size_t base) {
  const size_t avail = std::min<size_t>(64, s.size() - base);
  const char* p = s.data() + base;
  alignas(16) char pad[64];
  if (avail < 64) {
    std::memset(pad, 0, sizeof(pad));
    std::memcpy(pad, p, avail);
    p = pad;
  }
  Block b;
  uint64_t space = 0;
#if defined(__SSE2__)
  for (int k = 0; k < 4; ++k) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * k));
    const __m128i lower = _mm_or_si128(v, _mm_set1_epi8(0x20));
    // Unsigned range checks through signed compares: shift the range to start at -128.
    const __m128i l = _mm_cmplt_epi8(_mm_add_epi8(lower, _mm_set1_epi8(0x80 - 'a')),
                                     _mm_set1_epi8(static_cast<char>(-128 + 26)));
    const __m128i d = _mm_cmplt_epi8(_mm_add_epi8(v, _mm_set1_epi8(0x80 - '0')),
                                     _mm_set1_epi8(static_cast<char>(-128 + 10)));
    const __m128i hl = _mm_cmplt_epi8(_mm_add_epi8(lower, _mm_set1_epi8(0x80 - 'a')),
                                      _mm_set1_epi8(static_cast<char>(-128 + 6)));
    const __m128i sp = _mm_cmpeq_epi8(v, _mm_set1_epi8(' '));
    const int shift = 16 * k;
    b.letter |= static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(l))) << shift;
    b.digit |= static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(d))) << shift;
    b.hex |= static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(hl))) << shift;
    space |= static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(sp))) << shift;
    b.high |= static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(v))) << shift;
  }
#else
  for (int k = 0; k < 64; ++k) {
    const unsigned c = static_cast<unsigned char>(p[k]);
    const uint64_t bit = uint64_t{1} << k;
    if (((c | 0x20) - 'a') < 26) b.letter |= bit;
    if (((c | 0x20) - 'a') < 6) b.hex |= bit;
    if ((c - '0') < 10) b.digit |= bit;
    if (c == ' ') space |= bit;
    if (c >= 0x80) b.high |= bit;
  }
#endif
  b.hex |= b.digit;
  b.word = b.letter | b.digit | b.high;
  b.leet = b.digit;
  b.sep = space;
  b.space = space;
  b.b64 = b.letter | b.digit;
  uint64_t other = ~(b.letter | b.digit | space | b.high);
  if (avail < 64) other &= (uint64_t{1} << avail) - 1;
  while (other != 0) {
    const int k = std::countr_zero(other);
    other &= other - 1;
    const uint8_t c = kOther[static_cast<unsigned char>(p[k])];
    if (c == 0) continue;
    const uint64_t bit = uint64_t{1} << k;
    const size_t at = base + static_cast<size_t>(k);  // position in s
    if (c & kWordSym) b.word |= bit;
    if (c & kB64Sym) b.b64 |= bit;
    if (c & kSepSym) b.sep |= bit;
    if (c & kLeetCore) b.leet |= bit;
    // A trailing "!" is trimmed off a word ("hi!"); one followed by a word byte is not.
    if ((c & kLeetTrail) && at + 1 < s.size() && kWordByte[static_cast<unsigned char>(s[at + 1])])
      b.leet |= bit;
    if ((c & kBackslash) && at + 1 < s.size() && (s[at + 1] | 0x20) == 'x') b.encoded = true;
    if ((c & kPercent) && at + 2 < s.size() && IsHexByte(s[at + 1]) && IsHexByte(s[at + 2]))
      b.encoded = true;
  }
  return b;
}

// Bits i such that bits i .. i+len-1 of `m` are all set. REQUIRES: len >= 1.
u128 RunsOf(u128 m, uint32_t len) {
  uint32_t have = 1;
  while (have < len) {
    const uint32_t step = std::min(have, len - have);
    m &= m >> step;
    have += step;
  }
  return m;
}

inline u128 Join(uint64_t lo, uint64_t hi) { return (static_cast<u128>(hi) << 64) | lo; }

}  // namespace

Screen ScreenText(std::string_view s, uint32_t min_encoded_length) {
  Screen out;
  const size_t n = s.size();
  if (n == 0) return out;
  // A run of at least `min_encoded_length` base64 bytes; longer minimums than one block are
  // screened as one block, which only lets more texts through to the exact search.
  const uint32_t min_run = std::clamp<uint32_t>(min_encoded_length, 1, 64);
  int rot_words = 0;
  Block prev;  // all zero: the text is preceded by non-word bytes
  Block cur = Classify(s, 0);
  for (size_t base = 0; base < n; base += 64) {
    const Block next = base + 64 < n ? Classify(s, base + 64) : Block{};
    // Windows over [cur, next] (look-ahead: shift right) and [prev, cur] (look-behind).
    const auto ahead = [](uint64_t c, uint64_t nx, int d) {
      return static_cast<uint64_t>(Join(c, nx) >> d);
    };
    const auto behind = [](uint64_t pv, uint64_t c, int d) {
      return static_cast<uint64_t>((Join(pv, c) << d) >> 64);
    };

    // Leetspeak: a rewritable word holds a letter next to a leet character.
    const uint64_t leet_near = behind(prev.leet, cur.leet, 1) | ahead(cur.leet, next.leet, 1);
    if (cur.letter & leet_near) out.deobfuscated = true;

    // Spaced letters: single items at i and i + 2 with a separator between them.
    const uint64_t item = cur.letter | cur.digit;
    const uint64_t single = item & ~behind(prev.word, cur.word, 1) & ~ahead(cur.word, next.word, 1);
    const uint64_t next_item = next.letter | next.digit;
    if (single & ahead(cur.sep, next.sep, 1) & ahead(item, next_item, 2) &
        ~ahead(cur.word, next.word, 3)) {
      out.deobfuscated = true;
    }

    // Encoded runs: "\x", "%XX", a long base64 run, or two spaced hex pairs ("69 67").
    if (cur.encoded) out.encoded = true;
    // Every run of min_run <= 64 bytes has its first min_run bytes inside one [prev, cur].
    if (RunsOf(Join(prev.b64, cur.b64), min_run) != 0) out.encoded = true;
    const uint64_t pair = cur.hex & ahead(cur.hex, next.hex, 1) & ~behind(prev.b64, cur.b64, 1) &
                          ahead(cur.space, next.space, 2) & ahead(cur.hex, next.hex, 3) &
                          ahead(cur.hex, next.hex, 4);
    if (pair != 0) out.encoded = true;

    // rot13: letter runs whose first letter and length match a word LikelyRot13 counts.
    uint64_t starts = cur.letter & ~behind(prev.letter, cur.letter, 1);
    const u128 not_letter = ~Join(cur.letter, next.letter);
    while (starts != 0) {
      const int k = std::countr_zero(starts);
      starts &= starts - 1;
      const size_t at = base + static_cast<size_t>(k);
      const uint16_t lengths = kRotFirst[s[at] & 31];
      if (lengths == 0) continue;
      const u128 rest = not_letter >> k;
      const uint64_t lo = static_cast<uint64_t>(rest);
      const size_t len = lo != 0 ? std::countr_zero(lo) : 64;
      if (len > 12 || ((lengths >> len) & 1) == 0) continue;
      const std::string_view w = s.substr(at, len);
      if (IsRot13Word(w)) {
        ++rot_words;
      } else if (len == 3 || len == 6) {
        // "rot" and "caesar" are mentions that LikelyRot13 acts on alone.
        char lw[6];
        for (size_t i = 0; i < len; ++i) lw[i] = static_cast<char>(w[i] | 0x20);
        const std::string_view l(lw, len);
        if (l == "rot" || l == "caesar") out.rot13 = true;
      }
    }
    prev = cur;
    cur = next;
  }
  if (rot_words >= 2) out.rot13 = true;
  return out;
}

}  // namespace warden::text::internal
