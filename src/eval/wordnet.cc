#include "eval/wordnet.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>
#include <unordered_set>

namespace warden::eval {
namespace {

struct Part {
  const char* name;  // file suffix
  char pos;          // the pointer part-of-speech letter in data files
};
constexpr std::array<Part, 4> kParts = {{{"noun", 'n'}, {"verb", 'v'}, {"adj", 'a'}, {"adv", 'r'}}};
constexpr size_t kSensesPerWord = 2;

// Words so common (or so ambiguous in WordNet: "can", "will", "make") that swapping them
// teaches noise.
const std::unordered_set<std::string_view>& StopWords() {
  static const std::unordered_set<std::string_view> words = {
      "about", "also",  "been",   "could", "does",  "doing",  "done",  "even",   "from",
      "give",  "have",  "help",   "here",  "into",  "just",   "know",  "like",   "make",
      "more",  "most",  "much",   "need",  "only",  "please", "some",  "take",   "tell",
      "than",  "that",  "their",  "them",  "then",  "there",  "they",  "this",   "very",
      "want",  "well",  "were",   "what",  "when",  "which",  "will",  "with",   "would",
      "write", "your",  "should", "other", "these", "those",  "where", "while",  "being",
      "get",   "going", "used",   "using", "said",  "says",   "thing", "things", "people"};
  return words;
}

Status ReadFile(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return NotFoundError(path + ": cannot read WordNet (apt-get install wordnet-base)");
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  out = std::move(ss).str();
  return OkStatus();
}

std::string Lemma(std::string_view w) {
  std::string s(w);
  for (char& c : s)
    c = c == '_' ? ' ' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // Adjective markers such as "(a)" or "(p)" follow some lemmas in data.adj.
  if (const size_t paren = s.find('('); paren != std::string::npos) s.resize(paren);
  return s;
}

// A data-file synset line: its words and its hypernym/hyponym pointers (offset, pos).
struct Synset {
  std::vector<std::string> words;
  std::vector<std::pair<uint64_t, char>> links;
};

bool ParseSynset(std::string_view line, Synset& out) {
  std::istringstream in{std::string(line)};
  std::string offset, lex, type, count_hex;
  if (!(in >> offset >> lex >> type >> count_hex)) return false;
  const unsigned long words = std::stoul(count_hex, nullptr, 16);
  out.words.clear();
  out.links.clear();
  for (unsigned long i = 0; i < words; ++i) {
    std::string word, lex_id;
    if (!(in >> word >> lex_id)) return false;
    out.words.push_back(Lemma(word));
  }
  unsigned pointers = 0;
  if (!(in >> pointers)) return false;
  for (unsigned i = 0; i < pointers; ++i) {
    std::string symbol, target, pos, source_target;
    if (!(in >> symbol >> target >> pos >> source_target)) return false;
    // '@' hypernym, '@i' instance hypernym, '~' hyponym, '~i' instance hyponym.
    if (symbol == "@" || symbol == "~" || symbol == "@i" || symbol == "~i") {
      out.links.emplace_back(std::stoull(target), pos.empty() ? 'n' : pos[0]);
    }
  }
  return true;
}

std::string_view LineAt(const std::string& data, uint64_t offset) {
  if (offset >= data.size()) return {};
  const size_t end = data.find('\n', offset);
  return std::string_view(data).substr(offset, end == std::string::npos ? end : end - offset);
}

}  // namespace

StatusOr<WordNet> WordNet::Load(const std::string& dir) {
  std::array<std::string, kParts.size()> data;
  for (size_t p = 0; p < kParts.size(); ++p) {
    if (Status s = ReadFile(dir + "/data." + kParts[p].name, data[p]); !s.ok()) return s;
  }
  auto data_of = [&](char pos) -> const std::string& {
    switch (pos) {
      case 'v':
        return data[1];
      case 'a':
      case 's':
        return data[2];
      case 'r':
        return data[3];
      default:
        return data[0];
    }
  };
  WordNet wn;
  Synset synset, linked;
  for (size_t p = 0; p < kParts.size(); ++p) {
    const std::string path = dir + "/index." + kParts[p].name;
    std::string index;
    if (Status s = ReadFile(path, index); !s.ok()) return s;
    std::istringstream lines(index);
    std::string line;
    size_t line_no = 0;
    while (std::getline(lines, line)) {
      ++line_no;
      if (line.empty() || line[0] == ' ') continue;  // licence header
      // lemma pos synset_cnt p_cnt [ptr_symbol...] sense_cnt tagsense_cnt offset...
      std::istringstream in(line);
      std::string lemma, pos;
      unsigned synsets = 0, pointer_count = 0;
      if (!(in >> lemma >> pos >> synsets >> pointer_count)) {
        return DataLossError(path + ":" + std::to_string(line_no) + ": not a WordNet index line");
      }
      std::string skip;
      for (unsigned i = 0; i < pointer_count + 2; ++i) in >> skip;
      const std::string word = Lemma(lemma);
      if (word.size() < 4 || word.find(' ') != std::string::npos || StopWords().count(word)) {
        continue;
      }
      std::set<std::string> related;
      for (unsigned i = 0; i < synsets && i < kSensesPerWord; ++i) {
        uint64_t offset = 0;
        if (!(in >> offset)) {
          return DataLossError(path + ":" + std::to_string(line_no) + ": missing synset offset");
        }
        if (!ParseSynset(LineAt(data[p], offset), synset)) continue;
        related.insert(synset.words.begin(), synset.words.end());
        for (const auto& [target, target_pos] : synset.links) {
          if (ParseSynset(LineAt(data_of(target_pos), target), linked)) {
            related.insert(linked.words.begin(), linked.words.end());
          }
        }
      }
      related.erase(word);
      if (related.empty()) continue;
      auto& list = wn.related_[word];
      for (const std::string& r : related) {
        if (std::find(list.begin(), list.end(), r) == list.end()) list.push_back(r);
      }
    }
  }
  if (wn.related_.empty()) return DataLossError(dir + ": no WordNet entries read");
  return wn;
}

const std::vector<std::string>* WordNet::Related(std::string_view word) const {
  std::string w(word);
  for (char& c : w) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (w.size() < 4 || StopWords().count(w)) return nullptr;
  auto found = [&](const std::string& key) -> const std::vector<std::string>* {
    auto it = related_.find(key);
    return it == related_.end() ? nullptr : &it->second;
  };
  if (auto* r = found(w)) return r;
  // morphy's detachment rules, in its order: the first base form WordNet knows wins.
  static const std::array<std::pair<std::string_view, std::string_view>, 15> kRules = {
      {{"ies", "y"},
       {"ses", "s"},
       {"xes", "x"},
       {"zes", "z"},
       {"ches", "ch"},
       {"shes", "sh"},
       {"men", "man"},
       {"s", ""},
       {"es", "e"},
       {"es", ""},
       {"ed", "e"},
       {"ed", ""},
       {"ing", "e"},
       {"ing", ""},
       {"est", ""}}};
  for (const auto& [suffix, base] : kRules) {
    if (w.size() > suffix.size() + 2 &&
        w.compare(w.size() - suffix.size(), suffix.size(), suffix) == 0) {
      std::string b = w.substr(0, w.size() - suffix.size());
      b += base;
      if (auto* r = found(b)) return r;
    }
  }
  return nullptr;
}

std::string WordNet::Rewrite(std::string_view text, double p, std::mt19937_64& rng) const {
  std::string out;
  out.reserve(text.size() + 16);
  size_t i = 0;
  while (i < text.size()) {
    if (!std::isalpha(static_cast<unsigned char>(text[i]))) {
      out.push_back(text[i++]);
      continue;
    }
    size_t j = i;
    while (j < text.size() && std::isalpha(static_cast<unsigned char>(text[j]))) ++j;
    const std::string_view word = text.substr(i, j - i);
    // Draw for every word so that the choices do not depend on which words WordNet knows.
    const double draw = (rng() >> 11) * (1.0 / 9007199254740992.0);
    const uint64_t pick = rng();
    const std::vector<std::string>* related = draw < p ? Related(word) : nullptr;
    if (related != nullptr) {
      out += (*related)[pick % related->size()];
    } else {
      out += word;
    }
    i = j;
  }
  return out;
}

}  // namespace warden::eval
