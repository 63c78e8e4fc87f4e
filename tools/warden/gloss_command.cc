// `warden gloss` and `warden words`: build the word resources of the views, the glossary of the
// glossed view from bilingual dictionaries (docs/gloss.md) and the English word list that splits
// spaced letters into words (docs/views.md).
//
//   warden gloss --dict /usr/share/dictd/freedict-deu-eng --dict ... --out gloss.tsv.gz
//   warden words --out words-en.txt.gz
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "core/json_writer.h"
#include "eval/gloss_builder.h"
#include "output.h"

namespace warden::cli {
namespace {

struct GlossFlags {
  eval::GlossBuildOptions options;
  std::string out;
  bool json = false;
};

int RunGloss(GlossFlags& f) {
  ProgressBar bar("reading dictionaries", 0);
  auto stats = eval::BuildGlossary(f.options, f.out,
                                   [&](size_t done, size_t total) { bar.Update(done, total); });
  bar.Finish();
  if (!stats.ok()) {
    std::cerr << "warden gloss: " << stats.status().message() << "\n";
    return kExitError;
  }
  if (f.json) {
    std::string out = "{\"out\":";
    AppendJsonString(out, f.out);
    out += ",\"entries\":";
    AppendJsonUint(out, stats->entries);
    out += ",\"dictionaries\":[";
    for (size_t i = 0; i < stats->dictionaries.size(); ++i) {
      const auto& d = stats->dictionaries[i];
      out += i == 0 ? "{\"path\":" : ",{\"path\":";
      AppendJsonString(out, d.path);
      out += ",\"headwords\":";
      AppendJsonUint(out, d.headwords);
      out += ",\"glossed\":";
      AppendJsonUint(out, d.glossed);
      out += "}";
    }
    std::cout << out << "]}\n";
    return kExitAllow;
  }
  std::vector<std::vector<std::string>> rows = {{"dictionary", "headwords", "glossed"}};
  for (const auto& d : stats->dictionaries) {
    rows.push_back({d.path, std::to_string(d.headwords), std::to_string(d.glossed)});
  }
  std::cout << RenderTable(rows) << "wrote " << stats->entries << " glosses to " << f.out << "\n";
  return kExitAllow;
}

struct WordsFlags {
  std::string english = "/usr/share/dict/american-english";
  std::vector<std::string> data;
  std::string out;
  bool json = false;
};

int RunWords(const WordsFlags& f) {
  auto count = eval::BuildWordList(f.data, f.english, f.out);
  if (!count.ok()) {
    std::cerr << "warden words: " << count.status().message() << "\n";
    return kExitError;
  }
  if (f.json) {
    std::string out = "{\"out\":";
    AppendJsonString(out, f.out);
    out += ",\"words\":";
    AppendJsonUint(out, *count);
    std::cout << out << "}\n";
  } else {
    std::cout << "wrote " << *count << " words to " << f.out << "\n";
  }
  return kExitAllow;
}

}  // namespace

void AddGlossCommand(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<GlossFlags>();
  CLI::App* cmd = app.add_subcommand(
      "gloss",
      "Build the glossary of the glossed view from bilingual dictionaries in dictd format,\n"
      "so that a prompt in German, Spanish or French (or with its key words in them) is also\n"
      "read word by word in English. Each word gets the translation the classifier knows\n"
      "best; English words are left out. The policy names the file in `views.gloss`\n"
      "(docs/gloss.md).\n\n"
      "The shipped glossary (Debian: dict-freedict-deu-eng dict-freedict-spa-eng\n"
      "dict-freedict-fra-eng wamerican):\n"
      "  warden gloss --dict /usr/share/dictd/freedict-deu-eng \\\n"
      "    --dict /usr/share/dictd/freedict-spa-eng --dict /usr/share/dictd/freedict-fra-eng \\\n"
      "    --model models/warden-v1.ftz --out models/gloss-de-es-fr.tsv.gz");
  cmd->add_option("--dict", f->options.dictionaries,
                  "A dictd dictionary: PATH.index and PATH.dict.dz (repeatable; the first that "
                  "glosses a word wins)")
      ->required();
  cmd->add_option("--model", f->options.model,
                  "The classifier (NAME.ftz); the words of NAME.sem rank the translations")
      ->default_val(FindBundledFile("models/warden-v1.ftz"));
  cmd->add_option("--english", f->options.english_words,
                  "English word list, one per line: these words are never glossed")
      ->capture_default_str();
  cmd->add_option("--out", f->out, "The glossary to write (gzip; written atomically)")->required();
  cmd->add_flag("--json", f->json, "Print the counts as one JSON object");
  cmd->callback([f, exit_code] { *exit_code = RunGloss(*f); });
}

void AddWordsCommand(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<WordsFlags>();
  CLI::App* cmd = app.add_subcommand(
      "words",
      "Build the English word list of the deobfuscated view, which splits a run of spaced\n"
      "letters that spells several words (\"t h e r o o m\") into them (\"the room\")\n"
      "instead of joining it into one. The words are those of the training texts that an\n"
      "English word list has, most frequent first. The policy names the file in\n"
      "`views.words` (docs/views.md).\n\n"
      "The shipped list (Debian: wamerican):\n"
      "  warden words --data ../shared/data --out models/words-en.txt.gz");
  cmd->add_option("--data", f->data,
                  "Labelled JSONL files or directories (their */train.jsonl files are read)")
      ->required();
  cmd->add_option("--english", f->english, "English word list, one per line")
      ->capture_default_str();
  cmd->add_option("--out", f->out, "The word list to write (gzip; written atomically)")->required();
  cmd->add_flag("--json", f->json, "Print the count as one JSON object");
  cmd->callback([f, exit_code] { *exit_code = RunWords(*f); });
}

}  // namespace warden::cli
