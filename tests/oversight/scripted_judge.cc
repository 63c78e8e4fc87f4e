#include "scripted_judge.h"

// clang-format off
#include <utility>  // before Asio (docs/PLATFORM.md)
// clang-format on

#include <simdjson.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cmath>
#include <mutex>

#include "core/json_writer.h"

namespace warden::judge::testing {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

std::string Between(const std::string& s, const std::string& a, const std::string& b) {
  const size_t i = s.find(a);
  if (i == std::string::npos) return "";
  const size_t start = i + a.size();
  const size_t j = s.find(b, start);
  return s.substr(start, j == std::string::npos ? std::string::npos : j - start);
}

// Pulls the judged text (and ShieldGemma's policy) out of a prompt Warden built.
void ReadPrompt(const std::string& prompt, JudgeRequest& r) {
  if (prompt.find("Human Question: ") != std::string::npos ||
      prompt.find("Chatbot Response: ") != std::string::npos) {
    r.shieldgemma = true;
    r.text = Between(prompt, "Human Question: ", "\n<end_of_turn>");
    if (r.text.empty()) r.text = Between(prompt, "Chatbot Response: ", "\n<end_of_turn>");
    const std::string principle = Between(prompt, "* \"", "\"");
    if (principle == "No Dangerous Content") r.policy = "dangerous_content";
    if (principle == "No Harassment") r.policy = "harassment";
    if (principle == "No Hate Speech") r.policy = "hate_speech";
    if (principle == "No Sexually Explicit Information") r.policy = "sexually_explicit";
    return;
  }
  r.text = Between(prompt, "User: ", "\n\n<END CONVERSATION>");
  if (r.text.empty()) r.text = Between(prompt, "Agent: ", "\n\n<END CONVERSATION>");
}

JudgeRequest ParseRequest(const std::string& target, const std::string& body) {
  JudgeRequest r;
  r.target = target;
  r.body = body;
  r.api = target.find("/chat/completions") != std::string::npos ? Api::kChat : Api::kCompletion;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(body).get(root) != simdjson::SUCCESS) return r;
  std::string_view sv;
  if (r.api == Api::kCompletion) {
    if (root["prompt"].get(sv) == simdjson::SUCCESS) ReadPrompt(std::string(sv), r);
    return r;
  }
  simdjson::dom::array messages;
  if (root["messages"].get(messages) != simdjson::SUCCESS || messages.size() == 0) return r;
  if (messages.at(messages.size() - 1)["content"].get(sv) != simdjson::SUCCESS) return r;
  ReadPrompt(std::string(sv), r);  // ShieldGemma sends its whole prompt as the user message
  if (!r.shieldgemma) r.text = sv;
  return r;
}

// One generated answer in the API's shape; `first`/`other` are the first word and its
// alternative, with `p_first` the first's probability.
std::string Body(Api api, const std::string& text, const std::string& first,
                 const std::string& other, double p_first, bool logprobs) {
  std::string out;
  const double lp_first = std::log(std::max(p_first, 1e-12));
  const double lp_other = std::log(std::max(1 - p_first, 1e-12));
  if (api == Api::kCompletion) {
    out = "{\"content\":";
    AppendJsonString(out, text);
    if (logprobs) {
      // New llama.cpp: a blank token first (as Llama Guard emits), then the decision word.
      out +=
          ",\"completion_probabilities\":[{\"id\":271,\"token\":\"\\n\\n\",\"logprob\":0,"
          "\"top_logprobs\":[{\"id\":271,\"token\":\"\\n\\n\",\"logprob\":0}]},"
          "{\"id\":1,\"token\":";
      AppendJsonString(out, first);
      out += ",\"logprob\":";
      AppendJsonNumber(out, lp_first);
      out += ",\"top_logprobs\":[{\"id\":1,\"token\":";
      AppendJsonString(out, first);
      out += ",\"logprob\":" + std::to_string(lp_first) + "},{\"id\":2,\"token\":";
      AppendJsonString(out, other);
      out += ",\"logprob\":" + std::to_string(lp_other) + "}]}]";
    }
    out += ",\"stop\":true}";
    return out;
  }
  out =
      "{\"id\":\"judge-1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,"
      "\"message\":{\"role\":\"assistant\",\"content\":";
  AppendJsonString(out, text);
  out += "}";
  if (logprobs) {
    out += ",\"logprobs\":{\"content\":[{\"token\":";
    AppendJsonString(out, first);
    out += ",\"logprob\":" + std::to_string(lp_first) + ",\"top_logprobs\":[{\"token\":";
    AppendJsonString(out, first);
    out += ",\"logprob\":" + std::to_string(lp_first) + "},{\"token\":";
    AppendJsonString(out, other);
    out += ",\"logprob\":" + std::to_string(lp_other) + "}]}]}";
  }
  out += ",\"finish_reason\":\"stop\"}]}";
  return out;
}

}  // namespace

