#include "gateway/server.h"

#include <openssl/crypto.h>

#include <chrono>
#include <iostream>

#include "core/json_writer.h"
#include "gateway/asio.h"
#include "gateway/openai.h"
#include "gateway/sse.h"
#include "gateway/stream_screen.h"
#include "gateway/upstream.h"

namespace warden::gateway {

using Clock = std::chrono::steady_clock;

struct Server::Worker {
  // The pool is declared after the io_context so it is destroyed first: its idle sockets must go
  // before the context they were created on.
  net::io_context ioc{1};
  std::unique_ptr<UpstreamPool> pool;
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

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

// Serves one client connection: reads requests, dispatches them, keeps the connection alive.
class Session {
 public:
  Session(Server& server, Server::Worker& worker, tcp::socket socket)
      : server_(server), worker_(worker), config_(server.config_), stream_(std::move(socket)) {}

  Task<void> Run();

 private:
  struct Reply {
    unsigned status = 200;
    std::string body;
    std::string content_type = "application/json";
    std::optional<Action> action;
    std::string verdict_header;  // X-Warden-Verdict
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
  Reply Moderations(const http::request<http::string_body>& req, const Guard& guard,
                    std::string_view tenant);
  Reply Check(const http::request<http::string_body>& req, const Guard& guard,
              std::string_view tenant);
  Reply Reload(const http::request<http::string_body>& req);
  Reply UpstreamFailure(const Status& s);
  http::request<http::string_body> UpstreamRequest(const http::request<http::string_body>& req,
                                                   http::verb method, std::string body);

