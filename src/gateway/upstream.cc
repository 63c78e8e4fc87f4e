#include "gateway/upstream.h"

#include <openssl/ssl.h>

#include <limits>

#include <boost/asio/ssl/host_name_verification.hpp>

namespace warden::gateway {

namespace {
constexpr size_t kPieceBytes = 64 * 1024;  // the most one ReadSome appends
}  // namespace

struct UpstreamPool::Connection {
  Connection(net::io_context& ioc, Deadlines& deadlines)
      : plain(ioc), deadline(deadlines, [this] {
          error_code ignored;
          lowest().socket().close(ignored);
        }) {}
  // Exactly one of the two carries the traffic: `tls` wraps its own tcp_stream when set.
  beast::tcp_stream plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  // Where body pieces land before they are appended to the caller's string: reading into the
  // string directly would mean growing it by 64 KiB of zeros for every piece.
  std::unique_ptr<char[]> piece = std::make_unique_for_overwrite<char[]>(kPieceBytes);
  bool reused = false;
  Deadline deadline;  // of the read or write in progress

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : plain; }
};

namespace {

// `timed_out`: the connection's Deadline closed it, which the operation reports as an abort or
// a bad descriptor.
Status FromError(const error_code& ec, std::string_view during, bool timed_out = false) {
  std::string what = std::string(during) + ": " + (timed_out ? "no answer in time" : ec.message());
  if (timed_out || ec == beast::error::timeout || ec == net::error::timed_out) {
    return Status(StatusCode::kDeadlineExceeded, "upstream timed out during " + what);
  }
  if (ec.category() == net::error::get_ssl_category() || ec == net::ssl::error::stream_truncated) {
    return UnavailableError("upstream TLS error during " + what);
  }
  if (ec.category() == http::make_error_code(http::error::end_of_stream).category() &&
      ec != http::error::end_of_stream && ec != http::error::partial_message) {
    return DataLossError("upstream sent an invalid HTTP response (" + what + ")");
  }
  return UnavailableError("upstream connection failed during " + what);
}

// The operations below are written once for both stream types.
template <typename Stream>
Task<error_code> Write(Stream& s, http::request<http::string_body>& req) {
  error_code ec;
  co_await http::async_write(s, req, NoThrow(ec));
  co_return ec;
}

template <typename Stream>
Task<error_code> ReadHeader(Stream& s, beast::flat_buffer& buf,
                            http::response_parser<http::buffer_body>& parser) {
  error_code ec;
  co_await http::async_read_header(s, buf, parser, NoThrow(ec));
  co_return ec;
}

template <typename Stream>
Task<error_code> ReadBody(Stream& s, beast::flat_buffer& buf,
                          http::response_parser<http::buffer_body>& parser) {
  error_code ec;
  // read_some, not read: read fills the whole buffer before returning, which would hold a
  // stream's tokens back until 64 KiB had arrived.
  co_await http::async_read_some(s, buf, parser, NoThrow(ec));
  if (ec == http::error::need_buffer) ec = {};
  co_return ec;
}

}  // namespace

StatusOr<std::shared_ptr<net::ssl::context>> MakeUpstreamTlsContext(const UpstreamConfig& config) {
  if (!config.parsed.tls) return std::shared_ptr<net::ssl::context>();
  auto ctx = std::make_shared<net::ssl::context>(net::ssl::context::tls_client);
  error_code ec;
  ctx->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                       net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                       net::ssl::context::no_tlsv1_1,
                   ec);
  ctx->set_default_verify_paths(ec);
  if (ec) return InternalError("cannot load the system CA store: " + ec.message());
  if (!config.ca_file.empty()) {
    ctx->load_verify_file(config.ca_file, ec);
    if (ec) return InvalidArgumentError(config.ca_file + ": cannot load CA file: " + ec.message());
  }
  ctx->set_verify_mode(config.verify_tls ? net::ssl::verify_peer : net::ssl::verify_none, ec);
  return ctx;
}

UpstreamPool::UpstreamPool(net::io_context& ioc, Deadlines& deadlines, const UpstreamConfig& config,
                           std::shared_ptr<net::ssl::context> tls)
    : ioc_(ioc), deadlines_(deadlines), config_(config), tls_(std::move(tls)) {}

UpstreamPool::~UpstreamPool() = default;

std::unique_ptr<UpstreamPool::Connection> UpstreamPool::TakeIdle() {
  if (idle_.empty()) return nullptr;
  std::unique_ptr<Connection> conn = std::move(idle_.back());
  idle_.pop_back();
  conn->reused = true;
  conn->deadline.Reset();
  return conn;
}

void UpstreamPool::Put(std::unique_ptr<Connection> conn) {
  if (idle_.size() >= config_.max_idle_connections) return;
  conn->deadline.Clear();
  idle_.push_back(std::move(conn));
}

Task<StatusOr<std::unique_ptr<UpstreamPool::Connection>>> UpstreamPool::Connect() {
  const UpstreamUrl& url = config_.parsed;
  tcp::resolver resolver(ioc_);
  error_code ec;
  const std::string port = std::to_string(url.port);
  auto endpoints = co_await resolver.async_resolve(url.host, port, NoThrow(ec));
  if (ec) co_return UnavailableError("cannot resolve upstream host " + url.host + ": " +
                                     ec.message());
  auto conn = std::make_unique<Connection>(ioc_, deadlines_);
  conn->plain.expires_after(std::chrono::milliseconds(config_.connect_timeout_ms));
  co_await conn->plain.async_connect(endpoints, NoThrow(ec));
  if (ec) co_return FromError(ec, "connect to " + url.host + ":" + std::to_string(url.port));
  conn->plain.socket().set_option(tcp::no_delay(true), ec);
  if (tls_) {
    conn->tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(std::move(conn->plain),
                                                                       *tls_);
    // SNI, and the certificate must name the host we asked for.
    if (!SSL_set_tlsext_host_name(conn->tls->native_handle(), url.host.c_str())) {
      co_return UnavailableError("cannot set TLS server name " + url.host);
    }
    if (config_.verify_tls) {
      conn->tls->set_verify_callback(net::ssl::host_name_verification(url.host), ec);
    }
    beast::get_lowest_layer(*conn->tls)
        .expires_after(std::chrono::milliseconds(config_.connect_timeout_ms));
    co_await conn->tls->async_handshake(net::ssl::stream_base::client, NoThrow(ec));
    if (ec) co_return FromError(ec, "TLS handshake with " + url.host);
  }
  // From here on the connection's Deadline times its reads and writes.
  conn->lowest().expires_never();
  co_return conn;
}

