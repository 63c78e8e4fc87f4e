#include "eval/gloss_builder.h"

#include <unicode/normalizer2.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "core/gzip_file.h"
#include "eval/dataset.h"
#include "scanners/classifier/semantic.h"
#include "text/gloss.h"

namespace warden::eval {
namespace {

namespace fs = std::filesystem;

// dictd's index numbers: base64 digits, most significant first.
bool DecodeNumber(std::string_view s, uint64_t& out) {
  static constexpr std::string_view kDigits =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  out = 0;
  if (s.empty() || s.size() > 10) return false;
  for (char c : s) {
    const size_t d = kDigits.find(c);
    if (d == std::string_view::npos) return false;
    out = out * 64 + d;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// As the normalized view folds text (NFKC + case folding), so "Straße" is looked up as
// "strasse".
std::string Fold(const icu::Normalizer2& nfkc_cf, std::string_view word) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::UnicodeString folded =
      nfkc_cf.normalize(icu::UnicodeString::fromUTF8(
                            icu::StringPiece(word.data(), static_cast<int32_t>(word.size()))),
                        status);
  std::string out;
  if (U_FAILURE(status)) return out;
  folded.toUTF8String(out);
  return out;
}

struct Vocabulary {
  std::unordered_set<std::string> english;       // words never glossed
  std::unordered_map<std::string, size_t> rank;  // the classifier's words, 0 = most frequent
};

// The best translation among an entry's senses: common words (the sum of their log frequency
// ranks, so one word beats two) in an early sense (one point per sense line before it, counted
// over all of the headword's entries in `sense`). Lower is better; returns false when no
// translation is made of words the classifier knows.
bool BestTranslation(std::string_view entry, const Vocabulary& vocab, size_t& sense,
                     std::string& best, double& best_score) {
  bool found = false;
  size_t line_begin = entry.find('\n');  // the first line is the headword's
  while (line_begin != std::string_view::npos) {
    const size_t line_end = entry.find('\n', line_begin + 1);
    std::string_view line = Trim(entry.substr(line_begin + 1, line_end == std::string_view::npos
                                                                  ? std::string_view::npos
                                                                  : line_end - line_begin - 1));
    line_begin = line_end;
    // Examples ("einen Stoff herstellen" - obtain a substance), notes, synonyms, cross
    // references: not translations of the headword.
    if (line.empty() || line.front() == '"' || line.front() == '{') continue;
    const size_t colon = line.find(':');
    if (colon != std::string_view::npos && colon < 12 &&
        line.substr(0, colon).find(' ') == std::string_view::npos) {
      continue;
    }
    // "2. kill, liquidate, slay" / "[mil.] bomb <n>, bombshell (sl.)"
    std::string clean;
    int depth = 0;
    size_t start = 0;
    while (start < line.size() && (std::isdigit(static_cast<unsigned char>(line[start])) ||
                                   line[start] == '.' || line[start] == ' ')) {
      ++start;
    }
    for (size_t i = start; i < line.size(); ++i) {
      const char c = line[i];
      if (c == '[' || c == '(' || c == '<' || c == '{') {
        ++depth;
      } else if (c == ']' || c == ')' || c == '>' || c == '}') {
        depth = std::max(0, depth - 1);
      } else if (depth == 0) {
        clean += c == ';' ? ',' : c;
      }
    }
    std::istringstream candidates(clean);
    std::string candidate;
    bool usable_line = false;
    while (std::getline(candidates, candidate, ',')) {
      std::istringstream words(candidate);
      std::string word, gloss;
      double rarity = 0;  // the sum of the words' log ranks
      size_t count = 0;
      bool usable = true;
      while (words >> word) {
        // Object placeholders of verb glosses: "produce sth.", "inform sb.".
        if (word == "sth." || word == "sb." || word == "so." || word == "sth" || word == "sb") {
          continue;
        }
        for (char& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        const auto it = vocab.rank.find(word);
        if (it == vocab.rank.end()) {
          usable = false;
          break;
        }
        rarity += std::log(static_cast<double>(it->second + 2));
        if (!gloss.empty()) gloss += ' ';
        gloss += word;
        ++count;
      }
      if (!usable || count == 0 || count > 2) continue;
      usable_line = true;
      const double score = rarity + static_cast<double>(sense);
      if (!found || score < best_score) {
        best = gloss;
        best_score = score;
        found = true;
      }
    }
    if (usable_line) ++sense;
  }
  return found;
}

// The English word list (one word a line, as Debian's wamerican installs it), lowercased.
StatusOr<std::unordered_set<std::string>> ReadEnglishWords(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return NotFoundError(path +
                         ": cannot read the English word list (Debian's wamerican package, or "
                         "--english FILE)");
  }
  std::unordered_set<std::string> english;
  for (std::string word; std::getline(in, word);) {
    for (char& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    english.insert(std::move(word));
  }
  return english;
}

Status LoadVocabulary(const GlossBuildOptions& o, Vocabulary& vocab) {
  auto english = ReadEnglishWords(o.english_words);
  if (!english.ok()) return english.status();
  vocab.english = std::move(english).value();
  fs::path sem(o.model);
  sem.replace_extension(".sem");
  std::string bytes;
  if (Status s = ReadMaybeGzipped(sem.string(), bytes); !s.ok()) {
    return NotFoundError(sem.string() +
                         ": cannot read the classifier's semantic head (--model NAME.ftz needs "
                         "NAME.sem beside it)");
  }
  auto head = classifier::SemanticHead::Parse(bytes, sem.string());
  if (!head.ok()) return head.status();
  for (size_t i = 0; i < head->words.size(); ++i) vocab.rank.emplace(head->words[i], i);
  return OkStatus();
}

}  // namespace

StatusOr<GlossBuildStats> BuildGlossary(const GlossBuildOptions& o, const std::string& out_path,
                                        const std::function<void(size_t, size_t)>& progress) {
  if (o.dictionaries.empty()) {
    return InvalidArgumentError("no dictionaries given (--dict /usr/share/dictd/freedict-deu-eng)");
  }
  UErrorCode icu_status = U_ZERO_ERROR;
  const icu::Normalizer2* nfkc_cf = icu::Normalizer2::getNFKCCasefoldInstance(icu_status);
  if (U_FAILURE(icu_status) || nfkc_cf == nullptr) {
    return InternalError("ICU's NFKC_Casefold data is missing");
  }
  Vocabulary vocab;
  if (Status s = LoadVocabulary(o, vocab); !s.ok()) return s;

  struct Index {
    std::string text;
    std::vector<std::string_view> lines;
  };
  std::vector<Index> indexes(o.dictionaries.size());
  size_t total = 0;
  for (size_t d = 0; d < o.dictionaries.size(); ++d) {
    const std::string path = o.dictionaries[d] + ".index";
    if (Status s = ReadMaybeGzipped(path, indexes[d].text); !s.ok()) {
      return NotFoundError(path +
                           ": cannot read the dictionary's index (a dictd dictionary is "
                           "NAME.index and NAME.dict.dz; Debian: dict-freedict-deu-eng)");
    }
    std::string_view rest = indexes[d].text;
    while (!rest.empty()) {
      const size_t eol = rest.find('\n');
      indexes[d].lines.push_back(rest.substr(0, eol));
      rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 1);
    }
    total += indexes[d].lines.size();
  }

  GlossBuildStats stats;
  std::map<std::string, std::string> glossary;  // sorted output
  size_t done = 0;
  for (size_t d = 0; d < o.dictionaries.size(); ++d) {
    GlossBuildStats::Dictionary& ds = stats.dictionaries.emplace_back();
    ds.path = o.dictionaries[d];
    const std::string dict_path = ds.path + ".dict.dz";
    std::string data;
    if (Status s = ReadMaybeGzipped(dict_path, data); !s.ok()) {
      return NotFoundError(dict_path + ": cannot read the dictionary's entries");
    }
    // Headword -> best translation so far, its score and the sense lines seen, over all of its
    // entries (in the index's order, which is the dictionary's).
    struct Best {
      std::string translation;
      double score = 0;
      size_t senses = 0;
    };
    std::map<std::string, Best> best;
    size_t line_number = 0;
    for (std::string_view line : indexes[d].lines) {
      ++line_number;
      if (progress && (++done % 4096 == 0 || done == total)) progress(done, total);
      if (line.empty()) continue;
      const size_t t1 = line.find('\t');
      const size_t t2 = t1 == std::string_view::npos ? t1 : line.find('\t', t1 + 1);
      uint64_t offset = 0, length = 0;
      if (t2 == std::string_view::npos || !DecodeNumber(line.substr(t1 + 1, t2 - t1 - 1), offset) ||
          !DecodeNumber(Trim(line.substr(t2 + 1)), length)) {
        return DataLossError(ds.path + ".index:" + std::to_string(line_number) +
                             ": expected `headword<TAB>offset<TAB>length` (base64 numbers)");
      }
      if (offset > data.size() || length > data.size() - offset) {
        return DataLossError(ds.path + ".index:" + std::to_string(line_number) +
                             ": the entry lies past the end of " + dict_path);
      }
      const std::string key = Fold(*nfkc_cf, line.substr(0, t1));
      if (!text::IsGlossWord(key) || vocab.english.count(key)) continue;
      const std::string_view entry(data.data() + offset, length);
      // The entry's own headword ("Bombe /bˈɔmbə/ <fem, n, sg>"): entries listed under another
      // form of the key are translations of that form.
      const std::string_view first = entry.substr(0, entry.find('\n'));
      const size_t head_end = std::min(first.find(" /"), first.find(" <"));
      if (Fold(*nfkc_cf, Trim(first.substr(0, head_end))) != key) continue;
      std::string translation;
      double score = 0;
      auto [it, added] = best.try_emplace(key);
      if (added) ++ds.headwords;
      Best& b = it->second;
      if (BestTranslation(entry, vocab, b.senses, translation, score) &&
          (b.translation.empty() || score < b.score)) {
        b.translation = std::move(translation);
        b.score = score;
      }
    }
    for (auto& [key, b] : best) {
      if (b.translation.empty() || b.translation == key) continue;
      if (glossary.try_emplace(key, b.translation).second) ++ds.glossed;
    }
  }
  stats.entries = glossary.size();
  if (glossary.empty()) return DataLossError("the dictionaries gave no glosses");

  std::string text =
      "# Warden glossary for the glossed view (src/text/gloss.h): word<TAB>English gloss.\n"
      "# Built by `warden gloss` from these dictd dictionaries (docs/gloss.md):\n";
  for (const auto& ds : stats.dictionaries) {
    text += "#   " + fs::path(ds.path).filename().string() + "\n";
  }
  for (const auto& [key, gloss] : glossary) text += key + "\t" + gloss + "\n";

  if (Status s = WriteGzippedAtomically(out_path, text); !s.ok()) return s;
  return stats;
}

StatusOr<size_t> BuildWordList(const std::vector<std::string>& data,
                               const std::string& english_words, const std::string& out_path) {
  auto english = ReadEnglishWords(english_words);
  if (!english.ok()) return english.status();
  // The list has every letter of the alphabet as a word; only "a" and "i" are words a split
  // should find.
  std::erase_if(*english,
                [](const std::string& w) { return w.size() == 1 && w != "a" && w != "i"; });
  auto examples = ReadDataset(data, "train");
  if (!examples.ok()) return examples.status();
  // A word is a run of ASCII letters that no digit or non-ASCII byte follows ("mp3" and "café"
  // are not English words; "don't" is "don" and "t").
  auto is_letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  std::unordered_map<std::string, size_t> counts;
  std::string word;
  for (const Example& e : *examples) {
    const std::string& t = e.text;
    for (size_t i = 0; i < t.size();) {
      if (!is_letter(t[i])) {
        ++i;
        continue;
      }
      word.clear();
      for (; i < t.size() && is_letter(t[i]); ++i) word += static_cast<char>(t[i] | 0x20);
      const bool glued = i < t.size() && ((t[i] & 0x80) || (t[i] >= '0' && t[i] <= '9'));
      if (!glued && english->count(word)) ++counts[word];
    }
  }
  std::vector<std::pair<size_t, std::string>> ranked;
  for (auto& [w, n] : counts) {
    if (n >= 2) ranked.emplace_back(n, w);
  }
  if (ranked.empty()) return DataLossError("the training data has no English words");
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  std::string text =
      "# Warden word list for splitting spaced letters (src/text/words.h), most frequent first.\n"
      "# Built by `warden words`: the English words of the training texts seen at least twice.\n"
      "# English words: Debian's wamerican (SCOWL), Copyright 2000-2011 by Kevin Atkinson; its\n"
      "# permission notice is in models/words-en.md.\n";
  for (const auto& [n, w] : ranked) {
    text += w;
    text += '\n';
  }
  if (Status s = WriteGzippedAtomically(out_path, text); !s.ok()) return s;
  return ranked.size();
}

}  // namespace warden::eval
