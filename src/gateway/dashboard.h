// The dashboard behind `warden serve` at /ui: what the gateway decides, live, for the people who
// watch over it — a feed of decisions, per-second charts of the last hour, the audit log, the
// review queue, the kill switch and the policy editor (docs/dashboard.md).
//
//   Dashboard dash(server, {.web_dir = "web"});
//   std::vector<Event> events;
//   events.push_back(dash.Describe(verdict, direction, tool, text, {.request_id = id}));
//   dash.Publish(events);   // once the reply is on its way
//   UiResponse r = dash.Handle(request, "/admin/api/overview");   // auth, CSP, JSON
//
// The parts, each usable alone (and unit-tested alone):
// - MakeEvent turns a verdict into a compact, REDACTED event: personal data and secrets that a
//   scanner found are replaced by "[TYPE]" placeholders before the text leaves the request, and
//   the text is cut to kExcerptBytes. An event never holds what a pii or secrets finding matched.
// - EventBus keeps the last events for the live feed and the escalations for the review queue.
// - Series keeps per-second counts and latency percentiles for the last hour.
// - UiSessions and Authorize: the admin token (Bearer) or a login cookie plus a CSRF header.
//
// Everything the dashboard shows came from strangers. The server sends it as JSON only; the page
// renders it with textContent (web/app.js), under a Content-Security-Policy without inline
// script (SecurityHeaders).
//
// Thread-safety: EventBus, Series, UiSessions and Dashboard are thread-safe; Event is a value.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "gateway/asio.h"
#include "gateway/metrics.h"
#include "warden/message.h"
#include "warden/status.h"
#include "warden/verdict.h"

namespace warden::gateway {
class Server;
}

namespace warden::gateway::dashboard {

// Microseconds since the Unix epoch; injected so tests control time.
using ClockFn = std::function<int64_t()>;

// At most this many bytes of a decision's text are kept in its event.
inline constexpr size_t kExcerptBytes = 2048;

// A piece of an event's text. `finding` is empty for plain text; otherwise the piece is what a
// finding of that type covered — shown highlighted — and, when `masked`, a placeholder that
// stands for it ("[EMAIL]"), never the matched text.
struct Segment {
  std::string text;
  std::string finding;
  bool masked = false;
  bool operator==(const Segment&) const = default;
};

// A finding as the dashboard shows it: type, scanner, span in the original text, score.
struct EventFinding {
  std::string scanner;
  std::string type;
  uint32_t start = 0;
  uint32_t end = 0;
  float score = 0;
};

// One decision, redacted.
struct Event {
  uint64_t id = 0;  // assigned by EventBus::Publish: 1, 2, 3 …
  int64_t time_us = 0;
  std::string request_id;
  std::string key;
  std::string tenant;
  std::string tool;
  Direction direction = Direction::kInput;
  Action action = Action::kAllow;
  std::string rule;
  std::string message;  // the deciding rule's message (policy text, or the gateway's own)
  double latency_us = 0;
  std::vector<std::pair<std::string, float>> top_scores;  // at most 5, highest first
  std::vector<std::string> categories;  // score labels >= 0.5 and finding types, for filters
  std::vector<EventFinding> findings;
  std::vector<Segment> excerpt;  // the redacted text, split at findings
  bool truncated = false;        // the text was longer than kExcerptBytes
};

struct EventInfo {
  std::string_view request_id;
  std::string_view key;
  std::string_view tenant;
  int64_t time_us = 0;  // 0: now
};

// Builds the event for `verdict` on `text` (which may be empty when the caller has none).
// Findings of the pii and secrets scanners (and any finding labelled pii or secrets) are masked;
// other findings are highlighted in place. Where they overlap, a mask wins (a pii span is never
// shown, whatever else covers it), then the shortest highlight; a finding that covers the whole
// text (a classifier score) highlights nothing.
Event MakeEvent(const Verdict& verdict, Direction direction, std::string_view tool,
                std::string_view text, const EventInfo& info);
// Splits `text` at `findings` (spans in `text`), masking as MakeEvent does; cuts at `max_bytes`
// (at a UTF-8 boundary) and sets `*truncated` when it did.
std::vector<Segment> RedactedSegments(std::string_view text, const std::vector<Finding>& findings,
                                      size_t max_bytes, bool* truncated);
// One JSON object (docs/dashboard.md, "Events").
std::string EventToJson(const Event& e);

// The last events, for the feed, and the escalated ones, for the review queue.
class EventBus {
 public:
  // Keeps the last `history` events and at most `max_reviews` escalations.
  explicit EventBus(size_t history = 2000, size_t max_reviews = 1000);

