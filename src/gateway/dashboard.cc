#include "gateway/dashboard.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>

#include "core/bundled_file.h"
#include "core/hex.h"
#include "core/json_writer.h"
#include "core/utf8.h"
#include "gateway/config.h"
#include "gateway/json_rewrite.h"
#include "gateway/openai.h"
#include "gateway/server.h"
#include "warden/audit.h"
#include "warden/guard.h"

namespace warden::gateway::dashboard {

namespace fs = std::filesystem;

namespace {

int64_t SystemNowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool Masked(const Finding& f) {
  return f.scanner == "pii" || f.scanner == "secrets" || f.label == "pii" || f.label == "secrets";
}

std::string Placeholder(std::string_view type) {
  std::string p = "[";
  for (char c : type) p.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
  return p + "]";
}

std::string RandomHex(size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  if (RAND_bytes(buf.data(), static_cast<int>(buf.size())) != 1) std::abort();  // no entropy
  return HexOf(buf.data(), buf.size());
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string_view HeaderValue(const http::request<http::string_body>& req, std::string_view name) {
  auto it = req.find(beast::string_view(name.data(), name.size()));
  if (it == req.end()) return {};
  return std::string_view(it->value().data(), it->value().size());
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string UrlDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 &&
               HexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// The decoded value of `name` in a query string or form body ("a=1&b=2"), or nullopt.
std::optional<std::string> Param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const size_t eq = pair.find('=');
    if (UrlDecode(pair.substr(0, eq)) != name) continue;
    return eq == std::string_view::npos ? std::string() : UrlDecode(pair.substr(eq + 1));
  }
  return std::nullopt;
}

std::string_view QueryOf(std::string_view target) {
  const size_t q = target.find('?');
  return q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
}

std::optional<int64_t> ParseInt(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  int64_t v = 0;
  bool negative = false;
  size_t i = 0;
  if (s[0] == '-') {
    negative = true;
    i = 1;
    if (s.size() == 1) return std::nullopt;
  }
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    v = v * 10 + (s[i] - '0');
  }
  return negative ? -v : v;
}

UiResponse Json(unsigned status, std::string body) {
  return UiResponse{.status = status, .body = std::move(body)};
}

UiResponse Error(unsigned status, std::string_view message, std::string_view code) {
  return Json(status,
              ErrorJson(message, status >= 500 ? "server_error" : "invalid_request_error", code));
}

std::optional<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The dashboard's web/ folder, found like every other bundled file.
std::string FindWebDir() {
  return fs::path(FindBundledFile("web/index.html")).parent_path().string();
}

void AppendField(std::string& out, std::string_view name, std::string_view value) {
  out.push_back('"');
  out.append(name);
  out.append("\":");
  AppendJsonString(out, value);
}

// The body of a JSON object request, or an error message.
StatusOr<simdjson::dom::element> ParseObject(const std::string& body) {
  simdjson::dom::element doc;
  if (ThreadParser().parse(body).get(doc) || !doc.is_object()) {
    return InvalidArgumentError("expected a JSON object");
  }
  return doc;
}

std::string_view StringField(simdjson::dom::element doc, const char* name, bool* bad) {
  std::string_view v;
  auto e = doc[name];
  if (e.error() == simdjson::NO_SUCH_FIELD) return {};
  if (e.get_string().get(v)) *bad = true;
  return v;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Events

std::vector<Segment> RedactedSegments(std::string_view text, const std::vector<Finding>& findings,
                                      size_t max_bytes, bool* truncated) {
  // Only the bytes that can be shown are labelled (a placeholder is never longer than what it
  // covers by more than its name, so 2 × max_bytes + 64 is plenty).
  const size_t n = std::min(text.size(), 2 * max_bytes + 64);
  // owner[i]: which finding byte i belongs to (-1: none). Masks win over highlights wherever
  // they overlap, so a pii or secrets span is never shown, whatever else covers it; among
  // highlights the shortest (most specific) wins. A finding that covers the whole text (a
  // classifier's score) marks nothing.
  std::vector<int> owner(n, -1);
  std::vector<int> order(findings.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  auto length = [&](int i) { return findings[i].end - findings[i].start; };
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    const bool ma = Masked(findings[a]), mb = Masked(findings[b]);
    if (ma != mb) return !ma;  // highlights first, masks last (they overwrite)
    return ma ? findings[a].start > findings[b].start : length(a) > length(b);
  });
  for (int i : order) {
    const Finding& f = findings[i];
    if (f.end <= f.start || f.start >= text.size()) continue;
    if (!Masked(f) && f.start == 0 && f.end >= text.size()) continue;
    for (size_t b = f.start; b < std::min<size_t>(f.end, n); ++b) owner[b] = i;
  }
  std::vector<Segment> out;
  size_t budget = max_bytes;
  bool cut = n < text.size();
  for (size_t at = 0; at < n;) {
    size_t run = at;
    while (run < n && owner[run] == owner[at]) ++run;
    const int who = owner[at];
    if (who >= 0 && Masked(findings[who])) {
      std::string p = Placeholder(findings[who].type);
      if (p.size() > budget) {
        cut = true;
        break;
      }
      budget -= p.size();
      out.push_back({.text = std::move(p), .finding = findings[who].type, .masked = true});
    } else {
      std::string_view piece = text.substr(at, run - at);
      if (piece.size() > budget) {
        piece = piece.substr(0, Utf8Floor(piece, budget));
        cut = true;
      }
      budget -= piece.size();
      if (!piece.empty()) {
        out.push_back({.text = std::string(piece), .finding = who >= 0 ? findings[who].type : ""});
      }
      if (piece.size() < run - at) break;
    }
    at = run;
  }
  if (truncated) *truncated = cut;
  return out;
}

Event MakeEvent(const Verdict& verdict, Direction direction, std::string_view tool,
                std::string_view text, const EventInfo& info) {
  Event e;
  e.time_us = info.time_us ? info.time_us : SystemNowMicros();
  e.request_id = std::string(info.request_id);
  e.key = std::string(info.key);
  e.tenant = std::string(info.tenant);
  e.tool = std::string(tool);
  e.direction = direction;
  e.action = verdict.action;
  e.rule = verdict.rule;
  e.message = verdict.message;
  e.latency_us = verdict.latency_us;
  // Only the five highest are kept (ties by label): positions are ordered and only those five
  // are copied; sorting copies of all nineteen labels' strings cost more than the rest here.
  const auto& scores = verdict.scores;
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), size_t{0});
  const size_t kept = std::min<size_t>(5, order.size());
  std::partial_sort(order.begin(), order.begin() + kept, order.end(), [&](size_t a, size_t b) {
    return scores[a].second != scores[b].second ? scores[a].second > scores[b].second
                                                : scores[a].first < scores[b].first;
  });
  e.top_scores.reserve(kept);
  for (size_t k = 0; k < kept; ++k) e.top_scores.push_back(scores[order[k]]);
  for (const auto& [label, score] : verdict.scores) {
    if (score >= 0.5f && label != "unsafe") e.categories.push_back(label);
  }
  for (const Finding& f : verdict.findings) {
    e.findings.push_back(
        {.scanner = f.scanner, .type = f.type, .start = f.start, .end = f.end, .score = f.score});
    if (std::find(e.categories.begin(), e.categories.end(), f.type) == e.categories.end()) {
      e.categories.push_back(f.type);
    }
  }
  e.excerpt = RedactedSegments(text, verdict.findings, kExcerptBytes, &e.truncated);
  return e;
}

