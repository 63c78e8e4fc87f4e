#include "gateway/openai.h"

#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <random>

#include "core/json_writer.h"
#include "gateway/json_rewrite.h"

namespace warden::gateway {

namespace dom = simdjson::dom;

namespace {

// One text found in a request or response, with where it sits.
struct Item {
  std::string_view text;
  std::string_view role;
  Direction direction;
  std::string_view tool_name;
  std::string_view tool_arguments;
  std::string pointer;  // JSON Pointer, for rewriting
  std::string where;    // human-readable path, for the warden field
  // Tool calls in responses: the call's pointer, its message's pointer and its id.
  std::string call_pointer;
  std::string message_pointer;
  std::string_view call_id;
};

// Keeps the most severe verdict; the first one wins among equals so that the reported place
// is the earliest. Returns false when the text needs a slow scorer the options leave out.
bool Screen(const Guard& guard, const ScreenOptions& options, const Item& item, ChatScreen& screen,
            std::map<std::string, std::string>& replacements) {
  Message m{.text = item.text,
            .role = item.role,
            .direction = item.direction,
            .tool_name = item.tool_name,
            .tool_arguments = item.tool_arguments,
            .tenant = options.tenant};
  CheckOptions check_options{.conversation = options.conversation};
  std::optional<Verdict> checked =
      CheckMessage(guard, m, check_options, options.without_slow_scorers);
  if (!checked) {
    screen.needs_slow_scorers = true;
    return false;
  }
  Verdict& v = *checked;
  ++screen.texts_screened;
  if (v.redacted && v.action < Action::kBlock) {
    replacements[item.pointer] = *v.redacted;
  }
  if (!item.call_pointer.empty()) {
    screen.tool_calls.push_back({.pointer = item.call_pointer,
                                 .message_pointer = item.message_pointer,
                                 .id = std::string(item.call_id),
                                 .name = std::string(item.tool_name),
                                 .arguments = std::string(item.tool_arguments),
                                 .verdict = v});
  } else {
    screen.content_action = std::max(screen.content_action, v.action);
  }
  if (screen.texts_screened == 1 || v.action > screen.action) {
    screen.action = v.action;
    screen.where = item.where;
    screen.text.assign(item.text.substr(0, 4096));
    screen.verdict = std::move(v);
  }
  return true;
}

std::string Idx(size_t i) { return std::to_string(i); }

std::string RandomId(std::string_view prefix) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string id(prefix);
  for (int i = 0; i < 24; ++i) id.push_back(kAlphabet[rng() % (sizeof(kAlphabet) - 1)]);
  return id;
}

// Collects the text parts of `content` (string, array of parts, or null).
Status CollectContent(dom::element content, const std::string& pointer, const std::string& where,
                      std::string_view role, Direction direction, std::vector<Item>& items) {
  switch (content.type()) {
    case dom::element_type::STRING:
      items.push_back({.text = content.get_string().value_unsafe(),
                       .role = role,
                       .direction = direction,
                       .pointer = pointer,
                       .where = where});
      return OkStatus();
    case dom::element_type::NULL_VALUE:
      return OkStatus();
    case dom::element_type::ARRAY: {
      size_t j = 0;
      const dom::array parts = content.get_array().value_unsafe();
      for (dom::element part : parts) {
        const std::string part_where = where + "[" + Idx(j) + "]";
        dom::object obj;
        if (part.get_object().get(obj)) {
          return InvalidArgumentError(part_where + ": expected an object");
        }
        std::string_view type;
        if (obj["type"].get_string().get(type)) {
          return InvalidArgumentError(part_where + ".type: expected a string");
        }
        if (type == "text") {
          std::string_view text;
          if (obj["text"].get_string().get(text)) {
            return InvalidArgumentError(part_where + ".text: expected a string");
          }
          items.push_back({.text = text,
                           .role = role,
                           .direction = direction,
                           .pointer = pointer + "/" + Idx(j) + "/text",
                           .where = part_where + ".text"});
        }
        ++j;
      }
      return OkStatus();
    }
    default:
      return InvalidArgumentError(where + ": expected a string, an array or null");
  }
}

// Collects tool calls ([{"id","type":"function","function":{"name","arguments"}}]).
Status CollectToolCalls(dom::element calls, const std::string& pointer, const std::string& where,
                        std::string_view role, std::vector<Item>& items,
                        const std::string& message_pointer = {}) {
  dom::array arr;
  if (calls.get_array().get(arr)) return InvalidArgumentError(where + ": expected an array");
  size_t k = 0;
  for (dom::element call : arr) {
    const std::string call_where = where + "[" + Idx(k) + "]";
    dom::object fn;
    if (call["function"].get_object().get(fn)) {
      // Non-function tool types carry no text Warden knows how to screen.
      ++k;
      continue;
    }
    std::string_view name, arguments;
    if (fn["name"].get_string().get(name)) {
      return InvalidArgumentError(call_where + ".function.name: expected a string");
    }
    if (fn["arguments"].get_string().get(arguments)) {
      return InvalidArgumentError(call_where + ".function.arguments: expected a string");
    }
    items.push_back({.text = arguments,
                     .role = role,
                     .direction = Direction::kToolCall,
                     .tool_name = name,
                     .tool_arguments = arguments,
                     .pointer = pointer + "/" + Idx(k) + "/function/arguments",
                     .where = call_where + ".function.arguments"});
    if (!message_pointer.empty()) {
      // A response: remember the call itself, so that it can be taken out alone.
      items.back().call_pointer = pointer + "/" + Idx(k);
      items.back().message_pointer = message_pointer;
      std::string_view id;
      if (!call["id"].get_string().get(id)) items.back().call_id = id;
    }
    ++k;
  }
  return OkStatus();
}

StatusOr<dom::element> ParseObject(std::string_view body, std::string_view what) {
  dom::element doc;
  if (auto err = ThreadParser().parse(body.data(), body.size()).get(doc)) {
    return InvalidArgumentError(std::string(what) + " is not valid JSON: " +
                                simdjson::error_message(err));
  }
  if (doc.type() != dom::element_type::OBJECT) {
    return InvalidArgumentError(std::string(what) + " must be a JSON object");
  }
  return doc;
}

void Finish(dom::element doc, const std::map<std::string, std::string>& replacements,
            ChatScreen& screen) {
  // A refused text is never forwarded, so its redaction is moot; responses with tool calls are
  // the exception, as the gateway may take out just the refused calls and keep the rest.
  if (replacements.empty() || (screen.action >= Action::kBlock && screen.tool_calls.empty())) {
    return;
  }
  screen.modified = true;
  screen.body.reserve(1024);
  WriteJsonWithReplacements(screen.body, doc, replacements);
}

// Screens every item, then rewrites the body with the redactions; stops at the first item that
// needs a slow scorer the options leave out.
void ScreenItems(const Guard& guard, const ScreenOptions& options, const std::vector<Item>& items,
                 dom::element doc, ChatScreen& screen) {
  std::map<std::string, std::string> replacements;
  for (const Item& item : items) {
    if (!Screen(guard, options, item, screen, replacements)) return;
  }
  Finish(doc, replacements, screen);
}

}  // namespace

