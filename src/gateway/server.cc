#include "gateway/server.h"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <iostream>
#include <random>
#include <set>

#include "core/hex.h"
#include "core/json_writer.h"
#include "gateway/asio.h"
#include "gateway/dashboard.h"
#include "gateway/deadlines.h"
#include "gateway/json_rewrite.h"
#include "gateway/openai.h"
#include "gateway/sse.h"
#include "gateway/stream_screen.h"
#include "gateway/upstream.h"
#include "warden/audit.h"

namespace warden::gateway {

using Clock = std::chrono::steady_clock;

class Session;

struct Server::Worker {
  explicit Worker(std::chrono::milliseconds sweep) : deadlines(ioc, sweep) {}
  // The pool is declared after the io_context so it is destroyed first: its idle sockets must go
  // before the context they were created on.
  net::io_context ioc{1};
  // Time limits of the reads and writes on this worker's client and upstream sockets.
  Deadlines deadlines;
  std::unique_ptr<UpstreamPool> pool;
  std::unique_ptr<UpstreamPool> defer_pool;  // the trusted model's, when defer_upstream is set
  // Sessions streaming right now; touched only on this worker's thread.
  std::set<Session*> streams;

  // Answers waiting for their audit records to be durable, in ticket order (a worker appends
  // and registers without suspending in between, so its tickets only grow). Touched only on
  // this worker's thread; each waiter lives in its session's coroutine frame.
  struct AuditWaiter {
    uint64_t ticket = 0;
    net::steady_timer* timer = nullptr;
    Status status;
    bool done = false;
  };
  std::deque<AuditWaiter*> audit_waiters;
  // The largest ticket a waiter here has asked for (written by this worker's thread), and the
  // largest `written` the audit writer has posted here (read and written by the writer's
  // thread only): the writer posts to a worker only when it has something to wake.
  std::atomic<uint64_t> audit_wanted{0};
  uint64_t audit_posted = 0;

  // On this worker's thread: the audit writer has made every record up to `written` durable,
  // or (error) will write nothing more. No waiter can arrive after the error: once the writer
  // has failed, Append fails, and a waiter registers right after its Append succeeds.
  void AuditWritten(uint64_t written, const Status& error) {
    while (!audit_waiters.empty() && (audit_waiters.front()->ticket <= written || !error.ok())) {
      AuditWaiter* w = audit_waiters.front();
      audit_waiters.pop_front();
      if (w->ticket > written) w->status = error;
      w->done = true;
      w->timer->cancel();
    }
  }
};

struct Server::Acceptor {
  explicit Acceptor(net::io_context& ioc) : acceptor(ioc) {}
  tcp::acceptor acceptor;
};

namespace {

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// A request refused before screening counts as "none" in the metrics.
constexpr bool Refuses(Action a) { return a >= Action::kDefer; }

std::string_view PathOf(std::string_view target) {
  const size_t q = target.find('?');
  return q == std::string_view::npos ? target : target.substr(0, q);
}

std::string_view BearerToken(const http::request<http::string_body>& req) {
  auto it = req.find(http::field::authorization);
  if (it == req.end()) return {};
  std::string_view v(it->value().data(), it->value().size());
  if (v.size() > 7 && (v.starts_with("Bearer ") || v.starts_with("bearer "))) return v.substr(7);
  return {};
}

// Runs one worker's event loop until it is stopped. With `busy_poll` above zero, the worker keeps
// polling (epoll with a zero timeout) for that long after its last event before it sleeps in
// epoll_wait. A proxied request waits twice: for the upstream's answer and for the client's next
// request. When either comes within the window, nobody has to wake this thread: no
// inter-processor interrupt and no context switch, which on a virtual machine cost more than the
// request's own work. Spinning stops as soon as a gap outlasts the window, so an idle gateway
// sleeps, and it yields the core to any other runnable thread while it polls.
void RunWorker(net::io_context& ioc, std::chrono::microseconds busy_poll) {
  auto guard = net::make_work_guard(ioc);
  if (busy_poll.count() == 0) {
    ioc.run();
    return;
  }
  auto last_event = std::chrono::steady_clock::now();
  while (!ioc.stopped()) {
    if (ioc.poll() > 0) {
      last_event = std::chrono::steady_clock::now();
    } else if (std::chrono::steady_clock::now() - last_event >= busy_poll) {
      ioc.run_one();  // sleeps until the next event
      last_event = std::chrono::steady_clock::now();
    } else {
      // Polling must not keep a runnable thread (a client on this machine, the audit writer)
      // off this core: let it run first. With nothing else runnable this returns at once.
      sched_yield();
    }
  }
}

// How long Session::Drain reads what a refused client is still sending.
constexpr uint32_t kDrainMs = 500;

// How often a worker checks its sockets' time limits: a fifth of the shortest limit, so that a
// limit fires at most 20% late, and at least every 100 ms.
std::chrono::milliseconds SweepPeriod(const GatewayConfig& c) {
  uint32_t shortest = std::min(
      {c.limits.read_timeout_ms, c.limits.idle_timeout_ms, c.upstream.read_timeout_ms, kDrainMs});
  if (!c.defer_upstream.url.empty())
    shortest = std::min(shortest, c.defer_upstream.read_timeout_ms);
  return std::chrono::milliseconds(std::clamp<uint32_t>(shortest / 5, 1, 100));
}

std::string NewRequestId() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  const uint64_t a = rng();
  const uint32_t b = static_cast<uint32_t>(rng());
  std::string id = "req_";
  AppendHex(id, &a, sizeof a);
  AppendHex(id, &b, sizeof b);
  return id;
}

std::string KillMessage(const control::KillEntry& k) {
  std::string m = "Stopped by Warden's kill switch (" + std::string(control::KillScopeName(k.scope));
  if (!k.value.empty()) m += " " + k.value;
  m += ")";
  if (!k.note.empty()) m += ": " + k.note;
  return m + ".";
}

// The value of `name` in a request target's query ("/x?state=pending&y=1" -> "pending"), or
// nullopt when it is absent.
std::optional<std::string_view> QueryParam(std::string_view target, std::string_view name) {
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    std::string_view pair = query.substr(0, query.find('&'));
    query.remove_prefix(std::min(query.size(), pair.size() + 1));
    if (pair.size() > name.size() && pair.starts_with(name) && pair[name.size()] == '=') {
      return pair.substr(name.size() + 1);
    }
  }
  return std::nullopt;
}

// "/apr_x/approve" -> {"apr_x", "approve"}; "/apr_x" -> {"apr_x", ""}.
std::pair<std::string_view, std::string_view> SplitIdAndAction(std::string_view rest) {
  std::string_view id = rest.substr(1);
  const size_t slash = id.find('/');
  if (slash == std::string_view::npos) return {id, {}};
  return {id.substr(0, slash), id.substr(slash + 1)};
}

// {"<key>":[<to_json(item)>,...]}
template <typename T, typename ToJson>
std::string JsonList(std::string_view key, const std::vector<T>& items, ToJson to_json) {
  std::string body = "{\"";
  body.append(key);
  body.append("\":[");
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) body.push_back(',');
    body.append(to_json(items[i]));
  }
  body.append("]}");
  return body;
}

}  // namespace

// Serves one client connection: reads requests, dispatches them, keeps the connection alive.
class Session {
 public:
  Session(Server& server, Server::Worker& worker, tcp::socket socket)
      : server_(server),
        worker_(worker),
        config_(server.config_),
        stream_(std::move(socket)),
        deadline_(worker.deadlines, [this] {
          error_code ignored;
          stream_.socket().close(ignored);
        }) {}

  Task<void> Run();

  // Called on this session's worker thread when a kill switch stops its stream.
  void Interrupt() {
    killed_ = true;
    if (live_exchange_) live_exchange_->Cancel();
  }
  std::string_view key_name() const { return key_name_; }
  std::string_view tenant() const { return tenant_; }

 private:
  struct Reply {
    unsigned status = 200;
    std::string body;
    std::string content_type = "application/json";
    std::optional<Action> action;
    std::string verdict_header;  // X-Warden-Verdict
    int64_t retry_after_s = 0;   // Retry-After on 429
    std::string approval_id;     // X-Warden-Approval
    std::vector<std::pair<std::string, std::string>> headers;  // more headers (the dashboard's)
  };

  Task<bool> Handle(http::request<http::string_body>& req);
  Task<void> Drain();
  // Sends reply_. Replies travel in a member, never as a coroutine argument: g++ 12 mishandles
  // non-trivial temporaries inside co_await expressions (double destruction).
  Task<bool> SendReply(const http::request<http::string_body>& req);
  Task<bool> SendError(unsigned status, std::string_view message, std::string_view type,
                       std::string_view code, bool keep_alive);
  Task<bool> ChatCompletions(http::request<http::string_body>& req, const Guard& guard,
                             std::string_view tenant);
  Task<bool> Stream(http::request<http::string_body>& req, UpstreamExchange& ex,
                    const Guard& guard, std::string_view tenant, Conversation& conversation,
                    Action request_action);
  Task<bool> RefuseAsStream(const http::request<http::string_body>& req, const ChatScreen& s);
  // The text a refused turn shows: the deciding rule's `message` when the policy gives one
  // (it says why), else the configured `refusal`.
  const std::string& RefusalText(const ChatScreen& s) const {
    return s.verdict.message.empty() ? config_.refusal : s.verdict.message;
  }
  Task<bool> Models(http::request<http::string_body>& req);
  // These two set reply_.
  Task<void> Moderations(const http::request<http::string_body>& req, const Guard& guard,
                         std::string_view tenant);
  Task<void> Check(const http::request<http::string_body>& req, const Guard& guard,
                   std::string_view tenant);
  // Runs `screen(false)` here, which screens without the slow scorers (the sentence encoder, a
  // judge) and returns false when a text needs one; then `screen(true)` on the server's pool
  // for slow checks, so that milliseconds of encoding or a judge's round trip do not hold up
  // the other connections this worker serves. Most traffic ends after the first call.
  template <typename Screen>
  Task<void> ScreenOffThread(Screen& screen);
  // Runs `work` on the pool for slow checks while this coroutine waits, and resumes on the
  // worker: for policy compiles and other admin work that takes long enough to stall the
  // worker's other connections.
  template <typename Work>
  Task<void> OffWorker(Work& work);
  // ScreenChatRequest or ScreenChatResponse (`screen_body`) of `body` through ScreenOffThread,
  // into `result`.
  template <typename ScreenBody>
  Task<void> ScreenChat(ScreenBody screen_body, std::string_view body, const Guard& guard,
                        const ScreenOptions& options, std::optional<StatusOr<ChatScreen>>& result);
  // Re-reads and compiles every policy (classifier models included) on the pool for slow checks.
  Task<void> Reload();
  // The admin API (docs/agent-control.md): kill switches and approvals.
  Task<bool> Admin(http::request<http::string_body>& req, std::string_view path);
  Reply AdminKill(const http::request<http::string_body>& req, bool revive);
  Reply AdminApprovals(const http::request<http::string_body>& req, std::string_view rest);
  // The dashboard (/ui, /admin/api/…, docs/dashboard.md).
  Task<bool> Ui(http::request<http::string_body>& req, std::string_view path);
  // Audit: queue a record for this request; SendReply makes them durable before it answers.
  // Also describes the decision for the dashboard, with `text` (the text decided on, when known)
  // redacted there; PublishEvents shows it once the reply is on its way.
  void Record(const Verdict& v, Direction direction, std::string_view tool = {},
              std::string_view text = {});
  Task<Status> CommitAudit();
  void PublishEvents() {
    if (server_.dashboard_ && !events_.empty()) server_.dashboard_->Publish(events_);
  }
  void ClearAudit() {
    audit_bodies_.clear();
    audit_sizes_.clear();
    audit_refused_ = OkStatus();
  }
  // Sends the interaction to the review queue when a rule escalated it or the review budget
  // picks it (docs/oversight.md).
  void QueueForReview(const Verdict& v, Direction direction, std::string_view text);
  Reply AdminReviews(const http::request<http::string_body>& req, std::string_view rest);
  static Reply AdminError(unsigned status, std::string message, std::string_view code);
  // 405 naming the method the admin endpoint takes ("GET", "POST").
  static Reply WrongMethod(std::string_view allowed);
  static Reply StoreFailure(const Status& st, std::string_view not_found,
                            std::string_view conflict);
  // Agent control on a chat completion: kill switch and rate limits before screening.
  // May turn `in` into a kill-switch verdict (refused like a block) or return a 429/503 reply.
  std::optional<Reply> RefuseByControl(ChatScreen& in);
  // Tool calls in a non-streamed response: takes out refused calls, holds the ones that need
  // approval until a human decides. May replace `reply_` with a 429.
  Task<bool> GovernToolCalls(ChatScreen& out, std::string& body, const std::string& model,
                             const std::string& request_hash, bool& calls_removed);
  Task<control::ApprovalState> WaitForDecision(const std::string& id);
  std::vector<control::LimitSubject> Subjects() const;
  Reply UpstreamFailure(const Status& s);
  // The request to send upstream: `upstream` is config_.upstream, or config_.defer_upstream for
  // a deferred request.
  http::request<http::string_body> UpstreamRequest(const http::request<http::string_body>& req,
                                                   http::verb method, std::string body,
                                                   const UpstreamConfig& upstream);