std::string EventToJson(const Event& e) {
  std::string out;
  out.reserve(512);
  out.append("{\"id\":");
  AppendJsonUint(out, e.id);
  out.append(",\"time_us\":");
  out.append(std::to_string(e.time_us));
  out.append(",\"time\":");
  AppendJsonString(out, audit::FormatTimeMicros(e.time_us));
  out.push_back(',');
  AppendField(out, "request_id", e.request_id);
  out.push_back(',');
  AppendField(out, "key", e.key);
  out.push_back(',');
  AppendField(out, "tenant", e.tenant);
  out.push_back(',');
  AppendField(out, "tool", e.tool);
  out.push_back(',');
  AppendField(out, "direction", DirectionName(e.direction));
  out.push_back(',');
  AppendField(out, "action", ActionName(e.action));
  out.push_back(',');
  AppendField(out, "rule", e.rule);
  out.push_back(',');
  AppendField(out, "message", e.message);
  out.append(",\"latency_us\":");
  AppendJsonNumber(out, e.latency_us);
  out.append(",\"scores\":[");
  for (size_t i = 0; i < e.top_scores.size(); ++i) {
    if (i) out.push_back(',');
    out.push_back('[');
    AppendJsonString(out, e.top_scores[i].first);
    out.push_back(',');
    AppendJsonNumber(out, e.top_scores[i].second);
    out.push_back(']');
  }
  out.append("],\"categories\":[");
  for (size_t i = 0; i < e.categories.size(); ++i) {
    if (i) out.push_back(',');
    AppendJsonString(out, e.categories[i]);
  }
  out.append("],\"findings\":[");
  for (size_t i = 0; i < e.findings.size(); ++i) {
    const EventFinding& f = e.findings[i];
    if (i) out.push_back(',');
    out.push_back('{');
    AppendField(out, "scanner", f.scanner);
    out.push_back(',');
    AppendField(out, "type", f.type);
    out.append(",\"start\":");
    AppendJsonUint(out, f.start);
    out.append(",\"end\":");
    AppendJsonUint(out, f.end);
    out.append(",\"score\":");
    AppendJsonNumber(out, f.score);
    out.push_back('}');
  }
  out.append("],\"excerpt\":[");
  for (size_t i = 0; i < e.excerpt.size(); ++i) {
    const Segment& s = e.excerpt[i];
    if (i) out.push_back(',');
    out.push_back('{');
    AppendField(out, "text", s.text);
    if (!s.finding.empty()) {
      out.push_back(',');
      AppendField(out, "finding", s.finding);
      out.append(s.masked ? ",\"masked\":true" : ",\"masked\":false");
    }
    out.push_back('}');
  }
  out.append("],\"truncated\":");
  out.append(e.truncated ? "true}" : "false}");
  return out;
}

EventBus::EventBus(size_t history, size_t max_reviews)
    : history_(std::max<size_t>(history, 1)), max_reviews_(std::max<size_t>(max_reviews, 1)) {}

uint64_t EventBus::Publish(Event e) {
  std::vector<Event> one;
  one.push_back(std::move(e));
  Publish(one);
  return last_id();
}

void EventBus::Publish(std::vector<Event>& events) {
  // The events that leave the history are freed after the lock is released.
  std::vector<std::shared_ptr<const Event>> expired;
  std::lock_guard<std::mutex> lock(mu_);
  for (Event& e : events) {
    e.id = last_id_.load(std::memory_order_relaxed) + 1;
    auto shared = std::make_shared<const Event>(std::move(e));
    events_.push_back(shared);
    if (events_.size() > history_) {
      expired.push_back(std::move(events_.front()));
      events_.pop_front();
    }
    if (shared->action == Action::kEscalate) {
      reviews_.push_back({.event = shared});
      // Drop the oldest decided ones first, then the oldest pending ones.
      while (reviews_.size() > max_reviews_) {
        auto decided = std::find_if(reviews_.begin(), reviews_.end(),
                                    [](const Review& r) { return r.state != "pending"; });
        reviews_.erase(decided != reviews_.end() ? decided : reviews_.begin());
      }
    }
    last_id_.store(shared->id, std::memory_order_release);
  }
  events.clear();
}

std::vector<std::shared_ptr<const Event>> EventBus::Since(uint64_t after, size_t limit) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::shared_ptr<const Event>> out;
  // Ids are consecutive, so the first wanted event's position is known.
  size_t begin = 0;
  if (!events_.empty() && after >= events_.front()->id) {
    begin = std::min<size_t>(events_.size(), after - events_.front()->id + 1);
  }
  if (events_.size() - begin > limit) begin = events_.size() - limit;
  for (size_t i = begin; i < events_.size(); ++i) out.push_back(events_[i]);
  return out;
}

std::shared_ptr<const Event> EventBus::Get(uint64_t id) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (events_.empty() || id < events_.front()->id || id > events_.back()->id) {
    for (const Review& r : reviews_) {
      if (r.event->id == id) return r.event;
    }
    return nullptr;
  }
  return events_[id - events_.front()->id];
}

