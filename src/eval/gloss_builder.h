// Builds the glossary of the glossed view (text/gloss.h) from bilingual dictionaries in dictd
// format, as Debian's FreeDict packages install them (dict-freedict-deu-eng, -spa-eng,
// -fra-eng under /usr/share/dictd).
//
//   GlossBuildOptions o;
//   o.dictionaries = {"/usr/share/dictd/freedict-deu-eng", ...};  // NAME.index + NAME.dict.dz
//   o.model = "models/warden-v1.ftz";    // its semantic head's words rank the glosses
//   StatusOr<GlossBuildStats> stats = BuildGlossary(o, "models/gloss-de-es-fr.tsv.gz");
//
// For every headword: the English translations of all its senses, cleaned of grammar notes
// ("[mil.] bomb <n>" -> "bomb"); of those made of one or two words the classifier knows, the
// one listed early and common ("Haus": "house", not "establishment"). Headwords that are English
// words (the English word list) are left out, so an English text is never glossed (the glossed view
// looks plurals in -s and -es up by their singular). The first dictionary that glosses a word wins.
// Deterministic.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "warden/status.h"

namespace warden::eval {

struct GlossBuildOptions {
  std::vector<std::string> dictionaries;  // dictd base paths (without .index / .dict.dz)
  std::string english_words = "/usr/share/dict/american-english";  // one word per line
  std::string model;  // the classifier's NAME.ftz; NAME.sem beside it is read
};

struct GlossBuildStats {
  struct Dictionary {
    std::string path;
    size_t headwords = 0;  // distinct one-word headwords in the index
    size_t glossed = 0;    // of them, entered into the glossary by this dictionary
  };
  std::vector<Dictionary> dictionaries;
  size_t entries = 0;  // lines written
};

// Writes the glossary (gzip-compressed TSV) to `out_path` through a temporary file and a rename,
// so a failed build leaves nothing half-written. `progress(done, total)` is called while the
// dictionaries' entries are read (total: index lines of all dictionaries).
StatusOr<GlossBuildStats> BuildGlossary(
    const GlossBuildOptions& options, const std::string& out_path,
    const std::function<void(size_t, size_t)>& progress = nullptr);

// Writes the word list of the deobfuscated view (text/words.h, gzip-compressed, atomically): the
// words of the `train.jsonl` texts under `data` (as ReadDataset expands them) that the
// `english_words` list has, seen at least twice, most frequent first. Returns how many it wrote.
// Deterministic.
StatusOr<size_t> BuildWordList(const std::vector<std::string>& data,
                               const std::string& english_words, const std::string& out_path);

}  // namespace warden::eval