  Server& server_;
  Server::Worker& worker_;
  const GatewayConfig& config_;
  beast::tcp_stream stream_;
  Deadline deadline_;  // of the client read or write in progress
  beast::flat_buffer buffer_;
  Endpoint endpoint_ = Endpoint::kOther;
  Reply reply_;
  Clock::time_point start_;
  // Who is asking (set by Handle) and what this request has decided so far.
  const ApiKey* api_key_ = nullptr;
  std::string_view key_name_;
  std::string_view tenant_;
  std::string request_id_;
  // This request's decisions, serialized as they are made (AppendDecisionBody), for one
  // AppendBodies; `audit_refused_` if one could not be.
  std::string audit_bodies_;
  std::vector<uint32_t> audit_sizes_;
  Status audit_refused_;
  // This request's decisions for the dashboard, not yet published.
  std::vector<dashboard::Event> events_;
  // The policy and review budget this request is screened under (null for admin traffic).
  const Guard* guard_ = nullptr;
  oversight::BudgetController* budget_ = nullptr;
  // Streams: the upstream exchange in progress, and whether a kill switch ended it.
  UpstreamExchange* live_exchange_ = nullptr;
  bool killed_ = false;
};

void Session::Record(const Verdict& v, Direction direction, std::string_view tool,
                     std::string_view text) {
  if (server_.dashboard_) {
    events_.push_back(server_.dashboard_->Describe(
        v, direction, tool, text,
        {.request_id = request_id_, .key = key_name_, .tenant = tenant_}));
  }
  QueueForReview(v, direction, text);
  if (!server_.audit_) return;
  const Message m{.direction = direction, .tool_name = tool, .tenant = tenant_};
  const size_t before = audit_bodies_.size();
  Status st = audit::AppendDecisionBody(
      v, m, {.request_id = request_id_, .key = key_name_, .tenant = tenant_},
      audit::SystemClockMicros(), audit_bodies_);
  if (st.ok()) {
    audit_sizes_.push_back(static_cast<uint32_t>(audit_bodies_.size() - before));
  } else if (audit_refused_.ok()) {
    audit_refused_ = std::move(st);
  }
}

void Session::QueueForReview(const Verdict& v, Direction direction, std::string_view text) {
  if (!guard_ || !server_.control_) return;
  // The review budget sees every screened interaction its policy counts, and picks the most
  // suspicious fraction; a rule's escalate always goes to review.
  double suspicion = -1;
  oversight::BudgetDecision picked;
  if (budget_) {
    suspicion = guard_->Suspicion(v, direction);
    if (suspicion >= 0) picked = budget_->Observe(tenant_, suspicion);
  }
  const bool by_rule = v.action == Action::kEscalate;
  if (!by_rule && !picked.escalate) return;
  control::ReviewItem item{.id = control::NewReviewId(),
                           .created_us = control::NowMicros(),
                           .request_id = request_id_,
                           .key = std::string(key_name_),
                           .tenant = std::string(tenant_),
                           .direction = std::string(DirectionName(direction)),
                           .action = std::string(ActionName(v.action)),
                           .rule = v.rule,
                           .reason = by_rule ? "rule" : "budget",
                           .suspicion = std::max(0.0, suspicion),
                           .threshold = picked.escalate ? picked.threshold : 0};
  // Reviewers see the text with personal data and secrets masked, as the dashboard shows it.
  bool truncated = false;
  for (const dashboard::Segment& seg :
       dashboard::RedactedSegments(text, v.findings, 8192, &truncated)) {
    item.text += seg.masked ? "[" + seg.finding + "]" : seg.text;
  }
  AppendJsonScores(item.scores_json, v.scores);
  if (Status st = server_.control_->AddReview(item); !st.ok()) {
    std::cerr << "warden serve: review queue: " << st.message() << "\n";
  }
}

Task<Status> Session::CommitAudit() {
  if (!audit_refused_.ok()) {
    Status refused = std::move(audit_refused_);
    ClearAudit();
    co_return refused;
  }
  if (audit_sizes_.empty() || !server_.audit_) co_return OkStatus();
  uint64_t ticket = 0;
  Status queued = server_.audit_->AppendBodies(audit_bodies_, audit_sizes_, &ticket);
  ClearAudit();
  if (!queued.ok()) co_return queued;
  // The answer waits until its records are durable: a client never sees a decision that the
  // log could lose. Batches are written in order, so the last ticket covers the others. The
  // writer reports each committed transaction once (Server::Create); this worker then wakes
  // every waiter the transaction covered.
  Server::Worker& w = worker_;
  // Announce the ticket, then look at what is durable; the writer stores what is durable, then
  // looks at what is wanted. Sequentially consistent, so one side always sees the other.
  w.audit_wanted.store(ticket);
  if (server_.audit_durable_.load() >= ticket) co_return OkStatus();
  net::steady_timer timer(stream_.get_executor(), net::steady_timer::time_point::max());
  Server::Worker::AuditWaiter waiter{.ticket = ticket, .timer = &timer};
  w.audit_waiters.push_back(&waiter);
  while (!waiter.done) {
    error_code ec;
    co_await timer.async_wait(NoThrow(ec));
  }
  co_return waiter.status;
}

Task<bool> Session::SendReply(const http::request<http::string_body>& req) {
  if (Status st = co_await CommitAudit(); !st.ok()) {
    // Fail closed: a decision that could not be recorded is not delivered.
    reply_ = Reply{.status = 503,
                   .body = ErrorJson("the audit log cannot record this decision: " + st.message(),
                                     "server_error", "audit_unavailable")};
  }
  Reply reply = std::move(reply_);
  reply_ = Reply{};
  http::response<http::string_body> res{static_cast<http::status>(reply.status), req.version()};
  res.set(http::field::server, "warden");
  res.set(http::field::content_type, reply.content_type);
  if (!reply.verdict_header.empty()) res.set("X-Warden-Verdict", reply.verdict_header);
  if (!request_id_.empty()) res.set("X-Request-Id", request_id_);
  if (reply.retry_after_s > 0) res.set(http::field::retry_after, std::to_string(reply.retry_after_s));
  if (!reply.approval_id.empty()) res.set("X-Warden-Approval", reply.approval_id);
  for (const auto& [name, value] : reply.headers) res.insert(name, value);
  const bool keep_alive = req.keep_alive() && !server_.stopping_.load() && reply.status != 413 &&
                          reply.status != 431;
  res.keep_alive(keep_alive);
  res.body() = std::move(reply.body);
  res.prepare_payload();
  server_.metrics_.CountRequest(endpoint_, reply.action, reply.status);
  error_code ec;
  deadline_.ExpireAfter(std::chrono::milliseconds(config_.limits.read_timeout_ms));
  co_await http::async_write(stream_, res, NoThrow(ec));
  deadline_.Clear();
  server_.metrics_.total.Observe(Seconds(start_));
  co_return !ec && keep_alive;
}

Task<bool> Session::SendError(unsigned status, std::string_view message, std::string_view type,
                              std::string_view code, bool keep_alive) {
  http::request<http::string_body> fake;
  fake.version(11);
  fake.keep_alive(keep_alive);
  reply_ = Reply{.status = status, .body = ErrorJson(message, type, code)};
  co_return co_await SendReply(fake);
}

// After an early 413 the client is usually still sending its body; closing with unread data
// would reset the connection and the client would never see the answer. Read and discard a
// bounded amount for a short while first.
Task<void> Session::Drain() {
  error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  deadline_.ExpireAfter(std::chrono::milliseconds(kDrainMs));
  std::string scratch(16384, '\0');
  size_t total = 0;
  while (!ec && total < (8u << 20)) {
    total += co_await stream_.async_read_some(net::buffer(scratch), NoThrow(ec));
  }
  deadline_.Clear();
}

