#include "control/control.h"

#include <openssl/rand.h>

#include <chrono>

#include "core/hex.h"
#include "core/json_writer.h"

namespace warden::control {

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string_view KillScopeName(KillScope s) {
  switch (s) {
    case KillScope::kAll: return "all";
    case KillScope::kKey: return "key";
    case KillScope::kTenant: return "tenant";
    case KillScope::kTool: return "tool";
  }
  return "all";
}

std::optional<KillScope> ParseKillScope(std::string_view name) {
  for (KillScope s : {KillScope::kAll, KillScope::kKey, KillScope::kTenant, KillScope::kTool}) {
    if (KillScopeName(s) == name) return s;
  }
  return std::nullopt;
}

const KillEntry* KillSet::MatchTraffic(std::string_view key, std::string_view tenant) const {
  for (const KillEntry& e : entries_) {
    if (e.scope == KillScope::kAll) return &e;
    if (e.scope == KillScope::kKey && !key.empty() && e.value == key) return &e;
    if (e.scope == KillScope::kTenant && !tenant.empty() && e.value == tenant) return &e;
  }
  return nullptr;
}

const KillEntry* KillSet::MatchTool(std::string_view tool) const {
  for (const KillEntry& e : entries_) {
    if (e.scope == KillScope::kTool && e.value == tool) return &e;
  }
  return nullptr;
}

std::string_view ApprovalStateName(ApprovalState s) {
  switch (s) {
    case ApprovalState::kPending: return "pending";
    case ApprovalState::kApproved: return "approved";
    case ApprovalState::kDenied: return "denied";
    case ApprovalState::kExpired: return "expired";
  }
  return "pending";
}

std::optional<ApprovalState> ParseApprovalState(std::string_view name) {
  for (ApprovalState s : {ApprovalState::kPending, ApprovalState::kApproved,
                          ApprovalState::kDenied, ApprovalState::kExpired}) {
    if (ApprovalStateName(s) == name) return s;
  }
  return std::nullopt;
}

namespace {

std::string RandomId(std::string_view prefix) {
  unsigned char bytes[8];
  RAND_bytes(bytes, sizeof bytes);
  std::string id(prefix);
  AppendHex(id, bytes, sizeof bytes);
  return id;
}

// The harm taxonomy (DESIGN.md) and the two attack labels.
constexpr std::string_view kTaxonomy[] = {
    "violent_crimes", "nonviolent_crimes", "sex_crimes", "child_exploitation", "defamation",
    "specialized_advice", "privacy", "intellectual_property", "weapons_cbrne", "hate",
    "harassment", "self_harm", "sexual_content", "elections", "code_abuse", "misinformation",
    "jailbreak", "prompt_injection"};

}  // namespace

std::string NewApprovalId() { return RandomId("apr_"); }
std::string NewReviewId() { return RandomId("rev_"); }

bool IsReviewLabel(std::string_view label) {
  if (label == "safe" || label == "unsafe" || label == "unsure") return true;
  for (std::string_view t : kTaxonomy) {
    if (t == label) return true;
  }
  return false;
}

std::string ReviewItemToJson(const ReviewItem& r) {
  std::string out = "{\"id\":";
  AppendJsonString(out, r.id);
  for (const auto& [name, value] : {std::pair<const char*, int64_t>{"created_us", r.created_us},
                                    {"labelled_us", r.labelled_us}}) {
    out.append(",\"");
    out.append(name);
    out.append("\":");
    AppendJsonUint(out, static_cast<uint64_t>(std::max<int64_t>(0, value)));
  }
  for (const auto& [name, value] :
       {std::pair<const char*, const std::string*>{"request_id", &r.request_id},
        {"key", &r.key},
        {"tenant", &r.tenant},
        {"direction", &r.direction},
        {"action", &r.action},
        {"rule", &r.rule},
        {"reason", &r.reason},
        {"text", &r.text},
        {"label", &r.label},
        {"reviewer", &r.reviewer},
        {"note", &r.note}}) {
    out.append(",\"");
    out.append(name);
    out.append("\":");
    AppendJsonString(out, *value);
  }
  out.append(",\"scores\":");
  out.append(r.scores_json.empty() ? "{}" : r.scores_json);
  out.append(",\"suspicion\":");
  AppendJsonNumber(out, r.suspicion);
  out.append(",\"threshold\":");
  AppendJsonNumber(out, r.threshold);
  out.push_back('}');
  return out;
}

std::string ReviewItemToExportJson(const ReviewItem& r) {
  std::string out = "{\"id\":";
  AppendJsonString(out, r.id);
  out.append(",\"text\":");
  AppendJsonString(out, r.text);
  out.append(",\"label\":");
  AppendJsonString(out, r.label);
  out.append(",\"role\":");
  AppendJsonString(out, r.direction == "output" || r.direction == "tool_call" ? "assistant"
                        : r.direction == "tool_result"                      ? "tool"
                                                                             : "user");
  out.append(",\"reviewer\":");
  AppendJsonString(out, r.reviewer.empty() ? "admin" : r.reviewer);
  out.append(",\"note\":");
  AppendJsonString(out, r.note);
  out.push_back('}');
  return out;
}

std::string KillEntryToJson(const KillEntry& e) {
  std::string out = "{\"scope\":";
  AppendJsonString(out, KillScopeName(e.scope));
  out.append(",\"value\":");
  AppendJsonString(out, e.value);
  out.append(",\"time_us\":");
  AppendJsonUint(out, static_cast<uint64_t>(std::max<int64_t>(0, e.time_us)));
  out.append(",\"note\":");
  AppendJsonString(out, e.note);
  out.push_back('}');
  return out;
}

std::string ApprovalToJson(const Approval& a, bool with_response) {
  std::string out = "{\"id\":";
  AppendJsonString(out, a.id);
  out.append(",\"state\":");
  AppendJsonString(out, ApprovalStateName(a.state));
  for (const auto& [name, value] : {std::pair<const char*, int64_t>{"created_us", a.created_us},
                                    {"expires_us", a.expires_us},
                                    {"decided_us", a.decided_us}}) {
    out.append(",\"");
    out.append(name);
    out.append("\":");
    AppendJsonUint(out, static_cast<uint64_t>(std::max<int64_t>(0, value)));
  }
  for (const auto& [name, value] :
       {std::pair<const char*, const std::string*>{"key", &a.key},
        {"tenant", &a.tenant},
        {"tool", &a.tool},
        {"arguments", &a.arguments},
        {"rule", &a.rule},
        {"reason", &a.reason},
        {"note", &a.note}}) {
    out.append(",\"");
    out.append(name);
    out.append("\":");
    AppendJsonString(out, *value);
  }
  if (with_response) {
    out.append(",\"response\":");
    AppendJsonString(out, a.response);
  }
  out.push_back('}');
  return out;
}

StatusOr<std::unique_ptr<ControlStore>> OpenControlStore(std::string_view url) {
  if (url.starts_with("redis://")) return OpenRedisControlStore(url);
  if (url.starts_with("sqlite:")) url.remove_prefix(7);
  if (url.empty()) {
    return InvalidArgumentError(
        "control store: empty path (use sqlite:PATH or redis://HOST:PORT)");
  }
  if (url.find("://") != std::string_view::npos) {
    return InvalidArgumentError("control store: unsupported URL \"" + std::string(url) +
                                "\" (use sqlite:PATH or redis://HOST:PORT)");
  }
  return OpenSqliteControlStore(std::string(url));
}

}  // namespace warden::control
