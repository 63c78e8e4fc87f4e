// `warden review`: the human review budget (docs/oversight.md).
//
//   warden review export --from reviews.jsonl --out review-train.jsonl
//   warden review simulate --budget 0.01 --events 100000
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "control_store.h"
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
  StoreFlags store;
};

int RunExport(const ExportFlags& f) {
  oversight::ReviewExportStats stats;
  Status s;
  if (f.from.empty()) {
    // The gateway's review queue: every labelled item, as reviewers' JSONL, then the same
    // conversion as for a file.
    auto store = OpenStore(f.store);
    if (!store.ok()) {
      std::cerr << "warden review export: " << store.status().message() << "\n";
      return kExitError;
    }
    auto items = (*store)->ListReviews(false, 1000000);
    if (!items.ok()) {
      std::cerr << "warden review export: " << items.status().message() << "\n";
      return kExitError;
    }
    std::string jsonl;
    for (const control::ReviewItem& item : *items) {
      jsonl += control::ReviewItemToExportJson(item);
      jsonl.push_back('\n');
    }
    std::string out;
    s = oversight::ExportReviewsText(jsonl, (*store)->Describe(), &out, &stats);
    if (s.ok()) {
      std::ofstream file(f.out, std::ios::binary | std::ios::trunc);
      file << out;
      if (!file) s = InternalError(f.out + ": cannot write");
    }
  } else {
    s = oversight::ExportReviews(f.from, f.out, &stats);
  }
  if (!s.ok()) {
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

struct QueueFlags {
  StoreFlags store;
  std::string state = "pending";
  bool json = false;
  std::string id;
  std::string label;
  std::string reviewer;
  std::string note;
};

int RunList(const QueueFlags& f) {
  auto store = OpenStore(f.store);
  if (!store.ok()) {
    std::cerr << "warden review list: " << store.status().message() << "\n";
    return kExitError;
  }
  std::optional<bool> pending;
  if (f.state == "pending") {
    pending = true;
  } else if (f.state == "labelled") {
    pending = false;
  } else if (f.state != "all") {
    std::cerr << "warden review list: --state: expected pending, labelled or all\n";
    return kExitError;
  }
  auto items = (*store)->ListReviews(pending, 1000);
  if (!items.ok()) {
    std::cerr << "warden review list: " << items.status().message() << "\n";
    return kExitError;
  }
  if (f.json) {
    std::cout << "[";
    for (size_t i = 0; i < items->size(); ++i) {
      std::cout << (i ? "," : "") << control::ReviewItemToJson((*items)[i]);
    }
    std::cout << "]\n";
    return kExitAllow;
  }
  if (items->empty()) {
    std::cout << "No " << (f.state == "all" ? "" : f.state + " ") << "review items.\n";
    return kExitAllow;
  }
  std::vector<std::vector<std::string>> rows = {
      {"id", "why", "key", "direction", "suspicion", "label", "text"}};
  for (const control::ReviewItem& r : *items) {
    std::string text = r.text.size() > 60 ? r.text.substr(0, 57) + "..." : r.text;
    std::replace(text.begin(), text.end(), '\n', ' ');
    char suspicion[16];
    std::snprintf(suspicion, sizeof suspicion, "%.2f", r.suspicion);
    rows.push_back({r.id, r.reason == "rule" ? "rule " + r.rule : "budget", r.key, r.direction,
                    suspicion, r.label.empty() ? "-" : r.label, text});
  }
  std::cout << RenderTable(rows);
  return kExitAllow;
}

int RunLabel(const QueueFlags& f) {
  if (!control::IsReviewLabel(f.label)) {
    std::cerr << "warden review label: --label: expected safe, unsafe, unsure or a taxonomy "
                 "label (hate, self_harm, jailbreak, ...)\n";
    return kExitError;
  }
  auto store = OpenStore(f.store);
  if (!store.ok()) {
    std::cerr << "warden review label: " << store.status().message() << "\n";
    return kExitError;
  }
  const char* user = std::getenv("USER");
  const std::string reviewer = !f.reviewer.empty() ? f.reviewer : user && *user ? user : "cli";
  auto item = (*store)->LabelReview(f.id, f.label, reviewer, f.note);
  if (!item.ok()) {
    std::cerr << "warden review label: " << item.status().message() << "\n";
    return kExitError;
  }
  std::cout << "Labelled " << item->id << " " << item->label << " (by " << item->reviewer
            << "). `warden review export --out FILE` turns labels into training data.\n";
  return kExitAllow;
}

}  // namespace

void AddReviewCommand(CLI::App& app, int* exit_code) {
  CLI::App* review =
      app.add_subcommand("review",
                         "Human review: the gateway's review queue, reviewers' labels as training\n"
                         "data, and the review budget's simulation (docs/oversight.md).\n\n"
                         "Examples:\n"
                         "  warden review list\n"
                         "  warden review label rev_1f2e3d4c5b6a7988 --label hate --note \"slur\"\n"
                         "  warden review export --out review-train.jsonl");
  review->require_subcommand(1);

  auto ef = std::make_shared<ExportFlags>();
  CLI::App* exp = review->add_subcommand(
      "export",
      "Convert reviewers' labels into the training schema, so `warden train --data` learns from\n"
      "them: the labelled items of the gateway's review queue (the default), or a JSONL file of\n"
      "{text, label or labels, reviewer, note} (docs/oversight.md).\n\n"
      "Examples:\n"
      "  warden review export --out review-train.jsonl\n"
      "  warden review export --from reviews.jsonl --out review-train.jsonl");
  exp->add_option("--from", ef->from, "Reviewed items (JSONL) instead of the review queue");
  AddStoreOptions(exp, ef->store);
  exp->add_option("--out", ef->out, "Training records to write (JSONL, replaced)")->required();
  exp->callback([ef, exit_code] { *exit_code = RunExport(*ef); });

  auto lf = std::make_shared<QueueFlags>();
  CLI::App* list = review->add_subcommand("list", "Items waiting in the gateway's review queue");
  AddStoreOptions(list, lf->store);
  list->add_option("--state", lf->state, "pending, labelled or all")->capture_default_str();
  list->add_flag("--json", lf->json, "print JSON instead of a table");
  list->callback([lf, exit_code] { *exit_code = RunList(*lf); });

  auto bf = std::make_shared<QueueFlags>();
  CLI::App* label = review->add_subcommand(
      "label", "Label a review item: safe, unsafe, unsure, or a taxonomy label");
  AddStoreOptions(label, bf->store);
  label->add_option("id", bf->id, "review item id (rev_...)")->required();
  label->add_option("--label", bf->label, "safe, unsafe, unsure, hate, self_harm, ...")->required();
  label->add_option("--note", bf->note, "why, for the record");
  label->add_option("--reviewer", bf->reviewer, "who decided (default: $USER)");
  label->callback([bf, exit_code] { *exit_code = RunLabel(*bf); });

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