std::vector<EventBus::Review> EventBus::Reviews(bool all) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Review> out;
  for (auto it = reviews_.rbegin(); it != reviews_.rend(); ++it) {
    if (all || it->state == "pending") out.push_back(*it);
  }
  return out;
}

StatusOr<EventBus::Review> EventBus::Decide(uint64_t event_id, std::string_view state,
                                            std::string_view note, int64_t now_us) {
  if (state != "confirmed" && state != "dismissed") {
    return InvalidArgumentError("state: expected confirmed or dismissed");
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (Review& r : reviews_) {
    if (r.event->id != event_id) continue;
    if (r.state != "pending") {
      return FailedPreconditionError("escalation " + std::to_string(event_id) + " was already " +
                                     r.state);
    }
    r.state = std::string(state);
    r.note = std::string(note);
    r.decided_us = now_us;
    return r;
  }
  return NotFoundError("no escalation " + std::to_string(event_id) + " in the review queue");
}

// ---------------------------------------------------------------------------------------------
// Series

Series::Series(ClockFn clock) : clock_(clock ? std::move(clock) : ClockFn(SystemNowMicros)) {
  buckets_.resize(kSeconds);
}

int Series::Bin(double seconds) {
  // Bin i holds latencies up to 10 µs × 1.4^i; the last bin everything above.
  double bound = 10e-6;
  for (int i = 0; i < kBins - 1; ++i) {
    if (seconds <= bound) return i;
    bound *= 1.4;
  }
  return kBins - 1;
}

double Series::Percentile(const std::array<uint32_t, kBins>& bins, double q) {
  uint64_t total = 0;
  for (uint32_t b : bins) total += b;
  if (total == 0) return -1;
  // The smallest bin whose cumulative count reaches q of the total; its upper bound, in ms.
  const uint64_t rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * total)));
  uint64_t cumulative = 0;
  double bound = 10e-6;
  for (int i = 0; i < kBins; ++i) {
    cumulative += bins[i];
    if (cumulative >= rank) return bound * 1e3;
    bound *= 1.4;
  }
  return bound * 1e3;
}

Series::Bucket& Series::At(int64_t second) {
  Bucket& b = buckets_[static_cast<size_t>(second % kSeconds)];
  if (b.second != second) b = Bucket{.second = second};
  return b;
}

void Series::CountRequest(Endpoint endpoint, std::optional<Action> action, unsigned status) {
  if (endpoint != Endpoint::kChatCompletions && endpoint != Endpoint::kModerations &&
      endpoint != Endpoint::kCheck) {
    return;
  }
  const int64_t second = clock_() / 1000000;
  std::lock_guard<std::mutex> lock(mu_);
  Bucket& b = At(second);
  ++b.requests;
  if (action) ++b.actions[static_cast<size_t>(*action)];
}

void Series::ObserveScreening(double seconds) {
  const int64_t second = clock_() / 1000000;
  std::lock_guard<std::mutex> lock(mu_);
  ++At(second).screening[Bin(seconds)];
}

void Series::ObserveUpstream(double seconds) {
  const int64_t second = clock_() / 1000000;
  std::lock_guard<std::mutex> lock(mu_);
  ++At(second).upstream[Bin(seconds)];
}

void Series::NoteEvent(const Event& e) {
  if (e.categories.empty() && (e.rule.empty() || e.action == Action::kAllow)) return;
  const int64_t second = e.time_us / 1000000;
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = clock_() / 1000000;
  if (second <= now - kSeconds || second > now + 1) return;  // outside the window
  Bucket& b = At(second);
  auto bump = [](std::vector<std::pair<std::string, uint32_t>>& v, const std::string& name) {
    for (auto& [n, c] : v) {
      if (n == name) {
        ++c;
        return;
      }
    }
    v.emplace_back(name, 1);
  };
  for (const std::string& c : e.categories) bump(b.categories, c);
  if (!e.rule.empty() && e.action != Action::kAllow) bump(b.rules, e.rule);
}

std::string Series::ToJson(int64_t since_s) const {
  const int64_t now = clock_() / 1000000;
  const int64_t first = std::max(now - kSeconds + 1, since_s + 1);
  std::string requests, block, redact, escalate, sp50, sp99, up50, up99;
  std::map<std::string, uint64_t> categories, rules;
  auto number = [](std::string& out, double v) {
    if (!out.empty()) out.push_back(',');
    if (v < 0) {
      out.append("null");
    } else {
      AppendJsonNumber(out, std::round(v * 1000) / 1000);
    }
  };
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (int64_t s = first; s <= now; ++s) {
      const Bucket& b = buckets_[static_cast<size_t>(s % kSeconds)];
      const bool live = b.second == s;
      const Bucket empty;
      const Bucket& x = live ? b : empty;
      number(requests, x.requests);
      // Blocks include kills and refusals (defer, require_approval): the request was refused.
      uint32_t refused = 0;
      for (size_t a = static_cast<size_t>(Action::kDefer); a < x.actions.size(); ++a) {
        refused += x.actions[a];
      }
      number(block, refused);
      number(redact, x.actions[static_cast<size_t>(Action::kRedact)]);
      number(escalate, x.actions[static_cast<size_t>(Action::kEscalate)]);
      number(sp50, Percentile(x.screening, 0.5));
      number(sp99, Percentile(x.screening, 0.99));
      number(up50, Percentile(x.upstream, 0.5));
      number(up99, Percentile(x.upstream, 0.99));
    }
    // Top lists always cover the whole hour.
    for (const Bucket& b : buckets_) {
      if (b.second <= now - kSeconds || b.second > now) continue;
      for (const auto& [n, c] : b.categories) categories[n] += c;
      for (const auto& [n, c] : b.rules) rules[n] += c;
    }
  }
  auto top = [](const std::map<std::string, uint64_t>& m) {
    std::vector<std::pair<std::string, uint64_t>> v(m.begin(), m.end());
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
      return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    if (v.size() > 10) v.resize(10);
    std::string out = "[";
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) out.push_back(',');
      out.push_back('[');
      AppendJsonString(out, v[i].first);
      out.push_back(',');
      AppendJsonUint(out, v[i].second);
      out.push_back(']');
    }
    return out + "]";
  };
  std::string out =
      "{\"start\":" + std::to_string(first) + ",\"end\":" + std::to_string(now) + ",\"step\":1";
  out += ",\"requests\":[" + requests + "],\"block\":[" + block + "],\"redact\":[" + redact +
         "],\"escalate\":[" + escalate + "],\"screening_p50_ms\":[" + sp50 +
         "],\"screening_p99_ms\":[" + sp99 + "],\"upstream_p50_ms\":[" + up50 +
         "],\"upstream_p99_ms\":[" + up99 + "]";
  out += ",\"top_categories\":" + top(categories) + ",\"top_rules\":" + top(rules) + "}";
  return out;
}

