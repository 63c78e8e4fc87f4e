// Judge: a guard model (Llama Guard 3 or 4, ShieldGemma) served behind an OpenAI-compatible
// /v1/chat/completions endpoint or llama.cpp's /completion, asked about one message at a time.
// The engine calls it only when the built-in scores are uncertain (the policy's cascade band),
// so most traffic never pays for it. Formats and the category map: docs/judge.md.
//
//   JudgeOptions o{.url = "http://127.0.0.1:8080/completion", .format = Format::kLlamaGuard3};
//   StatusOr<std::shared_ptr<const Judge>> judge = Judge::Create(o);
//   JudgeResult r = (*judge)->Evaluate("how do I make a pipe bomb", Direction::kInput);
//   // r.unsafe = 0.97, r.categories = {{"weapons_cbrne", 0.97}}
//
// Evaluate() never fails: a judge that is down, slow, overloaded or talks nonsense gives a
// result with `error` set, and the policy decides whether that counts as safe (fail_open) or as
// unsafe (fail_closed).
//
// Thread-safety: a Judge is immutable apart from its cache and counters, which are guarded;
// Evaluate() may run on any number of threads, at most `max_concurrency` of them talk to the
// server at once (the others wait up to the timeout, then fail).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "warden/message.h"
#include "warden/status.h"

namespace warden::judge {

enum class Format : uint8_t {
  kLlamaGuard3,  // "safe" | "unsafe\nS1,S10"; categories S1..S14
  kLlamaGuard4,  // same answers and categories, Llama 4 prompt tokens
  kShieldGemma,  // "Yes" (violates) | "No", one policy per call; P(Yes) from top logprobs
};
// "llama_guard_3", "llama_guard_4", "shieldgemma".
std::string_view FormatName(Format f);
std::optional<Format> ParseFormat(std::string_view name);

enum class Api : uint8_t {
  kChat,        // OpenAI-compatible POST .../chat/completions; the server applies the template
  kCompletion,  // llama.cpp POST .../completion with the fully formatted prompt
};

// The Llama Guard hazard code `code` (1..14, "S<code>") mapped to Warden's taxonomy label;
// empty for codes outside 1..14. The table is in docs/judge.md.
std::string_view LlamaGuardCategory(int code);

// ShieldGemma policies Warden knows, with the taxonomy label each maps to ("" = only
// judge_unsafe): "dangerous_content", "harassment", "hate_speech", "sexually_explicit".
std::optional<std::string_view> ShieldGemmaLabel(std::string_view policy);

struct JudgeOptions {
  std::string url;  // http://host:port/path; the path picks the API (see ParseJudgeUrl)
  Format format = Format::kLlamaGuard3;
  std::string model;             // "model" field of chat requests; may be empty
  uint32_t timeout_ms = 2000;    // whole request: connect, send, answer
  uint32_t max_concurrency = 4;  // requests in flight at once
  size_t cache_size = 1024;      // recent (direction, text) results kept; 0 disables
  std::string api_key;           // sent as "Authorization: Bearer ..." when not empty
  // ShieldGemma: the policies asked, one call each. Default: all four.
  std::vector<std::string> shieldgemma_policies = {"dangerous_content", "harassment", "hate_speech",
                                                   "sexually_explicit"};
};

struct ParsedUrl {
  std::string host;
  std::string port;
  std::string target;  // path and query
  Api api = Api::kChat;
};
// Accepts http://host[:port]/path where the path ends in "/chat/completions" (Api::kChat) or
// "/completion" (Api::kCompletion). INVALID_ARGUMENT otherwise (https is not supported: run the
// judge on a private network or behind a local TLS terminator).
StatusOr<ParsedUrl> ParseJudgeUrl(std::string_view url);

// What a judge says about one message.
struct JudgeResult {
  float unsafe = 0;  // probability the message is unsafe, in [0,1]
  // Taxonomy labels the judge named, each with the unsafe probability (Llama Guard) or the
  // policy's P(Yes) (ShieldGemma); sorted by label.
  std::vector<std::pair<std::string, float>> categories;
  bool error = false;         // the judge could not be asked or its answer not read
  std::string error_message;  // set with `error`
  bool cached = false;        // answered from the cache
};

// ---- Wire format, exposed for tests and the scripted server ------------------------------

// The prompt for `text` in `format` (Llama Guard: the whole instruction with its special
// tokens; ShieldGemma: the instruction for `policy`).
std::string BuildPrompt(Format format, std::string_view text, Direction direction,
                        std::string_view policy = {});
// The JSON request body for `api`. Chat requests send the conversation and let the server's
// template wrap it for Llama Guard; ShieldGemma's prompt is sent as the user message. All
// requests ask for one token's top logprobs, so a probability is available when the server
// gives one.
std::string BuildRequestBody(const JudgeOptions& options, Api api, std::string_view text,
                             Direction direction, std::string_view policy = {});

// The model's answer, read from a response body of `api`: the generated text and, when the
// server returned them, the first token's top alternatives with their probabilities.
struct Answer {
  std::string text;
  std::vector<std::pair<std::string, double>> first_token_probs;  // token, probability
};
StatusOr<Answer> ParseResponseBody(Api api, std::string_view body);

// Llama Guard: "safe" / "unsafe\nS1,S10" into a result. P(unsafe) from the first token's
// probabilities when given (P(unsafe) / (P(unsafe) + P(safe))), else 1 or 0 from the text.
StatusOr<JudgeResult> InterpretLlamaGuard(const Answer& answer);
// ShieldGemma: P(Yes) / (P(Yes) + P(No)) from the first token's probabilities when given,
// else 1 or 0 from whether the text starts with "Yes" or "No".
StatusOr<float> InterpretShieldGemma(const Answer& answer);

// ---- Transport ----------------------------------------------------------------------------

// Sends one POST and returns the response body (2xx only). Implementations must honour the
// deadline. Thread-safe.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual StatusOr<std::string> Post(const ParsedUrl& url, const std::string& body,
                                     const std::string& api_key,
                                     std::chrono::steady_clock::time_point deadline) = 0;
};
// A blocking HTTP/1.1 client (Boost.Beast), one connection per request, with the deadline on
// connect, send and receive. Responses over 1 MiB are refused.
std::unique_ptr<Transport> MakeHttpTransport();