UpstreamExchange::UpstreamExchange(UpstreamPool& pool) : pool_(pool) {}
UpstreamExchange::~UpstreamExchange() = default;

unsigned UpstreamExchange::status() const { return parser_->get().result_int(); }
const http::fields& UpstreamExchange::headers() const { return parser_->get().base(); }
bool UpstreamExchange::done() const { return failed_ || !parser_ || parser_->is_done(); }

Task<Status> UpstreamExchange::SendOnce(http::request<http::string_body>& request,
                                        bool& retryable) {
  retryable = false;
  conn_ = pool_.TakeIdle();
  if (!conn_) {
    auto fresh = co_await pool_.Connect();
    if (!fresh.ok()) co_return fresh.status();
    conn_ = std::move(fresh).value();
  }
  const bool reused = conn_->reused;
  const auto timeout = std::chrono::milliseconds(pool_.config().read_timeout_ms);
  conn_->deadline.ExpireAfter(timeout);
  error_code ec;
  // No co_await inside ?: — g++ 12 miscompiles it (runs the wrong branch).
  if (conn_->tls) {
    ec = co_await Write(*conn_->tls, request);
  } else {
    ec = co_await Write(conn_->plain, request);
  }
  if (ec) {
    retryable = reused && !conn_->deadline.expired();
    co_return FromError(ec, "send request", conn_->deadline.expired());
  }
  parser_ = std::make_unique<http::response_parser<http::buffer_body>>();
  // The server enforces its own limit while reading; Beast 1.74 treats boost::none as 0 here.
  parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
  conn_->deadline.ExpireAfter(timeout);
  // No co_await inside ?: — g++ 12 miscompiles it (runs the wrong branch).
  if (conn_->tls) {
    ec = co_await ReadHeader(*conn_->tls, conn_->buffer, *parser_);
  } else {
    ec = co_await ReadHeader(conn_->plain, conn_->buffer, *parser_);
  }
  conn_->deadline.Clear();
  if (ec) {
    // A kept-alive connection the upstream closed just before our request: nothing was
    // processed, so trying once more on a new connection is safe.
    retryable = reused && (ec == http::error::end_of_stream || ec == net::error::connection_reset ||
                           ec == net::error::eof);
    co_return FromError(ec, "read response header", conn_->deadline.expired());
  }
  co_return OkStatus();
}

Task<Status> UpstreamExchange::Start(http::request<http::string_body>& request) {
  const UpstreamUrl& url = pool_.config().parsed;
  const bool default_port = url.port == (url.tls ? 443 : 80);
  request.set(http::field::host, default_port ? url.host : url.host + ":" + std::to_string(url.port));
  request.keep_alive(true);
  request.prepare_payload();
  bool retryable = false;
  Status s = co_await SendOnce(request, retryable);
  if (!s.ok() && retryable) {
    conn_.reset();
    s = co_await SendOnce(request, retryable);
  }
  if (!s.ok()) {
    failed_ = true;
    conn_.reset();
  }
  co_return s;
}

Task<Status> UpstreamExchange::ReadSome(std::string& out) {
  if (done()) co_return OkStatus();
  auto& body = parser_->get().body();
  body.data = conn_->piece.get();
  body.size = kPieceBytes;
  error_code ec;
  bool parsed = false;
  if (conn_->buffer.size() > 0) {
    // The body, or its first piece, usually arrives in the header's packet: take what is
    // buffered without a read, which would complete at once but through one more event-loop
    // turn. One step of the parser, not an eager parse: that would wait for the next chunk of
    // a stream before handing over this one.
    const size_t used = parser_->put(conn_->buffer.data(), ec);
    conn_->buffer.consume(used);
    if (ec == http::error::need_more || ec == http::error::need_buffer) ec = {};
    parsed = ec || used > 0;
  }
  if (!parsed) {
    conn_->deadline.ExpireAfter(std::chrono::milliseconds(pool_.config().read_timeout_ms));
    // No co_await inside ?: — g++ 12 miscompiles it (runs the wrong branch).
    if (conn_->tls) {
      ec = co_await ReadBody(*conn_->tls, conn_->buffer, *parser_);
    } else {
      ec = co_await ReadBody(conn_->plain, conn_->buffer, *parser_);
    }
    conn_->deadline.Clear();
  }
  out.append(conn_->piece.get(), kPieceBytes - body.size);
  if (ec) {
    failed_ = true;
    const bool timed_out = conn_->deadline.expired();
    conn_.reset();
    co_return FromError(ec, "read response body", timed_out);
  }
  co_return OkStatus();
}

void UpstreamExchange::Cancel() {
  failed_ = true;
  if (conn_) conn_->lowest().cancel();
}

void UpstreamExchange::Finish() {
  if (conn_ && !failed_ && parser_ && parser_->is_done() && parser_->keep_alive()) {
    pool_.Put(std::move(conn_));
  }
  conn_.reset();
}

}  // namespace warden::gateway