Task<void> Session::Run() {
  server_.metrics_.open_connections.fetch_add(1, std::memory_order_relaxed);
  bool first = true;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(config_.limits.max_header_bytes);
    parser.body_limit(config_.limits.max_body_bytes);
    error_code ec;
    deadline_.ExpireAfter(std::chrono::milliseconds(first ? config_.limits.read_timeout_ms
                                                          : config_.limits.idle_timeout_ms));
    co_await http::async_read_header(stream_, buffer_, parser, NoThrow(ec));
    deadline_.Clear();
    if (ec == http::error::header_limit) {
      co_await SendError(431, "request headers are too large", "invalid_request_error",
                         "headers_too_large", false);
      break;
    }
    if (ec == http::error::body_limit) {
      // Content-Length above the limit is rejected while the header is parsed.
      co_await SendError(413, "request body is too large", "invalid_request_error",
                         "request_too_large", false);
      co_await Drain();
      break;
    }
    if (ec) break;  // closed, timed out or garbage: nothing useful can be answered
    endpoint_ = Endpoint::kOther;
    start_ = Clock::now();
    if (parser.content_length() && *parser.content_length() > config_.limits.max_body_bytes) {
      const std::string message = "request body is larger than " +
                                  std::to_string(config_.limits.max_body_bytes) + " bytes";
      co_await SendError(413, message, "invalid_request_error", "request_too_large", false);
      co_await Drain();
      break;
    }
    deadline_.ExpireAfter(std::chrono::milliseconds(config_.limits.read_timeout_ms));
    if (auto expect = parser.get().find(http::field::expect);
        expect != parser.get().end() && beast::iequals(expect->value(), "100-continue")) {
      // curl sends bodies over 1 KiB only after this (or after a 1 s pause).
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      co_await net::async_write(stream_, net::buffer(kContinue), NoThrow(ec));
      if (ec) break;
    }
    // The body usually arrives in the header's packet: parse what is buffered, and read only if
    // more is needed. A read would complete at once, but through one more event-loop turn.
    parser.eager(true);
    while (!parser.is_done() && buffer_.size() > 0) {
      const size_t used = parser.put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == http::error::need_more) ec = {};
      if (ec || used == 0) break;
    }
    if (!ec && !parser.is_done()) co_await http::async_read(stream_, buffer_, parser, NoThrow(ec));
    deadline_.Clear();
    if (ec == http::error::body_limit) {
      co_await SendError(413, "request body is too large", "invalid_request_error",
                         "request_too_large", false);
      co_await Drain();
      break;
    }
    if (ec) break;
    first = false;
    http::request<http::string_body> req = parser.release();
    server_.in_flight_.fetch_add(1);
    const bool keep_alive = co_await Handle(req);
    PublishEvents();
    server_.in_flight_.fetch_sub(1);
    if (!keep_alive) break;
  }
  error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  server_.metrics_.open_connections.fetch_sub(1, std::memory_order_relaxed);
}

Task<bool> Session::Handle(http::request<http::string_body>& req) {
  const std::string_view path = PathOf(std::string_view(req.target().data(), req.target().size()));
  const http::verb method = req.method();
  if (path == "/healthz" || path == "/readyz") {
    endpoint_ = Endpoint::kHealth;
    if (path == "/readyz" && server_.stopping_.load()) {
      reply_ = Reply{.status = 503, .body = "{\"status\":\"stopping\"}"};
      co_return co_await SendReply(req);
    }
    if (path == "/readyz" && server_.audit_) {
      // A log that cannot take records means requests wait (when_full: block) or are refused.
      const audit::WriterStats st = server_.audit_->stats();
      if (!st.store_available || !st.error.ok()) {
        std::string body = "{\"status\":\"unavailable\",\"audit\":";
        AppendJsonString(
            body, !st.error.ok() ? st.error.message() : "the audit store is failing; retrying");
        body.append(",\"audit_queued\":");
        AppendJsonUint(body, st.queued);
        body.push_back('}');
        reply_ = Reply{.status = 503, .body = std::move(body)};
        co_return co_await SendReply(req);
      }
    }
    if (path == "/readyz" && server_.control_ && !server_.control_ok_.load()) {
      // The gateway says what it does about it: refuse (fail closed) or carry on (fail open).
      std::string body = "{\"status\":";
      body.append(config_.control.fail_closed ? "\"unavailable\"" : "\"degraded\"");
      body.append(",\"control\":");
      {
        std::lock_guard<std::mutex> lock(server_.control_mu_);
        AppendJsonString(body, server_.control_error_);
      }
      body.append(",\"on_store_error\":");
      body.append(config_.control.fail_closed ? "\"fail_closed\"}" : "\"fail_open\"}");
      reply_ = Reply{.status = config_.control.fail_closed ? 503u : 200u, .body = std::move(body)};
      co_return co_await SendReply(req);
    }
    reply_ = Reply{.status = 200, .body = "{\"status\":\"ok\"}"};
    co_return co_await SendReply(req);
  }
  if (path == "/metrics") {
    endpoint_ = Endpoint::kMetrics;
    reply_ = Reply{.status = 200,
                   .body = server_.metrics_.Render() + server_.StateMetrics(),
                   .content_type = "text/plain; version=0.0.4; charset=utf-8"};
    co_return co_await SendReply(req);
  }
  request_id_ = NewRequestId();
  guard_ = nullptr;
  budget_ = nullptr;
  api_key_ = nullptr;
  key_name_ = {};
  tenant_ = {};
  ClearAudit();
  if (path == "/ui" || path.starts_with("/ui/") || path.starts_with("/admin/api/")) {
    endpoint_ = Endpoint::kAdmin;
    key_name_ = "admin";
    co_return co_await Ui(req, path);
  }
  if (path.starts_with("/admin/")) {
    endpoint_ = Endpoint::kAdmin;
    co_return co_await Admin(req, path);
  }
  // Client endpoints: authenticate first, then pick the key's policy.
  std::string_view tenant;
  std::string policy_path;
  if (!server_.keys_by_hash_.empty()) {
    const std::string_view token = BearerToken(req);
    auto it = token.empty() ? server_.keys_by_hash_.end()
                            : server_.keys_by_hash_.find(Sha256Hex(token));
    if (it == server_.keys_by_hash_.end()) {
      endpoint_ = Endpoint::kOther;
      reply_ = Reply{.status = 401,
                .body = ErrorJson(token.empty() ? "You didn't provide an API key."
                                                : "Incorrect API key provided.",
                                  "invalid_request_error", "invalid_api_key")};
      co_return co_await SendReply(req);
    }
    api_key_ = it->second;
    key_name_ = api_key_->name;
    tenant_ = api_key_->tenant;
    tenant = it->second->tenant;
    policy_path = it->second->policy;
  }
  // Keep the policy set alive for the whole request, even across a reload.
  const std::shared_ptr<const PolicySet> policies = server_.policies_.load();
  const Guard& guard = policy_path.empty() ? policies->default_guard : policies->For(policy_path);
  guard_ = &guard;
  budget_ = policies->BudgetFor(policy_path);
  if (path == "/v1/chat/completions") {
    endpoint_ = Endpoint::kChatCompletions;
    if (method != http::verb::post) {
      reply_ = WrongMethod("POST");
      co_return co_await SendReply(req);
    }
    co_return co_await ChatCompletions(req, guard, tenant);
  }
  if (path == "/v1/moderations") {
    endpoint_ = Endpoint::kModerations;
    if (method != http::verb::post) {
      reply_ = WrongMethod("POST");
      co_return co_await SendReply(req);
    }
    co_await Moderations(req, guard, tenant);
    co_return co_await SendReply(req);
  }
  if (path == "/v1/check") {
    endpoint_ = Endpoint::kCheck;
    if (method != http::verb::post) {
      reply_ = WrongMethod("POST");
      co_return co_await SendReply(req);
    }
    co_await Check(req, guard, tenant);
    co_return co_await SendReply(req);
  }
  if (path == "/v1/models" || path.starts_with("/v1/models/")) {
    endpoint_ = Endpoint::kModels;
    if (method != http::verb::get) {
      reply_ = WrongMethod("GET");
      co_return co_await SendReply(req);
    }
    co_return co_await Models(req);
  }
  reply_ = Reply{.status = 404,
            .body = ErrorJson("Unknown request URL: " + std::string(req.method_string()) + " " +
                                  std::string(path),
                              "invalid_request_error", "unknown_url")};
  co_return co_await SendReply(req);
}

template <typename Screen>
Task<void> Session::ScreenOffThread(Screen& screen) {
  if (screen(false)) co_return;
  server_.metrics_.slow_screenings.fetch_add(1, std::memory_order_relaxed);
  auto slow = [&screen] { screen(true); };
  co_await OffWorker(slow);
}

template <typename Work>
Task<void> Session::OffWorker(Work& work) {
  // This coroutine waits on its worker while `work` runs on the pool, and resumes here.
  co_await net::co_spawn(
      *server_.slow_checks_,
      [&work]() -> Task<void> {
        work();
        co_return;
      },
      net::use_awaitable);
}

template <typename ScreenBody>
Task<void> Session::ScreenChat(ScreenBody screen_body, std::string_view body, const Guard& guard,
                               const ScreenOptions& options,
                               std::optional<StatusOr<ChatScreen>>& result) {
  auto screen = [&](bool allow_slow) {
    ScreenOptions o = options;
    o.without_slow_scorers = !allow_slow;
    result.emplace(screen_body(body, guard, o));
    return !(result->ok() && (*result)->needs_slow_scorers);
  };
  co_await ScreenOffThread(screen);
}

Task<void> Session::Moderations(const http::request<http::string_body>& req, const Guard& guard,
                                std::string_view tenant) {
  std::string model = "warden-moderation";
  auto inputs = ParseModerationInput(req.body(), &model);
  if (!inputs.ok()) {
    reply_ = {
        .status = 400,
        .body = ErrorJson(inputs.status().message(), "invalid_request_error", "invalid_input")};
    co_return;
  }
  const auto screen_start = Clock::now();
  // Inputs already screened keep their verdicts when the rest moves to the slow pool.
  std::vector<Verdict> verdicts;
  auto screen = [&](bool allow_slow) {
    for (size_t i = verdicts.size(); i < inputs->size(); ++i) {
      std::optional<Verdict> v = CheckMessage(
          guard, {.text = (*inputs)[i], .direction = Direction::kInput, .tenant = tenant}, {},
          !allow_slow);
      if (!v) return false;
      verdicts.push_back(std::move(*v));
    }
    return true;
  };
  co_await ScreenOffThread(screen);
  std::string out;
  out.reserve(1024 * inputs->size());
  out.append("{\"id\":\"modr-warden\",\"model\":");
  AppendJsonString(out, model);
  out.append(",\"results\":[");
  Action worst = Action::kAllow;
  for (size_t i = 0; i < inputs->size(); ++i) {
    const Verdict& v = verdicts[i];
    worst = std::max(worst, v.action);
    Record(v, Direction::kInput, {}, (*inputs)[i]);
    if (i) out.push_back(',');
    AppendModerationResult(out, v, config_.moderation_threshold);
  }
  out.append("]}");
  server_.metrics_.screening.Observe(Seconds(screen_start));
  reply_ = {.status = 200,
            .body = std::move(out),
            .action = worst,
            .verdict_header = std::string(ActionName(worst))};
}

Task<void> Session::Check(const http::request<http::string_body>& req, const Guard& guard,
                          std::string_view tenant) {
  auto parsed = ParseCheckRequest(req.body());
  if (!parsed.ok()) {
    reply_ = {
        .status = 400,
        .body = ErrorJson(parsed.status().message(), "invalid_request_error", "invalid_input")};
    co_return;
  }
  const CheckRequest& c = *parsed;
  const auto screen_start = Clock::now();
  std::optional<Verdict> v;
  auto screen = [&](bool allow_slow) {
    v = CheckMessage(guard,
                     {.text = c.text,
                      .role = c.role,
                      .direction = c.direction,
                      .tool_name = c.tool_name,
                      .tool_arguments = c.tool_arguments,
                      .tenant = c.tenant.empty() ? tenant : c.tenant},
                     {}, !allow_slow);
    return v.has_value();
  };
  co_await ScreenOffThread(screen);
  server_.metrics_.screening.Observe(Seconds(screen_start));
  Record(*v, c.direction, c.tool_name, c.text);
  reply_ = {.status = 200,
            .body = VerdictToJson(*v),
            .action = v->action,
            .verdict_header = std::string(ActionName(v->action))};
}

