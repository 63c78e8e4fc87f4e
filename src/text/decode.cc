// Decoded views: base64, hex, URL percent-encoding and rot13 payloads, decoded recursively.
#include <algorithm>
#include <array>
#include <cstring>
#include <string>

#include "core/utf8.h"
#include "text/internal.h"

namespace warden::text::internal {
namespace {

constexpr std::array<int8_t, 256> MakeBase64Table() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = static_cast<int8_t>(c - 'A');
  for (int c = 'a'; c <= 'z'; ++c) t[c] = static_cast<int8_t>(c - 'a' + 26);
  for (int c = '0'; c <= '9'; ++c) t[c] = static_cast<int8_t>(c - '0' + 52);
  t['+'] = t['-'] = 62;  // standard and url-safe alphabets
  t['/'] = t['_'] = 63;
  return t;
}
constexpr std::array<int8_t, 256> kBase64 = MakeBase64Table();

constexpr std::array<int8_t, 256> MakeHexTable() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int c = '0'; c <= '9'; ++c) t[c] = static_cast<int8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) t[c] = static_cast<int8_t>(c - 'a' + 10);
  for (int c = 'A'; c <= 'F'; ++c) t[c] = static_cast<int8_t>(c - 'A' + 10);
  return t;
}
constexpr std::array<int8_t, 256> kHex = MakeHexTable();

inline int Hex(char c) { return kHex[static_cast<unsigned char>(c)]; }
inline bool IsB64(char c) { return kBase64[static_cast<unsigned char>(c)] >= 0; }

struct Payload {
  uint32_t begin, end;  // encoded run in the scanned view
  const char* kind;
  std::string decoded;
};

// Decoded bytes count as text when nearly all of them are printable ASCII, whitespace or valid
// multi-byte UTF-8, and at least half are letters, digits or spaces.
bool LooksLikeText(std::string_view s) {
  if (s.size() < 4) return false;
  size_t bad = 0, good = 0, points = 0;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    ++points;
    if (c < 0x80) {
      if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') ++bad;
      if (c == 0x7F) ++bad;
      if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ++good;
      if ((c >= '0' && c <= '9') || c == ' ') ++good;
      ++i;
      continue;
    }
    const size_t len = Utf8SequenceLength(s, i);
    if (len == 0) {
      ++bad;
      ++i;
    } else {
      ++good;
      i += len;
    }
  }
  return bad * 20 <= points && good * 2 >= points;
}