  Server& server_;
  Server::Worker& worker_;
  const GatewayConfig& config_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  Endpoint endpoint_ = Endpoint::kOther;
  Reply reply_;
  Clock::time_point start_;
};

Task<bool> Session::SendReply(const http::request<http::string_body>& req) {
  Reply reply = std::move(reply_);
  reply_ = Reply{};
  http::response<http::string_body> res{static_cast<http::status>(reply.status), req.version()};
  res.set(http::field::server, "warden");
  res.set(http::field::content_type, reply.content_type);
  if (!reply.verdict_header.empty()) res.set("X-Warden-Verdict", reply.verdict_header);
  const bool keep_alive = req.keep_alive() && !server_.stopping_.load() && reply.status != 413 &&
                          reply.status != 431;
  res.keep_alive(keep_alive);
  res.body() = std::move(reply.body);
  res.prepare_payload();
  server_.metrics_.CountRequest(endpoint_, reply.action, reply.status);
  error_code ec;
  stream_.expires_after(std::chrono::milliseconds(config_.limits.read_timeout_ms));
  co_await http::async_write(stream_, res, NoThrow(ec));
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
  stream_.expires_after(std::chrono::milliseconds(500));
  std::string scratch(16384, '\0');
  size_t total = 0;
  while (!ec && total < (8u << 20)) {
    total += co_await stream_.async_read_some(net::buffer(scratch), NoThrow(ec));
  }
}

Task<void> Session::Run() {
  server_.metrics_.open_connections.fetch_add(1, std::memory_order_relaxed);
  bool first = true;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(config_.limits.max_header_bytes);
    parser.body_limit(config_.limits.max_body_bytes);
    error_code ec;
    stream_.expires_after(std::chrono::milliseconds(first ? config_.limits.read_timeout_ms
                                                          : config_.limits.idle_timeout_ms));
    co_await http::async_read_header(stream_, buffer_, parser, NoThrow(ec));
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
    stream_.expires_after(std::chrono::milliseconds(config_.limits.read_timeout_ms));
    if (auto expect = parser.get().find(http::field::expect);
        expect != parser.get().end() && beast::iequals(expect->value(), "100-continue")) {
      // curl sends bodies over 1 KiB only after this (or after a 1 s pause).
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      co_await net::async_write(stream_, net::buffer(kContinue), NoThrow(ec));
      if (ec) break;
    }
    co_await http::async_read(stream_, buffer_, parser, NoThrow(ec));
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
  auto wrong_method = [&](std::string_view allowed) {
    return Reply{.status = 405,
                 .body = ErrorJson("method not allowed; use " + std::string(allowed),
                                   "invalid_request_error", "method_not_allowed")};
  };
  if (path == "/healthz" || path == "/readyz") {
    endpoint_ = Endpoint::kHealth;
    if (path == "/readyz" && server_.stopping_.load()) {
      reply_ = Reply{.status = 503, .body = "{\"status\":\"stopping\"}"};
      co_return co_await SendReply(req);
    }
    reply_ = Reply{.status = 200, .body = "{\"status\":\"ok\"}"};
    co_return co_await SendReply(req);
  }
  if (path == "/metrics") {
    endpoint_ = Endpoint::kMetrics;
    reply_ = Reply{.status = 200,
                                  .body = server_.metrics_.Render(),
                                  .content_type = "text/plain; version=0.0.4; charset=utf-8"};
    co_return co_await SendReply(req);
  }
  if (path.starts_with("/admin/")) {
    endpoint_ = Endpoint::kAdmin;
    if (path != "/admin/reload") {
      reply_ = Reply{.status = 404,
                                    .body = ErrorJson("unknown admin endpoint",
                                                      "invalid_request_error", "unknown_url")};
      co_return co_await SendReply(req);
    }
    if (method != http::verb::post) {
      reply_ = wrong_method("POST");
      co_return co_await SendReply(req);
    }
    reply_ = Reload(req);
    co_return co_await SendReply(req);
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
    tenant = it->second->tenant;
    policy_path = it->second->policy;
  }
  // Keep the policy set alive for the whole request, even across a reload.
  const std::shared_ptr<const PolicySet> policies = server_.policies_.load();
  const Guard& guard = policy_path.empty() ? policies->default_guard : policies->For(policy_path);
  if (path == "/v1/chat/completions") {
    endpoint_ = Endpoint::kChatCompletions;
    if (method != http::verb::post) {
      reply_ = wrong_method("POST");
      co_return co_await SendReply(req);
    }
    co_return co_await ChatCompletions(req, guard, tenant);
  }
  if (path == "/v1/moderations") {
    endpoint_ = Endpoint::kModerations;
    if (method != http::verb::post) {
      reply_ = wrong_method("POST");
      co_return co_await SendReply(req);
    }
    reply_ = Moderations(req, guard, tenant);
    co_return co_await SendReply(req);
  }
  if (path == "/v1/check") {
    endpoint_ = Endpoint::kCheck;
    if (method != http::verb::post) {
      reply_ = wrong_method("POST");
      co_return co_await SendReply(req);
    }
    reply_ = Check(req, guard, tenant);
    co_return co_await SendReply(req);
  }
  if (path == "/v1/models" || path.starts_with("/v1/models/")) {
    endpoint_ = Endpoint::kModels;
    if (method != http::verb::get) {
      reply_ = wrong_method("GET");
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

Session::Reply Session::Moderations(const http::request<http::string_body>& req,
                                    const Guard& guard, std::string_view tenant) {
  std::string model = "warden-moderation";
  auto inputs = ParseModerationInput(req.body(), &model);
  if (!inputs.ok()) {
    return {.status = 400,
            .body = ErrorJson(inputs.status().message(), "invalid_request_error", "invalid_input")};
  }
  const auto screen_start = Clock::now();
  std::string out;
  out.reserve(1024 * inputs->size());
  out.append("{\"id\":\"modr-warden\",\"model\":");
  AppendJsonString(out, model);
  out.append(",\"results\":[");
  Action worst = Action::kAllow;
  for (size_t i = 0; i < inputs->size(); ++i) {
    const Verdict v =
        guard.Check({.text = (*inputs)[i], .direction = Direction::kInput, .tenant = tenant});
    worst = std::max(worst, v.action);
    if (i) out.push_back(',');
    AppendModerationResult(out, v, config_.moderation_threshold);
  }
  out.append("]}");
  server_.metrics_.screening.Observe(Seconds(screen_start));
  return {.status = 200, .body = std::move(out), .action = worst,
          .verdict_header = std::string(ActionName(worst))};
}

Session::Reply Session::Check(const http::request<http::string_body>& req, const Guard& guard,
                              std::string_view tenant) {
  auto parsed = ParseCheckRequest(req.body());
  if (!parsed.ok()) {
    return {.status = 400,
            .body = ErrorJson(parsed.status().message(), "invalid_request_error", "invalid_input")};
  }
  const CheckRequest& c = *parsed;
  const auto screen_start = Clock::now();
  const Verdict v = guard.Check({.text = c.text,
                                 .role = c.role,
                                 .direction = c.direction,
                                 .tool_name = c.tool_name,
                                 .tool_arguments = c.tool_arguments,
                                 .tenant = c.tenant.empty() ? tenant : c.tenant});
  server_.metrics_.screening.Observe(Seconds(screen_start));
  return {.status = 200, .body = VerdictToJson(v), .action = v.action,
          .verdict_header = std::string(ActionName(v.action))};
}

Session::Reply Session::Reload(const http::request<http::string_body>& req) {
  const std::string_view token = BearerToken(req);
  if (config_.admin_token_sha256.empty()) {
    return {.status = 404,
            .body = ErrorJson("admin endpoints are disabled (no admin token configured)",
                              "invalid_request_error", "admin_disabled")};
  }
  if (token.empty() || !ConstantTimeEquals(Sha256Hex(token), config_.admin_token_sha256)) {
    return {.status = 401,
            .body = ErrorJson("invalid admin token", "invalid_request_error", "invalid_api_key")};
  }
  Status s = server_.ReloadPolicies();
  if (!s.ok()) {
    return {.status = 400,
            .body = ErrorJson(s.message(), "invalid_request_error", "invalid_policy")};
  }
  return {.status = 200, .body = "{\"status\":\"reloaded\"}"};
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
    const http::request<http::string_body>& req, http::verb method, std::string body) {
  const UpstreamUrl& url = config_.upstream.parsed;
  std::string_view path(req.target().data(), req.target().size());
  // The upstream URL is a base like "https://api.openai.com/v1": "/v1/chat/completions" maps to
  // "<base>/chat/completions". A base without a path keeps the client's path.
  std::string target = url.base_path.empty() ? std::string(path)
                                             : url.base_path + std::string(path.substr(3));
  http::request<http::string_body> up{method, target, 11};
  up.set(http::field::content_type, "application/json");
  up.set(http::field::user_agent, "warden-gateway/0.1");
  if (!config_.upstream.api_key.empty()) {
    up.set(http::field::authorization, "Bearer " + config_.upstream.api_key);
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
  http::request<http::string_body> up = UpstreamRequest(req, http::verb::get, "");
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

Task<bool> Session::ChatCompletions(http::request<http::string_body>& req, const Guard& guard,
                                    std::string_view tenant) {
  Conversation conversation;
  const ScreenOptions options{.tenant = tenant, .conversation = &conversation};
  auto screen_start = Clock::now();
  StatusOr<ChatScreen> screened = ScreenChatRequest(req.body(), guard, options);
  server_.metrics_.screening.Observe(Seconds(screen_start));
  if (!screened.ok()) {
    reply_ = Reply{.status = 400,
                                  .body = ErrorJson(screened.status().message(),
                                                    "invalid_request_error", "invalid_request")};
    co_return co_await SendReply(req);
  }
  ChatScreen& in = *screened;
  if (Refuses(in.action)) {
    if (in.stream) co_return co_await RefuseAsStream(req, in);
    reply_ = Reply{.status = 200,
              .body = RefusalCompletion(in.model, RefusalText(in), WardenField(in, "request")),
              .action = in.action,
              .verdict_header = std::string(ActionName(in.action))};
    co_return co_await SendReply(req);
  }
  if (config_.upstream.url.empty()) {
    reply_ = Reply{.status = 503,
              .body = ErrorJson("no upstream is configured (start with --upstream URL)",
                                "upstream_error", "no_upstream"),
              .action = in.action};
    co_return co_await SendReply(req);
  }
  http::request<http::string_body> up =
      UpstreamRequest(req, http::verb::post, in.modified ? std::move(in.body) : req.body());
  UpstreamExchange ex(*worker_.pool);
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
  screen_start = Clock::now();
  StatusOr<ChatScreen> out = ScreenChatResponse(body, guard, options);
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
  const Action action = std::max(in.action, out->action);
  Reply reply{.status = 200, .action = action, .verdict_header = std::string(ActionName(action))};
  if (Refuses(out->action)) {
    reply.body = RefusalCompletion(out->model.empty() ? in.model : out->model, RefusalText(*out),
                                   WardenField(*out, "response"));
  } else if (out->modified) {
    reply.body = WithWardenField(out->body, WardenField(*out, "response"));
  } else if (in.modified) {
    reply.body = WithWardenField(body, WardenField(in, "request"));
  } else {
    reply.body = std::move(body);
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
  stream_.expires_after(std::chrono::milliseconds(config_.limits.read_timeout_ms));
  co_await http::async_write_header(stream_, sr, NoThrow(ec));
  if (ec) co_return false;

  StreamScreener screener(guard, config_.streaming,
                          {.tenant = tenant, .conversation = &conversation});
  SseParser parser;
  StreamScreener::Outcome outcome = StreamScreener::kContinue;
  std::string in;
  std::string out;
  Action final_action = request_action;
  bool client_ok = true;
  while (outcome == StreamScreener::kContinue) {
    in.clear();
    Status s = co_await ex.ReadSome(in);
    parser.Feed(in, [&](const SseEvent& e) {
      outcome = screener.OnEvent(e.data, out);
      return outcome == StreamScreener::kContinue;
    });
    if (outcome == StreamScreener::kContinue) {
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
      stream_.expires_after(std::chrono::milliseconds(config_.limits.read_timeout_ms));
      co_await net::async_write(stream_, http::make_chunk(net::buffer(out)), NoThrow(ec));
      out.clear();
      if (ec) {
        client_ok = false;  // the client went away: drop the upstream connection too
        break;
      }
    }
  }
  if (outcome == StreamScreener::kBlocked) final_action = screener.block().action;
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
  co_await net::async_write(stream_, http::make_chunk_last(), NoThrow(ec));
  co_return !ec && req.keep_alive() && !server_.stopping_.load();
}

Server::Server(GatewayConfig config) : config_(std::move(config)) {
  for (const ApiKey& key : config_.keys) keys_by_hash_[key.sha256_hex] = &key;
}

Server::~Server() {
  Stop(std::chrono::milliseconds(0));
  Wait();
}

StatusOr<std::shared_ptr<const PolicySet>> Server::LoadPolicies(const GatewayConfig& config) {
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
  return std::shared_ptr<const PolicySet>(std::move(set));
}

StatusOr<std::unique_ptr<Server>> Server::Create(GatewayConfig config) {
  if (!config.upstream.url.empty() && config.upstream.parsed.host.empty()) {
    auto parsed = ParseUpstreamUrl(config.upstream.url);
    if (!parsed.ok()) return parsed.status();
    config.upstream.parsed = *parsed;
  }
  std::unique_ptr<Server> server(new Server(std::move(config)));
  auto policies = LoadPolicies(server->config_);
  if (!policies.ok()) return policies.status();
  server->policies_.store(*policies);
  auto tls = MakeUpstreamTlsContext(server->config_.upstream);
  if (!tls.ok()) return tls.status();
  unsigned threads = server->config_.threads;
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < threads; ++i) {
    auto w = std::make_unique<Worker>();
    w->pool = std::make_unique<UpstreamPool>(w->ioc, server->config_.upstream, *tls);
    server->workers_.push_back(std::move(w));
  }
  return server;
}

Status Server::ReloadPolicies() {
  auto policies = LoadPolicies(config_);
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

  for (auto& w : workers_) {
    Worker* worker = w.get();
    threads_.emplace_back([worker] {
      auto guard = net::make_work_guard(worker->ioc);
      worker->ioc.run();
    });
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
}

void Server::Wait() {
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

}  // namespace warden::gateway