Task<bool> Session::Admin(http::request<http::string_body>& req, std::string_view path) {
  const http::verb method = req.method();
  key_name_ = "admin";
  if (config_.admin_token_sha256.empty()) {
    reply_ = Reply{.status = 404,
                   .body = ErrorJson("admin endpoints are disabled (no admin token configured)",
                                     "invalid_request_error", "admin_disabled")};
    co_return co_await SendReply(req);
  }
  // The admin token as a Bearer header, or a dashboard session with its CSRF header.
  if (server_.dashboard_->Authorize(req) != dashboard::AuthResult::kOk) {
    // Failed admin logins are decisions too: someone tried to change the gateway.
    Record(GatewayVerdict(Action::kBlock, "admin-auth-failed",
                          std::string(req.method_string()) + " " + std::string(path)),
           Direction::kInput);
    reply_ = Reply{.status = 401,
                   .body = ErrorJson("invalid admin token", "invalid_request_error",
                                     "invalid_api_key")};
    co_return co_await SendReply(req);
  }
  if (path == "/admin/reload") {
    if (method != http::verb::post) {
      reply_ = WrongMethod("POST");
    } else {
      co_await Reload();
      Record(GatewayVerdict(reply_.status == 200 ? Action::kAllow : Action::kBlock,
                            "admin-reload", reply_.status == 200 ? "policy reloaded"
                                                                 : "policy rejected"),
             Direction::kInput);
    }
    co_return co_await SendReply(req);
  }
  const bool kill_path = path == "/admin/kill" || path == "/admin/kills";
  const bool approvals_path = path == "/admin/approvals" || path.starts_with("/admin/approvals/");
  if ((kill_path || path == "/admin/revive" || approvals_path) && !server_.control_) {
    reply_ = Reply{.status = 404,
                   .body = ErrorJson("agent control is off: set control.store in the gateway "
                                     "config (sqlite:PATH or redis://HOST:PORT)",
                                     "invalid_request_error", "control_disabled")};
    co_return co_await SendReply(req);
  }
  if (kill_path || path == "/admin/revive") {
    if (method == http::verb::get && path != "/admin/revive") {
      auto kills = server_.control_->Kills();
      if (!kills.ok()) {
        reply_ = Reply{.status = 503, .body = ErrorJson(kills.status().message(), "server_error",
                                                        "control_unavailable")};
      } else {
        std::string body = "{\"kills\":[";
        for (size_t i = 0; i < kills->size(); ++i) {
          if (i) body.push_back(',');
          body.append(control::KillEntryToJson((*kills)[i]));
        }
        body.append("]}");
        reply_ = Reply{.status = 200, .body = std::move(body)};
      }
    } else if (method != http::verb::post) {
      reply_ = WrongMethod(path == "/admin/revive" ? "POST" : "GET or POST");
    } else {
      reply_ = AdminKill(req, path == "/admin/revive");
    }
    co_return co_await SendReply(req);
  }
  if (approvals_path) {
    reply_ = AdminApprovals(req, path.substr(std::string_view("/admin/approvals").size()));
    co_return co_await SendReply(req);
  }
  if (path == "/admin/reviews" || path.starts_with("/admin/reviews/")) {
    if (!server_.control_) {
      reply_ = Reply{.status = 404,
                     .body = ErrorJson("the review queue needs control.store in the gateway "
                                       "config (sqlite:PATH or redis://HOST:PORT)",
                                       "invalid_request_error", "control_disabled")};
    } else {
      reply_ = AdminReviews(req, path.substr(std::string_view("/admin/reviews").size()));
    }
    co_return co_await SendReply(req);
  }
  reply_ = Reply{.status = 404,
                 .body = ErrorJson("unknown admin endpoint " + std::string(path) +
                                       " (see docs/agent-control.md)",
                                   "invalid_request_error", "unknown_url")};
  co_return co_await SendReply(req);
}

Task<bool> Session::Ui(http::request<http::string_body>& req, std::string_view path) {
  dashboard::UiResponse r;
  auto handle = [&] { r = server_.dashboard_->Handle(req, path); };
  if (dashboard::Dashboard::IsSlow(path)) {
    co_await OffWorker(handle);
  } else {
    handle();
  }
  for (const auto& [verdict, tool] : r.audit) Record(verdict, Direction::kInput, tool);
  if (r.feed) {
    (void)co_await CommitAudit();
    server_.metrics_.CountRequest(endpoint_, std::nullopt, 200);
    co_return co_await server_.dashboard_->ServeFeed(stream_, req);
  }
  reply_ = Reply{.status = r.status,
                 .body = std::move(r.body),
                 .content_type = std::move(r.content_type),
                 .headers = std::move(r.headers)};
  co_return co_await SendReply(req);
}

Task<void> Session::Reload() {
  Status s = OkStatus();
  auto reload = [&] { s = server_.ReloadPolicies(); };
  co_await OffWorker(reload);
  if (!s.ok()) {
    reply_ = {.status = 400,
              .body = ErrorJson(s.message(), "invalid_request_error", "invalid_policy")};
  } else {
    reply_ = {.status = 200, .body = "{\"status\":\"reloaded\"}"};
  }
}

Session::Reply Session::AdminKill(const http::request<http::string_body>& req, bool revive) {
  auto bad = [](std::string message) {
    return Reply{.status = 400,
                 .body = ErrorJson(message, "invalid_request_error", "invalid_request")};
  };
  simdjson::dom::element doc;
  if (ThreadParser().parse(req.body()).get(doc) || !doc.is_object()) {
    return bad("expected a JSON object like {\"scope\":\"tenant\",\"value\":\"acme\"}");
  }
  std::string_view scope_name = "all", value, note;
  if (auto e = doc["scope"]; e.error() != simdjson::NO_SUCH_FIELD) {
    if (e.get_string().get(scope_name)) return bad("scope: expected a string");
  }
  if (auto e = doc["value"]; e.error() != simdjson::NO_SUCH_FIELD) {
    if (e.get_string().get(value)) return bad("value: expected a string");
  }
  if (auto e = doc["note"]; e.error() != simdjson::NO_SUCH_FIELD) {
    if (e.get_string().get(note)) return bad("note: expected a string");
  }
  const auto scope = control::ParseKillScope(scope_name);
  if (!scope) return bad("scope: expected all, key, tenant or tool");
  if (*scope != control::KillScope::kAll && value.empty()) {
    return bad("value: name the " + std::string(scope_name) + " to " + (revive ? "revive" : "stop"));
  }
  if (*scope == control::KillScope::kAll && !value.empty()) {
    return bad("value: scope all takes no value");
  }
  Status st;
  int revived = 0;
  if (revive) {
    auto n = server_.control_->Revive(*scope, value);
    st = n.status();
    if (n.ok()) revived = *n;
  } else {
    st = server_.control_->Kill({.scope = *scope,
                                 .value = std::string(value),
                                 .time_us = control::NowMicros(),
                                 .note = std::string(note)});
  }
  if (!st.ok()) {
    return {.status = 503, .body = ErrorJson(st.message(), "server_error", "control_unavailable")};
  }
  // Take effect now on this gateway; the others see it at their next poll.
  (void)server_.RefreshControl();
  std::string what = std::string(scope_name);
  if (!value.empty()) what += " " + std::string(value);
  Record(GatewayVerdict(revive ? Action::kAllow : Action::kKill,
                        revive ? "admin-revive" : "admin-kill",
                        what + (note.empty() ? "" : ": " + std::string(note))),
         Direction::kInput, *scope == control::KillScope::kTool ? value : std::string_view());
  std::string body = revive ? "{\"status\":\"revived\",\"removed\":" + std::to_string(revived)
                            : std::string("{\"status\":\"killed\"");
  body.append(",\"scope\":");
  AppendJsonString(body, scope_name);
  body.append(",\"value\":");
  AppendJsonString(body, value);
  body.push_back('}');
  return {.status = 200, .body = std::move(body)};
}

Session::Reply Session::AdminError(unsigned status, std::string message, std::string_view code) {
  return {.status = status, .body = ErrorJson(message, "invalid_request_error", code)};
}

Session::Reply Session::WrongMethod(std::string_view allowed) {
  return AdminError(405, "method not allowed; use " + std::string(allowed), "method_not_allowed");
}

// A control store error as an admin reply: unknown id 404, already decided 409, store down 503.
Session::Reply Session::StoreFailure(const Status& st, std::string_view not_found,
                                     std::string_view conflict) {
  switch (st.code()) {
    case StatusCode::kNotFound:
      return AdminError(404, st.message(), not_found);
    case StatusCode::kFailedPrecondition:
      return AdminError(409, st.message(), conflict);
    default:
      return {.status = 503,
              .body = ErrorJson(st.message(), "server_error", "control_unavailable")};
  }
}

Session::Reply Session::AdminReviews(const http::request<http::string_body>& req,
                                     std::string_view rest) {
  control::ControlStore& store = *server_.control_;
  const http::verb method = req.method();
  const std::string_view target(req.target().data(), req.target().size());
  if (rest.empty() || rest == "/") {
    if (method != http::verb::get) return WrongMethod("GET");
    std::optional<bool> pending = true;  // unlabelled only, unless asked otherwise
    if (auto state = QueryParam(target, "state")) {
      if (*state == "labelled") {
        pending = false;
      } else if (*state == "all") {
        pending.reset();
      } else if (*state != "pending") {
        return AdminError(400, "state: expected pending, labelled or all", "invalid_request");
      }
    }
    auto list = store.ListReviews(pending, 500);
    if (!list.ok()) return StoreFailure(list.status(), "unknown_review", "already_labelled");
    return {.status = 200, .body = JsonList("reviews", *list, control::ReviewItemToJson)};
  }
  const auto [id, action] = SplitIdAndAction(rest);
  if (action.empty()) {
    if (method != http::verb::get) return WrongMethod("GET");
    auto item = store.GetReview(id);
    if (!item.ok()) return StoreFailure(item.status(), "unknown_review", "already_labelled");
    return {.status = 200, .body = control::ReviewItemToJson(*item)};
  }
  if (action != "label") return AdminError(404, "unknown review action (use label)", "unknown_url");
  if (method != http::verb::post) return WrongMethod("POST");
  simdjson::dom::element doc;
  if (ThreadParser().parse(req.body()).get(doc) || !doc.is_object()) {
    return AdminError(400, "expected a JSON object like {\"label\":\"unsafe\",\"note\":\"...\"}",
                      "invalid_request");
  }
  std::string_view label, note, reviewer = "admin";
  for (auto [name, out] : {std::pair<const char*, std::string_view*>{"label", &label},
                           {"note", &note},
                           {"reviewer", &reviewer}}) {
    if (auto e = doc[name]; e.error() != simdjson::NO_SUCH_FIELD && e.get_string().get(*out)) {
      return AdminError(400, std::string(name) + ": expected a string", "invalid_request");
    }
  }
  if (!control::IsReviewLabel(label)) {
    return AdminError(400,
                      "label: expected safe, unsafe, unsure or a taxonomy label (hate, "
                      "self_harm, jailbreak, ...)",
                      "invalid_request");
  }
  auto labelled = store.LabelReview(id, label, reviewer, note);
  if (!labelled.ok()) return StoreFailure(labelled.status(), "unknown_review", "already_labelled");
  Record(GatewayVerdict(Action::kAllow, "admin-review-label",
                        std::string(id) + ": " + std::string(label)),
         Direction::kInput);
  return {.status = 200, .body = control::ReviewItemToJson(*labelled)};
}