// Decodes at most `limit` output bytes of the base64 run.
void DecodeBase64(std::string_view run, size_t limit, std::string& out) {
  out.clear();
  uint32_t acc = 0;
  int bits = 0;
  for (char c : run) {
    const int v = kBase64[static_cast<unsigned char>(c)];
    if (v < 0) break;  // padding
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (out.size() >= limit) return;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
}

void DecodeHexDigits(std::string_view run, size_t limit, std::string& out) {
  out.clear();
  for (size_t i = 0; i + 1 < run.size() && out.size() < limit; i += 2) {
    out.push_back(static_cast<char>(Hex(run[i]) * 16 + Hex(run[i + 1])));
  }
}

class Scanner {
 public:
  Scanner(std::string_view s, const ViewOptions& options, size_t budget, bool scan_encoded,
          bool allow_rot13)
      : s_(s),
        options_(options),
        budget_(budget),
        scan_encoded_(scan_encoded),
        allow_rot13_(allow_rot13) {}

  std::vector<Payload> Run() {
    if (scan_encoded_) {
      ScanRuns();
      ScanUrl();
    }
    if (allow_rot13_ && budget_ >= s_.size() && LikelyRot13(s_)) {
      Payload p{0, static_cast<uint32_t>(s_.size()), "rot13", std::string(s_)};
      for (char& c : p.decoded) {
        if (c >= 'a' && c <= 'z')
          c = static_cast<char>('a' + (c - 'a' + 13) % 26);
        else if (c >= 'A' && c <= 'Z')
          c = static_cast<char>('A' + (c - 'A' + 13) % 26);
      }
      Accept(std::move(p));
    }
    return std::move(found_);
  }

 private:
  void Accept(Payload p) {
    budget_ -= std::min(budget_, p.decoded.size());
    found_.push_back(std::move(p));
  }

  bool TryAccept(size_t b, size_t e, const char* kind) {
    if (!LooksLikeText(scratch_)) return false;
    Accept({static_cast<uint32_t>(b), static_cast<uint32_t>(e), kind, scratch_});
    return true;
  }

  // "\x69\x67..." ; returns the end of the attempted run.
  size_t TryEscapedHex(size_t i) {
    size_t j = i;
    scratch_.clear();
    while (j + 3 < s_.size() + 0 && s_[j] == '\\' && (s_[j + 1] == 'x' || s_[j + 1] == 'X') &&
           Hex(s_[j + 2]) >= 0 && Hex(s_[j + 3]) >= 0) {
      if (scratch_.size() < budget_)
        scratch_.push_back(static_cast<char>(Hex(s_[j + 2]) * 16 + Hex(s_[j + 3])));
      j += 4;
    }
    if (j - i >= options_.min_encoded_length && budget_ > 0) TryAccept(i, j, "hex");
    return j;
  }

  // "69 67 6e ..." ; returns the end of the attempted run (i when it is not one).
  size_t TrySpacedHex(size_t i) {
    size_t j = i;
    scratch_.clear();
    while (j + 1 < s_.size() && Hex(s_[j]) >= 0 && Hex(s_[j + 1]) >= 0 &&
           (j + 2 == s_.size() || s_[j + 2] == ' ' || !IsB64(s_[j + 2]))) {
      if (scratch_.size() < budget_)
        scratch_.push_back(static_cast<char>(Hex(s_[j]) * 16 + Hex(s_[j + 1])));
      j += 2;
      if (j + 2 < s_.size() && s_[j] == ' ' && Hex(s_[j + 1]) >= 0) {
        ++j;
      } else {
        break;
      }
    }
    if (scratch_.size() < 2) return i;
    if (j - i >= options_.min_encoded_length && budget_ > 0) TryAccept(i, j, "hex");
    return j;
  }

  void ScanRuns() {
    const size_t n = s_.size();
    size_t i = 0;
    while (i < n && budget_ > 0) {
      const char c = s_[i];
      if (c == '\\' && i + 1 < n && (s_[i + 1] == 'x' || s_[i + 1] == 'X')) {
        i = std::max(i + 1, TryEscapedHex(i));
        continue;
      }
      if (!IsB64(c)) {
        ++i;
        continue;
      }
      size_t j = i + 1;
      while (j < n && IsB64(s_[j])) ++j;
      if (j - i == 2 && j < n && s_[j] == ' ') {
        const size_t end = TrySpacedHex(i);
        if (end != i) {
          i = end;
          continue;
        }
      }
      size_t e = j;
      while (e < n && e - j < 2 && s_[e] == '=') ++e;
      if (j - i >= options_.min_encoded_length) DecodeRun(i, j, e);
      i = e;
    }
  }

  void DecodeRun(size_t i, size_t j, size_t e) {
    std::string_view run = s_.substr(i, j - i);
    size_t hex_from = 0;
    if (run.size() > 2 && run[0] == '0' && (run[1] == 'x' || run[1] == 'X')) hex_from = 2;
    bool all_hex = true;
    for (size_t k = hex_from; k < run.size() && all_hex; ++k) all_hex = Hex(run[k]) >= 0;
    if (all_hex && (run.size() - hex_from) % 2 == 0) {
      DecodeHexDigits(run.substr(hex_from), budget_, scratch_);
      if (TryAccept(i, j, "hex")) return;
    }
    if (run.size() % 4 == 1) run.remove_suffix(1);
    DecodeBase64(run, budget_, scratch_);
    TryAccept(i, e, "base64");
  }

  // Whitespace-delimited tokens with at least three %XX escapes.
  void ScanUrl() {
    const size_t n = s_.size();
    size_t from = 0;
    while (budget_ > 0 && from < n) {
      const void* hit = std::memchr(s_.data() + from, '%', n - from);
      if (hit == nullptr) return;
      size_t p = static_cast<const char*>(hit) - s_.data();
      size_t b = p;
      while (b > from && !IsSpace(s_[b - 1])) --b;
      size_t e = p;
      while (e < n && !IsSpace(s_[e])) ++e;
      int escapes = 0;
      scratch_.clear();
      for (size_t k = b; k < e && scratch_.size() < budget_;) {
        if (s_[k] == '%' && k + 2 < e + 0 + 1 && k + 2 < n && Hex(s_[k + 1]) >= 0 &&
            Hex(s_[k + 2]) >= 0) {
          scratch_.push_back(static_cast<char>(Hex(s_[k + 1]) * 16 + Hex(s_[k + 2])));
          ++escapes;
          k += 3;
        } else {
          scratch_.push_back(s_[k]);
          ++k;
        }
      }
      if (escapes >= 3) TryAccept(b, e, "url");
      from = e;
    }
  }

  static bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

  std::string_view s_;
  const ViewOptions& options_;
  size_t budget_;
  bool scan_encoded_;
  bool allow_rot13_;
  std::string scratch_;
  std::vector<Payload> found_;
};

// Common English words and their rot13 forms, by length.
constexpr std::string_view kCommon[] = {"the",          "and", "you",      "ignore",
                                        "instructions", "all", "previous", "system",
                                        "prompt",       "is",  "to",       "of"};
constexpr std::string_view kCommonRot[] = {"gur",          "naq", "lbh",      "vtaber",
                                           "vafgehpgvbaf", "nyy", "cerivbhf", "flfgrz",
                                           "cebzcg",       "vf",  "gb",       "bs"};

// Word lengths present in kCommon, to skip most words with one test.
constexpr uint32_t kCommonLengths = (1u << 2) | (1u << 3) | (1u << 6) | (1u << 8) | (1u << 12);

bool EqualsLower(std::string_view word, std::string_view lower) {
  if (word.size() != lower.size()) return false;
  for (size_t i = 0; i < word.size(); ++i) {
    if ((word[i] | 0x20) != lower[i]) return false;
  }
  return true;
}

}  // namespace

