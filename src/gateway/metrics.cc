#include "gateway/metrics.h"

#include "core/json_writer.h"

namespace warden::gateway {

std::string_view EndpointName(Endpoint e) {
  static constexpr std::string_view kNames[] = {"chat_completions", "moderations", "check",
                                                "models",           "health",      "metrics",
                                                "admin",            "other"};
  return kNames[static_cast<size_t>(e)];
}

void Histogram::Observe(double seconds) {
  size_t i = 0;
  while (i < kBounds.size() && seconds > kBounds[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<uint64_t>(seconds * 1e9), std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  if (tap_) tap_(seconds);
}

void Histogram::Render(std::string& out, std::string_view name, std::string_view help) const {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" histogram\n");
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= kBounds.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    out.append(name).append("_bucket{le=\"");
    if (i < kBounds.size()) {
      AppendJsonNumber(out, kBounds[i]);
    } else {
      out.append("+Inf");
    }
    out.append("\"} ").append(std::to_string(cumulative)).append("\n");
  }
  out.append(name).append("_sum ");
  AppendJsonNumber(out, static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9);
  out.append("\n").append(name).append("_count ");
  out.append(std::to_string(count_.load(std::memory_order_relaxed))).append("\n");
}

void Metrics::CountRequest(Endpoint endpoint, std::optional<Action> action, unsigned status) {
  size_t s = kStatuses.size();
  for (size_t i = 0; i < kStatuses.size(); ++i) {
    if (kStatuses[i] == status) s = i;
  }
  const size_t a = action ? static_cast<size_t>(*action) : kActions - 1;
  const size_t slot = (static_cast<size_t>(endpoint) * kActions + a) * kStatusSlots + s;
  requests_[slot].fetch_add(1, std::memory_order_relaxed);
  if (request_tap_) request_tap_(endpoint, action, status);
}

void Metrics::UpstreamError(std::string_view kind) {
  for (size_t i = 0; i < kUpstreamErrors.size(); ++i) {
    if (kUpstreamErrors[i] == kind) {
      upstream_errors_[i].fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
}

std::string Metrics::Render() const {
  std::string out;
  out.reserve(8192);
  out.append(
      "# HELP warden_requests_total Requests by endpoint, screening action and HTTP status.\n"
      "# TYPE warden_requests_total counter\n");
  for (size_t e = 0; e < static_cast<size_t>(Endpoint::kCount); ++e) {
    for (size_t a = 0; a < kActions; ++a) {
      for (size_t s = 0; s < kStatusSlots; ++s) {
        const uint64_t n =
            requests_[(e * kActions + a) * kStatusSlots + s].load(std::memory_order_relaxed);
        if (n == 0) continue;
        out.append("warden_requests_total{endpoint=\"");
        out.append(EndpointName(static_cast<Endpoint>(e)));
        out.append("\",action=\"");
        out.append(a + 1 == kActions ? "none" : ActionName(static_cast<Action>(a)));
        out.append("\",status=\"");
        out.append(s < kStatuses.size() ? std::to_string(kStatuses[s]) : "other");
        out.append("\"} ").append(std::to_string(n)).append("\n");
      }
    }
  }
  screening.Render(out, "warden_screening_seconds", "Time spent screening one request.");
  upstream.Render(out, "warden_upstream_seconds",
                  "Time from sending to the upstream until its response headers.");
  total.Render(out, "warden_request_seconds", "Total time to answer a request.");
  out.append(
      "# HELP warden_upstream_errors_total Upstream failures by kind.\n"
      "# TYPE warden_upstream_errors_total counter\n");
  for (size_t i = 0; i < kUpstreamErrors.size(); ++i) {
    out.append("warden_upstream_errors_total{kind=\"").append(kUpstreamErrors[i]).append("\"} ");
    out.append(std::to_string(upstream_errors_[i].load(std::memory_order_relaxed))).append("\n");
  }
  out.append(
      "# HELP warden_open_connections Client connections currently open.\n"
      "# TYPE warden_open_connections gauge\nwarden_open_connections ");
  out.append(std::to_string(open_connections.load(std::memory_order_relaxed))).append("\n");
  out.append(
      "# HELP warden_policy_reloads_total Policy reloads by result.\n"
      "# TYPE warden_policy_reloads_total counter\nwarden_policy_reloads_total{result=\"ok\"} ");
  out.append(std::to_string(reloads_ok.load())).append("\n");
  out.append("warden_policy_reloads_total{result=\"error\"} ");
  out.append(std::to_string(reloads_failed.load())).append("\n");
  out.append(
      "# HELP warden_slow_screenings_total Screenings run on the pool for slow checks (a text "
      "needed the sentence encoder or a judge; a streamed batch under such a policy).\n"
      "# TYPE warden_slow_screenings_total counter\nwarden_slow_screenings_total ");
  out.append(std::to_string(slow_screenings.load(std::memory_order_relaxed))).append("\n");
  return out;
}

}  // namespace warden::gateway
