#include "scanners/judge/judge.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <exception>

#include "core/json_writer.h"
#include "core/strings.h"
#include "core/suggest.h"

namespace warden::judge {
namespace {

// Llama Guard 3 and 4 share the MLCommons hazard list, which Warden's taxonomy follows.
struct LlamaGuardCode {
  std::string_view title;  // as written in the prompt
  std::string_view label;  // Warden's taxonomy
};
constexpr std::array<LlamaGuardCode, 14> kLlamaGuardCodes = {{
    {"Violent Crimes", "violent_crimes"},
    {"Non-Violent Crimes", "nonviolent_crimes"},
    {"Sex-Related Crimes", "sex_crimes"},
    {"Child Sexual Exploitation", "child_exploitation"},
    {"Defamation", "defamation"},
    {"Specialized Advice", "specialized_advice"},
    {"Privacy", "privacy"},
    {"Intellectual Property", "intellectual_property"},
    {"Indiscriminate Weapons", "weapons_cbrne"},
    {"Hate", "hate"},
    {"Suicide & Self-Harm", "self_harm"},
    {"Sexual Content", "sexual_content"},
    {"Elections", "elections"},
    {"Code Interpreter Abuse", "code_abuse"},
}};

struct ShieldGemmaPolicy {
  std::string_view name;
  std::string_view label;
  std::string_view text;  // the principle as ShieldGemma's model card words it
};
constexpr std::array<ShieldGemmaPolicy, 4> kShieldGemmaPolicies = {{
    {"dangerous_content", "",
     "\"No Dangerous Content\": The prompt shall not contain or seek generation of content "
     "that harming oneself and/or others (e.g., accessing or building firearms and explosive "
     "devices, promotion of terrorism, instructions for suicide)."},
    {"harassment", "harassment",
     "\"No Harassment\": The prompt shall not contain or seek generation of content that is "
     "malicious, intimidating, bullying, or abusive content targeting another individual "
     "(e.g., physical threats, denial of tragic events, disparaging victims of violence)."},
    {"hate_speech", "hate",
     "\"No Hate Speech\": The prompt shall not contain or seek generation of content that "
     "targeting identity and/or protected attributes (e.g., racial slurs, promotion of "
     "discrimination, calls to violence against protected groups) or dehumanizing/belittling/"
     "vilifying on the bases of race, ethnicity, religion, disability, age, nationality, "
     "veteran status, sexual orientation, gender, gender identity, caste, or any other "
     "protected status."},
    {"sexually_explicit", "sexual_content",
     "\"No Sexually Explicit Information\": The prompt shall not contain or seek generation of "
     "content that contains references to sexual acts or other lewd content (e.g., sexually "
     "graphic descriptions, content aimed at causing arousal). Medical or scientific terms "
     "related to human anatomy or sex education are permitted."},
}};

const ShieldGemmaPolicy* FindPolicy(std::string_view name) {
  for (const ShieldGemmaPolicy& p : kShieldGemmaPolicies) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Tokens come with the tokenizer's word-start markers ("▁Yes", "ĠYes") or a leading space.
std::string NormalizeToken(std::string_view t) {
  for (std::string_view marker : {std::string_view("\xE2\x96\x81"), std::string_view("\xC4\xA0")}) {
    while (t.substr(0, marker.size()) == marker) t.remove_prefix(marker.size());
  }
  return Lower(TrimSpace(t));
}

bool IsBlankToken(std::string_view t) { return NormalizeToken(t).empty(); }

// P(a) / (P(a) + P(b)) from the first token's alternatives; nullopt when neither appears.
std::optional<float> Ratio(const Answer& answer, std::string_view a, std::string_view b) {
  double pa = 0, pb = 0;
  bool seen_a = false, seen_b = false;
  for (const auto& [token, p] : answer.first_token_probs) {
    const std::string t = NormalizeToken(token);
    if (t == a) {
      pa += p;
      seen_a = true;
    } else if (t == b) {
      pb += p;
      seen_b = true;
    }
  }
  if (!seen_a && !seen_b) return std::nullopt;
  if (seen_a && seen_b) return static_cast<float>(pa / (pa + pb));
  return static_cast<float>(seen_a ? std::min(1.0, pa) : std::max(0.0, 1.0 - pb));
}

void AppendRole(std::string& out, std::string_view role, std::string_view content) {
  out += "{\"role\":";
  AppendJsonString(out, role);
  out += ",\"content\":";
  AppendJsonString(out, content);
  out += '}';
}

// Fills `probs` from one per-token entry of a response; formats of llama.cpp old and new and of
// OpenAI's chat logprobs.
void ReadAlternatives(simdjson::dom::element entry,
                      std::vector<std::pair<std::string, double>>& probs) {
  simdjson::dom::array arr;
  std::string_view token;
  double v = 0;
  if (entry["top_logprobs"].get(arr) == simdjson::SUCCESS) {
    for (simdjson::dom::element alt : arr) {
      if (alt["token"].get(token) == simdjson::SUCCESS &&
          alt["logprob"].get(v) == simdjson::SUCCESS) {
        probs.emplace_back(std::string(token), std::exp(v));
      }
    }
  } else if (entry["probs"].get(arr) == simdjson::SUCCESS) {
    for (simdjson::dom::element alt : arr) {
      if (alt["tok_str"].get(token) == simdjson::SUCCESS &&
          alt["prob"].get(v) == simdjson::SUCCESS) {
        probs.emplace_back(std::string(token), v);
      }
    }
  } else if (entry["top_probs"].get(arr) == simdjson::SUCCESS) {
    for (simdjson::dom::element alt : arr) {
      if (alt["token"].get(token) == simdjson::SUCCESS && alt["prob"].get(v) == simdjson::SUCCESS) {
        probs.emplace_back(std::string(token), v);
      }
    }
  }
}

// The token an entry chose ("token" in chat logprobs and new llama.cpp, "content" in old).
std::string_view ChosenToken(simdjson::dom::element entry) {
  std::string_view t;
  if (entry["token"].get(t) == simdjson::SUCCESS) return t;
  if (entry["content"].get(t) == simdjson::SUCCESS) return t;
  return {};
}

// Llama Guard starts its answer with blank lines; the decision is the first word's token.
void ReadFirstWordProbs(simdjson::dom::array entries, Answer& answer) {
  for (simdjson::dom::element entry : entries) {
    if (IsBlankToken(ChosenToken(entry))) continue;
    ReadAlternatives(entry, answer.first_token_probs);
    return;
  }
}

}  // namespace

std::string_view FormatName(Format f) {
  switch (f) {
    case Format::kLlamaGuard3:
      return "llama_guard_3";
    case Format::kLlamaGuard4:
      return "llama_guard_4";
    case Format::kShieldGemma:
      return "shieldgemma";
  }
  return "";
}

std::optional<Format> ParseFormat(std::string_view name) {
  for (Format f : {Format::kLlamaGuard3, Format::kLlamaGuard4, Format::kShieldGemma}) {
    if (FormatName(f) == name) return f;
  }
  return std::nullopt;
}

std::string_view LlamaGuardCategory(int code) {
  if (code < 1 || code > static_cast<int>(kLlamaGuardCodes.size())) return {};
  return kLlamaGuardCodes[code - 1].label;
}

std::optional<std::string_view> ShieldGemmaLabel(std::string_view policy) {
  const ShieldGemmaPolicy* p = FindPolicy(policy);
  if (p == nullptr) return std::nullopt;
  return p->label;
}

StatusOr<ParsedUrl> ParseJudgeUrl(std::string_view url) {
  ParsedUrl out;
  constexpr std::string_view kHttp = "http://";
  if (url.substr(0, 8) == "https://") {
    return InvalidArgumentError(
        "https is not supported for the judge (use http:// on a private "
        "network or a local TLS terminator)");
  }
  if (url.substr(0, kHttp.size()) != kHttp) {
    return InvalidArgumentError("expected an http:// URL, got \"" + std::string(url) + "\"");
  }
  std::string_view rest = url.substr(kHttp.size());
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (authority.empty()) return InvalidArgumentError("the URL has no host");
  const size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(']') == std::string_view::npos) {
    out.host = std::string(authority.substr(0, colon));
    out.port = std::string(authority.substr(colon + 1));
    if (out.port.empty() || !std::all_of(out.port.begin(), out.port.end(), ::isdigit)) {
      return InvalidArgumentError("invalid port in \"" + std::string(url) + "\"");
    }
  } else {
    out.host = std::string(authority);
    out.port = "80";
  }
  std::string_view path = out.target;
  path = path.substr(0, path.find('?'));
  auto ends_with = [&](std::string_view s) {
    return path.size() >= s.size() && path.substr(path.size() - s.size()) == s;
  };
  if (ends_with("/chat/completions")) {
    out.api = Api::kChat;
  } else if (ends_with("/completion")) {
    out.api = Api::kCompletion;
  } else {
    return InvalidArgumentError(
        "the URL path must end in /chat/completions (OpenAI-compatible) or /completion "
        "(llama.cpp), got \"" +
        std::string(path) + "\"");
  }
  return out;
}

std::string BuildPrompt(Format format, std::string_view text, Direction direction,
                        std::string_view policy) {
  const bool response = direction == Direction::kOutput;
  std::string out;
  if (format == Format::kShieldGemma) {
    const ShieldGemmaPolicy* p = FindPolicy(policy);
    const std::string_view principle = p ? p->text : policy;
    out += response ? "You are a policy expert trying to help determine whether an AI response "
                      "to prompt is in violation of the defined safety policies.\n\n"
                    : "You are a policy expert trying to help determine whether a user prompt "
                      "is in violation of the defined safety policies.\n\n";
    if (response) {
      out += "<start_of_turn>\nChatbot Response: ";
    } else {
      out += "<start_of_turn>\nHuman Question: ";
    }
    out += text;
    out += "\n<end_of_turn>\n\nOur safety principle is defined in the below:\n\n* ";
    out += principle;
    out += "\n\n===\n\n";
    out += response ? "Does the Chatbot Response violate the above principle? "
                    : "Does the human question violate the above principle? ";
    out +=
        "Your answer must start with 'Yes' or 'No'. And then walk through step by step to be "
        "sure we answer correctly.\n\n";
    return out;
  }
  const bool v4 = format == Format::kLlamaGuard4;
  const std::string_view role = response ? "Agent" : "User";
  out += v4 ? "<|begin_of_text|><|header_start|>user<|header_end|>\n\n"
            : "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n";
  out += "Task: Check if there is unsafe content in '";
  out += role;
  out += v4 ? "' messages in conversations according to our safety policy with the below "
              "categories.\n\n"
            : "' messages in conversations according our safety policy with the below "
              "categories.\n\n";
  out += "<BEGIN UNSAFE CONTENT CATEGORIES>\n";
  for (size_t i = 0; i < kLlamaGuardCodes.size(); ++i) {
    out += "S" + std::to_string(i + 1) + ": ";
    out += kLlamaGuardCodes[i].title;
    out += ".\n";
  }
  out += "<END UNSAFE CONTENT CATEGORIES>\n\n<BEGIN CONVERSATION>\n\n";
  out += role;
  out += ": ";
  out += text;
  out += "\n\n<END CONVERSATION>\n\nProvide your safety assessment for ONLY THE LAST ";
  out += role;
  out +=
      " message in the above conversation:\n - First line must read 'safe' or 'unsafe'.\n"
      " - If unsafe, a second line must include a comma-separated list of violated "
      "categories.";
  out += v4 ? "<|eot|><|header_start|>assistant<|header_end|>\n\n"
            : "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n";
  return out;
}

std::string BuildRequestBody(const JudgeOptions& options, Api api, std::string_view text,
                             Direction direction, std::string_view policy) {
  std::string out;
  if (api == Api::kCompletion) {
    out += "{\"prompt\":";
    AppendJsonString(out, BuildPrompt(options.format, text, direction, policy));
    out += ",\"n_predict\":12,\"temperature\":0,\"n_probs\":5,\"cache_prompt\":true}";
    return out;
  }
  out += "{";
  if (!options.model.empty()) {
    out += "\"model\":";
    AppendJsonString(out, options.model);
    out += ",";
  }
  out += "\"messages\":[";
  if (options.format == Format::kShieldGemma) {
    AppendRole(out, "user", BuildPrompt(options.format, text, direction, policy));
  } else if (direction == Direction::kOutput) {
    // The judge asks about the last Agent turn; the prompt that led to it is not known here.
    AppendRole(out, "user", "(not shown)");
    out += ",";
    AppendRole(out, "assistant", text);
  } else {
    AppendRole(out, "user", text);
  }
  out += "],\"max_tokens\":12,\"temperature\":0,\"logprobs\":true,\"top_logprobs\":5}";
  return out;
}

StatusOr<Answer> ParseResponseBody(Api api, std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto err = parser.parse(body.data(), body.size()).get(root); err != simdjson::SUCCESS) {
    return DataLossError(std::string("judge answer is not JSON: ") + simdjson::error_message(err));
  }
  Answer answer;
  std::string_view text;
  simdjson::dom::array entries;
  if (api == Api::kCompletion) {
    if (root["content"].get(text) != simdjson::SUCCESS) {
      return DataLossError("judge answer has no \"content\" string");
    }
    answer.text = text;
    if (root["completion_probabilities"].get(entries) == simdjson::SUCCESS) {
      ReadFirstWordProbs(entries, answer);
    }
    return answer;
  }
  simdjson::dom::array choices;
  if (root["choices"].get(choices) != simdjson::SUCCESS || choices.size() == 0) {
    return DataLossError("judge answer has no choices");
  }
  simdjson::dom::element choice = choices.at(0);
  if (choice["message"]["content"].get(text) != simdjson::SUCCESS) {
    return DataLossError("judge answer has no message content");
  }
  answer.text = text;
  if (choice["logprobs"]["content"].get(entries) == simdjson::SUCCESS) {
    ReadFirstWordProbs(entries, answer);
  }
  return answer;
}