// ---------------------------------------------------------------------------------------------
// Sessions and authorization

UiSessions::UiSessions(ClockFn clock, int64_t ttl_us, size_t max_sessions)
    : clock_(clock ? std::move(clock) : ClockFn(SystemNowMicros)),
      ttl_us_(ttl_us),
      max_sessions_(std::max<size_t>(max_sessions, 1)) {}

UiSessions::Created UiSessions::Create() {
  Created c{.id = RandomHex(32), .csrf = RandomHex(32), .expires_us = clock_() + ttl_us_};
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = clock_();
  std::erase_if(sessions_, [now](const auto& kv) { return kv.second.expires_us <= now; });
  if (sessions_.size() >= max_sessions_) {
    // Full of live sessions: the one closest to expiry makes room.
    auto oldest = std::min_element(sessions_.begin(), sessions_.end(), [](auto& a, auto& b) {
      return a.second.expires_us < b.second.expires_us;
    });
    sessions_.erase(oldest);
  }
  sessions_[c.id] = c;
  return c;
}

std::optional<std::string> UiSessions::Csrf(std::string_view id) const {
  if (id.size() != 64) return std::nullopt;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(std::string(id));
  if (it == sessions_.end() || it->second.expires_us <= clock_()) return std::nullopt;
  return it->second.csrf;
}

void UiSessions::Remove(std::string_view id) {
  std::lock_guard<std::mutex> lock(mu_);
  sessions_.erase(std::string(id));
}

std::string_view AuthResultName(AuthResult r) {
  switch (r) {
    case AuthResult::kOk:
      return "ok";
    case AuthResult::kMissing:
      return "no admin token or session";
    case AuthResult::kBadToken:
      return "invalid admin token";
    case AuthResult::kExpired:
      return "session expired or unknown";
    case AuthResult::kCsrf:
      return "missing or wrong CSRF header";
    case AuthResult::kDisabled:
      return "no admin token configured";
  }
  return "?";
}

std::string_view CookieValue(const http::request<http::string_body>& req, std::string_view name) {
  for (auto it = req.find(http::field::cookie);
       it != req.end() && it->name() == http::field::cookie; ++it) {
    std::string_view v(it->value().data(), it->value().size());
    while (!v.empty()) {
      const size_t semi = v.find(';');
      std::string_view pair = v.substr(0, semi);
      v = semi == std::string_view::npos ? std::string_view() : v.substr(semi + 1);
      while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
      const size_t eq = pair.find('=');
      if (eq != std::string_view::npos && pair.substr(0, eq) == name) return pair.substr(eq + 1);
    }
  }
  return {};
}

AuthResult Authorize(const http::request<http::string_body>& req,
                     std::string_view admin_token_sha256, const UiSessions& sessions) {
  if (admin_token_sha256.empty()) return AuthResult::kDisabled;
  std::string_view auth = HeaderValue(req, "Authorization");
  if (auth.size() > 7 && (auth.starts_with("Bearer ") || auth.starts_with("bearer "))) {
    return ConstantTimeEquals(Sha256Hex(auth.substr(7)), admin_token_sha256)
               ? AuthResult::kOk
               : AuthResult::kBadToken;
  }
  if (!auth.empty()) return AuthResult::kBadToken;
  const std::string_view cookie = CookieValue(req, kSessionCookie);
  if (cookie.empty()) return AuthResult::kMissing;
  const std::optional<std::string> csrf = sessions.Csrf(cookie);
  if (!csrf) return AuthResult::kExpired;
  if (req.method() == http::verb::get || req.method() == http::verb::head) return AuthResult::kOk;
  return ConstantTimeEquals(HeaderValue(req, kCsrfHeader), *csrf) ? AuthResult::kOk
                                                                  : AuthResult::kCsrf;
}

const std::vector<std::pair<std::string, std::string>>& SecurityHeaders() {
  static const std::vector<std::pair<std::string, std::string>> kHeaders = {
      {"Content-Security-Policy",
       "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"},
      {"X-Content-Type-Options", "nosniff"},
      {"X-Frame-Options", "DENY"},
      {"Referrer-Policy", "no-referrer"},
      {"Cross-Origin-Opener-Policy", "same-origin"},
      {"Cross-Origin-Resource-Policy", "same-origin"},
      {"Cache-Control", "no-store"},
  };
  return kHeaders;
}

PolicyError ParsePolicyError(std::string_view message, std::string_view display_name) {
  PolicyError e{.message = std::string(message)};
  std::string_view rest = message;
  if (!display_name.empty() && rest.starts_with(display_name) &&
      rest.size() > display_name.size() && rest[display_name.size()] == ':') {
    rest.remove_prefix(display_name.size() + 1);
  } else {
    return e;
  }
  auto number = [&rest]() -> int {
    size_t i = 0;
    int v = 0;
    while (i < rest.size() && i < 9 && rest[i] >= '0' && rest[i] <= '9')
      v = v * 10 + (rest[i++] - '0');
    if (i == 0 || i >= rest.size() || rest[i] != ':') return 0;
    rest.remove_prefix(i + 1);
    return v;
  };
  e.line = number();
  if (e.line) e.column = number();
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  e.message = std::string(rest);
  return e;
}

// ---------------------------------------------------------------------------------------------
// Dashboard

Dashboard::Dashboard(Server& server, DashboardOptions options)
    : server_(server),
      options_(std::move(options)),
      series_(options_.clock),
      sessions_(options_.clock) {
  if (!options_.clock) options_.clock = SystemNowMicros;
  if (options_.web_dir.empty()) options_.web_dir = FindWebDir();
}