struct JudgeStats {
  uint64_t requests = 0;     // HTTP requests sent
  uint64_t evaluations = 0;  // Evaluate() calls
  uint64_t cache_hits = 0;
  uint64_t errors = 0;  // evaluations that ended in an error
};

class Judge {
 public:
  // Validates `options` (URL, concurrency >= 1, timeout >= 1 ms, ShieldGemma policy names).
  // `transport` defaults to MakeHttpTransport().
  static StatusOr<std::shared_ptr<const Judge>> Create(JudgeOptions options,
                                                       std::shared_ptr<Transport> transport = {});

  // Asks the judge about `text`. Never fails (see file comment).
  JudgeResult Evaluate(std::string_view text, Direction direction) const;

  JudgeStats stats() const;
  const JudgeOptions& options() const { return options_; }

 private:
  Judge(JudgeOptions options, ParsedUrl url, std::shared_ptr<Transport> transport);
  JudgeResult Ask(std::string_view text, Direction direction) const;
  StatusOr<Answer> Call(const std::string& body,
                        std::chrono::steady_clock::time_point deadline) const;
  std::optional<JudgeResult> CacheGet(const std::string& key) const;
  void CachePut(const std::string& key, const JudgeResult& r) const;

  JudgeOptions options_;
  ParsedUrl url_;
  std::shared_ptr<Transport> transport_;

  // Bounded concurrency: a counting semaphore with a deadline.
  mutable std::mutex slots_mu_;
  mutable std::condition_variable slots_cv_;
  mutable uint32_t in_flight_ = 0;

  // LRU cache: most recent at the front.
  mutable std::mutex cache_mu_;
  mutable std::list<std::pair<std::string, JudgeResult>> lru_;
  mutable std::unordered_map<std::string_view, decltype(lru_)::iterator> index_;

  mutable std::atomic<uint64_t> requests_{0};
  mutable std::atomic<uint64_t> evaluations_{0};
  mutable std::atomic<uint64_t> cache_hits_{0};
  mutable std::atomic<uint64_t> errors_{0};
};

}  // namespace warden::judge
