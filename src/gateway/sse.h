// Incremental parser for server-sent events (the text/event-stream format OpenAI streams use).
//
//   SseParser parser;
//   parser.Feed(bytes, [&](const SseEvent& e) { if (e.data == "[DONE]") ...; return true; });
//   if (parser.failed()) ... // malformed stream: an event larger than the limit
//
// Bytes may arrive split anywhere (inside a line, between '\r' and '\n'); events are delivered
// once their terminating blank line has arrived. Lines starting with ':' are comments. Only the
// `data` and `event` fields are kept. Thread-safety: one parser per stream.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace warden::gateway {

struct SseEvent {
  std::string event;  // the `event:` field, empty when absent
  std::string data;   // `data:` lines joined by '\n'
};

class SseParser {
 public:
  // An event (or a single line) longer than `max_event_bytes` makes the stream malformed.
  explicit SseParser(size_t max_event_bytes = 4u << 20) : max_event_bytes_(max_event_bytes) {}

  // Consumes `bytes`, calling `on_event` for each complete event. If `on_event` returns false,
  // parsing stops and Feed returns false (the rest of `bytes` is dropped). Returns false also
  // when the stream became malformed.
  bool Feed(std::string_view bytes, const std::function<bool(const SseEvent&)>& on_event);

  // True once an over-long event was seen; further input is ignored.
  bool failed() const { return failed_; }
  // True when bytes of an unfinished event are buffered (the stream ended mid-event).
  bool has_partial() const { return !line_.empty() || has_fields_; }

 private:
  bool ProcessLine(std::string_view line, const std::function<bool(const SseEvent&)>& on_event);

  size_t max_event_bytes_;
  std::string line_;
  SseEvent current_;
  bool has_fields_ = false;
  bool has_data_ = false;
  bool skip_lf_ = false;  // the previous chunk ended with '\r'; a leading '\n' belongs to it
  bool failed_ = false;
};

}  // namespace warden::gateway
