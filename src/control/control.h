// Agent control state shared by the gateway, the CLI and the dashboard: the kill switch,
// pending approvals, and the counters behind rate limits and the loop detector.
//
//   auto store = OpenControlStore("sqlite:warden-control.db");     // or "redis://127.0.0.1:6379"
//   (*store)->Kill({.scope = KillScope::kTenant, .value = "acme", .note = "runaway agent"});
//   KillSet kills = KillSet((*store)->Kills().value());
//   if (const KillEntry* k = kills.Match("key-1", "acme", {})) Refuse(k);
//
// One gateway needs nothing beyond its SQLite file (counters then live in the gateway's memory);
// several gateways select Redis, and every kill, approval and counter is shared through it.
// Formats and semantics are documented in docs/agent-control.md.
// Thread-safety: ControlStore implementations are thread-safe. KillSet is an immutable value.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "warden/status.h"

namespace warden::control {

// Microseconds since the Unix epoch.
int64_t NowMicros();

enum class KillScope : uint8_t { kAll, kKey, kTenant, kTool };
std::string_view KillScopeName(KillScope s);  // "all", "key", "tenant", "tool"
std::optional<KillScope> ParseKillScope(std::string_view name);

// One engaged kill switch. `value` names the key, tenant or tool; empty for kAll.
struct KillEntry {
  KillScope scope = KillScope::kAll;
  std::string value;
  int64_t time_us = 0;  // when it was engaged
  std::string note;     // who and why, for the record
};

// A snapshot of the engaged kill switches, for cheap checks on the request path.
class KillSet {
 public:
  KillSet() = default;
  explicit KillSet(std::vector<KillEntry> entries) : entries_(std::move(entries)) {}
  // The entry that stops traffic of `key`/`tenant`, or null. Tool kills are not considered here.
  const KillEntry* MatchTraffic(std::string_view key, std::string_view tenant) const;
  // The entry that stops calls to `tool`, or null.
  const KillEntry* MatchTool(std::string_view tool) const;
  const std::vector<KillEntry>& entries() const { return entries_; }
  bool empty() const { return entries_.empty(); }

 private:
  std::vector<KillEntry> entries_;
};

enum class ApprovalState : uint8_t { kPending, kApproved, kDenied, kExpired };
std::string_view ApprovalStateName(ApprovalState s);  // "pending", "approved", "denied", "expired"
std::optional<ApprovalState> ParseApprovalState(std::string_view name);

// A tool call held for a human decision.
struct Approval {
  std::string id;  // "apr_" + 16 hex digits
  ApprovalState state = ApprovalState::kPending;
  int64_t created_us = 0;
  int64_t expires_us = 0;  // after this, a pending approval counts as timed out
  int64_t decided_us = 0;
  std::string key;
  std::string tenant;
  std::string tool;
  std::string arguments;     // the call's JSON arguments as screened (redacted when the policy redacts)
  std::string rule;          // the policy rule that asked for approval
  std::string reason;        // the rule's message
  std::string request_hash;  // SHA-256 of key and request body: a retried request finds its approval
  std::string response;      // the held upstream response, released on approval
  std::string note;          // the reviewer's note
};

// An interaction sent to human review: escalated by a rule, or picked by the review budget.
// Reviewers label it; `warden review export` turns labelled items into training data.
struct ReviewItem {
  std::string id;  // "rev_" + 16 hex digits
  int64_t created_us = 0;
  std::string request_id;
  std::string key;
  std::string tenant;
  std::string direction;    // "input", "output", "tool_call", "tool_result"
  std::string action;       // the verdict's action
  std::string rule;         // the deciding rule, if any
  std::string reason;       // "rule" (a rule escalated it) or "budget" (the review budget did)
  std::string text;         // the text as a reviewer may see it: PII and secrets masked
  std::string scores_json;  // {"unsafe":0.71,...}
  double suspicion = 0;     // the policy's suspicion score
  double threshold = 0;     // the budget's threshold when it was picked
  // Empty while pending; "safe", "unsafe", "unsure" or a taxonomy label once reviewed.
  std::string label;
  std::string reviewer;
  std::string note;
  int64_t labelled_us = 0;
};

class ControlStore {
 public:
  virtual ~ControlStore() = default;

  // A number that changes whenever a kill switch or an approval changes, so that pollers can
  // skip reloading when nothing happened.
  virtual StatusOr<uint64_t> Version() = 0;