bool LikelyRot13(std::string_view s) {
  int plain = 0, rot = 0;
  const size_t n = s.size();
  bool prev_rot = false;  // previous word was "rot", for "rot13" / "rot-13" / "rot 13"
  for (size_t i = 0; i < n;) {
    const auto c = static_cast<unsigned char>(s[i]);
    const bool letter = ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
    if (!letter) {
      if (prev_rot && c >= '0' && c <= '9') {
        if (s.substr(i, 2) == "13") return true;
      }
      if (prev_rot && c != '-' && c != ' ' && c != '_') prev_rot = false;
      ++i;
      continue;
    }
    size_t j = i + 1;
    while (j < n && (((s[j] | 0x20) >= 'a' && (s[j] | 0x20) <= 'z'))) ++j;
    const std::string_view w = s.substr(i, j - i);
    prev_rot = EqualsLower(w, "rot");
    if (w.size() == 6 && EqualsLower(w, "caesar")) return true;
    if (w.size() <= 12 && ((1u << w.size()) & kCommonLengths)) {
      for (size_t k = 0; k < std::size(kCommon); ++k) {
        if (kCommon[k].size() != w.size()) continue;
        plain += EqualsLower(w, kCommon[k]);
        rot += EqualsLower(w, kCommonRot[k]);
      }
    }
    i = j;
  }
  return rot >= 2 && rot > 2 * plain;
}

bool IsRot13Word(std::string_view w) {
  for (std::string_view r : kCommonRot) {
    if (EqualsLower(w, r)) return true;
  }
  return false;
}

size_t AppendDecoded(const ViewOptions& options, const Screen& raw_screen, std::vector<View>& out,
                     size_t count) {
  size_t budget = options.max_decoded_bytes;
  // Views [0, 1) are scanned first; views appended by this function are scanned in turn, so
  // nested payloads are found breadth-first.
  const size_t first_decoded = count;
  for (size_t idx = 0; idx < count && budget > 0; ++idx) {
    if (idx != 0 && idx < first_decoded) continue;  // normalized etc.: not scanned for payloads
    if (out[idx].depth >= options.max_decode_depth) continue;
    // The raw view was screened: most texts need no search at all.
    if (idx == 0 && !raw_screen.encoded && !raw_screen.rot13) continue;
    const bool parent_rot13 = out[idx].name.size() >= 5 &&
                              out[idx].name.compare(out[idx].name.size() - 5, 5, "rot13") == 0;
    std::string_view text = idx == 0 ? out[0].text : std::string_view(out[idx].storage);
    Scanner scanner(text, options, budget, idx != 0 || raw_screen.encoded,
                    !parent_rot13 && (idx != 0 || raw_screen.rot13));
    std::vector<Payload> found = scanner.Run();
    for (Payload& p : found) {
      if (p.decoded.empty()) continue;
      if (p.decoded.size() > budget) p.decoded.resize(budget);
      budget -= p.decoded.size();
      View& v = ViewSlot(out, count);  // may reallocate `out`: take `parent` after it
      const View& parent = out[idx];
      v.kind = ViewKind::kDecoded;
      v.depth = static_cast<uint8_t>(std::min<uint32_t>(parent.depth + 1u, 255u));
      if (idx == 0) {
        v.name.assign("decoded:");
      } else {
        v.name.assign(parent.name);
        v.name.push_back('>');
      }
      v.name.append(p.kind);
      const size_t m = p.decoded.size();
      v.orig_begin.resize(m);
      v.orig_end.resize(m);
      if (std::string_view(p.kind) == "rot13") {
        // A per-character cipher: every byte keeps its own source.
        for (size_t k = 0; k < m; ++k) {
          const auto [b, e] = SpanOf(parent, static_cast<uint32_t>(k), static_cast<uint32_t>(k + 1));
          v.orig_begin[k] = b;
          v.orig_end[k] = e;
        }
      } else {
        const auto [b, e] = SpanOf(parent, p.begin, p.end);
        std::fill(v.orig_begin.begin(), v.orig_begin.end(), b);
        std::fill(v.orig_end.begin(), v.orig_end.end(), e);
      }
      v.storage.assign(p.decoded);  // into the slot's buffer
      ++count;
      if (budget == 0) break;
    }
  }
  return count;
}

}  // namespace warden::text::internal
