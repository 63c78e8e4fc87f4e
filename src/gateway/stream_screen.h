// Incremental screening of a streamed chat completion (server-sent events).
//
//   StreamScreener screener(guard, streaming_config, options, refusal);
//   parser.Feed(bytes, [&](const SseEvent& e) {
//     return screener.OnEvent(e.data, out) == StreamScreener::kContinue; });
//   client.Write(out);
//
// Text deltas are held back until the end of the current sentence (at most
// `hold_back_chars` bytes), screened with the tail of what was already released as context, and
// released as synthesised chunks, redacted if the policy says so. Tool-call deltas are held until
// the call is complete (its finish_reason or [DONE]) and screened as tool_call. When a verdict
// blocks, the stream ends with a chunk whose finish_reason is content_filter and `data: [DONE]`.
// Thread-safety: one screener per stream.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/config.h"
#include "gateway/openai.h"
#include "warden/guard.h"

namespace warden::gateway {

class StreamScreener {
 public:
  enum Outcome {
    kContinue,  // keep reading the upstream
    kBlocked,   // a verdict blocked: `out` ends the client's stream; stop reading upstream
    kDone,      // [DONE] seen: `out` ends the client's stream
    kMalformed, // not a chat.completion.chunk: `out` ends the stream with an error event
  };

  // `guard` must outlive the screener.
  StreamScreener(const Guard& guard, const StreamingConfig& config, ScreenOptions options);

  // Handles the `data` of one event and appends the SSE bytes to send to the client to `out`.
  Outcome OnEvent(std::string_view data, std::string& out);

  // The upstream closed without [DONE]. Releases what is held (if it passes) and ends the
  // client's stream with an error event, since the completion is cut off.
  Outcome OnTruncated(std::string& out);

  // Called for each streamed tool call the policy lets through, before its events are
  // released; returning false refuses the call with the verdict it filled in (the gateway's
  // kill switch per tool, and tool-call rate limits).
  using ToolGate = std::function<bool(std::string_view name, std::string_view arguments,
                                      Verdict& verdict)>;
  void set_tool_gate(ToolGate gate) { tool_gate_ = std::move(gate); }

  // A kill switch stopped the stream: nothing held back is released; `out` ends the client's
  // stream with finish_reason content_filter and the kill verdict. Returns kBlocked.
  Outcome OnKilled(Verdict verdict, std::string& out);

  // The verdict that blocked, when OnEvent returned kBlocked.
  const ChatScreen& block() const { return block_; }
  size_t texts_screened() const { return texts_screened_; }

 private:
  struct ToolCall {
    std::string name;
    std::string arguments;
  };
  struct Choice {
    std::string pending;   // text received but not yet released
    std::string released_tail;  // the last bytes released, context for the next window
    std::vector<ToolCall> tool_calls;
    std::vector<std::string> held_events;  // raw tool-call events awaiting their screening
  };

  Choice& ChoiceAt(size_t index);
  // Releases the releasable prefix of choice `index`'s pending text (all of it when `all`).
  bool Release(size_t index, bool all, std::string& out);
  bool ReleaseToolCalls(size_t index, std::string& out);
  bool ReleaseAll(std::string& out);
  void AppendChunk(std::string& out, size_t index, std::string_view content);
  void AppendBlockEnd(std::string& out, size_t index);
  bool Decide(const Message& message, Verdict& verdict, std::string_view where);

  const Guard& guard_;
  StreamingConfig config_;
  ScreenOptions options_;
  std::vector<Choice> choices_;
  std::string id_json_ = "\"chatcmpl-warden\"";
  std::string created_json_ = "0";
  std::string model_json_ = "\"\"";
  bool have_header_ = false;
  ChatScreen block_;
  size_t texts_screened_ = 0;
  ToolGate tool_gate_;
};

}  // namespace warden::gateway