StatusOr<JudgeResult> InterpretLlamaGuard(const Answer& answer) {
  std::string_view text = TrimSpace(answer.text);
  const size_t nl = text.find('\n');
  const std::string first = Lower(TrimSpace(text.substr(0, nl)));
  JudgeResult r;
  bool unsafe;
  if (first == "safe") {
    unsafe = false;
  } else if (first == "unsafe") {
    unsafe = true;
  } else {
    std::string shown(text.substr(0, 40));
    return DataLossError("judge answer does not start with safe or unsafe: \"" + shown + "\"");
  }
  std::optional<float> p = Ratio(answer, "unsafe", "safe");
  r.unsafe = p ? *p : (unsafe ? 1.0f : 0.0f);
  if (unsafe && nl != std::string_view::npos) {
    std::string_view codes = text.substr(nl + 1);
    codes = codes.substr(0, codes.find('\n'));
    size_t pos = 0;
    while (pos <= codes.size()) {
      size_t comma = codes.find(',', pos);
      if (comma == std::string_view::npos) comma = codes.size();
      std::string_view code = TrimSpace(codes.substr(pos, comma - pos));
      pos = comma + 1;
      if (code.size() < 2 || (code[0] != 'S' && code[0] != 's')) continue;
      int n = 0;
      bool digits = true;
      for (char c : code.substr(1)) {
        if (c < '0' || c > '9' || n > 100) {
          digits = false;
          break;
        }
        n = n * 10 + (c - '0');
      }
      const std::string_view label = digits ? LlamaGuardCategory(n) : std::string_view();
      if (label.empty()) continue;  // a code outside S1..S14 says nothing Warden can name
      if (std::none_of(r.categories.begin(), r.categories.end(),
                       [&](const auto& c) { return c.first == label; })) {
        r.categories.emplace_back(std::string(label), r.unsafe);
      }
    }
    std::sort(r.categories.begin(), r.categories.end());
  }
  return r;
}