std::optional<Verdict> CheckMessage(const Guard& guard, const Message& message,
                                    const CheckOptions& options, bool without_slow_scorers) {
  if (without_slow_scorers) return guard.CheckWithoutSlowScorers(message, options);
  return guard.Check(message, options);
}

std::string ErrorJson(std::string_view message, std::string_view type, std::string_view code) {
  std::string out;
  out.reserve(96 + message.size());
  out.append("{\"error\":{\"message\":");
  AppendJsonString(out, message);
  out.append(",\"type\":");
  AppendJsonString(out, type);
  out.append(",\"param\":null,\"code\":");
  AppendJsonStringOrNull(out, code);
  out.append("}}");
  return out;
}

StatusOr<ChatScreen> ScreenChatRequest(std::string_view body, const Guard& guard,
                                       const ScreenOptions& options) {
  auto parsed = ParseObject(body, "request body");
  if (!parsed.ok()) return parsed.status();
  dom::element doc = *parsed;
  ChatScreen screen;
  dom::element field;
  if (!doc["model"].get(field)) {
    std::string_view model;
    if (field.get_string().get(model)) return InvalidArgumentError("model: expected a string");
    screen.model = std::string(model);
  }
  if (!doc["stream"].get(field)) {
    if (field.type() == dom::element_type::BOOL) {
      screen.stream = field.get_bool().value_unsafe();
    } else if (field.type() != dom::element_type::NULL_VALUE) {
      return InvalidArgumentError("stream: expected a boolean");
    }
  }
  dom::array messages;
  if (doc["messages"].get(field)) return InvalidArgumentError("messages: required");
  if (field.get_array().get(messages)) return InvalidArgumentError("messages: expected an array");
  std::vector<Item> items;
  size_t i = 0;
  for (dom::element message : messages) {
    const std::string where = "messages[" + Idx(i) + "]";
    const std::string pointer = "/messages/" + Idx(i);
    dom::object obj;
    if (message.get_object().get(obj)) return InvalidArgumentError(where + ": expected an object");
    std::string_view role;
    if (obj["role"].get_string().get(role)) {
      return InvalidArgumentError(where + ".role: expected a string");
    }
    std::optional<Direction> direction = DirectionForRole(role);
    if (!direction) {
      return InvalidArgumentError(where + ".role: unknown role \"" + std::string(role) + "\"");
    }
    dom::element content;
    if (!obj["content"].get(content)) {
      if (Status s = CollectContent(content, pointer + "/content", where + ".content", role,
                                    *direction, items);
          !s.ok()) {
        return s;
      }
      if (*direction == Direction::kToolResult) {
        // Name the tool when the request says it, so tool rules can match its results.
        std::string_view name;
        if (!obj["name"].get_string().get(name)) {
          for (size_t k = items.size(); k-- > 0 && items[k].pointer.starts_with(pointer);) {
            items[k].tool_name = name;
          }
        }
      }
    }
    dom::element calls;
    if (!obj["tool_calls"].get(calls) && calls.type() != dom::element_type::NULL_VALUE) {
      if (Status s = CollectToolCalls(calls, pointer + "/tool_calls", where + ".tool_calls", role,
                                      items);
          !s.ok()) {
        return s;
      }
    }
    ++i;
  }
  ScreenItems(guard, options, items, doc, screen);
  return screen;
}

