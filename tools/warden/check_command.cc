// warden check: screen one text and print its verdict.
#include <unistd.h>

#include <iostream>
#include <iterator>
#include <string>

#include "commands.h"
#include "core/json_writer.h"
#include "output.h"
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
};

// A short, printable excerpt of the original text at a finding, for people reading a terminal.
std::string Excerpt(std::string_view text, uint32_t start, uint32_t end) {
  constexpr uint32_t kMax = 40;
  std::string_view s = text.substr(start, end - start);
  std::string out;
  AppendJsonString(out, s.size() > kMax ? s.substr(0, kMax) : s);
  if (s.size() > kMax) out.insert(out.size() - 1, "…");
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
  if (args.json) {
    std::cout << VerdictToJson(verdict) << "\n";
  } else {
    PrintSummary(verdict, text);
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
      "  warden check --direction output --policy policies/patterns.yaml \"...\"");
  cmd->add_option("text", args->text, "Text to screen (default: read standard input)");
  cmd->add_option("-p,--policy", args->policy, "Policy file (default: policies/default.yaml)");
  cmd->add_option("-d,--direction", args->direction,
                  "input | output | tool_call | tool_result (default: input)");
  cmd->add_option("--role", args->role, "Chat role of the text (user, assistant, system, tool)");
  cmd->add_option("--tool", args->tool, "Tool name, for tool_call and tool_result texts");
  cmd->add_flag("--json", args->json, "Print the verdict as JSON (docs/verdict.md)");
  cmd->add_flag("--reversible", args->reversible,
                "Include the placeholder -> original mapping of redactions");
  cmd->callback([args, exit_code, cmd] {
    args->text_given = cmd->count("text") > 0;
    *exit_code = RunCheck(*args);
  });
}

}  // namespace warden::cli
