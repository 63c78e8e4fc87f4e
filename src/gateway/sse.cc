#include "gateway/sse.h"

namespace warden::gateway {

bool SseParser::Feed(std::string_view bytes,
                     const std::function<bool(const SseEvent&)>& on_event) {
  if (failed_) return false;
  size_t i = 0;
  if (skip_lf_ && !bytes.empty()) {
    skip_lf_ = false;
    if (bytes[0] == '\n') i = 1;
  }
  while (i < bytes.size()) {
    const size_t end = bytes.find_first_of("\r\n", i);
    if (end == std::string_view::npos) {
      line_.append(bytes.substr(i));
      if (line_.size() + current_.data.size() > max_event_bytes_) {
        failed_ = true;
        return false;
      }
      return true;
    }
    std::string_view line = bytes.substr(i, end - i);
    if (!line_.empty()) {
      line_.append(line);
      line = line_;
    }
    if (bytes[end] == '\r') {
      if (end + 1 < bytes.size()) {
        i = end + (bytes[end + 1] == '\n' ? 2 : 1);
      } else {
        i = end + 1;
        skip_lf_ = true;
      }
    } else {
      i = end + 1;
    }
    const bool keep_going = ProcessLine(line, on_event);
    line_.clear();
    if (!keep_going) return false;
  }
  return true;
}

bool SseParser::ProcessLine(std::string_view line,
                            const std::function<bool(const SseEvent&)>& on_event) {
  if (line.empty()) {
    if (!has_fields_) return true;
    has_fields_ = false;
    bool keep_going = true;
    if (has_data_) keep_going = on_event(current_);
    current_.data.clear();
    current_.event.clear();
    has_data_ = false;
    return keep_going;
  }
  if (line[0] == ':') return true;
  const size_t colon = line.find(':');
  std::string_view field = line.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
  }
  has_fields_ = true;
  if (field == "data") {
    if (has_data_) current_.data.push_back('\n');
    current_.data.append(value);
    has_data_ = true;
    if (current_.data.size() > max_event_bytes_) {
      failed_ = true;
      return false;
    }
  } else if (field == "event") {
    current_.event.assign(value);
  }
  return true;
}

}  // namespace warden::gateway