StatusOr<ChatScreen> ScreenChatResponse(std::string_view body, const Guard& guard,
                                        const ScreenOptions& options) {
  auto parsed = ParseObject(body, "upstream response");
  if (!parsed.ok()) return parsed.status();
  dom::element doc = *parsed;
  ChatScreen screen;
  std::string_view model;
  if (!doc["model"].get_string().get(model)) screen.model = std::string(model);
  if (uint64_t tokens = 0; !doc["usage"]["total_tokens"].get_uint64().get(tokens)) {
    screen.total_tokens = static_cast<int64_t>(std::min<uint64_t>(tokens, 1ull << 40));
  }
  dom::array choices;
  if (doc["choices"].get_array().get(choices)) {
    return InvalidArgumentError("upstream response has no choices array");
  }
  std::vector<Item> items;
  size_t i = 0;
  for (dom::element choice : choices) {
    const std::string where = "choices[" + Idx(i) + "].message";
    const std::string pointer = "/choices/" + Idx(i) + "/message";
    dom::object message;
    if (choice["message"].get_object().get(message)) {
      return InvalidArgumentError(where + ": expected an object");
    }
    dom::element content;
    if (!message["content"].get(content)) {
      if (Status s = CollectContent(content, pointer + "/content", where + ".content", "assistant",
                                    Direction::kOutput, items);
          !s.ok()) {
        return s;
      }
    }
    dom::element calls;
    if (!message["tool_calls"].get(calls) && calls.type() != dom::element_type::NULL_VALUE) {
      if (Status s = CollectToolCalls(calls, pointer + "/tool_calls", where + ".tool_calls",
                                      "assistant", items, pointer);
          !s.ok()) {
        return s;
      }
    }
    ++i;
  }
  ScreenItems(guard, options, items, doc, screen);
  return screen;
}