Event Dashboard::Describe(const Verdict& v, Direction direction, std::string_view tool,
                          std::string_view text, const EventInfo& info) const {
  EventInfo at = info;
  if (!at.time_us) at.time_us = Now();
  return MakeEvent(v, direction, tool, text, at);
}

void Dashboard::Publish(std::vector<Event>& events) {
  for (const Event& e : events) {
    // Admin actions are in the feed (someone flipped a switch) but not in the traffic's top
    // lists.
    if (!e.rule.starts_with("admin-")) series_.NoteEvent(e);
  }
  bus_.Publish(events);
}

AuthResult Dashboard::Authorize(const http::request<http::string_body>& req) const {
  return dashboard::Authorize(req, server_.config().admin_token_sha256, sessions_);
}

bool Dashboard::IsSlow(std::string_view path) {
  return path == "/admin/api/policy" || path.starts_with("/admin/api/policy/") ||
         path == "/admin/api/audit/verify";
}

UiResponse Dashboard::Handle(const http::request<http::string_body>& req, std::string_view path) {
  UiResponse r;
  const bool api = path.starts_with("/admin/api/");
  if (server_.config().admin_token_sha256.empty()) {
    r = api ? Error(404,
                    "the dashboard is disabled: no admin token is configured "
                    "(warden serve --admin-token, or admin.token in the config)",
                    "admin_disabled")
            : UiResponse{.status = 404,
                         .body =
                             "The dashboard is disabled: start warden serve with "
                             "--admin-token (or set admin.token in the config).\n",
                         .content_type = "text/plain; charset=utf-8"};
  } else if (path == "/ui/login") {
    r = Login(req);
  } else {
    const AuthResult auth = Authorize(req);
    if (auth != AuthResult::kOk) {
      // Refused access is a decision too: someone tried to reach the controls.
      r = api ? Error(401, AuthResultName(auth), "invalid_api_key")
              : Static(path, /*authorized=*/false);
      if (r.status == 401) {
        r.audit.push_back({GatewayVerdict(Action::kBlock, "admin-auth-failed",
                                        std::string(req.method_string()) + " " + std::string(path) +
                                            ": " + std::string(AuthResultName(auth))),
                           ""});
      }
    } else if (api) {
      r = Api(req, path);
    } else if (req.method() == http::verb::post && path == "/ui/logout") {
      sessions_.Remove(CookieValue(req, kSessionCookie));
      r = UiResponse{.status = 303, .content_type = "text/plain; charset=utf-8"};
      r.headers.push_back({"Location", "/ui/login"});
      r.headers.push_back({"Set-Cookie", std::string(kSessionCookie) +
                                             "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"});
    } else if (req.method() != http::verb::get && req.method() != http::verb::head) {
      r = Error(405, "method not allowed; use GET", "method_not_allowed");
    } else {
      r = Static(path, /*authorized=*/true);
    }
  }
  for (const auto& h : SecurityHeaders()) r.headers.push_back(h);
  return r;
}

UiResponse Dashboard::Static(std::string_view path, bool authorized) {
  // A fixed list of files: nothing outside it is ever read, whatever the path says.
  struct File {
    std::string_view url, relative, type;
    bool public_file;
  };
  static constexpr File kFiles[] = {
      {"/ui", "index.html", "text/html; charset=utf-8", false},
      {"/ui/", "index.html", "text/html; charset=utf-8", false},
      {"/ui/login", "login.html", "text/html; charset=utf-8", true},
      {"/ui/style.css", "style.css", "text/css; charset=utf-8", true},
      {"/ui/app.js", "src/app.js", "text/javascript; charset=utf-8", false},
      {"/ui/api.js", "src/api.js", "text/javascript; charset=utf-8", false},
      {"/ui/render.js", "src/render.js", "text/javascript; charset=utf-8", false},
      {"/ui/charts.js", "src/charts.js", "text/javascript; charset=utf-8", false},
      {"/ui/vendor/uPlot.esm.js", "node_modules/uplot/dist/uPlot.esm.js",
       "text/javascript; charset=utf-8", false},
      {"/ui/vendor/uPlot.min.css", "node_modules/uplot/dist/uPlot.min.css",
       "text/css; charset=utf-8", true},
  };
  const File* file = nullptr;
  for (const File& f : kFiles) {
    if (f.url == path) file = &f;
  }
  if (!authorized && !(file && file->public_file)) {
    // Pages answer with the login form; anything else with a bare 401.
    if (file && file->type.starts_with("text/html")) {
      auto login = ReadFile(fs::path(options_.web_dir) / "login.html");
      return UiResponse{
          .status = 401,
          .body = login ? *login : "401: log in with the admin token at /ui/login\n",
          .content_type = login ? "text/html; charset=utf-8" : "text/plain; charset=utf-8"};
    }
    return UiResponse{.status = 401,
                      .body = "401: log in at /ui/login\n",
                      .content_type = "text/plain; charset=utf-8"};
  }
  if (!file) {
    return UiResponse{.status = 404,
                      .body = "404: no such dashboard file\n",
                      .content_type = "text/plain; charset=utf-8"};
  }
  auto body = ReadFile(fs::path(options_.web_dir) / file->relative);
  if (!body) {
    std::string why =
        "dashboard file " + (fs::path(options_.web_dir) / file->relative).string() + " is missing";
    if (file->relative.starts_with("node_modules"))
      why += " (run `npm ci` in web/, or ./scripts/install-deps.sh)";
    return UiResponse{
        .status = 404, .body = why + "\n", .content_type = "text/plain; charset=utf-8"};
  }
  return UiResponse{
      .status = 200, .body = std::move(*body), .content_type = std::string(file->type)};
}

