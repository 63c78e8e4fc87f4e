// Prometheus metrics of the gateway: request counts by endpoint, action and status; latency
// histograms for screening, upstream and total time; upstream errors; open connections.
//
//   metrics.CountRequest(Endpoint::kModerations, Action::kAllow, 200);
//   metrics.total.Observe(seconds);
//   std::string text = metrics.Render();  // text exposition format 0.0.4
//
// Thread-safety: every method is safe to call concurrently; updates are relaxed atomics on
// fixed-size tables so the hot path never takes a lock.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "warden/verdict.h"

namespace warden::gateway {

enum class Endpoint : uint8_t {
  kChatCompletions,
  kModerations,
  kCheck,
  kModels,
  kHealth,
  kMetrics,
  kAdmin,
  kOther,
  kCount,
};
std::string_view EndpointName(Endpoint e);

class Histogram {
 public:
  // Upper bounds in seconds, from 50 µs to 60 s.
  static constexpr std::array<double, 16> kBounds = {
      0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
      0.025,   0.05,   0.1,     0.25,   0.5,   1,      5,     60};
  void Observe(double seconds);
  void Render(std::string& out, std::string_view name, std::string_view help) const;
  // Also hands every observation to `tap` (the dashboard's per-second series, whose buckets are
  // finer). REQUIRES: set before any concurrent Observe; `tap` must be thread-safe.
  void SetTap(std::function<void(double seconds)> tap) { tap_ = std::move(tap); }

 private:
  std::function<void(double)> tap_;
  std::array<std::atomic<uint64_t>, kBounds.size() + 1> buckets_{};
  std::atomic<uint64_t> sum_ns_{0};
  std::atomic<uint64_t> count_{0};
};

class Metrics {
 public:
  // `action` is nullopt for requests that never reached screening (errors, health checks).
  void CountRequest(Endpoint endpoint, std::optional<Action> action, unsigned status);
  void UpstreamError(std::string_view kind);  // "connect", "timeout", "reset", "bad_response"
  std::string Render() const;
  // Also hands every CountRequest to `tap` (the dashboard's per-second series). REQUIRES: set
  // before any concurrent CountRequest; `tap` must be thread-safe.
  void SetRequestTap(std::function<void(Endpoint, std::optional<Action>, unsigned)> tap) {
    request_tap_ = std::move(tap);
  }

  Histogram screening;
  Histogram upstream;
  Histogram total;
  std::atomic<int64_t> open_connections{0};
  std::atomic<uint64_t> reloads_ok{0};
  std::atomic<uint64_t> reloads_failed{0};
  // Screenings that needed a slow scorer and ran on the pool for slow checks.
  std::atomic<uint64_t> slow_screenings{0};

 private:
  static constexpr std::array<unsigned, 12> kStatuses = {200, 400, 401, 403, 404, 405,
                                                         413, 431, 500, 502, 503, 504};
  static constexpr size_t kActions = 8;  // seven actions + "none"
  static constexpr size_t kStatusSlots = kStatuses.size() + 1;  // + "other"
  std::array<std::atomic<uint64_t>, static_cast<size_t>(Endpoint::kCount) * kActions * kStatusSlots>
      requests_{};
  static constexpr std::array<std::string_view, 4> kUpstreamErrors = {"connect", "timeout",
                                                                      "reset", "bad_response"};
  std::array<std::atomic<uint64_t>, kUpstreamErrors.size()> upstream_errors_{};
  std::function<void(Endpoint, std::optional<Action>, unsigned)> request_tap_;
};

}  // namespace warden::gateway