  virtual StatusOr<std::vector<KillEntry>> Kills() = 0;
  // Engages a kill switch (engaging the same scope and value again updates its note).
  virtual Status Kill(const KillEntry& entry) = 0;
  // Disengages: `value` empty with kAll revives everything. Returns how many entries it removed.
  virtual StatusOr<int> Revive(KillScope scope, std::string_view value) = 0;

  virtual Status CreateApproval(const Approval& approval) = 0;
  // NotFound for an unknown id.
  virtual StatusOr<Approval> GetApproval(std::string_view id) = 0;
  // The newest approval made for `request_hash`, if any.
  virtual StatusOr<std::optional<Approval>> FindApprovalForRequest(std::string_view request_hash) = 0;
  // Newest first; `state` filters when set. At most `limit` entries.
  virtual StatusOr<std::vector<Approval>> ListApprovals(std::optional<ApprovalState> state,
                                                        size_t limit) = 0;
  // Records a decision on a pending approval: NotFound for an unknown id, FailedPrecondition
  // when it was already decided (deciding twice never changes the first decision).
  virtual StatusOr<Approval> Decide(std::string_view id, ApprovalState decision,
                                    std::string_view note) = 0;

  // The review queue. ListReviews: newest first; `pending` true = unlabelled only, false =
  // labelled only, nullopt = all. LabelReview: NotFound for an unknown id, FailedPrecondition
  // when it already has a label.
  virtual Status AddReview(const ReviewItem& item) = 0;
  virtual StatusOr<ReviewItem> GetReview(std::string_view id) = 0;
  virtual StatusOr<std::vector<ReviewItem>> ListReviews(std::optional<bool> pending,
                                                        size_t limit) = 0;
  virtual StatusOr<ReviewItem> LabelReview(std::string_view id, std::string_view label,
                                           std::string_view reviewer, std::string_view note) = 0;
  // The item queued for one request's decision in `direction` ("input", "output", …), oldest
  // first when there are several; nullopt when none was queued.
  virtual StatusOr<std::optional<ReviewItem>> FindReviewForRequest(std::string_view request_id,
                                                                   std::string_view direction) = 0;

  // Counters: adds `amount` to the counter `name` of the fixed window that ends at
  // `window_end_us` and returns the new total. Shared between gateways when the store is.
  virtual StatusOr<int64_t> AddToWindow(std::string_view name, int64_t amount,
                                        int64_t window_end_us) = 0;
  // Loop detector: records that `scope` (a key) called a tool with `signature` (tool name and
  // a hash of its arguments) and returns how many times in a row it has now done so.
  virtual StatusOr<uint32_t> NoteRepeat(std::string_view scope, std::string_view signature) = 0;

  // "sqlite:PATH" or "redis://HOST:PORT[/DB]", for messages and /readyz.
  virtual std::string Describe() const = 0;
};

// Opens a store from a URL: "sqlite:PATH" (or a bare path) or "redis://HOST:PORT[/DB]".
// SQLite files are created when missing; a file that is not a Warden control database, or a
// locked one, is an error that names it.
StatusOr<std::unique_ptr<ControlStore>> OpenControlStore(std::string_view url);

StatusOr<std::unique_ptr<ControlStore>> OpenSqliteControlStore(const std::string& path);
StatusOr<std::unique_ptr<ControlStore>> OpenRedisControlStore(std::string_view url);

// JSON objects for the admin API, the CLI and the dashboard. `with_response` includes the held
// upstream response (large; the admin API shows it only for one approval).
std::string KillEntryToJson(const KillEntry& e);
std::string ApprovalToJson(const Approval& a, bool with_response);

// A new approval id: "apr_" followed by 16 random hex digits.
std::string NewApprovalId();
// A new review id: "rev_" followed by 16 random hex digits.
std::string NewReviewId();
std::string ReviewItemToJson(const ReviewItem& r);
// The line `warden review export` reads (docs/oversight.md): {"id","text","label","labels",
// "role","reviewer","note","reviewed_at"}. REQUIRES: the item is labelled.
std::string ReviewItemToExportJson(const ReviewItem& r);
// Labels a reviewer may give: "safe", "unsafe", "unsure", or a taxonomy label.
bool IsReviewLabel(std::string_view label);

}  // namespace warden::control
