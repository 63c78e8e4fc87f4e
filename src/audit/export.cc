// The JSONL export schema (docs/audit-format.md, "JSONL export") and the category filter: both
// read the hashed body, never only the columns beside it.
#include <time.h>

#include <cstdio>

#include "core/json_writer.h"
#include "warden/audit.h"

namespace warden::audit {

bool MatchesCategory(const Record& body, std::string_view category, float min_score) {
  for (const auto& [label, score] : body.scores) {
    if (label == category && score >= min_score) return true;
  }
  for (const AuditFinding& f : body.findings) {
    if (f.type == category) return true;
  }
  return false;
}

std::string FormatTimeMicros(int64_t us) {
  // Floor division, so that times before 1970 print correctly too.
  int64_t secs = us / 1000000, frac = us % 1000000;
  if (frac < 0) {
    frac += 1000000;
    --secs;
  }
  const time_t t = static_cast<time_t>(secs);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[48];
  snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(frac));
  return buf;
}

std::string RecordToJson(const StoredRecord& row) {
  std::string out;
  out.reserve(256 + row.body.size());
  out.append("{\"seq\":");
  AppendJsonUint(out, row.seq);
  out.append(",\"time\":");
  AppendJsonString(out, FormatTimeMicros(row.time_us));
  out.append(",\"time_us\":");
  out.append(std::to_string(row.time_us));
  out.append(",\"request_id\":");
  AppendJsonString(out, row.request_id);
  out.append(",\"key\":");
  AppendJsonString(out, row.key);
  out.append(",\"tenant\":");
  AppendJsonString(out, row.tenant);
  out.append(",\"direction\":");
  AppendJsonString(out, row.direction);
  out.append(",\"action\":");
  AppendJsonString(out, row.action);
  out.append(",\"rule\":");
  AppendJsonStringOrNull(out, row.rule);
  auto body = ParseRecord(row.body);
  if (!body.ok()) {
    // Export is for reading, verify is for judging: keep the row and say the body is damaged.
    out.append(",\"error\":");
    AppendJsonString(out, body.status().message());
    out.append("}");
    return out;
  }
  out.append(",\"scores\":");
  AppendJsonScores(out, body->scores);
  out.append(",\"findings\":[");
  for (size_t i = 0; i < body->findings.size(); ++i) {
    const AuditFinding& f = body->findings[i];
    if (i) out.push_back(',');
    out.append("{\"scanner\":");
    AppendJsonString(out, f.scanner);
    out.append(",\"type\":");
    AppendJsonString(out, f.type);
    out.append(",\"start\":");
    AppendJsonUint(out, f.start);
    out.append(",\"end\":");
    AppendJsonUint(out, f.end);
    out.append(",\"score\":");
    AppendJsonNumber(out, f.score);
    if (!f.excerpt.empty()) {
      out.append(",\"excerpt\":");
      AppendJsonString(out, f.excerpt);
    }
    out.push_back('}');
  }
  out.append("],\"hash\":");
  AppendJsonString(out, HashToHex(body->hash));
  out.append(",\"prev_hash\":");
  AppendJsonString(out, HashToHex(body->prev_hash));
  out.push_back('}');
  return out;
}

}  // namespace warden::audit
