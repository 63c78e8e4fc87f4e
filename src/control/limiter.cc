#include "control/limiter.h"

namespace warden::control {

namespace {

constexpr int64_t kMinuteUs = 60'000'000;
constexpr int64_t kDayUs = 86'400'000'000;

int64_t WindowEnd(int64_t now_us, int64_t length_us) { return (now_us / length_us + 1) * length_us; }

int64_t RetryAfterSeconds(int64_t now_us, int64_t length_us) {
  return std::max<int64_t>(1, (WindowEnd(now_us, length_us) - now_us + 999'999) / 1'000'000);
}

std::string SubjectName(const LimitSubject& s) {
  return std::string(s.kind) + " " + std::string(s.name);
}

std::string CounterName(const LimitSubject& s, std::string_view what) {
  return std::string(s.kind) + ":" + std::string(s.name) + ":" + std::string(what);
}

LimitHit Hit(const LimitSubject& s, std::string_view limit, uint64_t value, int64_t retry_after,
             std::string_view unit) {
  LimitHit h;
  h.limit = std::string(limit);
  h.subject = SubjectName(s);
  h.retry_after_s = retry_after;
  h.message = "Rate limit reached for " + h.subject + ": " + std::string(limit) + " is " +
              std::to_string(value) + std::string(unit) + ". Try again in " +
              std::to_string(retry_after) + " s.";
  return h;
}

}  // namespace

int64_t EstimateTokens(size_t bytes) { return static_cast<int64_t>((bytes + 3) / 4); }

StatusOr<std::optional<LimitHit>> Limiter::AdmitRequest(std::span<const LimitSubject> subjects,
                                                        int64_t now_us) {
  for (const LimitSubject& s : subjects) {
    if (!s.limits || s.name.empty()) continue;
    const RateLimits& l = *s.limits;
    if (l.requests_per_minute) {
      auto n = store_.AddToWindow(CounterName(s, "requests"), 1, WindowEnd(now_us, kMinuteUs));
      if (!n.ok()) return n.status();
      if (*n > static_cast<int64_t>(l.requests_per_minute)) {
        return std::optional<LimitHit>(Hit(s, "requests_per_minute", l.requests_per_minute,
                                           RetryAfterSeconds(now_us, kMinuteUs), ""));
      }
    }
    const struct {
      uint64_t limit;
      const char* name;
      const char* counter;
      int64_t length;
    } token_windows[] = {{l.tokens_per_minute, "tokens_per_minute", "tokens-min", kMinuteUs},
                         {l.tokens_per_day, "tokens_per_day", "tokens-day", kDayUs}};
    for (const auto& w : token_windows) {
      if (!w.limit) continue;
      auto used = store_.AddToWindow(CounterName(s, w.counter), 0, WindowEnd(now_us, w.length));
      if (!used.ok()) return used.status();
      if (*used >= static_cast<int64_t>(w.limit)) {
        return std::optional<LimitHit>(
            Hit(s, w.name, w.limit, RetryAfterSeconds(now_us, w.length), " tokens"));
      }
    }
  }
  return std::optional<LimitHit>();
}

Status Limiter::AddTokens(std::span<const LimitSubject> subjects, int64_t tokens,
                          int64_t now_us) {
  if (tokens <= 0) return OkStatus();
  for (const LimitSubject& s : subjects) {
    if (!s.limits || s.name.empty()) continue;
    if (s.limits->tokens_per_minute) {
      auto n = store_.AddToWindow(CounterName(s, "tokens-min"), tokens,
                                  WindowEnd(now_us, kMinuteUs));
      if (!n.ok()) return n.status();
    }
    if (s.limits->tokens_per_day) {
      auto n = store_.AddToWindow(CounterName(s, "tokens-day"), tokens, WindowEnd(now_us, kDayUs));
      if (!n.ok()) return n.status();
    }
  }
  return OkStatus();
}

StatusOr<std::optional<LimitHit>> Limiter::AdmitToolCall(std::span<const LimitSubject> subjects,
                                                         std::string_view tool,
                                                         std::string_view arguments_hash,
                                                         int64_t now_us) {
  for (const LimitSubject& s : subjects) {
    if (!s.limits || s.name.empty()) continue;
    const RateLimits& l = *s.limits;
    if (l.tool_calls_per_minute) {
      auto n = store_.AddToWindow(CounterName(s, "tool:" + std::string(tool)), 1,
                                  WindowEnd(now_us, kMinuteUs));
      if (!n.ok()) return n.status();
      if (*n > static_cast<int64_t>(l.tool_calls_per_minute)) {
        LimitHit h = Hit(s, "tool_calls_per_minute", l.tool_calls_per_minute,
                         RetryAfterSeconds(now_us, kMinuteUs), " calls");
        h.message += " (tool " + std::string(tool) + ")";
        return std::optional<LimitHit>(std::move(h));
      }
    }
    if (l.max_repeated_tool_calls) {
      auto n = store_.NoteRepeat(SubjectName(s),
                                 std::string(tool) + "\n" + std::string(arguments_hash));
      if (!n.ok()) return n.status();
      if (*n > l.max_repeated_tool_calls) {
        LimitHit h;
        h.limit = "max_repeated_tool_calls";
        h.subject = SubjectName(s);
        h.retry_after_s = 60;
        h.message = "Loop detected for " + h.subject + ": tool " + std::string(tool) +
                    " was called with the same arguments " + std::to_string(*n) +
                    " times in a row (limit " + std::to_string(l.max_repeated_tool_calls) + ").";
        return std::optional<LimitHit>(std::move(h));
      }
    }
  }
  return std::optional<LimitHit>();
}

}  // namespace warden::control