JudgeReply LlamaGuardReply(Api api, const std::string& answer, double p_first, bool logprobs) {
  const bool unsafe = answer.rfind("unsafe", 0) == 0;
  JudgeReply r;
  r.body =
      Body(api, answer, unsafe ? "unsafe" : "safe", unsafe ? "safe" : "unsafe", p_first, logprobs);
  return r;
}

JudgeReply ShieldGemmaReply(Api api, double p_yes, bool logprobs) {
  const bool yes = p_yes >= 0.5;
  JudgeReply r;
  r.body = Body(api, yes ? "Yes" : "No", yes ? "\xE2\x96\x81Yes" : "\xE2\x96\x81No",
                yes ? "\xE2\x96\x81No" : "\xE2\x96\x81Yes", yes ? p_yes : 1 - p_yes, logprobs);
  return r;
}

struct ScriptedJudge::Impl {
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::mutex mu;
  std::vector<std::thread> connections;
};

ScriptedJudge::ScriptedJudge(JudgeScript script)
    : impl_(std::make_unique<Impl>()), script_(std::move(script)) {
  tcp::endpoint ep(net::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(net::socket_base::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  port_ = impl_->acceptor.local_endpoint().port();
  thread_ = std::thread([this] { Serve(); });
}

ScriptedJudge::~ScriptedJudge() {
  stopping_ = true;
  // Wake the blocking accept with a connection of our own.
  try {
    net::io_context ioc;
    tcp::socket s(ioc);
    s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
  } catch (...) {
  }
  thread_.join();
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (std::thread& t : impl_->connections) t.join();
}

void ScriptedJudge::Serve() {
  while (!stopping_) {
    beast::error_code ec;
    auto socket = std::make_shared<tcp::socket>(impl_->ioc);
    impl_->acceptor.accept(*socket, ec);
    if (ec || stopping_) continue;
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->connections.emplace_back([this, socket] {
      beast::error_code ec;
      beast::flat_buffer buffer;
      http::request<http::string_body> req;
      http::read(*socket, buffer, req, ec);
      if (ec) return;
      ++requests_;
      const int now = ++in_flight_;
      int seen = max_in_flight_.load();
      while (now > seen && !max_in_flight_.compare_exchange_weak(seen, now)) {
      }
      JudgeReply reply = script_(ParseRequest(std::string(req.target()), req.body()));
      if (reply.delay_ms > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(reply.delay_ms));
      }
      --in_flight_;
      if (reply.hang_up) {
        socket->close(ec);
        return;
      }
      http::response<http::string_body> res{static_cast<http::status>(reply.status), 11};
      res.set(http::field::content_type, "application/json");
      res.body() = reply.body;
      res.prepare_payload();
      http::write(*socket, res, ec);
      socket->shutdown(tcp::socket::shutdown_both, ec);
    });
  }
}

}  // namespace warden::judge::testing
