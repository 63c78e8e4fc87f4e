// `warden serve`: the gateway. An OpenAI-compatible proxy that screens every chat turn in both
// directions, and a self-hosted moderation and check service (docs/gateway.md).
#include <openssl/rand.h>
#include <pthread.h>
#include <signal.h>

#include <cstdint>
#include <iostream>
#include <optional>

#include "commands.h"
#include "core/hex.h"
#include "gateway/config.h"
#include "gateway/server.h"

namespace warden::cli {

namespace {

struct ServeFlags {
  std::string config;
  std::string listen;
  std::string upstream;
  std::string policy;
  std::optional<uint32_t> threads;
  std::optional<uint32_t> busy_poll_us;
  std::optional<uint32_t> slow_check_threads;
  std::string admin_token;
  std::string audit;
  std::string control;
};

int RunServe(const ServeFlags& flags) {
  gateway::GatewayConfig config;
  if (!flags.config.empty()) {
    auto loaded = gateway::LoadGatewayConfig(flags.config);
    if (!loaded.ok()) {
      std::cerr << "warden serve: " << loaded.status().message() << "\n";
      return kExitError;
    }
    config = std::move(loaded).value();
  }
  // Flags win over the file so that one config can serve several local setups.
  if (!flags.listen.empty()) config.listen = flags.listen;
  if (!flags.policy.empty()) config.policy = flags.policy;
  if (flags.threads) config.threads = *flags.threads;
  if (flags.busy_poll_us) config.busy_poll_us = *flags.busy_poll_us;
  if (flags.slow_check_threads) config.slow_check_threads = *flags.slow_check_threads;
  if (!flags.admin_token.empty()) config.admin_token_sha256 = gateway::Sha256Hex(flags.admin_token);
  // Without a configured admin token, this run gets a random one, printed once below, so that the
  // dashboard (/ui) works out of the box and nobody else can use it.
  std::string generated_token;
  if (config.admin_token_sha256.empty()) {
    unsigned char bytes[16];
    if (RAND_bytes(bytes, sizeof bytes) == 1) {
      generated_token = HexOf(bytes, sizeof bytes);
      config.admin_token_sha256 = gateway::Sha256Hex(generated_token);
    }
  }
  if (!flags.upstream.empty()) {
    auto parsed = gateway::ParseUpstreamUrl(flags.upstream);
    if (!parsed.ok()) {
      std::cerr << "warden serve: --upstream: " << parsed.status().message() << "\n";
      return kExitError;
    }
    config.upstream.url = flags.upstream;
    config.upstream.parsed = *parsed;
  }
  // The audit log and agent control are on by default, in files beside the gateway; "off"
  // turns either off.
  if (!flags.audit.empty()) config.audit.store = flags.audit;
  if (!flags.control.empty()) config.control.store = flags.control;
  if (config.audit.store.empty()) config.audit.store = "sqlite:warden-audit.db";
  if (config.control.store.empty()) config.control.store = "sqlite:warden-control.db";
  if (config.audit.store == "off") config.audit.store.clear();
  if (config.control.store == "off") config.control.store.clear();
  if (auto listen = gateway::ParseListen(config.listen); !listen.ok()) {
    std::cerr << "warden serve: --listen: " << listen.status().message() << "\n";
    return kExitError;
  }
  // Block the shutdown signals before anything starts (compiling the policy takes a moment) so
  // that the workers inherit the mask and only this thread receives them, in sigwait below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  auto server = gateway::Server::Create(config);
  if (!server.ok()) {
    std::cerr << "warden serve: " << server.status().message() << "\n";
    return kExitError;
  }
  if (Status s = (*server)->Start(); !s.ok()) {
    std::cerr << "warden serve: " << s.message() << "\n";
    return kExitError;
  }
  const std::string host = config.listen.substr(0, config.listen.rfind(':'));
  std::cerr << "warden serve: listening on " << host << ":" << (*server)->port() << " (policy "
            << config.policy << ", upstream "
            << (config.upstream.url.empty() ? "none" : config.upstream.url) << ", "
            << (config.threads ? config.threads : std::thread::hardware_concurrency())
            << " threads; audit " << (config.audit.store.empty() ? "off" : config.audit.store)
            << ", control " << (config.control.store.empty() ? "off" : config.control.store)
            << ")\n";
  if (!config.admin_token_sha256.empty()) {
    std::cerr << "warden serve: dashboard at http://" << host << ":" << (*server)->port() << "/ui";
    if (!generated_token.empty()) {
      std::cerr << " (admin token for this run: " << generated_token
                << "; set one with --admin-token)";
    }
    std::cerr << "\n";
  }
  std::cerr << std::flush;
  int sig = 0;
  sigwait(&signals, &sig);
  std::cerr << "warden serve: " << (sig == SIGINT ? "SIGINT" : "SIGTERM")
            << ", finishing in-flight requests\n";
  (*server)->Stop();
  (*server)->Wait();
  return kExitAllow;
}

}  // namespace

void AddServeCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<ServeFlags>();
  auto* cmd = app.add_subcommand(
      "serve",
      "Run the gateway: an OpenAI-compatible proxy that screens every turn, plus\n"
      "/v1/moderations and /v1/check (see docs/gateway.md).\n\n"
      "Examples:\n"
      "  warden serve                                   # moderation + check on 127.0.0.1:8080\n"
      "  warden serve --upstream https://api.openai.com/v1\n"
      "  warden serve --config examples/gateway.yaml");
  cmd->add_option("--listen", flags->listen, "HOST:PORT to listen on (default 127.0.0.1:8080)");
  cmd->add_option("--upstream", flags->upstream,
                  "base URL of the OpenAI-compatible API, e.g. https://api.openai.com/v1");
  cmd->add_option("--policy", flags->policy, "policy file (default policies/default.yaml)");
  cmd->add_option("--config", flags->config, "gateway config file (YAML, docs/gateway.md)");
  cmd->add_option("--threads", flags->threads, "worker threads (default: one per core)");
  cmd->add_option("--busy-poll-us", flags->busy_poll_us,
                  "how long a worker keeps polling after an event before it sleeps; saves a "
                  "wake-up on back-to-back traffic for at most that much CPU (default 50; 0 "
                  "always sleeps)")
      ->check(CLI::Range(uint32_t{0}, gateway::GatewayConfig::kMaxBusyPollUs));
  cmd->add_option("--slow-check-threads", flags->slow_check_threads,
                  "threads for screenings that need the sentence encoder or a judge, so that "
                  "they do not hold up the workers (default: twice the workers, at least 4)")
      ->check(CLI::Range(uint32_t{1}, uint32_t{1024}));
  cmd->add_option("--admin-token", flags->admin_token,
                  "token for the admin endpoints (POST /admin/reload)");
  cmd->add_option("--audit", flags->audit,
                  "audit log store: sqlite:PATH or postgresql://... (default "
                  "sqlite:warden-audit.db; off disables)");
  cmd->add_option("--control", flags->control,
                  "kill switch, approvals and limits store: sqlite:PATH or redis://HOST:PORT "
                  "(default sqlite:warden-control.db; off disables)");
  cmd->callback([flags, exit_code] { *exit_code = RunServe(*flags); });
}

}  // namespace warden::cli