UiResponse Dashboard::Login(const http::request<http::string_body>& req) {
  if (req.method() == http::verb::get || req.method() == http::verb::head) {
    return Static("/ui/login", true);
  }
  if (req.method() != http::verb::post) {
    return Error(405, "method not allowed; use GET or POST", "method_not_allowed");
  }
  const std::optional<std::string> token = Param(req.body(), "token");
  const bool ok = token && !token->empty() &&
                  ConstantTimeEquals(Sha256Hex(*token), server_.config().admin_token_sha256);
  if (!ok) {
    UiResponse r = Static("/ui/login", true);
    r.status = 401;
    // The form shows its error line; nothing from the request is echoed.
    const std::string hidden = "<p id=\"login-error\" role=\"alert\" hidden>";
    if (size_t at = r.body.find(hidden); at != std::string::npos) {
      r.body.replace(at, hidden.size(), "<p id=\"login-error\" role=\"alert\">");
    }
    r.audit.push_back(
        {GatewayVerdict(Action::kBlock, "admin-auth-failed", "POST /ui/login: invalid admin token"),
         ""});
    return r;
  }
  const UiSessions::Created s = sessions_.Create();
  UiResponse r{.status = 303, .content_type = "text/plain; charset=utf-8"};
  const int64_t max_age = std::max<int64_t>(0, (s.expires_us - Now()) / 1000000);
  r.headers.push_back({"Location", "/ui/"});
  r.headers.push_back({"Set-Cookie", std::string(kSessionCookie) + "=" + s.id +
                                         "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
                                         std::to_string(max_age)});
  r.audit.push_back({GatewayVerdict(Action::kAllow, "admin-login", "dashboard session started"), ""});
  return r;
}

UiResponse Dashboard::Api(const http::request<http::string_body>& req, std::string_view path) {
  const std::string_view target(req.target().data(), req.target().size());
  const std::string_view query = QueryOf(target);
  const std::string_view rest = path.substr(std::string_view("/admin/api").size());
  const bool get = req.method() == http::verb::get;
  const bool post = req.method() == http::verb::post;
  if (rest == "/session") {
    if (!get) return Error(405, "method not allowed; use GET", "method_not_allowed");
    std::string body = "{\"csrf\":";
    const auto csrf = sessions_.Csrf(CookieValue(req, kSessionCookie));
    AppendJsonStringOrNull(body, csrf ? *csrf : std::string());
    body.append(",\"csrf_header\":");
    AppendJsonString(body, kCsrfHeader);
    body.push_back('}');
    return Json(200, std::move(body));
  }
  if (rest == "/overview") {
    if (!get) return Error(405, "method not allowed; use GET", "method_not_allowed");
    int64_t since = 0;
    if (auto s = Param(query, "since")) since = ParseInt(*s).value_or(0);
    const GatewayConfig& c = server_.config();
    std::string body = "{\"gateway\":{";
    AppendField(body, "policy", c.policy);
    body.push_back(',');
    AppendField(body, "upstream", c.upstream.url);
    body.push_back(',');
    AppendField(body, "audit", c.audit.store.empty() ? "" : audit::RedactStoreUrl(c.audit.store));
    body.append(",\"control\":");
    body.append(server_.control_store() ? "true" : "false");
    body.append(",\"last_event\":");
    AppendJsonUint(body, bus_.last_id());
    body.append("},\"series\":");
    body.append(series_.ToJson(since));
    body.push_back('}');
    return Json(200, std::move(body));
  }
  if (rest == "/feed") {
    if (!get) return Error(405, "method not allowed; use GET", "method_not_allowed");
    return UiResponse{.feed = true};
  }
  if (rest == "/events" || rest.starts_with("/events/")) {
    if (!get) return Error(405, "method not allowed; use GET", "method_not_allowed");
    if (rest.starts_with("/events/")) {
      auto id = ParseInt(rest.substr(8));
      auto e = id && *id > 0 ? bus_.Get(static_cast<uint64_t>(*id)) : nullptr;
      if (!e)
        return Error(404, "no such event (the dashboard keeps the last 2000)", "unknown_event");
      return Json(200, EventToJson(*e));
    }
    return Events(target);
  }
  if (rest == "/audit" || rest.starts_with("/audit/")) {
    const bool verify = rest == "/audit/verify";
    if (verify ? !post : !get) {
      return Error(405, verify ? "method not allowed; use POST" : "method not allowed; use GET",
                   "method_not_allowed");
    }
    return Audit(target, rest.substr(6), verify);
  }
  if (rest == "/review" || rest.starts_with("/review/")) return Review(req, rest.substr(7));
  if (rest == "/policy" || rest.starts_with("/policy/")) return Policy(req, rest.substr(7));
  return Error(404,
               "unknown dashboard API endpoint " + std::string(path) + " (see docs/dashboard.md)",
               "unknown_url");
}

UiResponse Dashboard::Events(std::string_view target) {
  const std::string_view query = QueryOf(target);
  uint64_t after = 0;
  size_t limit = 200;
  if (auto s = Param(query, "after"))
    after = static_cast<uint64_t>(std::max<int64_t>(0, ParseInt(*s).value_or(0)));
  if (auto s = Param(query, "limit"))
    limit = static_cast<size_t>(std::clamp<int64_t>(ParseInt(*s).value_or(200), 1, 2000));
  std::string body = "{\"events\":[";
  const auto events = bus_.Since(after, limit);
  for (size_t i = 0; i < events.size(); ++i) {
    if (i) body.push_back(',');
    body.append(EventToJson(*events[i]));
  }
  body.append("],\"last\":");
  AppendJsonUint(body, bus_.last_id());
  body.push_back('}');
  return Json(200, std::move(body));
}

