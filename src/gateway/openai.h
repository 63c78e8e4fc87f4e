// OpenAI wire format: parsing and screening chat-completion requests and responses, the
// moderation and check endpoints' bodies, and OpenAI-shaped errors.
//
//   StatusOr<ChatScreen> s = ScreenChatRequest(body, guard, {.tenant = "acme"});
//   if (!s.ok()) return Error(400, s.status().message());
//   if (s->action >= Action::kBlock) return RefusalCompletion(...);
//   Forward(s->modified ? s->body : body);
//
// Nothing here does I/O; HTTP status codes are chosen by the server. Parsing uses a thread-local
// simdjson parser, so no parsed value outlives a call. Thread-safety: free functions.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "warden/guard.h"
#include "warden/status.h"
#include "warden/verdict.h"

namespace warden::gateway {

// {"error":{"message":..,"type":..,"param":null,"code":..}}; an empty `code` is written as null.
std::string ErrorJson(std::string_view message, std::string_view type, std::string_view code = {});

struct ScreenOptions {
  std::string_view tenant;
  Conversation* conversation = nullptr;  // keeps placeholders stable across messages
  // Screen without the slow scorers (Guard::CheckWithoutSlowScorers): when a text needs one,
  // stop and set ChatScreen::needs_slow_scorers, and the caller screens the body again without
  // this on a thread that may wait. The conversation is left fit for that second pass.
  bool without_slow_scorers = false;
};

// One tool call found in a response, with its own verdict, so that the gateway can take out
// (or hold for approval) just the calls the policy refuses.
struct ToolCallScreen {
  std::string pointer;          // JSON Pointer of the call ("/choices/0/message/tool_calls/1")
  std::string message_pointer;  // JSON Pointer of its message ("/choices/0/message")
  std::string id;
  std::string name;
  std::string arguments;
  Verdict verdict;
};

// The outcome of screening every text in a request or response.
struct ChatScreen {
  Action action = Action::kAllow;  // the most severe verdict's action
  Verdict verdict;                 // the most severe verdict (first among equals)
  std::string where;               // JSON path of the text that decided ("messages[2].content")
  std::string text;                // that text as written, at most 4 KiB (for the dashboard)
  bool modified = false;           // some text was redacted: `body` holds the rewritten JSON
  std::string body;
  bool stream = false;             // requests: the client asked for server-sent events
  std::string model;               // the `model` field, for refusals
  size_t texts_screened = 0;
  // Responses only: every function tool call, and the most severe action over the texts that
  // are not tool calls.
  std::vector<ToolCallScreen> tool_calls;
  Action content_action = Action::kAllow;
  // Responses only: `usage.total_tokens` when the upstream reported it, else -1.
  int64_t total_tokens = -1;
  // With ScreenOptions::without_slow_scorers: a text needed a slow scorer, and the rest of this
  // screen is incomplete.
  bool needs_slow_scorers = false;
};

// Guard::Check, or Guard::CheckWithoutSlowScorers when `without_slow_scorers` (nullopt: the
// message needs a slow scorer). Every screening of the gateway goes through it.
std::optional<Verdict> CheckMessage(const Guard& guard, const Message& message,
                                    const CheckOptions& options, bool without_slow_scorers);

// Validates a chat-completion request (messages must be an array of objects with a string role
// and string, array or null content) and screens each message in the direction its role implies;
// tool results as tool_result, assistant tool calls as tool_call. Errors name the bad field.
StatusOr<ChatScreen> ScreenChatRequest(std::string_view body, const Guard& guard,
                                       const ScreenOptions& options);

// Screens a non-streaming chat completion: message content as output, tool calls as tool_call.
// Errors mean the upstream sent something that is not a chat completion.
StatusOr<ChatScreen> ScreenChatResponse(std::string_view body, const Guard& guard,
                                        const ScreenOptions& options);

// A verdict the gateway makes itself (kill switch, rate limit, approval, admin action), for the
// audit log, the dashboard and the warden field.
Verdict GatewayVerdict(Action action, std::string rule, std::string message);

// The "warden" object attached to responses Warden changed or refused:
// {"action":"block","stage":"request","where":"messages[0].content","verdict":{...}}.
std::string WardenField(const ChatScreen& screen, std::string_view stage);

// A complete chat.completion whose assistant message is `refusal` and whose finish_reason is
// content_filter, so unmodified clients show the refusal instead of failing.
std::string RefusalCompletion(std::string_view model, std::string_view refusal,
                              std::string_view warden_field);

// Inserts `,"warden":<field>` before the closing brace of a JSON object text.
std::string WithWardenField(std::string_view object_json, std::string_view warden_field);

// `input` of a moderation request: a string or an array of strings (text parts of the
// multi-modal form {"type":"text","text":..} are accepted too).
StatusOr<std::vector<std::string>> ParseModerationInput(std::string_view body,
                                                        std::string* model);

// OpenAI moderation categories, in the order they are written.
inline constexpr std::string_view kModerationCategories[] = {
    "harassment", "harassment/threatening", "hate",     "hate/threatening",
    "illicit",    "illicit/violent",        "self-harm", "self-harm/intent",
    "self-harm/instructions", "sexual",     "sexual/minors", "violence",
    "violence/graphic"};

// Score of OpenAI category `category` derived from Warden's labels (see docs/gateway.md).
float ModerationScore(const Verdict& v, std::string_view category);

// Appends one `results[]` element for `v`.
void AppendModerationResult(std::string& out, const Verdict& v, float threshold);

// Rewrites a chat completion without the tool calls at `removed` (pointers from
// ChatScreen::tool_calls): a message left without calls gets `explanation` as its content and
// finish_reason "stop", so an agent's loop reads why and continues. Errors when `body` is not
// the JSON object it was screened from.
StatusOr<std::string> RemoveToolCalls(std::string_view body,
                                      const std::vector<const ToolCallScreen*>& removed,
                                      std::string_view explanation, std::string_view warden_field);

// Which texts of a chat completion RestorePlaceholders puts the caller's values back into.
enum RestoreWhere : unsigned {
  kRestoreToolArguments = 1,  // tool calls: the tool acts on real values, and is judged on them
  kRestoreContent = 2,        // message text: the user reads their own data back
};
// Replaces the placeholders `conversation` handed out ("[EMAIL_1]") with the original values in
// the chosen texts of a chat completion. Returns `body` unchanged when nothing was replaced;
// errors when it is not a JSON object.
StatusOr<std::string> RestorePlaceholders(std::string_view body, const Conversation& conversation,
                                          unsigned where);

// `body` (a chat-completion request) with its `model` replaced: deferred requests name the
// trusted model. Errors when `body` is not a JSON object.
StatusOr<std::string> ReplaceModel(std::string_view body, std::string_view model);

// A /v1/check request: {"text": "...", "direction": "input", "role", "tool_name",
// "tool_arguments", "tenant"}; only `text` is required. Strings are copied into `storage`.
struct CheckRequest {
  std::string text, role, tool_name, tool_arguments, tenant;
  Direction direction = Direction::kInput;
};
StatusOr<CheckRequest> ParseCheckRequest(std::string_view body);

}  // namespace warden::gateway
