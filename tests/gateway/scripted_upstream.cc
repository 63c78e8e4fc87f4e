#include "scripted_upstream.h"

#include <simdjson.h>

#include <chrono>
#include <list>
#include <sstream>

#include "core/json_writer.h"
#include "gateway/asio.h"

namespace warden::gateway::testing {

namespace {

std::string Completion(std::string_view model, std::string_view content) {
  std::string out = R"({"id":"chatcmpl-up","object":"chat.completion","created":1,"model":)";
  AppendJsonString(out, model);
  out += R"(,"choices":[{"index":0,"message":{"role":"assistant","content":)";
  AppendJsonString(out, content);
  out += R"(},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}})";
  return out;
}

std::string ToolCompletion(std::string_view name, std::string_view arguments) {
  std::string out = R"({"id":"chatcmpl-up","object":"chat.completion","created":1,"model":"tool","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":)";
  AppendJsonString(out, name);
  out += R"(,"arguments":)";
  AppendJsonString(out, arguments);
  out += R"(}}]},"finish_reason":"tool_calls"}]})";
  return out;
}

std::string Chunk(std::string_view delta_json, std::string_view finish = "null") {
  std::string out =
      R"(data: {"id":"chatcmpl-up","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":)";
  out += delta_json;
  out += R"(,"finish_reason":)";
  out += finish;
  out += "}]}\n\n";
  return out;
}

std::string ContentDelta(std::string_view text) {
  std::string d = R"({"content":)";
  AppendJsonString(d, text);
  d += "}";
  return d;
}

// Canned outputs by model name.
std::string CannedText(std::string_view model, std::string_view last_user) {
  if (model == "leak-secret") return "Sure. The key is AKIAIOSFODNN7EXAMPLE and nothing else.";
  if (model == "leak-pii") return "Contact bob@example.com for details.";
  if (model == "long") {
    return "The first sentence is harmless. The second one too! Is the third? Yes it is. "
           "Then a final line without a stop";
  }
  if (model == "late-secret") {
    return "Here is a long and perfectly harmless opening sentence. And another one follows. "
           "Now the secret: AKIAIOSFODNN7EXAMPLE. Done.";
  }
  return "You said: " + std::string(last_user);
}

}  // namespace

struct ScriptedUpstream::Impl {
  explicit Impl(ScriptedUpstream& owner) : owner(owner), acceptor(ioc) {}

  std::unique_ptr<net::ssl::context> tls;  // set: the upstream speaks HTTPS

  void Serve(tcp::socket socket) {
    error_code ec;
    // Small SSE chunks must not wait for Nagle's algorithm, or every stream starts 40 ms late.
    socket.set_option(tcp::no_delay(true), ec);
    if (!tls) {
      ServeOn(socket);
      return;
    }
    net::ssl::stream<tcp::socket> stream(std::move(socket), *tls);
    stream.handshake(net::ssl::stream_base::server, ec);
    if (!ec) ServeOn(stream);
  }

  template <typename Stream>
  void ServeOn(Stream& socket) {
    beast::flat_buffer buffer;
    error_code ec;
    for (;;) {
      http::request<http::string_body> req;
      http::read(socket, buffer, req, ec);
      if (ec) return;
      owner.requests_.fetch_add(1);
      {
        std::lock_guard<std::mutex> lock(owner.mu_);
        owner.last_body_ = req.body();
        owner.last_authorization_ = std::string(req[http::field::authorization]);
      }
      std::string model = "echo";
      std::string last_user;
      bool stream = false;
      simdjson::dom::parser parser;
      simdjson::dom::element doc;
      if (!parser.parse(req.body()).get(doc)) {
        std::string_view s;
        if (!doc["model"].get_string().get(s)) model = std::string(s);
        bool b = false;
        if (!doc["stream"].get_bool().get(b)) stream = b;
        simdjson::dom::array messages;
        if (!doc["messages"].get_array().get(messages)) {
          for (simdjson::dom::element m : messages) {
            if (!m["content"].get_string().get(s)) last_user = std::string(s);
          }
        }
      }
      if (req.target() == "/v1/models") {
        Respond(socket, req, 200, R"({"object":"list","data":[{"id":"m","object":"model"}]})");
        continue;
      }
      if (!Script(socket, req, model, last_user, stream)) return;
    }
  }

  template <typename Stream>
  void Respond(Stream& socket, const http::request<http::string_body>& req, unsigned status,
               std::string body, std::string_view type = "application/json") {
    http::response<http::string_body> res{static_cast<http::status>(status), 11};
    res.set(http::field::content_type, std::string(type));
    res.keep_alive(req.keep_alive());
    res.body() = std::move(body);
    res.prepare_payload();
    error_code ec;
    http::write(socket, res, ec);
  }