StatusOr<std::string> RemoveToolCalls(std::string_view body,
                                      const std::vector<const ToolCallScreen*>& removed,
                                      std::string_view explanation, std::string_view warden_field) {
  auto parsed = ParseObject(body, "chat completion");
  if (!parsed.ok()) return parsed.status();
  dom::element doc = *parsed;
  JsonEdits edits;
  for (const ToolCallScreen* call : removed) edits.removed.insert(call->pointer);
  // A message whose every call is taken out loses its tool_calls and says why instead.
  std::map<std::string, size_t> kept;  // message pointer -> calls left
  for (const ToolCallScreen* call : removed) kept.emplace(call->message_pointer, 0);
  for (auto& [message_pointer, count] : kept) {
    dom::array calls;
    if (doc.at_pointer(message_pointer + "/tool_calls").get_array().get(calls)) continue;
    for (size_t k = 0; k < calls.size(); ++k) {
      if (!edits.removed.count(message_pointer + "/tool_calls/" + Idx(k))) ++count;
    }
    if (count > 0) continue;
    edits.removed.insert(message_pointer + "/tool_calls");
    std::string content;
    AppendJsonString(content, explanation);
    edits.raw[message_pointer + "/content"] = content;
    edits.added[message_pointer].emplace_back("content", content);
    // "/choices/0/message" -> "/choices/0/finish_reason"
    const std::string choice = message_pointer.substr(0, message_pointer.rfind('/'));
    edits.raw[choice + "/finish_reason"] = "\"stop\"";
  }
  std::string out;
  out.reserve(body.size() + warden_field.size() + explanation.size() + 32);
  WriteJsonEdited(out, doc, edits);
  return warden_field.empty() ? out : WithWardenField(out, warden_field);
}

StatusOr<std::string> RestorePlaceholders(std::string_view body, const Conversation& conversation,
                                          unsigned where) {
  if (conversation.size() == 0 || body.find('[') == std::string_view::npos) {
    return std::string(body);
  }
  auto parsed = ParseObject(body, "chat completion");
  if (!parsed.ok()) return parsed.status();
  JsonEdits edits;
  auto restore = [&](dom::element e, const std::string& pointer) {
    std::string_view text;
    if (e.get_string().get(text) || text.find('[') == std::string_view::npos) return;
    std::string restored = conversation.Restore(text);
    if (restored != text) edits.strings[pointer] = std::move(restored);
  };
  dom::array choices;
  if (!(*parsed)["choices"].get_array().get(choices)) {
    size_t i = 0;
    for (dom::element choice : choices) {
      const std::string message = "/choices/" + Idx(i++) + "/message";
      dom::element m;
      if (choice["message"].get(m)) continue;
      dom::element content;
      if ((where & kRestoreContent) && !m["content"].get(content)) {
        restore(content, message + "/content");
      }
      dom::array calls;
      if ((where & kRestoreToolArguments) && !m["tool_calls"].get_array().get(calls)) {
        size_t k = 0;
        for (dom::element call : calls) {
          dom::element args;
          if (!call["function"]["arguments"].get(args)) {
            restore(args, message + "/tool_calls/" + Idx(k) + "/function/arguments");
          }
          ++k;
        }
      }
    }
  }
  if (edits.strings.empty()) return std::string(body);
  std::string out;
  out.reserve(body.size() + 64);
  WriteJsonEdited(out, *parsed, edits);
  return out;
}

StatusOr<std::string> ReplaceModel(std::string_view body, std::string_view model) {
  auto parsed = ParseObject(body, "request body");
  if (!parsed.ok()) return parsed.status();
  JsonEdits edits;
  std::string quoted;
  AppendJsonString(quoted, model);
  edits.raw["/model"] = quoted;
  edits.added[""].emplace_back("model", quoted);
  std::string out;
  out.reserve(body.size() + model.size());
  WriteJsonEdited(out, *parsed, edits);
  return out;
}

