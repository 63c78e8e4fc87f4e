// The gateway server behind `warden serve`: an OpenAI-compatible proxy that screens every chat
// turn in both directions, plus a self-hosted moderation and check service.
//
//   StatusOr<std::unique_ptr<Server>> server = Server::Create(config);
//   if (!server.ok()) return Fail(server.status());
//   (*server)->Start();                 // binds and starts the worker threads
//   ... (*server)->port() ...           // the bound port (useful with port 0)
//   (*server)->Stop(); (*server)->Wait();
//
// Architecture: one io_context per worker thread (one per core by default); the acceptor hands
// each connection to the next worker round-robin and a coroutine serves it for its lifetime, so a
// connection's state is only ever touched by one thread. Upstream connections are pooled per
// worker. Compiled policies are immutable and shared; a reload swaps them atomically. Endpoints and
// configuration are documented in docs/gateway.md.
//
// Thread-safety: Create/Start/Stop/Wait from one controlling thread; ReloadPolicies and metrics()
// from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "control/control.h"
#include "control/limiter.h"
#include "gateway/config.h"
#include "oversight/budget.h"
#include "gateway/metrics.h"
#include "warden/guard.h"
#include "warden/status.h"

namespace boost::asio {
class thread_pool;  // gateway/asio.h; the header keeps Asio out of its includers
}

namespace warden::audit {
class Writer;
}
namespace warden::gateway::dashboard {
class Dashboard;
}

namespace warden::gateway {

// The compiled policies in force: the default and one per distinct key policy.
struct PolicySet {
  Guard default_guard;
  std::unordered_map<std::string, Guard> by_path;
  // One review budget per policy with a `review:` section, keyed like by_path ("" = default).
  std::unordered_map<std::string, std::shared_ptr<oversight::BudgetController>> budgets;
  const Guard& For(const std::string& path) const {
    auto it = by_path.find(path);
    return it == by_path.end() ? default_guard : it->second;
  }
  oversight::BudgetController* BudgetFor(const std::string& path) const {
    auto it = budgets.find(by_path.count(path) ? path : std::string());
    return it == budgets.end() ? nullptr : it->second.get();
  }
};

class Server {
 public:
  // Loads every policy the config names. Fails on a bad policy or TLS setup; binds nothing yet.
  static StatusOr<std::unique_ptr<Server>> Create(GatewayConfig config);
  ~Server();

  // Binds the listen address and starts the workers. REQUIRES: called once.
  Status Start();
  // The bound port. REQUIRES: Start() succeeded.
  uint16_t port() const { return port_; }
  // Stops accepting, lets in-flight requests finish (at most `grace`), then stops the workers.
  void Stop(std::chrono::milliseconds grace = std::chrono::seconds(10));
  // Blocks until the workers have exited.
  void Wait();

  // Reopens every policy; on any error the old set stays in force and the error is returned.
  Status ReloadPolicies();

  Metrics& metrics() { return metrics_; }
  // The dashboard's state (events, series, sessions); never null after Create.
  dashboard::Dashboard* dashboard() { return dashboard_.get(); }
  // True once Stop() was called: long-lived answers (the live feed) end.
  bool stopping() const { return stopping_.load(); }
  const GatewayConfig& config() const { return config_; }

  // Agent control (null when `control.store` is not configured).
  control::ControlStore* control_store() { return control_.get(); }
  // Re-reads the kill switches from the store now and ends the streams they stop. The poller
  // calls it every `control.poll_interval_ms`; the admin API right after a change.
  Status RefreshControl();

  // Prometheus lines for the audit log and agent control (appended to /metrics).
  std::string StateMetrics() const;

  struct Worker;  // defined in server.cc

 private:
  explicit Server(GatewayConfig config);
  // Loads every policy; review budgets whose settings did not change are kept from `previous`
  // (may be null), so a reload does not forget what the estimators learned.
  static StatusOr<std::shared_ptr<const PolicySet>> LoadPolicies(const GatewayConfig& config,
                                                                 const PolicySet* previous);

  friend class Session;
  void PollControl();
  void InterruptKilledStreams(const std::shared_ptr<const control::KillSet>& kills);

  GatewayConfig config_;
  Metrics metrics_;
  // Declared before the workers, so it outlives every session that publishes to it.
  std::unique_ptr<dashboard::Dashboard> dashboard_;
  std::atomic<std::shared_ptr<const PolicySet>> policies_;
  std::unordered_map<std::string, const ApiKey*> keys_by_hash_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
  // Screenings that need a slow scorer run here (Session::ScreenOffThread). Declared after the
  // workers, and joined in Wait() once they have stopped: a screening in flight reads its
  // session's state, which lives until the workers are destroyed.
  std::unique_ptr<boost::asio::thread_pool> slow_checks_;
  std::atomic<size_t> next_worker_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> in_flight_{0};
  uint16_t port_ = 0;
  struct Acceptor;
  std::unique_ptr<Acceptor> acceptor_;

  // Agent control: the store, limits over it, and a snapshot of the kill switches that the
  // request path reads without touching the store.
  std::unique_ptr<control::ControlStore> control_;
  std::unique_ptr<control::Limiter> limiter_;
  std::atomic<std::shared_ptr<const control::KillSet>> kills_;
  std::atomic<bool> control_ok_{true};
  std::mutex control_mu_;  // serializes refreshes; guards control_version_ and control_error_
  uint64_t control_version_ = ~uint64_t{0};
  std::string control_error_;
  std::thread poller_;
  std::condition_variable poller_cv_;

  // Audit records durable so far (WriterOptions::on_written), by their Append tickets. Declared
  // before the writer, which stores into it until it is closed.
  std::atomic<uint64_t> audit_durable_{0};
  // Declared after the workers: it is closed (and its callbacks posted) while they still exist.
  std::unique_ptr<audit::Writer> audit_;
};

}  // namespace warden::gateway