  // Assigns the event's id and stores it; escalations also enter the review queue.
  uint64_t Publish(Event e);
  // Publish for each of `events` in order, under one lock; empties `events`.
  void Publish(std::vector<Event>& events);
  // Events with id > `after`, oldest first, at most `limit` (the newest ones when there are more).
  std::vector<std::shared_ptr<const Event>> Since(uint64_t after, size_t limit) const;
  // The event with `id`, or null when it has left the history.
  std::shared_ptr<const Event> Get(uint64_t id) const;
  uint64_t last_id() const { return last_id_.load(std::memory_order_acquire); }

  struct Review {
    std::shared_ptr<const Event> event;
    std::string state = "pending";  // "pending", "confirmed" (a real problem), "dismissed"
    std::string note;
    int64_t decided_us = 0;
  };
  // The review queue, newest first; only pending ones unless `all`.
  std::vector<Review> Reviews(bool all) const;
  // Records a reviewer's decision ("confirmed" or "dismissed") on a pending escalation.
  // NotFound for an unknown id, FailedPrecondition when already decided.
  StatusOr<Review> Decide(uint64_t event_id, std::string_view state, std::string_view note,
                          int64_t now_us);

 private:
  const size_t history_;
  const size_t max_reviews_;
  mutable std::mutex mu_;
  std::deque<std::shared_ptr<const Event>> events_;
  std::deque<Review> reviews_;  // oldest first
  std::atomic<uint64_t> last_id_{0};
};

// Per-second series of the last hour: client requests and their actions, screening and upstream
// latency percentiles, and the categories and rules that decided. Updates take one short lock.
class Series {
 public:
  static constexpr int kSeconds = 3600;
  explicit Series(ClockFn clock = {});

  // A client request answered (health, metrics and admin traffic are not counted).
  void CountRequest(Endpoint endpoint, std::optional<Action> action, unsigned status);
  void ObserveScreening(double seconds);
  void ObserveUpstream(double seconds);
  // An event's categories and rule (for the top lists).
  void NoteEvent(const Event& e);

  // The series as JSON (docs/dashboard.md, "Overview"): seconds after `since_s` (epoch seconds;
  // 0: the whole hour) up to the current second, plus top categories and rules over the hour.
  std::string ToJson(int64_t since_s) const;

  // Latency percentile `q` in [0,1] (milliseconds) of the bins `bins`, or a negative number when
  // empty. Exposed for tests.
  static constexpr int kBins = 48;  // 10 µs × 1.4^i
  static double Percentile(const std::array<uint32_t, kBins>& bins, double q);
  static int Bin(double seconds);

 private:
  struct Bucket {
    int64_t second = -1;
    uint32_t requests = 0;
    std::array<uint32_t, 7> actions{};
    std::array<uint32_t, kBins> screening{};
    std::array<uint32_t, kBins> upstream{};
    std::vector<std::pair<std::string, uint32_t>> categories;
    std::vector<std::pair<std::string, uint32_t>> rules;
  };
  Bucket& At(int64_t second);  // REQUIRES: mu_ held

  ClockFn clock_;
  mutable std::mutex mu_;
  std::vector<Bucket> buckets_;
};

// Login sessions of the dashboard: a random id (the HttpOnly cookie) and a random CSRF token
// (sent by the page in a header on every state change), expiring after `ttl`.
class UiSessions {
 public:
  struct Created {
    std::string id;    // 64 hex digits
    std::string csrf;  // 64 hex digits
    int64_t expires_us = 0;
  };
  explicit UiSessions(ClockFn clock = {}, int64_t ttl_us = int64_t{12} * 3600 * 1000000,
                      size_t max_sessions = 1000);
  Created Create();
  // The session's CSRF token, or nullopt when unknown or expired.
  std::optional<std::string> Csrf(std::string_view id) const;
  void Remove(std::string_view id);

