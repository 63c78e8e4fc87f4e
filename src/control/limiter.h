// Rate limits and the loop detector, per key and per tenant, over fixed one-minute and one-day
// windows kept in a ControlStore (memory for one gateway, Redis for several).
//
//   Limiter limiter(store);
//   std::vector<LimitSubject> who = {{"key", "ci-bot", &key_limits}, {"tenant", "acme", &t}};
//   auto hit = limiter.AdmitRequest(who, NowMicros());
//   if (hit.ok() && *hit) Reply429((*hit)->message, (*hit)->retry_after_s);
//   ... after the response: limiter.AddTokens(who, usage.total_tokens, NowMicros());
//
// Thread-safety: as thread-safe as the store (all stores are).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "control/control.h"

namespace warden::control {

// Zero means "no limit" for every field.
struct RateLimits {
  uint32_t requests_per_minute = 0;
  uint64_t tokens_per_minute = 0;
  uint64_t tokens_per_day = 0;
  uint32_t tool_calls_per_minute = 0;    // per tool
  uint32_t max_repeated_tool_calls = 0;  // the same tool with the same arguments, in a row
  bool any() const {
    return requests_per_minute || tokens_per_minute || tokens_per_day || tool_calls_per_minute ||
           max_repeated_tool_calls;
  }
};

// Whose limits apply: kind is "key" or "tenant"; `limits` may be null (no limits).
struct LimitSubject {
  std::string_view kind;
  std::string_view name;
  const RateLimits* limits = nullptr;
};

// A limit that was exceeded.
struct LimitHit {
  std::string limit;        // "requests_per_minute", "tokens_per_day", "max_repeated_tool_calls"…
  std::string subject;      // "key ci-bot", "tenant acme"
  int64_t retry_after_s = 1;
  std::string message;      // for the 429 body
};

class Limiter {
 public:
  explicit Limiter(ControlStore& store) : store_(store) {}

  // Counts one request for every subject, and refuses it when a request window is over its
  // limit or a token window is already spent.
  StatusOr<std::optional<LimitHit>> AdmitRequest(std::span<const LimitSubject> subjects,
                                                 int64_t now_us);
  // Adds tokens used (from the upstream's `usage`, or estimated while streaming).
  Status AddTokens(std::span<const LimitSubject> subjects, int64_t tokens, int64_t now_us);
  // Counts one call of `tool` with arguments whose hash is `arguments_hash`, and refuses it when
  // the per-tool window is over its limit or the same call repeats too often in a row.
  StatusOr<std::optional<LimitHit>> AdmitToolCall(std::span<const LimitSubject> subjects,
                                                  std::string_view tool,
                                                  std::string_view arguments_hash, int64_t now_us);

 private:
  ControlStore& store_;
};

// Rough token count of text for streams that report no usage: about four bytes per token.
int64_t EstimateTokens(size_t bytes);

}  // namespace warden::control
