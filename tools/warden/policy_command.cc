// warden policy validate: load, validate and compile policies without screening anything.
#include <iostream>

#include "commands.h"
#include "warden/guard.h"

namespace warden::cli {

void AddPolicyCommand(CLI::App& app, int* exit_code) {
  CLI::App* policy = app.add_subcommand("policy", "Work with policy files (docs/policy.md)");
  policy->require_subcommand(1);
  auto files = std::make_shared<std::vector<std::string>>();
  CLI::App* validate = policy->add_subcommand(
      "validate",
      "Check that policy files parse, validate and compile (scanners and pattern packs\n"
      "included). Errors name file:line:column. Exit status 0 when all are valid, 2 otherwise.\n\n"
      "Example:\n"
      "  warden policy validate policies/default.yaml policies/patterns.yaml");
  validate->add_option("files", *files, "Policy files")->required();
  validate->callback([files, exit_code] {
    int rc = kExitAllow;
    for (const std::string& file : *files) {
      StatusOr<Guard> guard = Guard::Open(file);
      if (!guard.ok()) {
        std::cerr << guard.status().message() << "\n";
        rc = kExitError;
        continue;
      }
      const PolicyInfo& info = guard->info();
      std::cout << file << ": ok (policy \"" << info.name << "\", " << info.rule_count
                << " rules, " << info.pattern_count << " patterns, scanners:";
      for (const std::string& s : info.scanners) std::cout << " " << s;
      std::cout << ")\n";
    }
    *exit_code = rc;
  });
}

}  // namespace warden::cli