Session::Reply Session::AdminApprovals(const http::request<http::string_body>& req,
                                       std::string_view rest) {
  control::ControlStore& store = *server_.control_;
  const http::verb method = req.method();
  const std::string_view target(req.target().data(), req.target().size());
  if (rest.empty() || rest == "/") {
    if (method != http::verb::get) return WrongMethod("GET");
    std::optional<control::ApprovalState> state;
    if (auto name = QueryParam(target, "state")) {
      state = control::ParseApprovalState(*name);
      if (!state) {
        return AdminError(400, "state: expected pending, approved, denied or expired",
                          "invalid_request");
      }
    }
    auto list = store.ListApprovals(state, 500);
    if (!list.ok()) return StoreFailure(list.status(), "unknown_approval", "already_decided");
    return {.status = 200, .body = JsonList("approvals", *list, [](const control::Approval& a) {
                             return control::ApprovalToJson(a, false);
                           })};
  }
  // "/apr_x" or "/apr_x/approve" or "/apr_x/deny"
  const auto [id, action] = SplitIdAndAction(rest);
  if (action.empty()) {
    if (method != http::verb::get) return WrongMethod("GET");
    auto a = store.GetApproval(id);
    if (!a.ok()) return StoreFailure(a.status(), "unknown_approval", "already_decided");
    return {.status = 200, .body = control::ApprovalToJson(*a, true)};
  }
  if (action != "approve" && action != "deny") {
    return AdminError(404, "unknown approval action (use approve or deny)", "unknown_url");
  }
  if (method != http::verb::post) return WrongMethod("POST");
  std::string_view note;
  if (!req.body().empty()) {
    simdjson::dom::element doc;
    if (ThreadParser().parse(req.body()).get(doc) || !doc.is_object()) {
      return AdminError(400, "expected a JSON object like {\"note\":\"...\"}", "invalid_request");
    }
    if (auto e = doc["note"]; e.error() != simdjson::NO_SUCH_FIELD && e.get_string().get(note)) {
      return AdminError(400, "note: expected a string", "invalid_request");
    }
  }
  const bool approve = action == "approve";
  auto decided = store.Decide(
      id, approve ? control::ApprovalState::kApproved : control::ApprovalState::kDenied, note);
  if (!decided.ok()) return StoreFailure(decided.status(), "unknown_approval", "already_decided");
  Record(GatewayVerdict(approve ? Action::kAllow : Action::kBlock,
                        approve ? "admin-approve" : "admin-deny",
                        std::string(id) + (note.empty() ? "" : ": " + std::string(note))),
         Direction::kToolCall, decided->tool);
  return {.status = 200, .body = control::ApprovalToJson(*decided, false)};
}

Session::Reply Session::UpstreamFailure(const Status& s) {
  switch (s.code()) {
    case StatusCode::kDeadlineExceeded:
      server_.metrics_.UpstreamError("timeout");
      return {.status = 504, .body = ErrorJson(s.message(), "upstream_error", "upstream_timeout")};
    case StatusCode::kDataLoss:
      server_.metrics_.UpstreamError("bad_response");
      return {.status = 502,
              .body = ErrorJson(s.message(), "upstream_error", "bad_upstream_response")};
    default:
      server_.metrics_.UpstreamError(s.message().find("connect") != std::string::npos ? "connect"
                                                                                      : "reset");
      return {.status = 502,
              .body = ErrorJson(s.message(), "upstream_error", "upstream_unavailable")};
  }
}

http::request<http::string_body> Session::UpstreamRequest(
    const http::request<http::string_body>& req, http::verb method, std::string body,
    const UpstreamConfig& upstream) {
  const UpstreamUrl& url = upstream.parsed;
  std::string_view path(req.target().data(), req.target().size());
  // The upstream URL is a base like "https://api.openai.com/v1": "/v1/chat/completions" maps to
  // "<base>/chat/completions". A base without a path keeps the client's path.
  std::string target = url.base_path.empty() ? std::string(path)
                                             : url.base_path + std::string(path.substr(3));
  http::request<http::string_body> up{method, target, 11};
  up.set(http::field::content_type, "application/json");
  up.set(http::field::user_agent, "warden-gateway/0.1");
  if (!upstream.api_key.empty()) {
    up.set(http::field::authorization, "Bearer " + upstream.api_key);
  } else if (auto it = req.find(http::field::authorization); it != req.end()) {
    up.set(http::field::authorization, it->value());
  }
  for (beast::string_view name : {"OpenAI-Organization", "OpenAI-Project", "OpenAI-Beta"}) {
    if (auto it = req.find(name); it != req.end()) up.set(name, it->value());
  }
  if (auto it = req.find(http::field::accept); it != req.end()) {
    up.set(http::field::accept, it->value());
  }
  up.body() = std::move(body);
  return up;
}

Task<bool> Session::Models(http::request<http::string_body>& req) {
  if (config_.upstream.url.empty()) {
    reply_ = Reply{.status = 200, .body = "{\"object\":\"list\",\"data\":[]}"};
    co_return co_await SendReply(req);
  }
  http::request<http::string_body> up = UpstreamRequest(req, http::verb::get, "", config_.upstream);
  up.erase(http::field::content_type);
  UpstreamExchange ex(*worker_.pool);
  Status s = co_await ex.Start(up);
  std::string body;
  while (s.ok() && !ex.done()) {
    s = co_await ex.ReadSome(body);
    if (body.size() > config_.limits.max_upstream_response_bytes) {
      s = DataLossError("upstream response too large");
    }
  }
  if (!s.ok()) {
    reply_ = UpstreamFailure(s);
    co_return co_await SendReply(req);
  }
  ex.Finish();
  reply_ = Reply{.status = ex.status(), .body = std::move(body)};
  co_return co_await SendReply(req);
}

