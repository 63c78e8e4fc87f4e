// Client for the upstream OpenAI-compatible API: HTTP or HTTPS (certificate verification and
// SNI), pooled keep-alive connections, connect and read timeouts.
//
//   UpstreamPool pool(ioc, config.upstream, ssl_ctx);   // one per worker thread
//   UpstreamExchange ex(pool);
//   Status s = co_await ex.Start(request);              // sends, reads the response header
//   while (!ex.done()) s = co_await ex.ReadSome(body);  // body, piece by piece
//   ex.Finish();                                        // connection goes back to the pool
//
// Errors: kUnavailable for refused or reset connections and DNS failures (the gateway answers
// 502), kDeadlineExceeded for timeouts (504), kDataLoss for responses that are not HTTP (502).
// Thread-safety: a pool and its exchanges belong to one io_context run by one thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "gateway/asio.h"
#include "gateway/config.h"
#include "gateway/deadlines.h"
#include "warden/status.h"

namespace warden::gateway {

// Creates the TLS client context: system trust store (plus `ca_file`), peer verification unless
// `verify_tls` is false. Returns null when the upstream is plain HTTP.
StatusOr<std::shared_ptr<net::ssl::context>> MakeUpstreamTlsContext(const UpstreamConfig& config);

class UpstreamPool {
 public:
  // `tls` may be null for plain HTTP; it must outlive the pool. Reads and writes are timed by
  // `deadlines` (the worker's); connecting and the TLS handshake by the socket's own timer.
  UpstreamPool(net::io_context& ioc, Deadlines& deadlines, const UpstreamConfig& config,
               std::shared_ptr<net::ssl::context> tls);
  ~UpstreamPool();

  struct Connection;
  const UpstreamConfig& config() const { return config_; }

 private:
  friend class UpstreamExchange;
  Task<StatusOr<std::unique_ptr<Connection>>> Connect();
  std::unique_ptr<Connection> TakeIdle();
  void Put(std::unique_ptr<Connection> conn);

  net::io_context& ioc_;
  Deadlines& deadlines_;
  UpstreamConfig config_;
  std::shared_ptr<net::ssl::context> tls_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

class UpstreamExchange {
 public:
  explicit UpstreamExchange(UpstreamPool& pool);
  ~UpstreamExchange();

  // Sends `request` (Host is set here) and reads the response header. A pooled connection that
  // the upstream has closed meanwhile is replaced transparently once.
  Task<Status> Start(http::request<http::string_body>& request);

  unsigned status() const;
  const http::fields& headers() const;
  bool done() const;

  // Appends the next piece of the body to `out` (at most 64 KiB per call).
  Task<Status> ReadSome(std::string& out);

  // Aborts a pending read (it completes with an error) and drops the connection; for the kill
  // switch, which must end a stream even while the upstream is silent.
  void Cancel();

  // Returns the connection to the pool when the whole response was read and both sides allow
  // keep-alive; otherwise closes it.
  void Finish();

 private:
  Task<Status> SendOnce(http::request<http::string_body>& request, bool& retryable);

  UpstreamPool& pool_;
  std::unique_ptr<UpstreamPool::Connection> conn_;
  std::unique_ptr<http::response_parser<http::buffer_body>> parser_;
  bool failed_ = false;
};

}  // namespace warden::gateway
