// Gateway configuration: what `warden serve --config gateway.yaml` reads. The file format is
// documented in docs/gateway.md; flags override the common settings.
//
//   StatusOr<GatewayConfig> c = LoadGatewayConfig("examples/gateway.yaml");
//   if (!c.ok()) std::cerr << c.status().message();  // "gateway.yaml:7:3: upstream.urll: ..."
//   Server server(*c);
//
// Validation rejects unknown keys (with a did-you-mean), wrong types and out-of-range values;
// every error names file:line:column. Thread-safety: GatewayConfig is a plain value.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "control/limiter.h"
#include "warden/status.h"

namespace warden::gateway {

// A parsed upstream base URL: "https://api.openai.com/v1" -> {https, api.openai.com, 443, /v1}.
struct UpstreamUrl {
  bool tls = false;
  std::string host;
  uint16_t port = 0;
  std::string base_path;  // without a trailing '/'; empty for the root
};

// Parses "http://host[:port][/path]" or "https://...". IPv6 hosts go in brackets.
StatusOr<UpstreamUrl> ParseUpstreamUrl(std::string_view url);

struct UpstreamConfig {
  std::string url;                 // empty: no upstream; chat completions answer 503
  UpstreamUrl parsed;
  std::string api_key;             // replaces the client's Authorization when set
  uint32_t connect_timeout_ms = 5000;
  uint32_t read_timeout_ms = 120000;  // per read; a stalled upstream gets 504
  bool verify_tls = true;             // Default: true. Off only for tests against self-signed
  std::string ca_file;                // extra CA bundle; default: the system store
  uint32_t max_idle_connections = 64; // per worker thread
  std::string model;                  // defer_upstream only: replaces the request's `model`
};

struct LimitsConfig {
  uint32_t max_body_bytes = 4u << 20;     // larger request bodies get 413
  uint32_t max_header_bytes = 16u << 10;  // larger header blocks get 431
  uint32_t read_timeout_ms = 30000;       // a client must send a whole request within this
  uint32_t idle_timeout_ms = 75000;       // keep-alive connections idle longer are closed
  uint32_t max_upstream_response_bytes = 32u << 20;
};

struct StreamingConfig {
  // Text held back before it is released to the client: up to the end of the current sentence,
  // never more than this many bytes. 0 releases every delta as soon as it is screened.
  uint32_t hold_back_chars = 256;
  bool sentence_boundary = true;
};

// One client API key. Only the SHA-256 of the key is stored.
struct ApiKey {
  std::string sha256_hex;  // 64 lowercase hex digits
  std::string name;        // for limits, kill switches and the audit log; default "key-<8 hex>"
  std::string tenant;
  std::optional<control::RateLimits> rate_limits;  // overrides rate_limits.key
  std::string policy;      // policy file for this key; empty: the gateway's default policy
  std::string location;    // "file:line:col: keys[0]"
};

// Rate limits per key and per tenant (docs/agent-control.md). Zero fields are unlimited.
struct RateLimitConfig {
  control::RateLimits key;                             // every key, unless the key sets its own
  control::RateLimits tenant;                          // every tenant, unless listed below
  std::map<std::string, control::RateLimits> tenants;  // per tenant name
  const control::RateLimits& ForTenant(const std::string& t) const {
    auto it = tenants.find(t);
    return it == tenants.end() ? tenant : it->second;
  }
};

// Kill switches, approvals and counters.
struct ControlConfig {
  // "sqlite:PATH" (one gateway) or "redis://HOST:PORT" (several). Empty: agent control is off
  // (no kill switch, approvals or limits).
  std::string store;
  // When the store cannot be reached: refuse requests (true) or let them through unchecked.
  bool fail_closed = true;
  uint32_t poll_interval_ms = 50;         // how often kill switches are re-read from the store
  uint32_t approval_timeout_ms = 120000;  // how long a held tool call waits for a human
  bool approve_on_timeout = false;        // Default: a call nobody approved in time is blocked
};

// The audit log (docs/audit.md).
struct AuditConfig {
  std::string store;        // "sqlite:PATH" or "postgresql://…"; empty: no audit log
  std::string signing_key;  // Ed25519 private key (PEM) that signs checkpoints; empty: unsigned
  uint32_t checkpoint_every = 1000;
  uint32_t checkpoint_interval_ms = 10000;
  uint32_t queue_capacity = 65536;
  bool fail_closed_when_full = false;  // Default: requests wait for room in the queue
  // Group commit under load: how long the writer may wait to share one transaction among more
  // records (only while records arrive faster than transactions; a lone record never waits),
  // and how many queued records end the wait at once.
  uint32_t group_commit_us = 500;
  uint32_t group_commit_records = 32;
};

struct GatewayConfig {
  std::string listen = "127.0.0.1:8080";
  uint32_t threads = 0;  // 0: one per core
  // After it handles an event, a worker keeps polling for this long before it sleeps. Waking a
  // sleeping thread costs tens of microseconds on virtual machines, more than a proxied request's
  // own work; a reply or a request that arrives within the window skips that wake-up. The price
  // is at most this much spinning per idle gap (docs/gateway-performance.md). 0: always sleep.
  uint32_t busy_poll_us = 50;
  static constexpr uint32_t kMaxBusyPollUs = 100000;
  // Threads for screenings that need a slow scorer (the classifier's sentence encoder, a
  // judge), so that they do not hold up the other connections of the worker that received the
  // request. 0: twice the workers, at least 4 (a judge's calls mostly wait on the network).
  uint32_t slow_check_threads = 0;
  std::string policy = "policies/default.yaml";
  UpstreamConfig upstream;
  // The trusted model that answers requests whose verdict is `defer` (docs/oversight.md). Empty
  // url: `defer` refuses like `block`.
  UpstreamConfig defer_upstream;
  LimitsConfig limits;
  StreamingConfig streaming;
  std::string refusal = "I can't help with that request.";
  // Placeholders the request's redaction handed out ("[EMAIL_1]") are put back in non-streamed
  // responses: in tool-call arguments before they are judged, and in the text the user reads.
  bool restore_placeholders = true;
  float moderation_threshold = 0.5f;  // category score at or above which it is flagged
  std::string admin_token_sha256;     // empty: admin endpoints are disabled
  std::vector<ApiKey> keys;           // empty: no client authentication
  RateLimitConfig rate_limits;
  ControlConfig control;
  AuditConfig audit;
  std::string path;                   // where the config came from, for messages
};

// Reads and validates a config file. Relative policy paths resolve against the working directory.
StatusOr<GatewayConfig> LoadGatewayConfig(const std::string& path);
// Same from text; `display_name` is used in error messages.
StatusOr<GatewayConfig> ParseGatewayConfig(std::string_view yaml, const std::string& display_name);

// Lowercase hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

// Splits "host:port", "[::1]:port" or ":port". Port 0 asks the OS for an ephemeral port.
StatusOr<std::pair<std::string, uint16_t>> ParseListen(std::string_view listen);

}  // namespace warden::gateway