Task<bool> Session::RefuseAsStream(const http::request<http::string_body>& req,
                                   const ChatScreen& s) {
  // A client that asked for a stream gets its refusal as a stream: one content chunk, then the
  // content_filter finish and [DONE].
  std::string body = "data: {\"id\":\"chatcmpl-warden\",\"object\":\"chat.completion.chunk\","
                     "\"created\":0,\"model\":";
  AppendJsonString(body, s.model);
  body.append(",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":");
  AppendJsonString(body, RefusalText(s));
  body.append("},\"finish_reason\":null}]}\n\ndata: {\"id\":\"chatcmpl-warden\",\"object\":"
              "\"chat.completion.chunk\",\"created\":0,\"model\":");
  AppendJsonString(body, s.model);
  body.append(",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"content_filter\"}],"
              "\"warden\":");
  body.append(WardenField(s, "request"));
  body.append("}\n\ndata: [DONE]\n\n");
  reply_ = Reply{.status = 200,
                                .body = std::move(body),
                                .content_type = "text/event-stream",
                                .action = s.action,
                                .verdict_header = std::string(ActionName(s.action))};
  co_return co_await SendReply(req);
}

std::vector<control::LimitSubject> Session::Subjects() const {
  std::vector<control::LimitSubject> who;
  if (api_key_) {
    who.push_back({"key", api_key_->name,
                   api_key_->rate_limits ? &*api_key_->rate_limits : &config_.rate_limits.key});
  }
  if (!tenant_.empty()) {
    who.push_back({"tenant", tenant_, &config_.rate_limits.ForTenant(std::string(tenant_))});
  }
  return who;
}

std::optional<Session::Reply> Session::RefuseByControl(ChatScreen& in) {
  const bool fail_closed = config_.control.fail_closed;
  auto store_down = [&](const std::string& why) -> std::optional<Reply> {
    if (!fail_closed) return std::nullopt;
    in.action = Action::kBlock;
    in.verdict = GatewayVerdict(Action::kBlock, "control-unavailable", why);
    return Reply{.status = 503,
                 .body = ErrorJson("agent control is unavailable, so requests are refused "
                                   "(control.on_store_error: fail_closed): " + why,
                                   "server_error", "control_unavailable"),
                 .action = Action::kBlock};
  };
  if (!server_.control_ok_.load()) {
    std::lock_guard<std::mutex> lock(server_.control_mu_);
    if (auto r = store_down(server_.control_error_)) return r;
  }
  if (auto kills = server_.kills_.load()) {
    if (const control::KillEntry* k = kills->MatchTraffic(key_name_, tenant_)) {
      in.action = Action::kKill;
      in.where.clear();
      in.verdict = GatewayVerdict(Action::kKill, "kill-switch", KillMessage(*k));
      return std::nullopt;  // refused like a blocked request, below
    }
  }
  const std::vector<control::LimitSubject> who = Subjects();
  auto hit = server_.limiter_->AdmitRequest(who, control::NowMicros());
  if (!hit.ok()) return store_down(hit.status().message());
  if (!*hit) return std::nullopt;
  const control::LimitHit& h = **hit;
  in.action = Action::kBlock;
  in.verdict = GatewayVerdict(Action::kBlock, "rate-limit:" + h.limit, h.message);
  return Reply{.status = 429,
               .body = ErrorJson(h.message, "requests", "rate_limit_exceeded"),
               .action = Action::kBlock,
               .retry_after_s = h.retry_after_s};
}

Task<control::ApprovalState> Session::WaitForDecision(const std::string& id) {
  control::ControlStore& store = *server_.control_;
  net::steady_timer timer(stream_.get_executor());
  for (;;) {
    StatusOr<control::Approval> a = store.GetApproval(id);
    if (!a.ok()) co_return control::ApprovalState::kDenied;  // fail closed
    if (a->state != control::ApprovalState::kPending) co_return a->state;
    if (control::NowMicros() >= a->expires_us || server_.stopping_.load()) {
      if (server_.stopping_.load()) co_return control::ApprovalState::kPending;
      auto expired = store.Decide(id, control::ApprovalState::kExpired,
                                  "no decision within " +
                                      std::to_string(config_.control.approval_timeout_ms) + " ms");
      if (expired.ok()) co_return control::ApprovalState::kExpired;
      continue;  // decided at the last moment: read the decision
    }
    timer.expires_after(std::chrono::milliseconds(100));
    error_code ec;
    co_await timer.async_wait(NoThrow(ec));
  }
}

bool ApprovedOrAllowedOnTimeout(control::ApprovalState s, bool approve_on_timeout) {
  return s == control::ApprovalState::kApproved ||
         (s == control::ApprovalState::kExpired && approve_on_timeout);
}

Task<bool> Session::GovernToolCalls(ChatScreen& out, std::string& body, const std::string& model,
                                    const std::string& request_hash, bool& calls_removed) {
  std::vector<const ToolCallScreen*> removed;
  std::vector<const ToolCallScreen*> held;
  std::string explanation;
  auto explain = [&](const ToolCallScreen& tc, const std::string& why) {
    if (!explanation.empty()) explanation += "\n";
    explanation += "Warden stopped the tool call " + tc.name + ": " + why;
  };
  const auto kills = server_.kills_.load();
  const std::vector<control::LimitSubject> who = Subjects();
  for (ToolCallScreen& tc : out.tool_calls) {
    if (kills) {
      if (const control::KillEntry* k = kills->MatchTool(tc.name)) {
        tc.verdict = GatewayVerdict(Action::kKill, "kill-switch", KillMessage(*k));
      }
    }
    if (server_.limiter_ && tc.verdict.action < Action::kBlock) {
      auto hit = server_.limiter_->AdmitToolCall(who, tc.name, Sha256Hex(tc.arguments),
                                                 control::NowMicros());
      if (hit.ok() && *hit) {
        const control::LimitHit& h = **hit;
        Record(GatewayVerdict(Action::kBlock, "rate-limit:" + h.limit, h.message),
               Direction::kToolCall, tc.name);
        reply_ = Reply{.status = 429,
                       .body = ErrorJson(h.message, "requests", "rate_limit_exceeded"),
                       .action = Action::kBlock,
                       .retry_after_s = h.retry_after_s};
        co_return false;
      }
    }
    Record(tc.verdict, Direction::kToolCall, tc.name, tc.arguments);
    const Action a = tc.verdict.action;
    if (a == Action::kKill && tc.verdict.rule != "kill-switch" && server_.control_ &&
        !key_name_.empty()) {
      // A tool rule whose action is kill stops the key that made the call, not just the call.
      (void)server_.control_->Kill({.scope = control::KillScope::kKey,
                                    .value = std::string(key_name_),
                                    .time_us = control::NowMicros(),
                                    .note = "rule " + tc.verdict.rule + " on tool " + tc.name});
      (void)server_.RefreshControl();
    }
    const std::string why = !tc.verdict.message.empty() ? tc.verdict.message
                            : !tc.verdict.rule.empty()  ? "refused by rule " + tc.verdict.rule
                                                        : "refused by policy";
    if (a == Action::kRequireApproval && server_.control_) {
      held.push_back(&tc);
    } else if (a == Action::kRequireApproval || Refuses(a)) {
      removed.push_back(&tc);
      explain(tc, a == Action::kRequireApproval
                      ? why + " (it needs approval, and agent control is off)"
                      : why);
    }
  }
  if (!held.empty()) {
    // The response the calls would release, should the humans approve them.
    std::string approved_body = body;
    if (!removed.empty()) {
      auto r = RemoveToolCalls(body, removed, explanation, WardenField(out, "response"));
      if (r.ok()) approved_body = std::move(*r);
    }
    const int64_t now = control::NowMicros();
    std::vector<std::string> ids;
    for (const ToolCallScreen* tc : held) {
      control::Approval a{
          .id = control::NewApprovalId(),
          .created_us = now,
          .expires_us = now + int64_t{config_.control.approval_timeout_ms} * 1000,
          .key = std::string(key_name_),
          .tenant = std::string(tenant_),
          .tool = tc->name,
          .arguments = tc->arguments.substr(0, 64 * 1024),
          .rule = tc->verdict.rule,
          .reason = tc->verdict.message,
          .request_hash = request_hash,
          .response = approved_body};
      if (Status st = server_.control_->CreateApproval(a); !st.ok()) {
        removed.push_back(tc);
        explain(*tc, "it needs approval, and the approval could not be stored (" + st.message() +
                         ")");
        continue;
      }
      ids.push_back(a.id);
      reply_.approval_id += (reply_.approval_id.empty() ? "" : ",") + a.id;
    }
    for (size_t i = 0; i < ids.size(); ++i) {
      const control::ApprovalState state = co_await WaitForDecision(ids[i]);
      if (!ApprovedOrAllowedOnTimeout(state, config_.control.approve_on_timeout)) {
        removed.push_back(held[i]);
        explain(*held[i], state == control::ApprovalState::kDenied
                              ? "a reviewer denied it (approval " + ids[i] + ")"
                              : "nobody approved it in time (approval " + ids[i] + ")");
      }
    }
  }
  if (!removed.empty()) {
    auto r = RemoveToolCalls(body, removed, explanation, WardenField(out, "response"));
    if (!r.ok()) {
      reply_ = Reply{.status = 200,
                     .body = RefusalCompletion(model, explanation, WardenField(out, "response")),
                     .action = out.action};
      co_return false;
    }
    body = std::move(*r);
    calls_removed = true;
  }
  co_return true;
}

Task<bool> Session::ChatCompletions(http::request<http::string_body>& req, const Guard& guard,
                                    std::string_view tenant) {
  Conversation conversation;
  const ScreenOptions options{.tenant = tenant, .conversation = &conversation};
  auto screen_start = Clock::now();
  std::optional<StatusOr<ChatScreen>> request_screen;
  co_await ScreenChat(ScreenChatRequest, req.body(), guard, options, request_screen);
  StatusOr<ChatScreen>& screened = *request_screen;
  server_.metrics_.screening.Observe(Seconds(screen_start));
  if (!screened.ok()) {
    reply_ = Reply{.status = 400,
                   .body = ErrorJson(screened.status().message(), "invalid_request_error",
                                     "invalid_request")};
    co_return co_await SendReply(req);
  }
  ChatScreen& in = *screened;
  if (server_.control_ && !Refuses(in.action)) {
    std::optional<Reply> refused = RefuseByControl(in);
    if (refused) {
      Record(in.verdict, Direction::kInput, {}, in.text);
      reply_ = std::move(*refused);
      co_return co_await SendReply(req);
    }
  }
  Record(in.verdict, Direction::kInput, {}, in.text);
  // `defer` refuses like `block` unless a trusted model is configured to answer instead.
  if (Refuses(in.action) && !(in.action == Action::kDefer && !config_.defer_upstream.url.empty())) {
    if (in.stream) co_return co_await RefuseAsStream(req, in);
    reply_ = Reply{.status = 200,
                   .body = RefusalCompletion(in.model, RefusalText(in), WardenField(in, "request")),
                   .action = in.action,
                   .verdict_header = std::string(ActionName(in.action))};
    co_return co_await SendReply(req);
  }
  // A request whose tool calls were held for approval, sent again (after a timeout or a gateway
  // restart), gets the humans' decision instead of a second trip upstream.
  std::string request_hash;
  if (server_.control_ && guard.info().can_require_approval) {
    request_hash = Sha256Hex(std::string(key_name_) + "\n" + req.body());
    auto found = server_.control_->FindApprovalForRequest(request_hash);
    if (found.ok() && found->has_value()) {
      std::string id = (*found)->id;
      control::ApprovalState state = (*found)->state;
      if (state == control::ApprovalState::kPending) state = co_await WaitForDecision(id);
      if (ApprovedOrAllowedOnTimeout(state, config_.control.approve_on_timeout)) {
        auto a = server_.control_->GetApproval(id);
        if (a.ok()) {
          reply_ = Reply{.status = 200, .body = a->response, .action = Action::kAllow,
                         .verdict_header = "allow", .approval_id = id};
          co_return co_await SendReply(req);
        }
      }
      const std::string why = "Warden stopped the tool call " + (*found)->tool + ": " +
                              (state == control::ApprovalState::kDenied
                                   ? "a reviewer denied it"
                                   : "nobody approved it in time") +
                              " (approval " + id + ")";
      reply_ = Reply{.status = 200, .body = RefusalCompletion(in.model, why, ""),
                     .action = Action::kBlock, .verdict_header = "block", .approval_id = id};
      co_return co_await SendReply(req);
    }
  }
  // A deferred request goes to the trusted model instead, with its `model` replaced.
  const bool deferred = in.action == Action::kDefer;
  const UpstreamConfig& target = deferred ? config_.defer_upstream : config_.upstream;
  if (target.url.empty()) {
    reply_ = Reply{.status = 503,
                   .body = ErrorJson("no upstream is configured (start with --upstream URL)",
                                     "upstream_error", "no_upstream"),
                   .action = in.action};
    co_return co_await SendReply(req);
  }
  std::string forward = in.modified ? std::move(in.body) : req.body();
  if (deferred && !target.model.empty()) {
    auto replaced = ReplaceModel(forward, target.model);
    if (replaced.ok()) forward = std::move(*replaced);
  }
  http::request<http::string_body> up =
      UpstreamRequest(req, http::verb::post, std::move(forward), target);
  UpstreamExchange ex(deferred ? *worker_.defer_pool : *worker_.pool);
  const auto upstream_start = Clock::now();
  Status s = co_await ex.Start(up);
  server_.metrics_.upstream.Observe(Seconds(upstream_start));
  if (!s.ok()) {
    Reply r = UpstreamFailure(s);
    r.action = in.action;
    reply_ = std::move(r);
    co_return co_await SendReply(req);
  }
  auto ct = ex.headers().find(http::field::content_type);
  const bool is_sse = ct != ex.headers().end() &&
                      std::string_view(ct->value().data(), ct->value().size())
                              .find("text/event-stream") != std::string_view::npos;
  if (ex.status() == 200 && is_sse) {
    co_return co_await Stream(req, ex, guard, tenant, conversation, in.action);
  }
  std::string body;
  while (s.ok() && !ex.done()) {
    s = co_await ex.ReadSome(body);
    if (body.size() > config_.limits.max_upstream_response_bytes) {
      s = DataLossError("upstream response is larger than " +
                        std::to_string(config_.limits.max_upstream_response_bytes) + " bytes");
    }
  }
  if (!s.ok()) {
    Reply r = UpstreamFailure(s);
    r.action = in.action;
    reply_ = std::move(r);
    co_return co_await SendReply(req);
  }
  ex.Finish();
  if (ex.status() != 200) {
    // The upstream's own error (401, 429, 400…) already has OpenAI's shape: pass it on.
    auto uct = ex.headers().find(http::field::content_type);
    reply_ = Reply{.status = ex.status(),
                   .body = std::move(body),
                   .content_type = uct == ex.headers().end() ? "application/json"
                                                             : std::string(uct->value()),
                   .action = in.action};
    co_return co_await SendReply(req);
  }
  // Tool calls act on the caller's real values, so they are restored before they are judged:
  // a rule on `$.to` must see the address the mail would go to, not "[EMAIL_1]".
  // Only the request's placeholders are the caller's own data; the ones the response's
  // screening adds stand for what the model said, and stay redacted.
  // Copied only when there is something to restore: most turns redact nothing.
  std::optional<Conversation> request_values;
  if (config_.restore_placeholders && conversation.size() > 0) request_values = conversation;
  if (request_values) {
    auto restored = RestorePlaceholders(body, *request_values, kRestoreToolArguments);
    if (restored.ok()) body = std::move(*restored);
  }
  screen_start = Clock::now();
  std::optional<StatusOr<ChatScreen>> response_screen;
  co_await ScreenChat(ScreenChatResponse, body, guard, options, response_screen);
  StatusOr<ChatScreen>& out = *response_screen;
  server_.metrics_.screening.Observe(Seconds(screen_start));
  if (!out.ok()) {
    server_.metrics_.UpstreamError("bad_response");
    reply_ = Reply{.status = 502,
                   .body = ErrorJson("upstream sent an invalid chat completion: " +
                                         out.status().message(),
                                     "upstream_error", "bad_upstream_response"),
                   .action = in.action};
    co_return co_await SendReply(req);
  }
  if (server_.limiter_) {
    const int64_t tokens = out->total_tokens >= 0
                               ? out->total_tokens
                               : control::EstimateTokens(req.body().size() + body.size());
    (void)server_.limiter_->AddTokens(Subjects(), tokens, control::NowMicros());
  }
  Record(out->verdict, Direction::kOutput, {}, out->text);
  const std::string model = out->model.empty() ? in.model : out->model;
  if (Refuses(out->content_action) || (Refuses(out->action) && out->tool_calls.empty())) {
    const Action action = std::max(in.action, out->action);
    reply_ = Reply{.status = 200,
                   .body = RefusalCompletion(model, RefusalText(*out), WardenField(*out, "response")),
                   .action = action,
                   .verdict_header = std::string(ActionName(action))};
    co_return co_await SendReply(req);
  }
  // Content is fine; tool calls are judged one by one. The redacted body, when there is one,
  // is what the calls are taken out of.
  std::string response = out->modified ? std::move(out->body) : std::move(body);
  bool calls_removed = false;
  const bool keep_going =
      co_await GovernToolCalls(*out, response, model, request_hash, calls_removed);
  if (!keep_going) co_return co_await SendReply(req);
  Action action = in.action;
  for (const ToolCallScreen& tc : out->tool_calls) {
    if (tc.verdict.action != Action::kRequireApproval) action = std::max(action, tc.verdict.action);
  }
  action = std::max(action, out->content_action);
  Reply reply{.status = 200, .action = action, .verdict_header = std::string(ActionName(action)),
              .approval_id = std::move(reply_.approval_id)};
  if (calls_removed) {
    reply.body = std::move(response);  // tool calls taken out; the warden field is in place
  } else if (out->modified) {
    reply.body = WithWardenField(response, WardenField(*out, "response"));
  } else if (in.modified || in.action == Action::kDefer) {
    // The client learns that its request was redacted, or answered by the trusted model.
    reply.body = WithWardenField(response, WardenField(in, "request"));
  } else {
    reply.body = std::move(response);
  }
  if (request_values) {
    // The user reads their own data back where the model only ever saw placeholders.
    auto restored = RestorePlaceholders(reply.body, *request_values, kRestoreContent);
    if (restored.ok()) reply.body = std::move(*restored);
  }
  reply_ = std::move(reply);
  co_return co_await SendReply(req);
}

Task<bool> Session::Stream(http::request<http::string_body>& req, UpstreamExchange& ex,
                           const Guard& guard, std::string_view tenant,
                           Conversation& conversation, Action request_action) {
  http::response<http::empty_body> res{http::status::ok, req.version()};
  res.set(http::field::server, "warden");
  res.set(http::field::content_type, "text/event-stream");
  res.set(http::field::cache_control, "no-cache");
  res.set("X-Warden-Verdict", std::string(ActionName(request_action)));
  res.chunked(true);
  res.keep_alive(req.keep_alive());
  http::response_serializer<http::empty_body> sr{res};
  error_code ec;
  // The request's record is durable before the first byte of the answer.
  if (Status st = co_await CommitAudit(); !st.ok()) {
    reply_ = Reply{.status = 503,
                   .body = ErrorJson("the audit log cannot record this decision: " + st.message(),
                                     "server_error", "audit_unavailable")};
    co_return co_await SendReply(req);
  }
  deadline_.ExpireAfter(std::chrono::milliseconds(config_.limits.read_timeout_ms));
  co_await http::async_write_header(stream_, sr, NoThrow(ec));
  deadline_.Clear();
  if (ec) co_return false;
  PublishEvents();  // the request's decisions, while the answer streams

  StreamScreener screener(guard, config_.streaming,
                          {.tenant = tenant, .conversation = &conversation});
  // Streamed tool calls meet the same kill switch and limits as the others. A call that needs
  // approval cannot be held mid-stream, so the policy's require_approval refuses it here
  // (docs/agent-control.md).
  if (server_.control_) {
    screener.set_tool_gate([this](std::string_view name, std::string_view arguments,
                                  Verdict& v) {
      if (auto kills = server_.kills_.load()) {
        if (const control::KillEntry* k = kills->MatchTool(name)) {
          v = GatewayVerdict(Action::kKill, "kill-switch", KillMessage(*k));
          return false;
        }
      }
      auto hit = server_.limiter_->AdmitToolCall(Subjects(), name, Sha256Hex(arguments),
                                                 control::NowMicros());
      if (hit.ok() && *hit) {
        v = GatewayVerdict(Action::kBlock, "rate-limit:" + (*hit)->limit, (*hit)->message);
        return false;
      }
      return true;
    });
  }
  // While streaming, a kill switch can end this stream from the worker's thread (Interrupt).
  worker_.streams.insert(this);
  live_exchange_ = &ex;
  killed_ = false;
  if (auto kills = server_.kills_.load(); kills && kills->MatchTraffic(key_name_, tenant_)) {
    killed_ = true;
  }
  SseParser parser;
  const bool slow_stream = guard.info().has_slow_scorers;
  StreamScreener::Outcome outcome = StreamScreener::kContinue;
  std::string in;
  std::string out;
  Action final_action = request_action;
  bool client_ok = true;
  while (outcome == StreamScreener::kContinue) {
    in.clear();
    Status s;
    if (!killed_) s = co_await ex.ReadSome(in);
    if (killed_) {
      // Kill switch: nothing held back is released; the stream ends as content_filter.
      const control::KillEntry* k = nullptr;
      const auto kills = server_.kills_.load();
      if (kills) k = kills->MatchTraffic(key_name_, tenant_);
      outcome = screener.OnKilled(
          GatewayVerdict(Action::kKill, "kill-switch",
                         k ? KillMessage(*k) : std::string("Stopped by Warden's kill switch.")),
          out);
      ex.Cancel();
      in.clear();
    }
    if (!killed_) {
      auto screen_events = [&](bool allow_slow) {
        // A stream's screener holds state between events and cannot retry one, so with a
        // policy that has slow scorers every batch of events is screened on the slow pool: a
        // hop per read, small beside the pace of generated tokens.
        if (!allow_slow && slow_stream) return false;
        parser.Feed(in, [&](const SseEvent& e) {
          outcome = screener.OnEvent(e.data, out);
          return outcome == StreamScreener::kContinue;
        });
        return true;
      };
      co_await ScreenOffThread(screen_events);
    }
    // A kill that arrived while the events were screened on the pool (Interrupt cancelled the
    // exchange, so it looks done) is handled at the top of the loop, not taken for truncation.
    if (outcome == StreamScreener::kContinue && !killed_) {
      if (parser.failed()) {
        out.append("data: ");
        out.append(ErrorJson("upstream sent a malformed event stream", "upstream_error",
                             "bad_upstream_stream"));
        out.append("\n\n");
        outcome = StreamScreener::kMalformed;
      } else if (!s.ok()) {
        (s.code() == StatusCode::kDeadlineExceeded) ? server_.metrics_.UpstreamError("timeout")
                                                    : server_.metrics_.UpstreamError("reset");
        outcome = screener.OnTruncated(out);
      } else if (ex.done()) {
        outcome = screener.OnTruncated(out);
      }
    }
    if (!out.empty()) {
      deadline_.ExpireAfter(std::chrono::milliseconds(config_.limits.read_timeout_ms));
      co_await net::async_write(stream_, http::make_chunk(net::buffer(out)), NoThrow(ec));
      deadline_.Clear();
      out.clear();
      if (ec) {
        client_ok = false;  // the client went away: drop the upstream connection too
        break;
      }
    }
  }
  worker_.streams.erase(this);
  live_exchange_ = nullptr;
  if (outcome == StreamScreener::kBlocked) {
    final_action = screener.block().action;
    Record(screener.block().verdict, Direction::kOutput);
  } else {
    Record(Verdict{}, Direction::kOutput);
  }
  // The stream's record is durable before its last chunk.
  (void)co_await CommitAudit();
  if (outcome == StreamScreener::kDone) {
    // Drain what little follows [DONE] so the upstream connection can be reused.
    std::string rest;
    for (int i = 0; i < 4 && !ex.done(); ++i) {
      if (!(co_await ex.ReadSome(rest)).ok()) break;
    }
    ex.Finish();
  }
  server_.metrics_.CountRequest(endpoint_, final_action, 200);
  server_.metrics_.total.Observe(Seconds(start_));
  if (!client_ok) co_return false;
  deadline_.ExpireAfter(std::chrono::milliseconds(config_.limits.read_timeout_ms));
  co_await net::async_write(stream_, http::make_chunk_last(), NoThrow(ec));
  deadline_.Clear();
  co_return !ec && req.keep_alive() && !server_.stopping_.load();
}

Server::Server(GatewayConfig config) : config_(std::move(config)) {
  for (const ApiKey& key : config_.keys) keys_by_hash_[key.sha256_hex] = &key;
}

Server::~Server() {
  Stop(std::chrono::milliseconds(0));
  Wait();
}

StatusOr<std::shared_ptr<const PolicySet>> Server::LoadPolicies(const GatewayConfig& config,
                                                              const PolicySet* previous) {
  StatusOr<Guard> def = Guard::Open(config.policy);
  if (!def.ok()) return def.status();
  auto set = std::make_shared<PolicySet>(PolicySet{.default_guard = std::move(def).value()});
  for (const ApiKey& key : config.keys) {
    if (key.policy.empty() || set->by_path.count(key.policy)) continue;
    StatusOr<Guard> g = Guard::Open(key.policy);
    if (!g.ok()) {
      return Status(g.status().code(), key.location + ".policy: " + g.status().message());
    }
    set->by_path.emplace(key.policy, std::move(g).value());
  }
  auto add_budget = [&](const std::string& path, const Guard& guard) {
    const PolicyInfo& info = guard.info();
    if (!info.has_review) return;
    const oversight::BudgetOptions options{.budget = info.review_budget,
                                           .per_tenant = info.review_per_tenant,
                                           .window = info.review_window,
                                           .min_score = info.review_min_score};
    if (previous) {
      auto it = previous->budgets.find(path);
      if (it != previous->budgets.end()) {
        const oversight::BudgetOptions& o = it->second->options();
        if (o.budget == options.budget && o.per_tenant == options.per_tenant &&
            o.window == options.window && o.min_score == options.min_score) {
          set->budgets[path] = it->second;
          return;
        }
      }
    }
    set->budgets[path] = std::make_shared<oversight::BudgetController>(options);
  };
  add_budget("", set->default_guard);
  for (const auto& [path, guard] : set->by_path) add_budget(path, guard);
  return std::shared_ptr<const PolicySet>(std::move(set));
}

StatusOr<std::unique_ptr<Server>> Server::Create(GatewayConfig config) {
  // Both upstreams' URLs parsed, and their TLS contexts made (null for plain HTTP), once.
  // Errors about the trusted model say so; the main upstream's keep their plain wording.
  auto prepare = [](UpstreamConfig& up,
                    std::string_view prefix) -> StatusOr<std::shared_ptr<net::ssl::context>> {
    if (up.parsed.host.empty()) {
      auto parsed = ParseUpstreamUrl(up.url);
      if (!parsed.ok()) {
        return Status(parsed.status().code(), std::string(prefix) + parsed.status().message());
      }
      up.parsed = *parsed;
    }
    auto tls = MakeUpstreamTlsContext(up);
    if (!tls.ok()) return Status(tls.status().code(), std::string(prefix) + tls.status().message());
    return *tls;
  };
  std::shared_ptr<net::ssl::context> tls, defer_tls;
  if (!config.upstream.url.empty()) {
    auto t = prepare(config.upstream, "");
    if (!t.ok()) return t.status();
    tls = *t;
  }
  if (!config.defer_upstream.url.empty()) {
    auto t = prepare(config.defer_upstream, "defer_upstream: ");
    if (!t.ok()) return t.status();
    defer_tls = *t;
  }
  std::unique_ptr<Server> server(new Server(std::move(config)));
  server->dashboard_ = std::make_unique<dashboard::Dashboard>(*server, dashboard::DashboardOptions{});
  dashboard::Series* series = &server->dashboard_->series();
  server->metrics_.SetRequestTap([series](Endpoint e, std::optional<Action> a, unsigned status) {
    series->CountRequest(e, a, status);
  });
  server->metrics_.screening.SetTap([series](double s) { series->ObserveScreening(s); });
  server->metrics_.upstream.SetTap([series](double s) { series->ObserveUpstream(s); });
  auto policies = LoadPolicies(server->config_, nullptr);
  if (!policies.ok()) return policies.status();
  server->policies_.store(*policies);
  unsigned threads = server->config_.threads;
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  const std::chrono::milliseconds sweep = SweepPeriod(server->config_);
  for (unsigned i = 0; i < threads; ++i) {
    auto w = std::make_unique<Worker>(sweep);
    w->pool = std::make_unique<UpstreamPool>(w->ioc, w->deadlines, server->config_.upstream, tls);
    if (!server->config_.defer_upstream.url.empty()) {
      w->defer_pool = std::make_unique<UpstreamPool>(w->ioc, w->deadlines,
                                                     server->config_.defer_upstream, defer_tls);
    }
    server->workers_.push_back(std::move(w));
  }
  const GatewayConfig& c = server->config_;
  // "off" is how a config file says "none" where `warden serve` would pick a default.
  if (!c.control.store.empty() && c.control.store != "off") {
    auto store = control::OpenControlStore(c.control.store);
    if (!store.ok()) {
      return Status(store.status().code(),
                    "control.store: " + store.status().message());
    }
    server->control_ = std::move(store).value();
    server->limiter_ = std::make_unique<control::Limiter>(*server->control_);
    if (Status st = server->RefreshControl(); !st.ok()) return st;
  }
  if (!c.audit.store.empty() && c.audit.store != "off") {
    auto store = audit::OpenStore(c.audit.store, audit::OpenMode::kCreate);
    if (!store.ok()) {
      return Status(store.status().code(), "audit.store: " + store.status().message());
    }
    audit::WriterOptions options;
    options.queue_capacity = c.audit.queue_capacity;
    options.linger = std::chrono::microseconds(c.audit.group_commit_us);
    options.linger_records = c.audit.group_commit_records;
    options.on_full =
        c.audit.fail_closed_when_full ? audit::FullPolicy::kFailClosed : audit::FullPolicy::kBlock;
    options.checkpoint_every_records = c.audit.checkpoint_every;
    options.checkpoint_interval = std::chrono::milliseconds(c.audit.checkpoint_interval_ms);
    // One post per worker and transaction, only to workers with answers waiting.
    options.on_written = [server = server.get()](uint64_t written, const Status& error) {
      server->audit_durable_.store(written);
      for (auto& w : server->workers_) {
        if (error.ok() && w->audit_wanted.load() <= w->audit_posted) continue;
        w->audit_posted = written;
        net::post(w->ioc, [w = w.get(), written, error] { w->AuditWritten(written, error); });
      }
    };
    if (!c.audit.signing_key.empty()) {
      auto signer = audit::Signer::LoadPem(c.audit.signing_key);
      if (!signer.ok()) {
        return Status(signer.status().code(),
                      "audit.signing_key: " + signer.status().message() +
                          " (create one with `warden audit keygen`)");
      }
      options.signer = *signer;
    }
    auto writer = audit::Writer::Start(std::move(store).value(), std::move(options));
    if (!writer.ok()) {
      return Status(writer.status().code(), "audit.store: " + writer.status().message());
    }
    server->audit_ = std::move(writer).value();
  }
  return server;
}

std::string Server::StateMetrics() const {
  std::string out;
  auto gauge = [&](const char* name, const char* help, const char* type, uint64_t value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
           name + " " + std::to_string(value) + "\n";
  };
  if (audit_) {
    const audit::WriterStats st = audit_->stats();
    gauge("warden_audit_records_written_total", "Audit records committed to the store.", "counter",
          st.written);
    gauge("warden_audit_batches_total",
          "Audit store transactions committed (records written / batches: the group size).",
          "counter", st.batches);
    gauge("warden_audit_queue_records", "Audit records waiting to be written.", "gauge", st.queued);
    gauge("warden_audit_refused_total", "Decisions the audit log could not take (refused).",
          "counter", st.refused);
    gauge("warden_audit_store_up", "1 while the audit store takes writes.", "gauge",
          st.store_available && st.error.ok() ? 1 : 0);
  }
  if (control_) {
    const auto kills = kills_.load();
    gauge("warden_kill_switches", "Kill switches engaged.", "gauge",
          kills ? kills->entries().size() : 0);
    gauge("warden_control_store_up", "1 while the control store answers.", "gauge",
          control_ok_.load() ? 1 : 0);
  }
  return out;
}

Status Server::RefreshControl() {
  if (!control_) return OkStatus();
  std::lock_guard<std::mutex> lock(control_mu_);
  auto fail = [&](const Status& st) {
    if (control_ok_.exchange(false)) {
      std::cerr << "warden serve: agent control store unavailable ("
                << (config_.control.fail_closed ? "refusing chat requests" : "failing open")
                << "): " << st.message() << "\n";
    }
    control_error_ = st.message();
    return st;
  };
  StatusOr<uint64_t> version = control_->Version();
  if (!version.ok()) return fail(version.status());
  if (*version != control_version_) {
    auto kills = control_->Kills();
    if (!kills.ok()) return fail(kills.status());
    auto set = std::make_shared<const control::KillSet>(std::move(kills).value());
    kills_.store(set);
    control_version_ = *version;
    if (!set->empty()) InterruptKilledStreams(set);
  }
  if (!control_ok_.exchange(true)) {
    std::cerr << "warden serve: agent control store is back: " << control_->Describe() << "\n";
  }
  control_error_.clear();
  return OkStatus();
}

void Server::InterruptKilledStreams(const std::shared_ptr<const control::KillSet>& kills) {
  for (auto& w : workers_) {
    Worker* worker = w.get();
    net::post(worker->ioc, [worker, kills] {
      for (Session* s : worker->streams) {
        if (kills->MatchTraffic(s->key_name(), s->tenant())) s->Interrupt();
      }
    });
  }
}

void Server::PollControl() {
  std::unique_lock<std::mutex> lock(control_mu_);
  while (!stopping_.load()) {
    poller_cv_.wait_for(lock, std::chrono::milliseconds(config_.control.poll_interval_ms));
    if (stopping_.load()) break;
    lock.unlock();
    (void)RefreshControl();
    lock.lock();
  }
}

Status Server::ReloadPolicies() {
  auto policies = LoadPolicies(config_, policies_.load().get());
  if (!policies.ok()) {
    metrics_.reloads_failed.fetch_add(1);
    return policies.status();
  }
  policies_.store(*policies);
  metrics_.reloads_ok.fetch_add(1);
  return OkStatus();
}

Status Server::Start() {
  auto listen = ParseListen(config_.listen);
  if (!listen.ok()) return listen.status();
  error_code ec;
  const net::ip::address address = net::ip::make_address(listen->first, ec);
  if (ec) return InvalidArgumentError("listen: bad address \"" + listen->first + "\"");
  acceptor_ = std::make_unique<Acceptor>(workers_[0]->ioc);
  tcp::acceptor& a = acceptor_->acceptor;
  const tcp::endpoint endpoint(address, listen->second);
  a.open(endpoint.protocol(), ec);
  if (!ec) a.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(endpoint, ec);
  if (!ec) a.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return UnavailableError("cannot listen on " + config_.listen + ": " + ec.message());
  port_ = a.local_endpoint(ec).port();

  net::co_spawn(
      workers_[0]->ioc,
      [this]() -> Task<void> {
        tcp::acceptor& a = acceptor_->acceptor;
        for (;;) {
          Worker& w = *workers_[next_worker_.fetch_add(1) % workers_.size()];
          error_code ec;
          tcp::socket socket = co_await a.async_accept(w.ioc, NoThrow(ec));
          if (ec) {
            if (!a.is_open() || stopping_.load()) co_return;
            if (ec == net::error::no_descriptors) {
              // Out of file descriptors: back off instead of spinning.
              net::steady_timer t(a.get_executor(), std::chrono::milliseconds(50));
              co_await t.async_wait(NoThrow(ec));
            }
            continue;
          }
          socket.set_option(tcp::no_delay(true), ec);
          auto session = std::make_shared<Session>(*this, w, std::move(socket));
          net::co_spawn(w.ioc, [session]() { return session->Run(); },
                        [](std::exception_ptr e) {
                          // Nothing in a session throws by design; if a library does, the
                          // connection is dropped and the worker keeps serving.
                          if (e) {
                            try {
                              std::rethrow_exception(e);
                            } catch (const std::exception& ex) {
                              std::cerr << "warden serve: session error: " << ex.what() << "\n";
                            } catch (...) {
                            }
                          }
                        });
        }
      },
      net::detached);

  const uint32_t slow_threads =
      config_.slow_check_threads > 0
          ? config_.slow_check_threads
          : std::max<uint32_t>(4, 2 * static_cast<uint32_t>(workers_.size()));
  slow_checks_ = std::make_unique<net::thread_pool>(slow_threads);
  if (control_) poller_ = std::thread([this] { PollControl(); });
  for (auto& w : workers_) {
    Worker* worker = w.get();
    const auto busy_poll = std::chrono::microseconds(config_.busy_poll_us);
    worker->deadlines.Start();  // before the thread: nothing runs the io_context yet
    threads_.emplace_back([worker, busy_poll] { RunWorker(worker->ioc, busy_poll); });
  }
  return OkStatus();
}

void Server::Stop(std::chrono::milliseconds grace) {
  if (stopping_.exchange(true)) return;
  if (acceptor_) {
    net::post(workers_[0]->ioc, [this] {
      error_code ec;
      acceptor_->acceptor.close(ec);
    });
  }
  const auto deadline = Clock::now() + grace;
  while (in_flight_.load() > 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (auto& w : workers_) w->ioc.stop();
  {
    std::lock_guard<std::mutex> lock(control_mu_);
    poller_cv_.notify_all();
  }
}

void Server::Wait() {
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  // Screenings still running finish; their sessions' workers have stopped, so nothing resumes.
  if (slow_checks_) slow_checks_->join();
  if (poller_.joinable()) poller_.join();
  // Every decision made is on disk before the server is gone.
  if (audit_) (void)audit_->Flush();
}

}  // namespace warden::gateway