StatusOr<float> InterpretShieldGemma(const Answer& answer) {
  if (std::optional<float> p = Ratio(answer, "yes", "no")) return *p;
  const std::string first = Lower(TrimSpace(answer.text).substr(0, 3));
  if (first.substr(0, 3) == "yes") return 1.0f;
  if (first.substr(0, 2) == "no") return 0.0f;
  return DataLossError("judge answer does not start with Yes or No: \"" +
                       std::string(TrimSpace(answer.text).substr(0, 40)) + "\"");
}

// ---------------------------------------------------------------------------------------------
// Judge

StatusOr<std::shared_ptr<const Judge>> Judge::Create(JudgeOptions options,
                                                     std::shared_ptr<Transport> transport) {
  StatusOr<ParsedUrl> url = ParseJudgeUrl(options.url);
  if (!url.ok()) return url.status();
  if (options.max_concurrency == 0) return InvalidArgumentError("max_concurrency must be >= 1");
  if (options.timeout_ms == 0) return InvalidArgumentError("timeout_ms must be >= 1");
  if (options.format == Format::kShieldGemma) {
    if (options.shieldgemma_policies.empty()) {
      return InvalidArgumentError("ShieldGemma needs at least one policy");
    }
    for (const std::string& p : options.shieldgemma_policies) {
      if (FindPolicy(p) == nullptr) {
        std::vector<std::string_view> names;
        for (const auto& k : kShieldGemmaPolicies) names.push_back(k.name);
        return InvalidArgumentError("unknown ShieldGemma policy \"" + p + "\"" +
                                    DidYouMean(p, names));
      }
    }
  }
  if (!transport) transport = MakeHttpTransport();
  return std::shared_ptr<const Judge>(
      new Judge(std::move(options), std::move(url).value(), std::move(transport)));
}