  // Returns false when the connection must be dropped.
  template <typename Stream>
  bool Script(Stream& socket, const http::request<http::string_body>& req,
              const std::string& model, const std::string& last_user, bool stream) {
    error_code ec;
    if (model == "stall") {
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));
      return false;
    }
    if (model == "reset") {
      beast::get_lowest_layer(socket).set_option(net::socket_base::linger(true, 0), ec);
      beast::get_lowest_layer(socket).close(ec);
      return false;
    }
    if (model == "garbage") {
      net::write(socket, net::buffer(std::string_view("HELLO I AM NOT HTTP\r\n\r\n")), ec);
      beast::get_lowest_layer(socket).close(ec);
      return false;
    }
    if (model == "nonjson") {
      Respond(socket, req, 200, "<html>oops</html>");
      return true;
    }
    if (model == "error401") {
      Respond(socket, req, 401,
              R"({"error":{"message":"bad key","type":"invalid_request_error","param":null,"code":"invalid_api_key"}})");
      return true;
    }
    // "call:NAME": the model calls tool NAME with the last message's text as its arguments,
    // so an agent-loop test scripts each step through what it sends.
    const bool scripted_call = model.starts_with("call:");
    const bool tool = model == "tool" || model == "tool-ok" || scripted_call;
    const std::string tool_name = scripted_call ? model.substr(5) : "send_email";
    const std::string tool_args = scripted_call ? last_user
                                  : model == "tool"
                                      ? R"({"to":"eve@example.org","body":"AKIAIOSFODNN7EXAMPLE"})"
                                      : R"({"city":"Paris"})";
    if (model == "slow-stream" && stream) {
      // One short sentence every 50 ms for 5 s: a stream that a kill switch must cut. The
      // header, the role chunk and the first sentence go out in one write, so the gateway
      // always finds body bytes behind the header it reads.
      http::response<http::empty_body> res{http::status::ok, 11};
      res.set(http::field::content_type, "text/event-stream");
      res.chunked(true);
      std::ostringstream first;
      first << res.base();
      for (const std::string& data :
           {Chunk(R"({"role":"assistant","content":""})"), Chunk(ContentDelta("Tick. "))}) {
        first << beast::buffers_to_string(http::make_chunk(net::buffer(data)));
      }
      net::write(socket, net::buffer(first.str()), ec);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      for (int i = 1; i < 100 && !ec; ++i) {
        net::write(socket, http::make_chunk(net::buffer(Chunk(ContentDelta("Tick. ")))), ec);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (!ec) net::write(socket, http::make_chunk(net::buffer(std::string("data: [DONE]\n\n"))), ec);
      if (!ec) net::write(socket, http::make_chunk_last(), ec);
      return !ec;
    }
    if (!stream) {
      Respond(socket, req, 200,
              tool ? ToolCompletion(tool_name, tool_args)
                   : Completion(model, CannedText(model, last_user)));
      return true;
    }
    http::response<http::empty_body> res{http::status::ok, 11};
    res.set(http::field::content_type, "text/event-stream");
    res.chunked(true);
    http::response_serializer<http::empty_body> sr{res};
    http::write_header(socket, sr, ec);
    auto send = [&](std::string_view bytes) {
      net::write(socket, http::make_chunk(net::buffer(bytes)), ec);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      return !ec;
    };
    if (model == "badsse") {
      send(Chunk(R"({"role":"assistant","content":""})"));
      send("data: {this is not json\n\n");
      net::write(socket, http::make_chunk_last(), ec);
      return true;
    }
    if (model == "stall-stream") {
      send(Chunk(R"({"role":"assistant","content":""})"));
      send(Chunk(ContentDelta("Hello. ")));
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));
      return false;
    }
    send(Chunk(R"({"role":"assistant","content":""})"));
    if (tool) {
      std::string d = R"({"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":")" +
                      tool_name + R"(","arguments":""}}]})";
      send(Chunk(d));
      for (size_t i = 0; i < tool_args.size(); i += 7) {
        std::string part = R"({"tool_calls":[{"index":0,"function":{"arguments":)";
        AppendJsonString(part, tool_args.substr(i, 7));
        part += "}}]}";
        send(Chunk(part));
      }
      send(Chunk("{}", "\"tool_calls\""));
    } else {
      const std::string text = CannedText(model, last_user);
      for (size_t i = 0; i < text.size(); i += 4) {
        if (!send(Chunk(ContentDelta(text.substr(i, 4))))) return false;
      }
      send(Chunk("{}", "\"stop\""));
    }
    if (model == "truncated") {
      net::write(socket, http::make_chunk_last(), ec);
      return true;
    }
    send("data: [DONE]\n\n");
    net::write(socket, http::make_chunk_last(), ec);
    return true;
  }

  ScriptedUpstream& owner;
  net::io_context ioc;
  tcp::acceptor acceptor;
  std::thread accept_thread;
  std::mutex mu;
  std::list<std::thread> threads;
  std::atomic<bool> stop{false};
};

ScriptedUpstream::ScriptedUpstream(const TlsFiles* tls) : impl_(new Impl(*this)) {
  if (tls) {
    impl_->tls = std::make_unique<net::ssl::context>(net::ssl::context::tls_server);
    impl_->tls->use_certificate_chain_file(tls->cert_pem);
    impl_->tls->use_private_key_file(tls->key_pem, net::ssl::context::pem);
    scheme_ = "https";
  }
  tcp::endpoint ep(net::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(net::socket_base::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  port_ = impl_->acceptor.local_endpoint().port();
  impl_->accept_thread = std::thread([this] {
    for (;;) {
      tcp::socket socket(impl_->ioc);
      error_code ec;
      impl_->acceptor.accept(socket, ec);
      if (impl_->stop.load()) return;
      if (ec) continue;
      std::lock_guard<std::mutex> lock(impl_->mu);
      impl_->threads.emplace_back(
          [this, s = std::move(socket)]() mutable { impl_->Serve(std::move(s)); });
    }
  });
}

ScriptedUpstream::~ScriptedUpstream() {
  impl_->stop.store(true);
  {
    // Wake the blocking accept.
    net::io_context ioc;
    tcp::socket s(ioc);
    error_code ec;
    s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_), ec);
  }
  impl_->accept_thread.join();
  // Connection threads end when their client (the gateway) closes; detach those still parked in
  // a keep-alive read so the test does not wait for the gateway's idle timeout.
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (std::thread& t : impl_->threads) t.detach();
  // Intentionally leaked: detached threads may still reference the Impl.
}

std::string ScriptedUpstream::last_body() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_body_;
}

std::string ScriptedUpstream::last_authorization() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_authorization_;
}

}  // namespace warden::gateway::testing
