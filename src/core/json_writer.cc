#include "core/json_writer.h"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "core/hex.h"
#include "core/utf8.h"

namespace warden {

void AppendJsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    // Copy the longest run that needs no escaping in one append.
    size_t run = i;
    while (run < s.size()) {
      const unsigned char c = static_cast<unsigned char>(s[run]);
      if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) break;
      ++run;
    }
    out.append(s.data() + i, run - i);
    i = run;
    if (i >= s.size()) break;
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const size_t n = Utf8SequenceLength(s, i);
      if (n == 0) {
        out.append("\xEF\xBF\xBD");  // U+FFFD for each invalid byte
        ++i;
      } else {
        out.append(s.data() + i, n);
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      case '\b': out.append("\\b"); break;
      case '\f': out.append("\\f"); break;
      default:
        out.append("\\u00");
        AppendHex(out, &c, 1);
    }
    ++i;
  }
  out.push_back('"');
}

void AppendJsonStringOrNull(std::string& out, std::string_view s) {
  if (s.empty()) {
    out.append("null");
  } else {
    AppendJsonString(out, s);
  }
}

void AppendJsonScores(std::string& out, const std::vector<std::pair<std::string, float>>& scores) {
  out.push_back('{');
  for (size_t i = 0; i < scores.size(); ++i) {
    if (i) out.push_back(',');
    AppendJsonString(out, scores[i].first);
    out.push_back(':');
    AppendJsonNumber(out, scores[i].second);
  }
  out.push_back('}');
}

void AppendJsonNumber(std::string& out, double value) {
  if (!std::isfinite(value)) {
    out.push_back('0');
    return;
  }
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%.6f", value);
  // Trim trailing zeros and a trailing point: "0.500000" -> "0.5", "3.000000" -> "3".
  while (n > 1 && buf[n - 1] == '0') --n;
  if (n > 1 && buf[n - 1] == '.') --n;
  if (n == 2 && buf[0] == '-' && buf[1] == '0') {  // "-0"
    buf[0] = '0';
    n = 1;
  }
  out.append(buf, n);
}

void AppendJsonUint(std::string& out, uint64_t value) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, end);
}

}  // namespace warden