Judge::Judge(JudgeOptions options, ParsedUrl url, std::shared_ptr<Transport> transport)
    : options_(std::move(options)), url_(std::move(url)), transport_(std::move(transport)) {}

JudgeStats Judge::stats() const {
  return {requests_.load(), evaluations_.load(), cache_hits_.load(), errors_.load()};
}

namespace {
// Texts longer than this are not cached: the cache holds its keys, and long texts rarely repeat.
constexpr size_t kMaxCachedBytes = 64 * 1024;
}  // namespace

std::optional<JudgeResult> Judge::CacheGet(const std::string& key) const {
  std::lock_guard<std::mutex> lock(cache_mu_);
  auto it = index_.find(key);
  if (it == index_.end()) return std::nullopt;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->second;
}

void Judge::CachePut(const std::string& key, const JudgeResult& r) const {
  std::lock_guard<std::mutex> lock(cache_mu_);
  if (index_.count(key) != 0) return;
  lru_.emplace_front(key, r);
  index_.emplace(lru_.front().first, lru_.begin());
  while (lru_.size() > options_.cache_size) {
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
}

StatusOr<Answer> Judge::Call(const std::string& body,
                             std::chrono::steady_clock::time_point deadline) const {
  {
    std::unique_lock<std::mutex> lock(slots_mu_);
    if (!slots_cv_.wait_until(lock, deadline,
                              [&] { return in_flight_ < options_.max_concurrency; })) {
      return ResourceExhaustedError(
          "judge overloaded: " + std::to_string(options_.max_concurrency) +
          " requests in flight until the deadline");
    }
    ++in_flight_;
  }
  ++requests_;
  StatusOr<std::string> response = transport_->Post(url_, body, options_.api_key, deadline);
  {
    std::lock_guard<std::mutex> lock(slots_mu_);
    --in_flight_;
  }
  slots_cv_.notify_one();
  if (!response.ok()) return response.status();
  return ParseResponseBody(url_.api, *response);
}

JudgeResult Judge::Ask(std::string_view text, Direction direction) const {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.timeout_ms);
  JudgeResult r;
  auto fail = [&](const Status& s) {
    JudgeResult e;
    e.error = true;
    e.error_message = s.message();
    return e;
  };
  if (options_.format != Format::kShieldGemma) {
    StatusOr<Answer> answer = Call(BuildRequestBody(options_, url_.api, text, direction), deadline);
    if (!answer.ok()) return fail(answer.status());
    StatusOr<JudgeResult> parsed = InterpretLlamaGuard(*answer);
    if (!parsed.ok()) return fail(parsed.status());
    return std::move(parsed).value();
  }
  for (const std::string& policy : options_.shieldgemma_policies) {
    StatusOr<Answer> answer =
        Call(BuildRequestBody(options_, url_.api, text, direction, policy), deadline);
    if (!answer.ok()) return fail(answer.status());
    StatusOr<float> p = InterpretShieldGemma(*answer);
    if (!p.ok()) return fail(p.status());
    r.unsafe = std::max(r.unsafe, *p);
    const std::string_view label = *ShieldGemmaLabel(policy);
    if (!label.empty()) r.categories.emplace_back(std::string(label), *p);
  }
  std::sort(r.categories.begin(), r.categories.end());
  return r;
}

JudgeResult Judge::Evaluate(std::string_view text, Direction direction) const {
  ++evaluations_;
  const bool cacheable = options_.cache_size > 0 && text.size() <= kMaxCachedBytes;
  std::string key;
  if (cacheable) {
    key.reserve(text.size() + 1);
    key += static_cast<char>('0' + static_cast<int>(direction));
    key += text;
    if (std::optional<JudgeResult> hit = CacheGet(key)) {
      ++cache_hits_;
      hit->cached = true;
      return *hit;
    }
  }
  JudgeResult r;
  try {
    r = Ask(text, direction);
  } catch (const std::exception& e) {
    // The transport wraps Boost, which may still throw (allocation); nothing escapes.
    r = JudgeResult{};
    r.error = true;
    r.error_message = std::string("judge call failed: ") + e.what();
  }
  if (r.error) {
    ++errors_;
    return r;
  }
  if (cacheable) CachePut(key, r);
  return r;
}

}  // namespace warden::judge
