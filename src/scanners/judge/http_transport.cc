// The judge's HTTP client: blocking from the caller's point of view, but built on Beast's
// asynchronous operations run on a private io_context, because only those honour a deadline
// (the synchronous calls can block for as long as the kernel likes).
// clang-format off
#include <utility>  // Boost 1.74's Asio needs it first (docs/PLATFORM.md)
// clang-format on

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <exception>

#include "scanners/judge/judge.h"

namespace warden::judge {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

constexpr size_t kMaxResponseBytes = 1 << 20;

class HttpTransport final : public Transport {
 public:
  StatusOr<std::string> Post(const ParsedUrl& url, const std::string& body,
                             const std::string& api_key,
                             std::chrono::steady_clock::time_point deadline) override {
    try {
      return PostOrThrow(url, body, api_key, deadline);
    } catch (const std::exception& e) {
      return UnavailableError(std::string("judge request failed: ") + e.what());
    }
  }

 private:
  static StatusOr<std::string> PostOrThrow(const ParsedUrl& url, const std::string& body,
                                           const std::string& api_key,
                                           std::chrono::steady_clock::time_point deadline) {
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    tcp::resolver resolver(ioc);
    beast::error_code ec;
    const std::string where = url.host + ":" + url.port;

    tcp::resolver::results_type endpoints;
    resolver.async_resolve(url.host, url.port,
                           [&](beast::error_code e, tcp::resolver::results_type r) {
                             ec = e;
                             endpoints = std::move(r);
                           });
    ioc.run_until(deadline);
    if (!ioc.stopped()) return Timeout(where, "resolving");
    if (ec) return UnavailableError("judge at " + where + ": cannot resolve: " + ec.message());
    ioc.restart();

    stream.expires_at(deadline);
    stream.async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
    ioc.run();
    if (ec == beast::error::timeout) return Timeout(where, "connecting");
    if (ec) return UnavailableError("judge at " + where + ": cannot connect: " + ec.message());
    ioc.restart();

    http::request<http::string_body> req{http::verb::post, url.target, 11};
    req.set(http::field::host, url.host);
    req.set(http::field::content_type, "application/json");
    req.set(http::field::user_agent, "warden-judge");
    if (!api_key.empty()) req.set(http::field::authorization, "Bearer " + api_key);
    req.body() = body;
    req.prepare_payload();
    http::async_write(stream, req, [&](beast::error_code e, size_t) { ec = e; });
    ioc.run();
    if (ec == beast::error::timeout) return Timeout(where, "sending");
    if (ec) return UnavailableError("judge at " + where + ": send failed: " + ec.message());
    ioc.restart();

    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxResponseBytes);
    http::async_read(stream, buffer, parser, [&](beast::error_code e, size_t) { ec = e; });
    ioc.run();
    if (ec == beast::error::timeout) return Timeout(where, "waiting for the answer");
    if (ec) return UnavailableError("judge at " + where + ": bad answer: " + ec.message());
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    const auto& res = parser.get();
    if (res.result_int() < 200 || res.result_int() >= 300) {
      return UnavailableError("judge at " + where + " answered HTTP " +
                              std::to_string(res.result_int()));
    }
    return res.body();
  }

  static Status Timeout(const std::string& where, const char* what) {
    return Status(StatusCode::kDeadlineExceeded, "judge at " + where + ": timed out while " + what);
  }
};

}  // namespace

std::unique_ptr<Transport> MakeHttpTransport() { return std::make_unique<HttpTransport>(); }

}  // namespace warden::judge
