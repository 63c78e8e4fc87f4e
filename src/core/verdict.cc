#include "warden/verdict.h"

#include <algorithm>

#include "core/json_writer.h"

namespace warden {

namespace {
constexpr std::string_view kActionNames[] = {"allow",            "redact", "escalate", "defer",
                                             "require_approval", "block",  "kill"};
}  // namespace

std::string_view ActionName(Action a) { return kActionNames[static_cast<int>(a)]; }

std::optional<Action> ParseAction(std::string_view name) {
  for (size_t i = 0; i < std::size(kActionNames); ++i) {
    if (kActionNames[i] == name) return static_cast<Action>(i);
  }
  return std::nullopt;
}

float Verdict::Score(std::string_view label) const {
  for (const auto& [name, value] : scores) {
    if (name == label) return value;
  }
  return 0.0f;
}

std::string VerdictToJson(const Verdict& v) {
  std::string out;
  out.reserve(128 + v.findings.size() * 96 + (v.redacted ? v.redacted->size() : 0));
  out.append("{\"action\":");
  AppendJsonString(out, ActionName(v.action));
  out.append(",\"rule\":");
  AppendJsonStringOrNull(out, v.rule);
  if (!v.message.empty()) {
    out.append(",\"message\":");
    AppendJsonString(out, v.message);
  }
  out.append(",\"findings\":[");
  for (size_t i = 0; i < v.findings.size(); ++i) {
    const Finding& f = v.findings[i];
    if (i) out.push_back(',');
    out.append("{\"scanner\":");
    AppendJsonString(out, f.scanner);
    out.append(",\"type\":");
    AppendJsonString(out, f.type);
    out.append(",\"start\":");
    AppendJsonUint(out, f.start);
    out.append(",\"end\":");
    AppendJsonUint(out, f.end);
    out.append(",\"view\":");
    AppendJsonString(out, f.view);
    out.append(",\"score\":");
    AppendJsonNumber(out, f.score);
    if (!f.label.empty()) {
      out.append(",\"label\":");
      AppendJsonString(out, f.label);
    }
    out.push_back('}');
  }
  out.append("],\"scores\":");
  AppendJsonScores(out, v.scores);
  if (v.redacted) {
    out.append(",\"redacted\":");
    AppendJsonString(out, *v.redacted);
  }
  if (!v.replacements.empty()) {
    out.append(",\"replacements\":{");
    for (size_t i = 0; i < v.replacements.size(); ++i) {
      if (i) out.push_back(',');
      AppendJsonString(out, v.replacements[i].placeholder);
      out.push_back(':');
      AppendJsonString(out, v.replacements[i].original);
    }
    out.push_back('}');
  }
  out.append(",\"latency_us\":");
  AppendJsonNumber(out, v.latency_us);
  out.push_back('}');
  return out;
}

}  // namespace warden
