#include "control_store.h"

#include <cstdlib>

#include "gateway/config.h"

namespace warden::cli {

void AddStoreOptions(CLI::App* cmd, StoreFlags& flags) {
  cmd->add_option("--store", flags.store,
                  "control store: sqlite:PATH or redis://HOST:PORT (default: $WARDEN_CONTROL_STORE, "
                  "else sqlite:warden-control.db, as `warden serve` uses)");
  cmd->add_option("--config", flags.config, "read control.store from this gateway config");
}

StatusOr<std::unique_ptr<control::ControlStore>> OpenStore(const StoreFlags& flags) {
  std::string url = flags.store;
  if (url.empty() && !flags.config.empty()) {
    auto config = gateway::LoadGatewayConfig(flags.config);
    if (!config.ok()) return config.status();
    url = config->control.store;
  }
  if (url.empty()) {
    const char* env = std::getenv("WARDEN_CONTROL_STORE");
    url = env && *env ? env : "sqlite:warden-control.db";
  }
  return control::OpenControlStore(url);
}

}  // namespace warden::cli
