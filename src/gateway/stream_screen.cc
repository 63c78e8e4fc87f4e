#include "gateway/stream_screen.h"

#include <simdjson.h>

#include "core/json_writer.h"
#include "core/utf8.h"
#include "gateway/json_rewrite.h"

namespace warden::gateway {

namespace dom = simdjson::dom;

namespace {

// Context carried from released text into the next window, so that a phrase split across a
// sentence boundary is still seen whole.
constexpr size_t kTailBytes = 256;
constexpr size_t kMaxChoices = 16;
constexpr size_t kMaxToolCalls = 128;

// A stream cannot be held for a human or re-answered by another model once it is flowing, so
// anything from defer upwards ends it.
bool Refuses(Action a) { return a >= Action::kDefer; }

void AppendError(std::string& out, std::string_view message) {
  out.append("data: ");
  out.append(ErrorJson(message, "upstream_error", "bad_upstream_stream"));
  out.append("\n\n");
}

}  // namespace

StreamScreener::StreamScreener(const Guard& guard, const StreamingConfig& config,
                               ScreenOptions options)
    : guard_(guard), config_(config), options_(options) {}

StreamScreener::Choice& StreamScreener::ChoiceAt(size_t index) {
  if (index >= choices_.size()) choices_.resize(index + 1);
  return choices_[index];
}

bool StreamScreener::Decide(const Message& message, Verdict& verdict, std::string_view where) {
  CheckOptions check_options{.conversation = options_.conversation};
  verdict = guard_.Check(message, check_options);
  ++texts_screened_;
  if (!Refuses(verdict.action)) return true;
  block_.action = verdict.action;
  block_.verdict = verdict;
  block_.where = std::string(where);
  return false;
}

bool StreamScreener::Release(size_t index, bool all, std::string& out) {
  Choice& c = choices_[index];
  if (c.pending.empty()) return true;
  size_t cut = c.pending.size();
  if (!all && config_.hold_back_chars > 0) {
    cut = 0;
    if (config_.sentence_boundary) {
      // A terminator only ends a sentence when whitespace follows: "3.14" and "e.g." mid-word
      // stay held. The whitespace goes out with the sentence.
      for (size_t i = c.pending.size(); i-- > 0;) {
        const char ch = c.pending[i];
        if (ch == '\n') {
          cut = i + 1;
          break;
        }
        if ((ch == ' ' || ch == '\t') && i > 0) {
          const char prev = c.pending[i - 1];
          if (prev == '.' || prev == '!' || prev == '?' || prev == ':' || prev == ';') {
            cut = i + 1;
            break;
          }
        }
      }
    }
    // `pending` holds whole characters (decoded JSON string deltas), so all of it can go.
    if (cut == 0 && c.pending.size() >= config_.hold_back_chars) cut = c.pending.size();
    if (cut == 0) return true;
  }
  std::string_view segment = std::string_view(c.pending).substr(0, cut);
  std::string context = c.released_tail;
  context.append(segment);
  const std::string where = "choices[" + std::to_string(index) + "].delta.content";
  Verdict v;
  if (!Decide({.text = context, .role = "assistant", .direction = Direction::kOutput,
               .tenant = options_.tenant},
              v, where)) {
    AppendBlockEnd(out, index);
    return false;
  }
  std::string released(segment);
  if (v.redacted) {
    // The verdict covered the context too; redact just the new segment.
    Verdict own;
    if (!Decide({.text = segment, .role = "assistant", .direction = Direction::kOutput,
                 .tenant = options_.tenant},
                own, where)) {
      AppendBlockEnd(out, index);
      return false;
    }
    if (own.redacted) released = *own.redacted;
  }
  AppendChunk(out, index, released);
  c.released_tail = std::move(context);
  if (c.released_tail.size() > kTailBytes) {
    c.released_tail.erase(0, Utf8Ceil(c.released_tail, c.released_tail.size() - kTailBytes));
  }
  c.pending.erase(0, cut);
  return true;
}

bool StreamScreener::ReleaseToolCalls(size_t index, std::string& out) {
  Choice& c = choices_[index];
  for (size_t k = 0; k < c.tool_calls.size(); ++k) {
    const ToolCall& call = c.tool_calls[k];
    Verdict v;
    if (!Decide({.text = call.arguments, .role = "assistant", .direction = Direction::kToolCall,
                 .tool_name = call.name, .tool_arguments = call.arguments,
                 .tenant = options_.tenant},
                v,
                "choices[" + std::to_string(index) + "].delta.tool_calls[" + std::to_string(k) +
                    "]")) {
      AppendBlockEnd(out, index);
      return false;
    }
    if (tool_gate_ && !tool_gate_(call.name, call.arguments, v)) {
      block_.action = v.action;
      block_.verdict = v;
      block_.where = "choices[" + std::to_string(index) + "].delta.tool_calls[" +
                     std::to_string(k) + "]";
      AppendBlockEnd(out, index);
      return false;
    }
  }
  for (const std::string& event : c.held_events) {
    out.append("data: ");
    out.append(event);
    out.append("\n\n");
  }
  c.held_events.clear();
  c.tool_calls.clear();
  return true;
}

bool StreamScreener::ReleaseAll(std::string& out) {
  for (size_t i = 0; i < choices_.size(); ++i) {
    if (!Release(i, true, out) || !ReleaseToolCalls(i, out)) return false;
  }
  return true;
}

void StreamScreener::AppendChunk(std::string& out, size_t index, std::string_view content) {
  out.append("data: {\"id\":");
  out.append(id_json_);
  out.append(",\"object\":\"chat.completion.chunk\",\"created\":");
  out.append(created_json_);
  out.append(",\"model\":");
  out.append(model_json_);
  out.append(",\"choices\":[{\"index\":");
  AppendJsonUint(out, index);
  out.append(",\"delta\":{\"content\":");
  AppendJsonString(out, content);
  out.append("},\"logprobs\":null,\"finish_reason\":null}]}\n\n");
}

void StreamScreener::AppendBlockEnd(std::string& out, size_t index) {
  out.append("data: {\"id\":");
  out.append(id_json_);
  out.append(",\"object\":\"chat.completion.chunk\",\"created\":");
  out.append(created_json_);
  out.append(",\"model\":");
  out.append(model_json_);
  out.append(",\"choices\":[{\"index\":");
  AppendJsonUint(out, index);
  out.append(",\"delta\":{},\"logprobs\":null,\"finish_reason\":\"content_filter\"}],\"warden\":");
  out.append(WardenField(block_, "response"));
  out.append("}\n\ndata: [DONE]\n\n");
}

StreamScreener::Outcome StreamScreener::OnEvent(std::string_view data, std::string& out) {
  if (data == "[DONE]") {
    if (!ReleaseAll(out)) return kBlocked;
    out.append("data: [DONE]\n\n");
    return kDone;
  }
  dom::element doc;
  dom::object obj;
  if (ThreadParser().parse(data.data(), data.size()).get(doc) || doc.get_object().get(obj)) {
    if (!ReleaseAll(out)) return kBlocked;
    AppendError(out, "upstream sent a stream event that is not JSON");
    return kMalformed;
  }
  if (!have_header_) {
    have_header_ = true;
    dom::element e;
    if (!obj["id"].get(e)) id_json_ = simdjson::minify(e);
    if (!obj["created"].get(e)) created_json_ = simdjson::minify(e);
    if (!obj["model"].get(e)) model_json_ = simdjson::minify(e);
  }
  dom::element choices_el;
  dom::array choices;
  if (obj["choices"].get(choices_el) || choices_el.get_array().get(choices) ||
      choices.size() == 0) {
    // Usage, error and other non-choice events pass through in order.
    if (!ReleaseAll(out)) return kBlocked;
    out.append("data: ");
    out.append(data);
    out.append("\n\n");
    return kContinue;
  }
  struct Seen {
    size_t index = 0;
    bool has_content = false;
    bool has_tools = false;
    bool has_finish = false;
    bool has_other = false;  // role or any other delta field
  };
  std::vector<Seen> seen;
  std::map<std::string, std::string> strip;
  size_t j = 0;
  for (dom::element choice : choices) {
    Seen s;
    dom::object ch;
    if (choice.get_object().get(ch)) {
      AppendError(out, "upstream sent a malformed stream chunk");
      return kMalformed;
    }
    uint64_t index = 0;
    dom::element e;
    if (!ch["index"].get(e) && e.get_uint64().get(index)) {
      AppendError(out, "upstream sent a malformed choice index");
      return kMalformed;
    }
    if (index >= kMaxChoices) {
      AppendError(out, "upstream sent too many choices");
      return kMalformed;
    }
    s.index = index;
    Choice& c = ChoiceAt(index);
    std::string_view finish;
    s.has_finish = !ch["finish_reason"].get_string().get(finish);
    dom::object delta;
    if (!ch["delta"].get_object().get(delta)) {
      for (dom::key_value_pair kv : delta) {
        if (kv.key == "content") {
          std::string_view text;
          if (!kv.value.get_string().get(text) && !text.empty()) {
            c.pending.append(text);
            s.has_content = true;
            strip["/choices/" + std::to_string(j) + "/delta/content"] = "";
          }
        } else if (kv.key == "tool_calls") {
          dom::array calls;
          if (kv.value.get_array().get(calls)) continue;
          for (dom::element call : calls) {
            s.has_tools = true;
            uint64_t k = c.tool_calls.size();
            if (!call["index"].get(e) && e.get_uint64().get(k)) k = c.tool_calls.size();
            if (k >= kMaxToolCalls) {
              AppendError(out, "upstream sent too many tool calls");
              return kMalformed;
            }
            if (k >= c.tool_calls.size()) c.tool_calls.resize(k + 1);
            std::string_view part;
            if (!call["function"]["name"].get_string().get(part)) c.tool_calls[k].name += part;
            if (!call["function"]["arguments"].get_string().get(part)) {
              c.tool_calls[k].arguments += part;
            }
          }
        } else if (kv.key != "refusal" || kv.value.type() != dom::element_type::NULL_VALUE) {
          s.has_other = true;
        }
      }
    }
    seen.push_back(s);
    ++j;
  }
  // The common case: one text delta. Only complete sentences are released.
  if (seen.size() == 1 && seen[0].has_content && !seen[0].has_tools && !seen[0].has_finish &&
      !seen[0].has_other) {
    return Release(seen[0].index, false, out) ? kContinue : kBlocked;
  }
  for (const Seen& s : seen) {
    if (s.has_content && !Release(s.index, true, out)) return kBlocked;
  }
  std::string event(data);
  if (!strip.empty()) {
    event.clear();
    WriteJsonWithReplacements(event, doc, strip);
  }
  bool held = false;
  for (const Seen& s : seen) {
    if (s.has_tools && !held) {
      choices_[s.index].held_events.push_back(event);
      held = true;
    }
  }
  for (const Seen& s : seen) {
    if (s.has_finish) {
      if (!Release(s.index, true, out) || !ReleaseToolCalls(s.index, out)) return kBlocked;
    }
  }
  if (!held) {
    out.append("data: ");
    out.append(event);
    out.append("\n\n");
  }
  return kContinue;
}

StreamScreener::Outcome StreamScreener::OnKilled(Verdict verdict, std::string& out) {
  block_ = ChatScreen{};
  block_.action = verdict.action;
  block_.verdict = std::move(verdict);
  AppendBlockEnd(out, 0);
  return kBlocked;
}

StreamScreener::Outcome StreamScreener::OnTruncated(std::string& out) {
  if (!ReleaseAll(out)) return kBlocked;
  AppendError(out, "upstream closed the stream before it finished");
  return kMalformed;
}

}  // namespace warden::gateway