Verdict GatewayVerdict(Action action, std::string rule, std::string message) {
  Verdict v;
  v.action = action;
  v.rule = std::move(rule);
  v.message = std::move(message);
  return v;
}

std::string WardenField(const ChatScreen& screen, std::string_view stage) {
  std::string out;
  out.append("{\"action\":");
  AppendJsonString(out, ActionName(screen.action));
  out.append(",\"stage\":");
  AppendJsonString(out, stage);
  out.append(",\"where\":");
  AppendJsonStringOrNull(out, screen.where);
  out.append(",\"verdict\":");
  out.append(VerdictToJson(screen.verdict));
  out.push_back('}');
  return out;
}

std::string RefusalCompletion(std::string_view model, std::string_view refusal,
                              std::string_view warden_field) {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  std::string out;
  out.reserve(320 + refusal.size() + warden_field.size());
  out.append("{\"id\":");
  AppendJsonString(out, RandomId("chatcmpl-warden-"));
  out.append(",\"object\":\"chat.completion\",\"created\":");
  AppendJsonUint(out, static_cast<uint64_t>(now));
  out.append(",\"model\":");
  AppendJsonString(out, model);
  out.append(
      ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":");
  AppendJsonString(out, refusal);
  out.append(",\"refusal\":");
  AppendJsonString(out, refusal);
  out.append(
      "},\"logprobs\":null,\"finish_reason\":\"content_filter\"}],"
      "\"usage\":{\"prompt_tokens\":0,\"completion_tokens\":0,\"total_tokens\":0}");
  if (!warden_field.empty()) {
    out.append(",\"warden\":");
    out.append(warden_field);
  }
  out.push_back('}');
  return out;
}

std::string WithWardenField(std::string_view object_json, std::string_view warden_field) {
  const size_t close = object_json.rfind('}');
  if (close == std::string_view::npos) return std::string(object_json);
  std::string out;
  out.reserve(object_json.size() + warden_field.size() + 16);
  out.append(object_json.substr(0, close));
  // An empty object needs no separating comma.
  const size_t last = object_json.find_last_not_of(" \t\r\n", close == 0 ? 0 : close - 1);
  if (last != std::string_view::npos && object_json[last] != '{') out.push_back(',');
  out.append("\"warden\":");
  out.append(warden_field);
  out.append(object_json.substr(close));
  return out;
}

StatusOr<std::vector<std::string>> ParseModerationInput(std::string_view body,
                                                        std::string* model) {
  auto parsed = ParseObject(body, "request body");
  if (!parsed.ok()) return parsed.status();
  dom::element doc = *parsed;
  std::string_view m;
  if (model != nullptr && !doc["model"].get_string().get(m)) *model = std::string(m);
  dom::element input;
  if (doc["input"].get(input)) return InvalidArgumentError("input: required");
  std::vector<std::string> out;
  if (input.type() == dom::element_type::STRING) {
    out.emplace_back(input.get_string().value_unsafe());
    return out;
  }
  dom::array arr;
  if (input.get_array().get(arr)) {
    return InvalidArgumentError("input: expected a string or an array of strings");
  }
  size_t i = 0;
  for (dom::element e : arr) {
    std::string_view s;
    if (!e.get_string().get(s)) {
      out.emplace_back(s);
    } else {
      dom::object part;
      std::string_view type;
      if (e.get_object().get(part) || part["type"].get_string().get(type)) {
        return InvalidArgumentError("input[" + Idx(i) + "]: expected a string");
      }
      if (type == "text") {
        if (part["text"].get_string().get(s)) {
          return InvalidArgumentError("input[" + Idx(i) + "].text: expected a string");
        }
        out.emplace_back(s);
      }
      // Images are not screened; they produce no result, as with a text-only moderation model.
    }
    ++i;
  }
  if (out.empty()) return InvalidArgumentError("input: must contain at least one text");
  return out;
}

