// The control store (kill switches, approvals, the review queue) as the CLI opens it: --store,
// or control.store of --config, or $WARDEN_CONTROL_STORE, or the file `warden serve` uses.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "control/control.h"

namespace warden::cli {

struct StoreFlags {
  std::string store;
  std::string config;
};

void AddStoreOptions(CLI::App* cmd, StoreFlags& flags);
StatusOr<std::unique_ptr<control::ControlStore>> OpenStore(const StoreFlags& flags);

}  // namespace warden::cli
