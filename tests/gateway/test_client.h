// A small blocking HTTP client for the gateway's integration tests, and helpers to build chat
// requests and read server-sent events.
#pragma once

#include <cctype>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/asio.h"

namespace warden::gateway {

struct HttpReply {
  unsigned status = 0;
  std::string body;
  std::string verdict;  // X-Warden-Verdict
  std::string content_type;
  std::map<std::string, std::string> headers;  // every response header, by lowercase name
  bool closed = false;  // the connection failed or was closed before a reply
};

inline HttpReply Request(uint16_t port, http::verb method, std::string target, std::string body,
                  std::vector<std::pair<std::string, std::string>> headers = {}) {
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  error_code ec;
  stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
  HttpReply out;
  if (ec) {
    out.closed = true;
    return out;
  }
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, "localhost");
  req.set(http::field::content_type, "application/json");
  for (auto& [k, v] : headers) req.set(k, v);
  req.body() = std::move(body);
  req.prepare_payload();
  http::write(stream, req, ec);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  stream.expires_after(std::chrono::seconds(10));
  http::read(stream, buffer, parser, ec);
  if (ec) {
    out.closed = true;
    return out;
  }
  auto& res = parser.get();
  out.status = res.result_int();
  out.body = res.body();
  out.verdict = std::string(res["X-Warden-Verdict"]);
  out.content_type = std::string(res[http::field::content_type]);
  for (const auto& f : res) {
    std::string name(f.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(f.value());
  }
  return out;
}

inline HttpReply Post(uint16_t port, std::string target, std::string body,
               std::vector<std::pair<std::string, std::string>> headers = {}) {
  return Request(port, http::verb::post, std::move(target), std::move(body), std::move(headers));
}

inline std::string Chat(std::string_view model, std::string_view user, bool stream = false) {
  std::string out = R"({"model":")" + std::string(model) + R"(","messages":[{"role":"user","content":")" +
                    std::string(user) + R"("}])";
  if (stream) out += R"(,"stream":true)";
  out += "}";
  return out;
}

// Concatenates the content deltas of an SSE body; `events` receives each data payload.
inline std::string StreamText(const std::string& body, std::vector<std::string>* events = nullptr) {
  std::string text;
  size_t pos = 0;
  while ((pos = body.find("data: ", pos)) != std::string::npos) {
    const size_t end = body.find("\n\n", pos);
    std::string data = body.substr(pos + 6, end - pos - 6);
    if (events) events->push_back(data);
    const std::string key = "\"content\":\"";
    size_t c = data.find(key);
    if (c != std::string::npos) {
      c += key.size();
      text += data.substr(c, data.find('"', c) - c);
    }
    pos = end;
  }
  return text;
}

}  // namespace warden::gateway
