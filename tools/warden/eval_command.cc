// `warden eval`: measures the classifier on labelled JSONL (see docs/classifier.md).
//
//   warden eval --data ../shared/data --model models/warden-v1.ftz --mutate
//   warden eval --data ../shared/data --loso --json
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "commands.h"
#include "core/json_writer.h"
#include "eval/dataset.h"
#include "eval/metrics.h"
#include "eval/mutators.h"
#include "eval/trainer.h"
#include "output.h"
#include "policy_classifier.h"
#include "scanners/classifier/classifier.h"
#include "warden/verdict.h"

namespace warden::cli {
namespace {

using classifier::kLabels;
using classifier::kNumLabels;
using classifier::kUnsafeLabel;
using classifier::LabelScores;

struct EvalFlags {
  std::vector<std::string> data;
  std::string model;
  std::string policy;
  bool json = false;
  bool mutate = false;
  bool patterns = false;  // --patterns: the policy's attack patterns count too
  bool loso = false;
  bool quick = false;
  std::vector<std::string> set;  // --set KEY=VALUE training options
  std::string vectors;           // --loso: word vectors for the semantic head
  std::string encoder;           // --loso: the sentence encoder's release, for its cascade
  std::string embedding_cache;   // --loso: keeps sentence embeddings between runs
  uint64_t seed = 1;
  std::vector<std::string> loso_sources;
  std::string rows;  // every example's scores, as JSONL
};

struct Scored {
  std::vector<LabelScores> scores;
  std::vector<double> latency_us;
};

// A pattern finding labelled `jailbreak` or `prompt_injection` raises that label's raw score to
// the finding's score put on the model's scale, as the policy's rules (which compare the larger
// of the two with one threshold) see it.
void AddPatternScores(const classifier::Classifier& c, const scanners::PatternEngine& patterns,
                      const std::vector<text::View>& views, std::vector<Finding>& findings,
                      LabelScores& out) {
  findings.clear();
  patterns.Scan(views, findings);
  for (const Finding& f : findings) {
    if (f.label != "jailbreak" && f.label != "prompt_injection") continue;
    const int l = classifier::LabelIndex(f.label);
    out[l] = std::max(out[l], c.Uncalibrate(l, f.score));
  }
}

Scored ScoreAll(const classifier::Classifier& c, const scanners::PatternEngine* patterns,
                const text::ViewOptions& view_options, const std::vector<eval::Example>& data,
                const std::vector<std::string>* texts, const char* label) {
  text::ViewBuilder builder(view_options);
  std::vector<text::View> views;
  std::vector<Finding> findings;
  Scored out;
  out.scores.resize(data.size());
  out.latency_us.resize(data.size());
  ProgressBar bar(label, data.size());
  for (size_t i = 0; i < data.size(); ++i) {
    const std::string& t = texts ? (*texts)[i] : data[i].text;
    const auto start = std::chrono::steady_clock::now();
    eval::ScoreExample(c, builder, t, views, out.scores[i]);
    // Attack phrasing is looked for in what reaches the model (user turns, documents), as the
    // shipped policies' attack rules do; a response that quotes "<|endoftext|>" attacks nothing.
    if (patterns && data[i].role != "assistant") {
      AddPatternScores(c, *patterns, views, findings, out.scores[i]);
    }
    out.latency_us[i] =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
            .count();
    if (i % 256 == 0) bar.Update(i, i);
  }
  bar.Finish();
  return out;
}

// One JSON line per example: what it is and how the model scored it, so that misses and false
// positives can be read (`jq 'select(.label == "safe" and .flagged)'`). Scores are the model's
// raw probabilities; `flagged` is unsafe at its shipped threshold.
bool WriteRows(std::ostream& out, const std::vector<eval::Example>& data, const Scored& s,
               float unsafe_threshold) {
  std::string line;
  for (size_t i = 0; i < data.size(); ++i) {
    const eval::Example& ex = data[i];
    line = "{\"id\": ";
    AppendJsonString(line, ex.id);
    line += ", \"source\": ";
    AppendJsonString(line, ex.source);
    line += ex.unsafe ? ", \"label\": \"unsafe\"" : ", \"label\": \"safe\"";
    line += ", \"attack\": ";
    AppendJsonStringOrNull(line, ex.attack >= 0 ? kLabels[ex.attack] : std::string_view());
    line += ", \"flagged\": ";
    line += s.scores[i][kUnsafeLabel] >= unsafe_threshold ? "true" : "false";
    line += ", \"scores\": {";
    for (size_t l = 0; l < kNumLabels; ++l) {
      if (l) line += ", ";
      AppendJsonString(line, kLabels[l]);
      line += ": ";
      AppendJsonNumber(line, s.scores[i][l]);
    }
    line += "}, \"text\": ";
    AppendJsonString(line, ex.text);
    line += "}\n";
    out << line;
  }
  return static_cast<bool>(out.flush());
}

eval::BinaryMetrics UnsafeMetrics(const std::vector<eval::Example>& data, const Scored& s,
                                  float threshold, const std::string* source) {
  std::vector<float> sc;
  std::vector<uint8_t> y;
  for (size_t i = 0; i < data.size(); ++i) {
    if (source && data[i].source != *source) continue;
    sc.push_back(s.scores[i][kUnsafeLabel]);
    y.push_back(data[i].unsafe);
  }
  return eval::ComputeMetrics(sc, y, threshold);
}

// A category's own score on its positives against all safe rows (an unsafe row of another
// category is neither: the category label only names the harm).
eval::BinaryMetrics LabelMetrics(const std::vector<eval::Example>& data, const Scored& s,
                                 size_t label, float threshold) {
  std::vector<float> sc;
  std::vector<uint8_t> y;
  for (size_t i = 0; i < data.size(); ++i) {
    bool pos = false;
    for (uint8_t l : data[i].labels) pos |= (l == label);
    if (!pos && data[i].unsafe) continue;
    sc.push_back(s.scores[i][label]);
    y.push_back(pos);
  }
  return eval::ComputeMetrics(sc, y, threshold);
}

void AppendNumber(std::string& j, double v) {
  if (std::isnan(v)) {
    j += "null";
  } else {
    AppendJsonNumber(j, v);
  }
}

void AppendMetricsJson(std::string& j, const eval::BinaryMetrics& m) {
  j += "{\"count\": " + std::to_string(m.count) + ", \"positives\": " +
       std::to_string(m.positives) + ", \"negatives\": " + std::to_string(m.negatives);
  const std::pair<const char*, double> fields[] = {
      {"precision", m.precision}, {"recall", m.recall}, {"f1", m.f1},
      {"auprc", m.auprc},         {"roc_auc", m.roc_auc}, {"fpr", m.fpr}};
  for (const auto& [name, v] : fields) {
    j += ", \"";
    j += name;
    j += "\": ";
    AppendNumber(j, v);
  }
  j += "}";
}

std::string Fmt(double v) {
  if (std::isnan(v)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.4f", v);
  return buf;
}

std::vector<std::string> MetricsRow(const std::string& name, const eval::BinaryMetrics& m) {
  return {name, std::to_string(m.count), std::to_string(m.positives), Fmt(m.precision),
          Fmt(m.recall), Fmt(m.f1), Fmt(m.auprc), Fmt(m.roc_auc), Fmt(m.fpr)};
}

const std::vector<std::string> kHeader = {"name",   "count", "unsafe",  "precision", "recall",
                                          "f1",     "auprc", "roc_auc", "fpr"};

// Leave-one-source-out needs training data: --data must name data directories.
int RunLoso(const EvalFlags& f, std::string& json, std::vector<std::vector<std::string>>& table) {
  auto train = eval::ReadDataset(f.data, "train");
  if (!train.ok()) {
    std::cerr << "warden eval: --loso: " << train.status().message() << "\n";
    return kExitError;
  }
  auto dev = eval::ReadDataset(f.data, "dev");
  if (!dev.ok()) {
    std::cerr << "warden eval: --loso: " << dev.status().message() << "\n";
    return kExitError;
  }
  std::vector<std::string> sources = f.loso_sources;
  if (sources.empty()) {
    std::set<std::string> with_unsafe;
    for (const auto& ex : *train) {
      if (ex.unsafe) with_unsafe.insert(ex.source);
    }
    sources.assign(with_unsafe.begin(), with_unsafe.end());
  }
  eval::TrainOptions o;
  o.seed = f.seed;
  if (f.quick) eval::UseQuickConfig(o);
  o.vectors = f.vectors;
  o.encoder = f.encoder;
  o.embedding_cache_file = f.embedding_cache;
  if (Status st = eval::SetTrainOptions(o, f.set); !st.ok()) {
    std::cerr << "warden eval: " << st.message() << "\n";
    return kExitError;
  }
  size_t done = 0;
  auto rows = eval::LeaveOneSourceOut(o, *train, *dev, sources, [&](const eval::LosoRow& r) {
    ++done;
    std::fprintf(stderr, "loso %zu/%zu %-28s auprc %s recall %s fpr %s\n", done, sources.size(),
                 r.source.c_str(), Fmt(r.metrics.auprc).c_str(), Fmt(r.metrics.recall).c_str(),
                 Fmt(r.metrics.fpr).c_str());
  });
  if (!rows.ok()) {
    std::cerr << "warden eval: --loso: " << rows.status().message() << "\n";
    return kExitError;
  }
  double auprc_sum = 0, recall_sum = 0;
  int auprc_n = 0, recall_n = 0;
  json += "\"loso\": {\"by_source\": {";
  bool first = true;
  for (const auto& r : *rows) {
    if (!first) json += ", ";
    first = false;
    AppendJsonString(json, r.source);
    json += ": ";
    AppendMetricsJson(json, r.metrics);
    table.push_back(MetricsRow(r.source, r.metrics));
    if (r.metrics.negatives > 0 && r.metrics.positives > 0) {
      auprc_sum += r.metrics.auprc;
      ++auprc_n;
    } else if (r.metrics.negatives == 0) {
      recall_sum += r.metrics.recall;
      ++recall_n;
    }
  }
  const double mean_auprc = auprc_n ? auprc_sum / auprc_n : NAN;
  const double mean_recall = recall_n ? recall_sum / recall_n : NAN;
  json += "}, \"mean_auprc_mixed_sources\": ";
  AppendNumber(json, mean_auprc);
  json += ", \"mean_recall_unsafe_only_sources\": ";
  AppendNumber(json, mean_recall);
  json += "}";
  table.push_back({"mean auprc (both labels)", std::to_string(auprc_n), "", "", "", "",
                   Fmt(mean_auprc), "", ""});
  table.push_back({"mean recall (all unsafe)", std::to_string(recall_n), "", "",
                   Fmt(mean_recall), "", "", "", ""});
  return kExitAllow;
}

// A model file without a policy: every view, no glossary. Empty `path`: the shipped model.
StatusOr<PolicyClassifier> LoadModelAlone(const std::string& path) {
  auto model =
      classifier::Classifier::Load(path.empty() ? FindBundledFile("models/warden-v1.ftz") : path);
  if (!model.ok()) return model.status();
  return PolicyClassifier{std::move(model).value(), text::ViewOptions()};
}

int RunEval(const EvalFlags& f) {
  std::string json = "{";
  std::string text_out;
  if (f.loso) {
    std::vector<std::vector<std::string>> table = {kHeader};
    if (int rc = RunLoso(f, json, table); rc != kExitAllow) return rc;
    json += "}";
    if (f.json) {
      std::printf("%s\n", json.c_str());
    } else {
      std::printf("leave-one-source-out (unsafe vs safe, each source held out of training)\n%s",
                  RenderTable(table).c_str());
    }
    return kExitAllow;
  }
  // With --policy, the texts are seen as the policy's engine sees them (its views and glossary);
  // its rules are not applied, so the numbers are the classifier's own at its thresholds (with
  // --patterns, the attack patterns' findings count for jailbreak and prompt_injection too).
  // Otherwise the model alone: every view, no glossary.
  StatusOr<PolicyClassifier> loaded =
      f.policy.empty() ? LoadModelAlone(f.model) : LoadPolicyClassifier(f.policy, f.patterns);
  if (!loaded.ok()) {
    std::cerr << "warden eval: " << loaded.status().message() << "\n";
    return kExitError;
  }
  const std::string& model_path = loaded->model->model_path();
  const text::ViewOptions& view_options = loaded->views;
  const classifier::Classifier& c = *loaded->model;
  // Opened before minutes of scoring, so that a path that cannot be written fails first.
  std::ofstream rows_file;
  if (!f.rows.empty()) {
    rows_file.open(f.rows, std::ios::binary | std::ios::trunc);
    if (!rows_file) {
      std::cerr << "warden eval: --rows: cannot write " << f.rows << "\n";
      return kExitError;
    }
  }
  auto data = eval::ReadDataset(f.data, "dev");
  if (!data.ok()) {
    std::cerr << "warden eval: " << data.status().message() << "\n";
    return kExitError;
  }
  const scanners::PatternEngine* patterns = loaded->patterns.get();
  const Scored plain = ScoreAll(c, patterns, view_options, *data, nullptr, "scoring");
  const float t_unsafe = c.thresholds()[kUnsafeLabel];
  if (rows_file.is_open() && !WriteRows(rows_file, *data, plain, t_unsafe)) {
    std::cerr << "warden eval: --rows: " << f.rows << ": write failed\n";
    return kExitError;
  }

  std::vector<std::vector<std::string>> by_source = {kHeader}, by_category = {kHeader};
  const eval::BinaryMetrics overall = UnsafeMetrics(*data, plain, t_unsafe, nullptr);
  json += "\"model\": ";
  AppendJsonString(json, model_path);
  json += ", \"patterns\": ";
  json += patterns ? "true" : "false";
  json += ", \"overall\": ";
  AppendMetricsJson(json, overall);
  std::set<std::string> sources;
  for (const auto& ex : *data) sources.insert(ex.source);
  json += ", \"by_source\": {";
  bool first = true;
  for (const auto& s : sources) {
    const auto m = UnsafeMetrics(*data, plain, t_unsafe, &s);
    if (!first) json += ", ";
    first = false;
    AppendJsonString(json, s);
    json += ": ";
    AppendMetricsJson(json, m);
    by_source.push_back(MetricsRow(s, m));
  }
  json += "}, \"by_category\": {";
  first = true;
  for (size_t l = 0; l + 1 < kNumLabels; ++l) {
    const auto m = LabelMetrics(*data, plain, l, c.thresholds()[l]);
    if (m.positives == 0) continue;
    if (!first) json += ", ";
    first = false;
    AppendJsonString(json, kLabels[l]);
    json += ": ";
    AppendMetricsJson(json, m);
    by_category.push_back(MetricsRow(std::string(kLabels[l]), m));
  }
  json += "}";
  const double p50 = eval::Percentile(plain.latency_us, 0.5);
  const double p90 = eval::Percentile(plain.latency_us, 0.9);
  const double p99 = eval::Percentile(plain.latency_us, 0.99);
  json += ", \"latency_us\": {\"p50\": ";
  AppendNumber(json, p50);
  json += ", \"p90\": ";
  AppendNumber(json, p90);
  json += ", \"p99\": ";
  AppendNumber(json, p99);
  json += "}";

  std::vector<std::vector<std::string>> by_mutator = {
      {"mutator", "unsafe", "recall", "recall_drop", "fpr", "auprc"}};
  if (f.mutate) {
    json += ", \"by_mutator\": {";
    first = true;
    for (eval::Mutator mut : eval::kAllMutators) {
      std::mt19937_64 rng(f.seed);
      std::vector<std::string> texts;
      texts.reserve(data->size());
      for (const auto& ex : *data) texts.push_back(eval::Mutate(mut, ex.text, rng));
      const std::string name(eval::MutatorName(mut));
      const Scored s = ScoreAll(c, patterns, view_options, *data, &texts, name.c_str());
      const auto m = UnsafeMetrics(*data, s, t_unsafe, nullptr);
      if (!first) json += ", ";
      first = false;
      AppendJsonString(json, name);
      json += ": {\"recall\": ";
      AppendNumber(json, m.recall);
      json += ", \"recall_drop\": ";
      AppendNumber(json, overall.recall - m.recall);
      json += ", \"fpr\": ";
      AppendNumber(json, m.fpr);
      json += ", \"auprc\": ";
      AppendNumber(json, m.auprc);
      json += "}";
      by_mutator.push_back({name, std::to_string(m.positives), Fmt(m.recall),
                            Fmt(overall.recall - m.recall), Fmt(m.fpr), Fmt(m.auprc)});
    }
    json += "}";
  }
  json += "}";
  if (f.json) {
    std::printf("%s\n", json.c_str());
    return kExitAllow;
  }
  std::printf("model %s%s, %zu records, unsafe threshold %.4f\n\n", model_path.c_str(),
              patterns ? " with the policy's attack patterns" : "", data->size(), t_unsafe);
  std::vector<std::vector<std::string>> o = {kHeader, MetricsRow("overall", overall)};
  std::printf("%s\nby source (unsafe vs safe)\n%s\nby category (label score; positives vs safe "
              "rows)\n%s",
              RenderTable(o).c_str(), RenderTable(by_source).c_str(),
              RenderTable(by_category).c_str());
  std::printf("\nlatency per message (views + scoring): p50 %.1f us, p90 %.1f us, p99 %.1f us\n",
              p50, p90, p99);
  if (f.mutate) std::printf("\nunder obfuscation mutators\n%s", RenderTable(by_mutator).c_str());
  return kExitAllow;
}

}  // namespace

void AddEvalCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<EvalFlags>();
  auto* cmd = app.add_subcommand(
      "eval",
      "Measure the classifier on labelled JSONL: per source and per category count, precision,\n"
      "recall, F1 at the shipped thresholds, AUPRC, ROC-AUC and FPR, plus latency.\n\n"
      "Examples:\n"
      "  warden eval --data ../shared/data --mutate      # every */dev.jsonl\n"
      "  warden eval --data my.jsonl --model models/warden-v1.ftz --json\n"
      "  warden eval --data ../shared/data --loso --quick  # leave-one-source-out");
  cmd->add_option("--data", flags->data, "JSONL files, or directories (their */dev.jsonl)")
      ->required();
  auto* model = cmd->add_option("--model", flags->model, "model file (default models/warden-v1.ftz)");
  cmd->add_option("--policy", flags->policy,
                  "policy whose classifier section names the model; its views (with their "
                  "glossary and word list) are used")
      ->excludes(model);
  cmd->add_flag("--patterns", flags->patterns,
                "with --policy: also count the policy's pattern scanners for jailbreak and "
                "prompt_injection in user and document texts, as its rules see them (a "
                "finding's score on the model's scale; the unsafe score stays the model's)")
      ->needs("--policy");
  cmd->add_flag("--json", flags->json, "print one JSON object (overall, by_source, by_category)");
  cmd->add_option("--rows", flags->rows,
                  "also write every example's scores to this file as JSONL (id, source, label, "
                  "attack, flagged, scores, text), to read the misses and false positives");
  cmd->add_flag("--mutate", flags->mutate, "also score every example under each mutator");
  cmd->add_flag("--loso", flags->loso,
                "leave-one-source-out: train without each source, score on it (needs data "
                "directories with train.jsonl and dev.jsonl)");
  cmd->add_option("--loso-source", flags->loso_sources, "with --loso: only these sources");
  cmd->add_flag("--quick", flags->quick, "with --loso: train the quick model");
  cmd->add_option("--set", flags->set,
                  "with --loso: training option KEY=VALUE (repeatable), as for warden train");
  cmd->add_option("--vectors", flags->vectors,
                  "with --loso: word vectors for the semantic head, as for warden train");
  CLI::Option* encoder =
      cmd->add_option("--encoder", flags->encoder,
                      "with --loso: the sentence encoder's release for its cascade, as for warden "
                      "train (each text is embedded once for all folds)");
  cmd->add_option("--embedding-cache", flags->embedding_cache,
                  "with --loso --encoder: a file that keeps the sentence embeddings between runs "
                  "(read first, written after each fold that embedded new texts), as for warden "
                  "train; e.g. build/embeddings.bin")
      ->needs(encoder)
      ->needs("--loso");
  cmd->add_option("--seed", flags->seed, "seed for mutators and --loso training");
  cmd->callback([flags, exit_code] { *exit_code = RunEval(*flags); });
}

}  // namespace warden::cli
