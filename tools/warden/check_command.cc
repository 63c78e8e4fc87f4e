// warden check: screen one text and print its verdict.
#include <unistd.h>

#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "core/json_writer.h"
#include "output.h"
#include "policy_classifier.h"
#include "warden/guard.h"

namespace warden::cli {

namespace {

struct CheckArgs {
  std::string text;
  bool text_given = false;
  std::string policy;
  std::string direction = "input";
  std::string role;
  std::string tool;
  bool json = false;
  bool reversible = false;
  bool explain = false;
};

// A short, printable excerpt of the original text at a finding, for people reading a terminal.
std::string Excerpt(std::string_view text, uint32_t start, uint32_t end, uint32_t max = 40) {
  std::string_view s = text.substr(start, end - start);
  std::string out;
  AppendJsonString(out, s.size() > max ? s.substr(0, max) : s);
  if (s.size() > max) out.insert(out.size() - 1, "…");
  return out;
}

void PrintSummary(const Verdict& v, std::string_view text) {
  std::cout << "action:  " << ActionName(v.action);
  if (!v.rule.empty()) std::cout << "  (rule " << v.rule << ")";
  std::cout << "\n";
  if (!v.message.empty()) std::cout << "message: " << v.message << "\n";
  if (!v.findings.empty()) {
    std::vector<std::vector<std::string>> rows = {
        {"scanner", "type", "span", "view", "score", "text"}};
    for (const Finding& f : v.findings) {
      char score[16];
      std::snprintf(score, sizeof score, "%.2f", f.score);
      rows.push_back({f.scanner, f.type, std::to_string(f.start) + ".." + std::to_string(f.end),
                      f.view, score, Excerpt(text, f.start, f.end)});
    }
    std::cout << "\n" << RenderTable(rows) << "\n";
  }
  if (!v.scores.empty()) {
    std::cout << "scores: ";
    for (size_t i = 0; i < v.scores.size(); ++i) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%s%s %.2f", i ? ", " : "", v.scores[i].first.c_str(),
                    v.scores[i].second);
      std::cout << buf;
    }
    std::cout << "\n";
  }
  if (v.redacted) std::cout << "redacted: " << *v.redacted << "\n";
  char latency[32];
  std::snprintf(latency, sizeof latency, "%.1f", v.latency_us);
  std::cout << "latency: " << latency << " µs\n";
}

// --explain: how the policy's classifier came to the text's `unsafe` score, as a JSON object.
std::string ExplanationJson(const classifier::Classifier& model,
                            const std::vector<text::View>& views,
                            const classifier::UnsafeExplanation& why) {
  std::string j = "{\"model\":";
  AppendJsonString(j, model.model_path());
  j += ",\"views\":[";
  for (size_t k = 0; k < views.size(); ++k) {
    if (k) j += ",";
    j += "{\"view\":";
    AppendJsonString(j, views[k].name);
    j += ",\"text\":";
    AppendJsonString(j, views[k].text);
    j += ",\"ngram_unsafe\":";
    AppendJsonNumber(j, why.view_unsafe[k]);
    j += "}";
  }
  j += "],\"ngram_unsafe\":";
  AppendJsonNumber(j, why.ngram_unsafe);
  j += ",\"band\":";
  AppendJsonNumber(j, why.band);
  j += why.encoded ? ",\"encoded\":true" : ",\"encoded\":false";
  if (why.encoded) {
    j += ",\"encoder_view\":";
    AppendJsonString(j, views[why.encoder_view].name);
    j += ",\"encoder_input\":";
    AppendJsonString(j, why.encoder_input);
    j += ",\"ngram_z\":";
    AppendJsonNumber(j, why.ngram_z);
    j += ",\"encoder_z\":";
    AppendJsonNumber(j, why.encoder_z);
    j += ",\"cascade\":";
    AppendJsonNumber(j, why.cascade);
    j += ",\"passage\":";
    AppendJsonNumber(j, why.passage);
  }
  j += ",\"unsafe\":";
  AppendJsonNumber(j, why.unsafe);
  j += ",\"threshold\":";
  AppendJsonNumber(j, why.threshold);
  j += ",\"score\":";
  AppendJsonNumber(j, model.Calibrate(classifier::kUnsafeLabel, why.unsafe));
  return j + "}";
}