UiResponse Dashboard::Audit(std::string_view target, std::string_view rest, bool verify) {
  const GatewayConfig& c = server_.config();
  if (c.audit.store.empty()) {
    return Error(404,
                 "the audit log is off (set audit.store, or run warden serve without "
                 "--audit off)",
                 "audit_disabled");
  }
  auto store = audit::OpenStore(c.audit.store, audit::OpenMode::kExisting);
  if (!store.ok()) return Error(503, store.status().message(), "audit_unavailable");
  if (verify) {
    audit::VerifyOptions options;
    if (!c.audit.signing_key.empty()) {
      auto key = audit::PublicKey::LoadPem(c.audit.signing_key);
      if (!key.ok()) return Error(503, key.status().message(), "audit_unavailable");
      options.public_key = *key;
    }
    const int64_t started = Now();
    auto report = audit::Verify(**store, options);
    if (!report.ok()) return Error(503, report.status().message(), "audit_unavailable");
    std::string body = "{\"ok\":";
    body.append(report->ok ? "true" : "false");
    body.append(",\"records\":");
    AppendJsonUint(body, report->records);
    body.append(",\"checkpoints\":");
    AppendJsonUint(body, report->checkpoints);
    body.append(",\"signed_through\":");
    AppendJsonUint(body, report->signed_through);
    body.append(",\"signatures_checked\":");
    body.append(options.public_key ? "true" : "false");
    body.append(",\"first_bad_seq\":");
    AppendJsonUint(body, report->first_bad_seq);
    body.append(",\"in_checkpoint\":");
    body.append(report->in_checkpoint ? "true" : "false");
    body.append(",\"problem\":");
    AppendJsonString(body, report->problem);
    body.append(",\"took_ms\":");
    AppendJsonNumber(body, static_cast<double>(Now() - started) / 1000.0);
    body.push_back('}');
    return Json(200, std::move(body));
  }
  audit::QueryFilter filter;
  if (rest.starts_with("/")) {
    auto seq = ParseInt(rest.substr(1));
    if (!seq || *seq <= 0) return Error(400, "expected /admin/api/audit/SEQ", "invalid_request");
    filter.after_seq = static_cast<uint64_t>(*seq - 1);
    filter.limit = 1;
    std::string found;
    Status st = (*store)->Query(filter, [&](const audit::StoredRecord& r) {
      if (r.seq == static_cast<uint64_t>(*seq)) found = audit::RecordToJson(r);
      return false;
    });
    if (!st.ok()) return Error(503, st.message(), "audit_unavailable");
    if (found.empty()) return Error(404, "no record " + std::to_string(*seq), "unknown_record");
    return Json(200, std::move(found));
  }
  const std::string_view query = QueryOf(target);
  if (auto s = Param(query, "since")) filter.since_us = ParseInt(*s);
  if (auto s = Param(query, "until")) filter.until_us = ParseInt(*s);
  if (auto s = Param(query, "key")) filter.key = *s;
  if (auto s = Param(query, "tenant")) filter.tenant = *s;
  if (auto s = Param(query, "action")) filter.action = *s;
  if (auto s = Param(query, "rule")) filter.rule = *s;
  if (auto s = Param(query, "category")) filter.category = *s;
  size_t limit = 100;
  if (auto s = Param(query, "limit"))
    limit = static_cast<size_t>(std::clamp<int64_t>(ParseInt(*s).value_or(100), 1, 1000));
  // Newest first: keep the last `limit` matches of a scan in seq order.
  std::deque<std::string> rows;
  uint64_t matched = 0;
  Status st = (*store)->Query(filter, [&](const audit::StoredRecord& r) {
    ++matched;
    rows.push_back(audit::RecordToJson(r));
    if (rows.size() > limit) rows.pop_front();
    return true;
  });
  if (!st.ok()) return Error(503, st.message(), "audit_unavailable");
  std::string body = "{\"records\":[";
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i) body.push_back(',');
    body.append(rows[rows.size() - 1 - i]);
  }
  body.append("],\"matched\":");
  AppendJsonUint(body, matched);
  body.push_back('}');
  return Json(200, std::move(body));
}

UiResponse Dashboard::Review(const http::request<http::string_body>& req, std::string_view rest) {
  if (rest.empty() || rest == "/") {
    if (req.method() != http::verb::get) {
      return Error(405, "method not allowed; use GET", "method_not_allowed");
    }
    std::string body = "{\"escalations\":[";
    const auto reviews = bus_.Reviews(/*all=*/false);
    for (size_t i = 0; i < reviews.size(); ++i) {
      if (i) body.push_back(',');
      body.append("{\"state\":");
      AppendJsonString(body, reviews[i].state);
      body.append(",\"event\":");
      body.append(EventToJson(*reviews[i].event));
      body.push_back('}');
    }
    body.append("],\"approvals\":");
    if (control::ControlStore* store = server_.control_store()) {
      auto list = store->ListApprovals(control::ApprovalState::kPending, 200);
      if (!list.ok()) return Error(503, list.status().message(), "control_unavailable");
      body.push_back('[');
      for (size_t i = 0; i < list->size(); ++i) {
        if (i) body.push_back(',');
        body.append(control::ApprovalToJson((*list)[i], false));
      }
      body.push_back(']');
    } else {
      body.append("null");
    }
    body.push_back('}');
    return Json(200, std::move(body));
  }
  // "/ID" with {"state":"confirmed"|"dismissed","note":"…"}
  if (req.method() != http::verb::post) {
    return Error(405, "method not allowed; use POST", "method_not_allowed");
  }
  auto id = ParseInt(rest.substr(1));
  if (!id || *id <= 0) return Error(404, "expected /admin/api/review/EVENT_ID", "unknown_url");
  auto doc = ParseObject(req.body());
  if (!doc.ok()) {
    return Error(400, "expected a JSON object like {\"state\":\"dismissed\",\"note\":\"…\"}",
                 "invalid_request");
  }
  bool bad = false;
  const std::string_view state = StringField(*doc, "state", &bad);
  const std::string_view note = StringField(*doc, "note", &bad);
  if (bad) return Error(400, "state and note must be strings", "invalid_request");
  auto decided = bus_.Decide(static_cast<uint64_t>(*id), state, note, Now());
  if (!decided.ok()) {
    const StatusCode code = decided.status().code();
    return Error(code == StatusCode::kNotFound             ? 404
                 : code == StatusCode::kFailedPrecondition ? 409
                                                           : 400,
                 decided.status().message(), "invalid_request");
  }
  // The same decision labels the interaction's item in the stored review queue, so that it
  // reaches `warden review export` and the training data.
  if (control::ControlStore* store = server_.control_store()) {
    auto item = store->FindReviewForRequest(decided->event->request_id,
                                            DirectionName(decided->event->direction));
    if (item.ok() && item->has_value() && (*item)->label.empty()) {
      (void)store->LabelReview((*item)->id, decided->state == "confirmed" ? "unsafe" : "safe",
                               "dashboard", note);
    }
  }
  UiResponse r = Json(
      200, "{\"state\":\"" + decided->state + "\",\"event\":" + EventToJson(*decided->event) + "}");
  r.audit.push_back({GatewayVerdict(Action::kAllow, "admin-review",
                                  decided->state + " escalation " + decided->event->request_id +
                                      (note.empty() ? "" : ": " + std::string(note))),
                     ""});
  return r;
}