 private:
  ClockFn clock_;
  const int64_t ttl_us_;
  const size_t max_sessions_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Created> sessions_;
};

inline constexpr std::string_view kSessionCookie = "warden_session";
inline constexpr std::string_view kCsrfHeader = "X-Warden-CSRF";

enum class AuthResult {
  kOk,
  kMissing,   // no token and no session cookie
  kBadToken,  // a Bearer token that is not the admin token
  kExpired,   // a session cookie that is unknown or expired
  kCsrf,      // a state change with the cookie but without its CSRF header
  kDisabled,  // no admin token is configured
};
std::string_view AuthResultName(AuthResult r);

// Who may use the admin API and the dashboard: `Authorization: Bearer <admin token>` (compared by
// SHA-256, in constant time), or the session cookie — with the session's CSRF token in the
// X-Warden-CSRF header for anything but GET and HEAD.
AuthResult Authorize(const http::request<http::string_body>& req,
                     std::string_view admin_token_sha256, const UiSessions& sessions);
// The value of cookie `name` in the request's Cookie headers, or empty.
std::string_view CookieValue(const http::request<http::string_body>& req, std::string_view name);

// Headers on every dashboard and admin API answer: a strict Content-Security-Policy (scripts,
// styles and connections from this origin only, no inline script, no framing), nosniff,
// no-referrer, no-store.
const std::vector<std::pair<std::string, std::string>>& SecurityHeaders();

// What Dashboard::Handle answers; the gateway sends it, recording `audit` first.
struct UiResponse {
  unsigned status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  // Decisions to put in the audit log (admin actions, refused logins), with their tool.
  std::vector<std::pair<Verdict, std::string>> audit;
  bool feed = false;  // start the live feed (ServeFeed) instead of sending `body`
};

struct DashboardOptions {
  // Where index.html, app.js, style.css and node_modules/uplot are. Empty: found like bundled
  // files (./web, the source tree, <prefix>/share/warden/web).
  std::string web_dir;
  ClockFn clock;  // default: the system clock
  // How often the feed looks for new events, and sends a keep-alive comment.
  std::chrono::milliseconds feed_poll{200};
  std::chrono::milliseconds feed_keepalive{15000};
};

class Dashboard {
 public:
  Dashboard(Server& server, DashboardOptions options);

  // From Session::Record: one decision, as an event stamped now. The session publishes its
  // events once the reply is written: the feed's bookkeeping (a lock, the series, freeing the
  // event that leaves the history) then costs the client nothing, and an event shows up in the
  // feed microseconds after its reply.
  Event Describe(const Verdict& v, Direction direction, std::string_view tool,
                 std::string_view text, const EventInfo& info) const;
  // Publishes `events` in order (EventBus::Publish) and counts them in the series; empties it.
  void Publish(std::vector<Event>& events);

  // Authorizes, then answers /ui… and /admin/api/… (docs/dashboard.md, "Endpoints").
  UiResponse Handle(const http::request<http::string_body>& req, std::string_view path);
  // Whether Handle may take long for `path`: policy validation and saving compile policies
  // (classifier models included), audit verification reads the whole log. The gateway runs
  // those on its pool for slow checks instead of the worker thread.
  static bool IsSlow(std::string_view path);
  // Authorization for the other admin endpoints (/admin/kill …): the same rules.
  AuthResult Authorize(const http::request<http::string_body>& req) const;

  // Streams new events as server-sent events on `stream` until the client goes away or the
  // server stops. Returns false (the connection is done).
  Task<bool> ServeFeed(beast::tcp_stream& stream, const http::request<http::string_body>& req);

  EventBus& bus() { return bus_; }
  Series& series() { return series_; }
  const std::string& web_dir() const { return options_.web_dir; }

 private:
  UiResponse Static(std::string_view path, bool authorized);
  UiResponse Login(const http::request<http::string_body>& req);
  UiResponse Api(const http::request<http::string_body>& req, std::string_view path);
  UiResponse Events(std::string_view target);
  UiResponse Audit(std::string_view target, std::string_view rest, bool verify);
  UiResponse Review(const http::request<http::string_body>& req, std::string_view rest);
  UiResponse Policy(const http::request<http::string_body>& req, std::string_view rest);
  int64_t Now() const { return options_.clock(); }

  Server& server_;
  DashboardOptions options_;
  EventBus bus_;
  Series series_;
  UiSessions sessions_;
};

// Parses "file:LINE:COL: message" (the policy loader's errors) into its parts; line and column
// are 0 when the message names none.
struct PolicyError {
  int line = 0;
  int column = 0;
  std::string message;
};
PolicyError ParsePolicyError(std::string_view message, std::string_view display_name);

}  // namespace warden::gateway::dashboard