float ModerationScore(const Verdict& v, std::string_view category) {
  auto s = [&v](std::string_view label) { return v.Score(label); };
  if (category == "harassment") return s("harassment");
  if (category == "harassment/threatening") return std::min(s("harassment"), s("violent_crimes"));
  if (category == "hate") return s("hate");
  if (category == "hate/threatening") return std::min(s("hate"), s("violent_crimes"));
  if (category == "illicit") {
    return std::max({s("nonviolent_crimes"), s("violent_crimes"), s("weapons_cbrne"),
                     s("code_abuse"), s("sex_crimes")});
  }
  if (category == "illicit/violent") return std::max(s("violent_crimes"), s("weapons_cbrne"));
  if (category.starts_with("self-harm")) return s("self_harm");
  if (category == "sexual") return std::max(s("sexual_content"), s("sex_crimes"));
  if (category == "sexual/minors") return s("child_exploitation");
  if (category.starts_with("violence")) return s("violent_crimes");
  return 0.0f;
}

void AppendModerationResult(std::string& out, const Verdict& v, float threshold) {
  float scores[std::size(kModerationCategories)];
  bool any = false;
  for (size_t i = 0; i < std::size(kModerationCategories); ++i) {
    scores[i] = ModerationScore(v, kModerationCategories[i]);
    any = any || scores[i] >= threshold;
  }
  // A policy block counts as flagged even when no harm category crosses the threshold (an
  // attack or a secret), so "flagged" agrees with what the gateway would do.
  const bool flagged = any || v.action >= Action::kBlock;
  out.append("{\"flagged\":");
  out.append(flagged ? "true" : "false");
  out.append(",\"categories\":{");
  for (size_t i = 0; i < std::size(kModerationCategories); ++i) {
    if (i) out.push_back(',');
    AppendJsonString(out, kModerationCategories[i]);
    out.append(scores[i] >= threshold ? ":true" : ":false");
  }
  out.append("},\"category_scores\":{");
  for (size_t i = 0; i < std::size(kModerationCategories); ++i) {
    if (i) out.push_back(',');
    AppendJsonString(out, kModerationCategories[i]);
    out.push_back(':');
    AppendJsonNumber(out, scores[i]);
  }
  out.append("},\"category_applied_input_types\":{");
  for (size_t i = 0; i < std::size(kModerationCategories); ++i) {
    if (i) out.push_back(',');
    AppendJsonString(out, kModerationCategories[i]);
    out.append(":[\"text\"]");
  }
  out.append("},\"warden\":{\"action\":");
  AppendJsonString(out, ActionName(v.action));
  out.append(",\"rule\":");
  AppendJsonStringOrNull(out, v.rule);
  out.append("}}");
}

StatusOr<CheckRequest> ParseCheckRequest(std::string_view body) {
  auto parsed = ParseObject(body, "request body");
  if (!parsed.ok()) return parsed.status();
  dom::element doc = *parsed;
  CheckRequest req;
  std::string_view s;
  dom::element e;
  if (doc["text"].get(e)) return InvalidArgumentError("text: required");
  if (e.get_string().get(s)) return InvalidArgumentError("text: expected a string");
  req.text = std::string(s);
  struct Field {
    const char* name;
    std::string* out;
  };
  for (const Field& f : {Field{"role", &req.role}, Field{"tool_name", &req.tool_name},
                         Field{"tool_arguments", &req.tool_arguments},
                         Field{"tenant", &req.tenant}}) {
    if (doc[f.name].get(e)) continue;
    if (e.get_string().get(s)) {
      return InvalidArgumentError(std::string(f.name) + ": expected a string");
    }
    *f.out = std::string(s);
  }
  if (!doc["direction"].get(e)) {
    if (e.get_string().get(s)) return InvalidArgumentError("direction: expected a string");
    std::optional<Direction> d = ParseDirection(s);
    if (!d) {
      return InvalidArgumentError("direction: unknown direction \"" + std::string(s) +
                                  "\" (expected input, output, tool_call or tool_result)");
    }
    req.direction = *d;
  } else if (!req.role.empty()) {
    if (std::optional<Direction> d = DirectionForRole(req.role)) req.direction = *d;
  }
  return req;
}

}  // namespace warden::gateway