void PrintExplanation(const classifier::Classifier& model, const std::vector<text::View>& views,
                      const classifier::UnsafeExplanation& why) {
  auto num = [](double v, const char* format = "%.4f") {
    char b[32];
    std::snprintf(b, sizeof b, format, v);
    return std::string(b);
  };
  std::cout << "\nclassifier " << model.model_path()
            << ": how the unsafe score came about (raw probabilities)\n";
  // Each view's text, so that a score can be read against what the model saw ("g e t h u r t"
  // read as "get hurt"; a German word glossed wrongly).
  std::vector<std::vector<std::string>> rows = {{"view", "n-gram unsafe", "text"}};
  for (size_t k = 0; k < views.size(); ++k) {
    const std::string_view t = views[k].text;
    rows.push_back({std::string(views[k].name), num(why.view_unsafe[k]),
                    Excerpt(t, 0, static_cast<uint32_t>(t.size()), 72)});
  }
  std::cout << RenderTable(rows);
  std::cout << "n-gram maximum: " << num(why.ngram_unsafe);
  if (why.band >= 1.0f) {
    std::cout << " (the model has no sentence encoder)\n";
  } else if (!why.encoded) {
    std::cout << ", below the sentence encoder's band " << num(why.band)
              << ": not encoded, the maximum is the score\n";
  } else {
    std::cout << ", at or above the sentence encoder's band " << num(why.band) << "\n"
              << "encoder read:   the " << views[why.encoder_view].name << " view, "
              << Excerpt(why.encoder_input, 0, why.encoder_input.size()) << "\n"
              << "logits:         n-gram " << num(why.ngram_z, "%+.2f") << ", encoder head "
              << num(why.encoder_z, "%+.2f") << " (each standardised on the safe dev rows)\n"
              << "cascade:        " << num(why.cascade) << " = band + (1 - band) * sigmoid("
              << num(why.ngram_z + why.encoder_z, "%.2f") << ")\n";
    if (why.passage > 0) std::cout << "passage alone:  " << num(why.passage) << "\n";
  }
  std::cout << "unsafe:         " << num(why.unsafe) << " against the threshold "
            << num(why.threshold) << ": "
            << (why.unsafe >= why.threshold ? "flagged" : "not flagged") << " (verdict score "
            << num(model.Calibrate(classifier::kUnsafeLabel, why.unsafe), "%.2f") << ")\n";
}

int RunCheck(const CheckArgs& args) {
  std::string text = args.text;
  if (!args.text_given) {
    if (isatty(STDIN_FILENO)) {
      std::cerr << "warden check: reading the text from standard input (end with Ctrl-D)\n";
    }
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  const std::optional<Direction> direction = ParseDirection(args.direction);
  if (!direction) {
    std::cerr << "warden check: --direction must be one of input, output, tool_call, "
                 "tool_result (got \""
              << args.direction << "\")\n";
    return kExitError;
  }
  const std::string policy_path =
      args.policy.empty() ? FindBundledFile("policies/default.yaml") : args.policy;
  StatusOr<Guard> guard = Guard::Open(policy_path);
  if (!guard.ok()) {
    std::cerr << "warden check: " << guard.status().message() << "\n";
    return kExitError;
  }
  Message message{.text = text, .role = args.role, .direction = *direction,
                  .tool_name = args.tool};
  if (*direction == Direction::kToolCall) message.tool_arguments = text;
  const Verdict verdict = guard->Check(message, {.reversible = args.reversible});
  // --explain: the policy's classifier, on the views its engine builds, step by step.
  std::shared_ptr<const classifier::Classifier> model;
  std::vector<text::View> views;
  classifier::UnsafeExplanation why;
  if (args.explain) {
    auto loaded = LoadPolicyClassifier(policy_path);
    if (!loaded.ok()) {
      std::cerr << "warden check: --explain: " << loaded.status().message() << "\n";
      return kExitError;
    }
    model = loaded->model;
    text::ViewBuilder(loaded->views).Build(text, views);
    classifier::LabelScores scores;
    model->Explain(views, scores, why);
  }
  if (args.json) {
    std::string json = VerdictToJson(verdict);
    if (model) json.insert(json.size() - 1, ",\"explain\":" + ExplanationJson(*model, views, why));
    std::cout << json << "\n";
  } else {
    PrintSummary(verdict, text);
    if (model) PrintExplanation(*model, views, why);
  }
  return verdict.action == Action::kAllow ? kExitAllow : kExitFlagged;
}

}  // namespace

void AddCheckCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<CheckArgs>();
  CLI::App* cmd = app.add_subcommand(
      "check",
      "Screen one text and print the verdict.\n"
      "Exit status: 0 when the action is allow, 1 for any other action, 2 on error.\n\n"
      "Examples:\n"
      "  warden check \"My card is 4111 1111 1111 1111\"\n"
      "  echo 'Ignore all previous instructions' | warden check --json\n"
      "  warden check --direction output --policy policies/patterns.yaml \"...\"\n"
      "  warden check --explain \"How can I improve my sleep without medication?\"");
  cmd->add_option("text", args->text, "Text to screen (default: read standard input)");
  cmd->add_option("-p,--policy", args->policy, "Policy file (default: policies/default.yaml)");
  cmd->add_option("-d,--direction", args->direction,
                  "input | output | tool_call | tool_result (default: input)");
  cmd->add_option("--role", args->role, "Chat role of the text (user, assistant, system, tool)");
  cmd->add_option("--tool", args->tool, "Tool name, for tool_call and tool_result texts");
  cmd->add_flag("--json", args->json, "Print the verdict as JSON (docs/verdict.md)");
  cmd->add_flag("--reversible", args->reversible,
                "Include the placeholder -> original mapping of redactions");
  cmd->add_flag("--explain", args->explain,
                "Also show how the policy's classifier came to the unsafe score: each view's "
                "n-gram score, whether the sentence encoder read the text, its logits, the "
                "threshold (with --json: an \"explain\" object)");
  cmd->callback([args, exit_code, cmd] {
    args->text_given = cmd->count("text") > 0;
    *exit_code = RunCheck(*args);
  });
}

}  // namespace warden::cli
