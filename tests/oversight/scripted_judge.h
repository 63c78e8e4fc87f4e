// A scripted guard-model server for the judge's tests: it speaks llama.cpp's /completion and the
// OpenAI-compatible /v1/chat/completions, and answers whatever a test's script says, including
// slowly, with HTTP errors, with bodies that are not JSON, or by hanging up.
//
//   ScriptedJudge server([](const JudgeRequest& r) {
//     return LlamaGuardReply(r.api, r.text.find("bomb") != npos ? "unsafe\nS9" : "safe", 0.9);
//   });
//   options.url = server.url("/completion");
//
// Thread-safety: the script is called from one thread per connection, concurrently.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "scanners/judge/judge.h"

namespace warden::judge::testing {

struct JudgeRequest {
  Api api = Api::kChat;
  std::string target;  // request path
  std::string body;    // raw JSON body
  std::string text;    // the message being judged, extracted from the prompt or messages
  std::string policy;  // ShieldGemma: the principle's name ("hate_speech"…); else empty
  bool shieldgemma = false;
};

struct JudgeReply {
  int status = 200;
  std::string body;
  int delay_ms = 0;      // sleep before answering
  bool hang_up = false;  // close the connection without an answer
};

using JudgeScript = std::function<JudgeReply(const JudgeRequest&)>;

// Answers in each wire format. `p_first` is the probability of the first word of `answer`
// (e.g. P("unsafe") when the answer starts with "unsafe"); the alternative word gets the rest.
// With `logprobs` false the answer carries text only.
JudgeReply LlamaGuardReply(Api api, const std::string& answer, double p_first,
                           bool logprobs = true);
// ShieldGemma: P(Yes) = p_yes; the text is "Yes" when p_yes >= 0.5.
JudgeReply ShieldGemmaReply(Api api, double p_yes, bool logprobs = true);

class ScriptedJudge {
 public:
  explicit ScriptedJudge(JudgeScript script);
  ~ScriptedJudge();

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int requests() const { return requests_.load(); }
  int max_in_flight() const { return max_in_flight_.load(); }

 private:
  void Serve();
  struct Impl;
  std::unique_ptr<Impl> impl_;
  JudgeScript script_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> requests_{0};
  std::atomic<int> in_flight_{0};
  std::atomic<int> max_in_flight_{0};
  std::thread thread_;
};

}  // namespace warden::judge::testing
