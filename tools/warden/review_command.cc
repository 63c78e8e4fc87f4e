// `warden review`: the human review budget (docs/oversight.md).
//
//   warden review export --from reviews.jsonl --out review-train.jsonl
//   warden review simulate --budget 0.01 --events 100000
#include <algorithm>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "core/json_writer.h"
#include "output.h"
#include "oversight/budget.h"
#include "oversight/drift_stream.h"
#include "oversight/review_export.h"

namespace warden::cli {
namespace {

struct ExportFlags {
  std::string from;
  std::string out;
};

int RunExport(const ExportFlags& f) {
  oversight::ReviewExportStats stats;
  if (Status s = oversight::ExportReviews(f.from, f.out, &stats); !s.ok()) {
    std::cerr << "warden review export: " << s.message() << "\n";
    return kExitError;
  }
  std::cerr << "read " << stats.read << " reviewed items; wrote " << stats.written << " ("
            << stats.unsafe << " unsafe, " << stats.safe << " safe) to " << f.out << "; left out "
            << stats.unsure << " unsure, " << stats.duplicates << " repeats, " << stats.conflicts
            << " with conflicting labels\n";
  return kExitAllow;
}

struct SimulateFlags {
  double budget = 0.01;
  uint64_t events = 100000;
  uint64_t window = 5000;         // the measurement window
  uint64_t estimator_window = 0;  // 0: 50 / budget
  double horizon = 0;             // 0: 1 / budget
  uint64_t seed = 7;
  bool json = false;
};

// Replays the deterministic drifting stream of oversight/drift_stream.h through the controller
// and reports the escalation count of every window of `window` consecutive events.
int RunSimulate(const SimulateFlags& f) {
  if (f.budget <= 0 || f.budget > 0.5 || f.window == 0 || f.window > f.events) {
    std::cerr << "warden review simulate: need 0 < --budget <= 0.5 and 0 < --window <= "
                 "--events\n";
    return kExitError;
  }
  oversight::BudgetController budget(
      {.budget = f.budget, .window = f.estimator_window, .horizon = f.horizon});
  oversight::DriftStream stream(f.seed);
  std::vector<uint32_t> prefix(f.events + 1, 0);
  for (uint64_t i = 0; i < f.events; ++i) {
    prefix[i + 1] = prefix[i] + (budget.Observe("sim", stream.Next()).escalate ? 1 : 0);
  }
  uint32_t lo = UINT32_MAX, hi = 0;
  uint64_t outside = 0, windows = 0;
  const double target = f.budget * static_cast<double>(f.window);
  for (uint64_t start = 0; start + f.window <= f.events; ++start, ++windows) {
    const uint32_t c = prefix[start + f.window] - prefix[start];
    lo = std::min(lo, c);
    hi = std::max(hi, c);
    if (c < 0.8 * target || c > 1.2 * target) ++outside;
  }
  const double overall = prefix[f.events] / static_cast<double>(f.events);
  if (f.json) {
    std::string out = "{\"events\":";
    AppendJsonUint(out, f.events);
    out += ",\"budget\":";
    AppendJsonNumber(out, f.budget);
    out += ",\"escalated\":";
    AppendJsonUint(out, prefix[f.events]);
    out += ",\"rate\":";
    AppendJsonNumber(out, overall);
    out += ",\"window\":";
    AppendJsonUint(out, f.window);
    out += ",\"windows\":";
    AppendJsonUint(out, windows);
    out += ",\"window_min\":";
    AppendJsonUint(out, lo);
    out += ",\"window_max\":";
    AppendJsonUint(out, hi);
    out += ",\"windows_outside_20pct\":";
    AppendJsonUint(out, outside);
    out += "}\n";
    std::cout << out;
  } else {
    std::cout << RenderTable(
        {{"events", "escalated", "rate", "window", "min", "max", "target", "windows outside +-20%"},
         {std::to_string(f.events), std::to_string(prefix[f.events]), std::to_string(overall),
          std::to_string(f.window), std::to_string(lo), std::to_string(hi), std::to_string(target),
          std::to_string(outside) + " of " + std::to_string(windows)}});
  }
  return outside == 0 ? kExitAllow : kExitFlagged;
}

}  // namespace

void AddReviewCommand(CLI::App& app, int* exit_code) {
  CLI::App* review =
      app.add_subcommand("review", "Human review: export reviewers' labels, simulate the budget");
  review->require_subcommand(1);

  auto ef = std::make_shared<ExportFlags>();
  CLI::App* exp = review->add_subcommand(
      "export",
      "Convert reviewer-labelled items (JSONL of {text, label or labels, reviewer, note}, see\n"
      "docs/oversight.md) into the training schema, so `warden train --data` learns from them.\n\n"
      "Example:\n"
      "  warden review export --from reviews.jsonl --out review-train.jsonl");
  exp->add_option("--from", ef->from, "Reviewed items (JSONL)")->required();
  exp->add_option("--out", ef->out, "Training records to write (JSONL, replaced)")->required();
  exp->callback([ef, exit_code] { *exit_code = RunExport(*ef); });

  auto sf = std::make_shared<SimulateFlags>();
  CLI::App* sim = review->add_subcommand(
      "simulate",
      "Replay a deterministic stream of drifting suspicion scores through the budget controller\n"
      "and report the escalation count of every window of consecutive events. Exit status 1\n"
      "when a window strays more than 20% from the budget.");
  sim->add_option("--budget", sf->budget, "Fraction of events to review")->capture_default_str();
  sim->add_option("--events", sf->events, "Events to replay")->capture_default_str();
  sim->add_option("--window", sf->window, "Measurement window (events)")->capture_default_str();
  sim->add_option("--estimator-window", sf->estimator_window,
                  "Events the quantile estimate remembers (0: 50 / budget)")
      ->capture_default_str();
  sim->add_option("--horizon", sf->horizon, "Events over which a debt is paid back (0: 1 / budget)")
      ->capture_default_str();
  sim->add_option("--seed", sf->seed, "Stream seed")->capture_default_str();
  sim->add_flag("--json", sf->json, "One JSON object on stdout");
  sim->callback([sf, exit_code] { *exit_code = RunSimulate(*sf); });
}

}  // namespace warden::cli
