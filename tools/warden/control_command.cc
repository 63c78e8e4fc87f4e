// `warden kill`, `warden revive` and `warden approvals`: agent control from the command line.
// They write to the same control store as the gateway (SQLite file or Redis); gateways pick a
// change up at their next poll (every 50 ms by default). docs/agent-control.md.
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <memory>

#include "commands.h"
#include "control/control.h"
#include "gateway/config.h"
#include "control_store.h"
#include "output.h"

namespace warden::cli {

namespace {

std::string FormatTime(int64_t us) {
  if (us <= 0) return "-";
  const std::time_t t = static_cast<std::time_t>(us / 1000000);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", std::gmtime(&t));
  return buf;
}

int Fail(std::string_view command, const Status& s) {
  std::cerr << "warden " << command << ": " << s.message() << "\n";
  return kExitError;
}

struct KillFlags {
  StoreFlags store;
  bool all = false;
  std::string key, tenant, tool, note;
  bool list = false;
};

// The one scope the flags name, or an error that says which flags to use.
StatusOr<control::KillEntry> ScopeFrom(const KillFlags& f) {
  int given = f.all + !f.key.empty() + !f.tenant.empty() + !f.tool.empty();
  if (given != 1) {
    return InvalidArgumentError("give exactly one of --all, --key NAME, --tenant NAME, --tool NAME");
  }
  control::KillEntry e{.time_us = control::NowMicros(), .note = f.note};
  if (!f.key.empty()) e = {control::KillScope::kKey, f.key, e.time_us, f.note};
  if (!f.tenant.empty()) e = {control::KillScope::kTenant, f.tenant, e.time_us, f.note};
  if (!f.tool.empty()) e = {control::KillScope::kTool, f.tool, e.time_us, f.note};
  return e;
}

int RunKill(const KillFlags& f, bool revive) {
  const std::string_view name = revive ? "revive" : "kill";
  auto store = OpenStore(f.store);
  if (!store.ok()) return Fail(name, store.status());
  if (f.list) {
    auto kills = (*store)->Kills();
    if (!kills.ok()) return Fail(name, kills.status());
    std::vector<std::vector<std::string>> rows = {{"scope", "value", "since (UTC)", "note"}};
    for (const control::KillEntry& k : *kills) {
      rows.push_back({std::string(control::KillScopeName(k.scope)), k.value.empty() ? "*" : k.value,
                      FormatTime(k.time_us), k.note});
    }
    if (kills->empty()) {
      std::cout << "No kill switch is engaged.\n";
    } else {
      std::cout << RenderTable(rows);
    }
    return kExitAllow;
  }
  auto entry = ScopeFrom(f);
  if (!entry.ok()) return Fail(name, entry.status());
  const std::string what = std::string(control::KillScopeName(entry->scope)) +
                           (entry->value.empty() ? "" : " " + entry->value);
  if (revive) {
    auto n = (*store)->Revive(entry->scope, entry->value);
    if (!n.ok()) return Fail(name, n.status());
    std::cout << "Revived " << what << " (" << *n << " kill switch" << (*n == 1 ? "" : "es")
              << " removed) in " << (*store)->Describe() << ".\n";
    return kExitAllow;
  }
  if (Status s = (*store)->Kill(*entry); !s.ok()) return Fail(name, s);
  std::cout << "Killed " << what << " in " << (*store)->Describe()
            << ". Gateways stop its traffic at their next poll (50 ms by default), streams "
               "included.\nUndo with: warden revive "
            << (entry->scope == control::KillScope::kAll
                    ? std::string("--all")
                    : "--" + std::string(control::KillScopeName(entry->scope)) + " " +
                          entry->value)
            << "\n";
  return kExitAllow;
}

struct ApprovalFlags {
  StoreFlags store;
  std::string state = "pending";
  std::string id;
  std::string note;
  bool json = false;
};

int RunApprovalsList(const ApprovalFlags& f) {
  auto store = OpenStore(f.store);
  if (!store.ok()) return Fail("approvals list", store.status());
  std::optional<control::ApprovalState> state;
  if (f.state != "all") {
    state = control::ParseApprovalState(f.state);
    if (!state) {
      return Fail("approvals list",
                  InvalidArgumentError("--state: expected pending, approved, denied, expired or "
                                       "all"));
    }
  }
  auto list = (*store)->ListApprovals(state, 1000);
  if (!list.ok()) return Fail("approvals list", list.status());
  if (f.json) {
    std::cout << "[";
    for (size_t i = 0; i < list->size(); ++i) {
      std::cout << (i ? "," : "") << control::ApprovalToJson((*list)[i], false);
    }
    std::cout << "]\n";
    return kExitAllow;
  }
  if (list->empty()) {
    std::cout << "No " << (state ? f.state + " " : "") << "approvals.\n";
    return kExitAllow;
  }
  std::vector<std::vector<std::string>> rows = {
      {"id", "state", "created (UTC)", "key", "tool", "arguments", "rule"}};
  for (const control::Approval& a : *list) {
    std::string args = a.arguments.size() > 60 ? a.arguments.substr(0, 57) + "..." : a.arguments;
    rows.push_back({a.id, std::string(control::ApprovalStateName(a.state)), FormatTime(a.created_us),
                    a.key, a.tool, args, a.rule});
  }
  std::cout << RenderTable(rows);
  return kExitAllow;
}

int RunDecide(const ApprovalFlags& f, bool approve) {
  const std::string_view name = approve ? "approvals approve" : "approvals deny";
  auto store = OpenStore(f.store);
  if (!store.ok()) return Fail(name, store.status());
  auto a = (*store)->Decide(
      f.id, approve ? control::ApprovalState::kApproved : control::ApprovalState::kDenied, f.note);
  if (!a.ok()) return Fail(name, a.status());
  std::cout << (approve ? "Approved " : "Denied ") << a->id << " (" << a->tool << " for key "
            << a->key << "). The waiting gateway answers the agent within 100 ms.\n";
  return kExitAllow;
}

}  // namespace

void AddControlCommands(CLI::App& app, int* exit_code) {
  for (bool revive : {false, true}) {
    auto flags = std::make_shared<KillFlags>();
    auto* cmd = app.add_subcommand(
        revive ? "revive" : "kill",
        revive ? "Undo a kill switch.\n\nExamples:\n  warden revive --tenant acme\n"
                 "  warden revive --all          # every kill switch"
               : "Stop an agent now: new requests get a refusal and live streams end with\n"
                 "finish_reason content_filter (docs/agent-control.md).\n\nExamples:\n"
                 "  warden kill --key ci-bot --note \"loops on deploy\"\n"
                 "  warden kill --tool run_command\n"
                 "  warden kill --all\n"
                 "  warden kill --list            # what is engaged");
    AddStoreOptions(cmd, flags->store);
    cmd->add_flag("--all", flags->all, revive ? "every kill switch" : "all traffic");
    cmd->add_option("--key", flags->key, "an API key, by its name in the gateway config");
    cmd->add_option("--tenant", flags->tenant, "a tenant");
    cmd->add_option("--tool", flags->tool, "a tool: its calls are taken out of every response");
    if (!revive) {
      cmd->add_option("--note", flags->note, "why, for the record and the refusal text");
      cmd->add_flag("--list", flags->list, "show the engaged kill switches");
    }
    cmd->callback([flags, exit_code, revive] { *exit_code = RunKill(*flags, revive); });
  }

  auto* approvals = app.add_subcommand(
      "approvals",
      "Tool calls held for a human decision (policy action require_approval).\n\n"
      "Examples:\n"
      "  warden approvals list\n"
      "  warden approvals approve apr_1f2e3d4c5b6a7988 --note \"invoice 42\"\n"
      "  warden approvals deny apr_1f2e3d4c5b6a7988 --note \"not ours\"");
  approvals->require_subcommand(1);
  {
    auto flags = std::make_shared<ApprovalFlags>();
    auto* list = approvals->add_subcommand("list", "List approvals (pending by default)");
    AddStoreOptions(list, flags->store);
    list->add_option("--state", flags->state, "pending, approved, denied, expired or all");
    list->add_flag("--json", flags->json, "print JSON instead of a table");
    list->callback([flags, exit_code] { *exit_code = RunApprovalsList(*flags); });
  }
  for (bool approve : {true, false}) {
    auto flags = std::make_shared<ApprovalFlags>();
    auto* cmd = approvals->add_subcommand(approve ? "approve" : "deny",
                                          approve ? "Release a held tool call"
                                                  : "Refuse a held tool call");
    AddStoreOptions(cmd, flags->store);
    cmd->add_option("id", flags->id, "approval id (apr_...)")->required();
    cmd->add_option("--note", flags->note, "why, for the record");
    cmd->callback([flags, exit_code, approve] { *exit_code = RunDecide(*flags, approve); });
  }
}

}  // namespace warden::cli