UiResponse Dashboard::Policy(const http::request<http::string_body>& req, std::string_view rest) {
  const std::string& path = server_.config().policy;
  const std::string display = fs::path(path).filename().string();
  const std::string base_dir = fs::path(path).parent_path().string();
  if (rest.empty() && req.method() == http::verb::get) {
    auto text = ReadFile(path);
    if (!text) return Error(503, "cannot read the policy file " + path, "policy_unreadable");
    std::string body = "{";
    AppendField(body, "path", path);
    body.push_back(',');
    AppendField(body, "text", *text);
    body.push_back('}');
    return Json(200, std::move(body));
  }
  const bool validate = rest == "/validate";
  if (!(validate || rest.empty())) return Error(404, "unknown policy endpoint", "unknown_url");
  if (req.method() != http::verb::post) {
    return Error(405,
                 validate ? "method not allowed; use POST" : "method not allowed; use GET or POST",
                 "method_not_allowed");
  }
  auto doc = ParseObject(req.body());
  bool bad = false;
  std::string_view text;
  if (doc.ok()) text = StringField(*doc, "text", &bad);
  if (!doc.ok() || bad) {
    return Error(400, "expected a JSON object like {\"text\":\"<policy YAML>\"}",
                 "invalid_request");
  }
  // Validated exactly as the gateway will load it: parsed, validated and compiled.
  StatusOr<Guard> guard = Guard::FromYaml(text, display, base_dir.empty() ? "." : base_dir);
  std::string result = "{\"ok\":";
  if (!guard.ok()) {
    const PolicyError e = ParsePolicyError(guard.status().message(), display);
    result.append("false,\"errors\":[{\"line\":" + std::to_string(e.line) +
                  ",\"column\":" + std::to_string(e.column) + ",\"message\":");
    AppendJsonString(result, e.message);
    result.append(",\"full\":");
    AppendJsonString(result, guard.status().message());
    result.append("}]}");
    return Json(validate ? 200 : 400, std::move(result));
  }
  const PolicyInfo& info = guard->info();
  auto summary = [&info](std::string& out) {
    out.append(",\"info\":{");
    AppendField(out, "name", info.name);
    out.append(",\"rules\":" + std::to_string(info.rule_count) +
               ",\"tool_rules\":" + std::to_string(info.tool_rule_count) + ",\"scanners\":[");
    for (size_t i = 0; i < info.scanners.size(); ++i) {
      if (i) out.push_back(',');
      AppendJsonString(out, info.scanners[i]);
    }
    out.append("]}");
  };
  if (validate) {
    result.append("true,\"errors\":[]");
    summary(result);
    result.push_back('}');
    return Json(200, std::move(result));
  }
  // Save: write beside the file and rename, so a crash never leaves half a policy; then reload,
  // which recompiles every policy and swaps them in only if all load.
  const std::string tmp = path + ".warden-tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) return Error(503, "cannot write " + tmp, "policy_unwritable");
  }
  const std::optional<std::string> previous = ReadFile(path);
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return Error(503, "cannot replace " + path + ": " + ec.message(), "policy_unwritable");
  Status reloaded = server_.ReloadPolicies();
  UiResponse r;
  if (!reloaded.ok()) {
    // Put the old file back: what is on disk stays what is in force.
    if (previous) {
      std::ofstream restore(path, std::ios::binary | std::ios::trunc);
      restore << *previous;
    }
    r = Error(400, reloaded.message(), "invalid_policy");
  } else {
    result.append("true,\"saved\":true,\"errors\":[]");
    summary(result);
    result.push_back('}');
    r = Json(200, std::move(result));
  }
  r.audit.push_back(
      {GatewayVerdict(reloaded.ok() ? Action::kAllow : Action::kBlock, "admin-policy-save",
                    reloaded.ok() ? "policy " + path + " saved and reloaded"
                                  : "policy " + path + " rejected on reload"),
       ""});
  return r;
}

Task<bool> Dashboard::ServeFeed(beast::tcp_stream& stream,
                                const http::request<http::string_body>& req) {
  http::response<http::empty_body> res{http::status::ok, req.version()};
  res.set(http::field::server, "warden");
  res.set(http::field::content_type, "text/event-stream");
  for (const auto& [name, value] : SecurityHeaders()) res.set(name, value);
  res.chunked(true);
  res.keep_alive(false);
  http::response_serializer<http::empty_body> sr{res};
  error_code ec;
  stream.expires_after(std::chrono::seconds(30));
  co_await http::async_write_header(stream, sr, NoThrow(ec));
  if (ec) co_return false;
  // Resume after the last event the client saw (?after=N), else start with the newest ones.
  uint64_t last = bus_.last_id() > 50 ? bus_.last_id() - 50 : 0;
  const std::string_view target(req.target().data(), req.target().size());
  if (auto s = Param(QueryOf(target), "after")) {
    last = static_cast<uint64_t>(std::max<int64_t>(0, ParseInt(*s).value_or(0)));
  }
  net::steady_timer timer(stream.get_executor());
  auto quiet_since = std::chrono::steady_clock::now();
  std::string out = ": warden live feed\n\n";
  while (!server_.stopping()) {
    for (const auto& e : bus_.Since(last, 500)) {
      out.append("id: ");
      out.append(std::to_string(e->id));
      out.append("\nevent: decision\ndata: ");
      out.append(EventToJson(*e));  // one line: JSON escapes every newline
      out.append("\n\n");
      last = e->id;
    }
    const auto now = std::chrono::steady_clock::now();
    if (out.empty() && now - quiet_since >= options_.feed_keepalive) out = ": keep-alive\n\n";
    if (!out.empty()) {
      stream.expires_after(std::chrono::seconds(30));
      co_await net::async_write(stream, http::make_chunk(net::buffer(out)), NoThrow(ec));
      out.clear();
      quiet_since = now;
      if (ec) co_return false;
    }
    timer.expires_after(options_.feed_poll);
    co_await timer.async_wait(NoThrow(ec));
  }
  co_await net::async_write(stream, http::make_chunk_last(), NoThrow(ec));
  co_return false;
}

}  // namespace warden::gateway::dashboard
