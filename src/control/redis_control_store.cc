// The shared control store: kill switches, approvals, rate-limit counters and the loop detector
// in Redis, so that every gateway serving the same keys sees the same state (docs/agent-control.md
// lists the keys). One connection per store, guarded by a mutex; a dropped connection is
// re-opened on the next call, and calls fail with Unavailable while Redis is away.
#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>
#include <mutex>

#include "control/control.h"

namespace warden::control {

namespace {

constexpr std::string_view kApprovalFields[] = {
    "id",   "state", "created_us", "expires_us", "decided_us",   "key",      "tenant",
    "tool", "arguments", "rule",   "reason",     "request_hash", "response", "note"};

// Decides a pending approval atomically: returns 1 when decided, 0 when unknown, or the state
// it already had.
constexpr const char* kDecideScript = R"lua(
local s = redis.call('HGET', KEYS[1], 'state')
if not s then return 0 end
if s ~= 'pending' then return s end
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'decided_us', ARGV[2], 'note', ARGV[3])
redis.call('INCR', KEYS[2])
return 1
)lua";

// Labels an unlabelled review item: 1 when done, 0 when unknown, else the label it had.
constexpr const char* kLabelScript = R"lua(
local l = redis.call('HGET', KEYS[1], 'label')
if not l then return 0 end
if l ~= '' then return l end
redis.call('HSET', KEYS[1], 'label', ARGV[1], 'reviewer', ARGV[2], 'note', ARGV[3],
           'labelled_us', ARGV[4])
return 1
)lua";

constexpr std::string_view kReviewFields[] = {
    "id",   "created_us", "request_id", "key",       "tenant",    "direction", "action",
    "rule", "reason",     "text",       "scores_json", "suspicion", "threshold", "label",
    "reviewer", "note",   "labelled_us"};

constexpr const char* kRepeatScript = R"lua(
local n = 1
if redis.call('HGET', KEYS[1], 'sig') == ARGV[1] then
  n = redis.call('HINCRBY', KEYS[1], 'n', 1)
else
  redis.call('HSET', KEYS[1], 'sig', ARGV[1], 'n', 1)
end
redis.call('EXPIRE', KEYS[1], 86400)
return n
)lua";

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

int64_t ToInt(std::string_view s) {
  int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

class RedisControlStore : public ControlStore {
 public:
  RedisControlStore(std::string host, int port, int db, std::string url)
      : host_(std::move(host)), port_(port), db_(db), url_(std::move(url)) {}
  ~RedisControlStore() override {
    if (ctx_) redisFree(ctx_);
  }

  Status Connect() {
    if (ctx_) return OkStatus();
    timeval tv{1, 0};
    ctx_ = redisConnectWithTimeout(host_.c_str(), port_, tv);
    if (!ctx_ || ctx_->err) {
      std::string err = ctx_ ? ctx_->errstr : "out of memory";
      Drop();
      return UnavailableError("control store " + url_ + ": cannot connect: " + err +
                              " (is redis-server running?)");
    }
    redisSetTimeout(ctx_, tv);
    if (db_ != 0) {
      Reply r(static_cast<redisReply*>(redisCommand(ctx_, "SELECT %d", db_)));
      if (!r || r->type == REDIS_REPLY_ERROR) {
        Drop();
        return UnavailableError("control store " + url_ + ": cannot select database " +
                                std::to_string(db_));
      }
    }
    return OkStatus();
  }

  StatusOr<uint64_t> Version() override {
    std::lock_guard<std::mutex> lock(mu_);
    auto r = Command({"GET", "warden:version"});
    if (!r.ok()) return r.status();
    if ((*r)->type == REDIS_REPLY_NIL) return uint64_t{0};
    return static_cast<uint64_t>(ToInt(Str(r->get())));
  }

  StatusOr<std::vector<KillEntry>> Kills() override {
    std::lock_guard<std::mutex> lock(mu_);
    auto r = Command({"HGETALL", "warden:kills"});
    if (!r.ok()) return r.status();
    std::vector<KillEntry> out;
    for (size_t i = 0; i + 1 < (*r)->elements; i += 2) {
      const std::string_view field = Str((*r)->element[i]);
      const std::string_view value = Str((*r)->element[i + 1]);
      const size_t bar = field.find('|');
      const size_t tab = value.find('|');
      if (bar == std::string_view::npos || tab == std::string_view::npos) continue;
      auto scope = ParseKillScope(field.substr(0, bar));
      if (!scope) continue;
      out.push_back({.scope = *scope,
                     .value = std::string(field.substr(bar + 1)),
                     .time_us = ToInt(value.substr(0, tab)),
                     .note = std::string(value.substr(tab + 1))});
    }
    std::sort(out.begin(), out.end(),
              [](const KillEntry& a, const KillEntry& b) { return a.time_us < b.time_us; });
    return out;
  }

  Status Kill(const KillEntry& e) override {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string field = std::string(KillScopeName(e.scope)) + "|" + e.value;
    const std::string value = std::to_string(e.time_us) + "|" + e.note;
    auto r = Command({"HSET", "warden:kills", field, value});
    if (!r.ok()) return r.status();
    return Bump();
  }

  StatusOr<int> Revive(KillScope scope, std::string_view value) override {
    std::lock_guard<std::mutex> lock(mu_);
    int removed = 0;
    if (scope == KillScope::kAll && value.empty()) {
      auto n = Command({"HLEN", "warden:kills"});
      if (!n.ok()) return n.status();
      removed = static_cast<int>((*n)->integer);
      auto r = Command({"DEL", "warden:kills"});
      if (!r.ok()) return r.status();
    } else {
      const std::string field = std::string(KillScopeName(scope)) + "|" + std::string(value);
      auto r = Command({"HDEL", "warden:kills", field});
      if (!r.ok()) return r.status();
      removed = static_cast<int>((*r)->integer);
    }
    if (Status s = Bump(); !s.ok()) return s;
    return removed;
  }

  Status CreateApproval(const Approval& a) override {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string key = "warden:approval:" + a.id;
    const std::string created = std::to_string(a.created_us);
    const std::string expires = std::to_string(a.expires_us);
    const std::string decided = std::to_string(a.decided_us);
    const std::string_view values[] = {a.id,        ApprovalStateName(a.state), created, expires,
                                       decided,     a.key,          a.tenant,   a.tool,
                                       a.arguments, a.rule,         a.reason,   a.request_hash,
                                       a.response,  a.note};
    std::vector<std::string_view> args = {"HSET", key};
    for (size_t i = 0; i < std::size(kApprovalFields); ++i) {
      args.push_back(kApprovalFields[i]);
      args.push_back(values[i]);
    }
    if (auto r = Command(args); !r.ok()) return r.status();
    if (auto r = Command({"ZADD", "warden:approvals", created, a.id}); !r.ok()) return r.status();
    if (!a.request_hash.empty()) {
      auto r = Command({"SET", "warden:approval-for:" + a.request_hash, a.id});
      if (!r.ok()) return r.status();
    }
    return Bump();
  }

  StatusOr<Approval> GetApproval(std::string_view id) override {
    std::lock_guard<std::mutex> lock(mu_);
    return GetLocked(id);
  }

  StatusOr<std::optional<Approval>> FindApprovalForRequest(std::string_view hash) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto r = Command({"GET", "warden:approval-for:" + std::string(hash)});
    if (!r.ok()) return r.status();
    if ((*r)->type != REDIS_REPLY_STRING) return std::optional<Approval>();
    StatusOr<Approval> a = GetLocked(Str(r->get()));
    if (a.status().code() == StatusCode::kNotFound) return std::optional<Approval>();
    if (!a.ok()) return a.status();
    return std::optional<Approval>(std::move(a).value());
  }

  StatusOr<std::vector<Approval>> ListApprovals(std::optional<ApprovalState> state,
                                                size_t limit) override {
    std::lock_guard<std::mutex> lock(mu_);
    // Filtering happens here, so read a generous window of the newest ids.
    const std::string stop = std::to_string(state ? 10000 : (limit == 0 ? 0 : limit - 1));
    auto r = Command({"ZREVRANGE", "warden:approvals", "0", stop});
    if (!r.ok()) return r.status();
    std::vector<std::string> ids;
    for (size_t i = 0; i < (*r)->elements; ++i) ids.emplace_back(Str((*r)->element[i]));
    std::vector<Approval> out;
    for (const std::string& id : ids) {
      if (out.size() >= limit) break;
      StatusOr<Approval> a = GetLocked(id);
      if (!a.ok()) {
        if (a.status().code() == StatusCode::kNotFound) continue;
        return a.status();
      }
      if (!state || a->state == *state) out.push_back(std::move(a).value());
    }
    return out;
  }

  StatusOr<Approval> Decide(std::string_view id, ApprovalState decision,
                            std::string_view note) override {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string key = "warden:approval:" + std::string(id);
    const std::string now = std::to_string(NowMicros());
    auto r = Command({"EVAL", kDecideScript, "2", key, "warden:version",
                      ApprovalStateName(decision), now, note});
    if (!r.ok()) return r.status();
    if ((*r)->type == REDIS_REPLY_INTEGER && (*r)->integer == 0) {
      return NotFoundError("no approval with id \"" + std::string(id) +
                           "\" (list them with `warden approvals list`)");
    }
    if ((*r)->type == REDIS_REPLY_STRING) {
      return FailedPreconditionError("approval " + std::string(id) + " was already " +
                                     std::string(Str(r->get())));
    }
    return GetLocked(id);
  }

  Status AddReview(const ReviewItem& r) override {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string key = "warden:review:" + r.id;
    const std::string created = std::to_string(r.created_us);
    const std::string suspicion = std::to_string(r.suspicion);
    const std::string threshold = std::to_string(r.threshold);
    const std::string labelled = std::to_string(r.labelled_us);
    const std::string_view values[] = {r.id,     created,       r.request_id, r.key,
                                       r.tenant, r.direction,   r.action,     r.rule,
                                       r.reason, r.text,        r.scores_json, suspicion,
                                       threshold, r.label,      r.reviewer,   r.note,
                                       labelled};
    std::vector<std::string_view> args = {"HSET", key};
    for (size_t i = 0; i < std::size(kReviewFields); ++i) {
      args.push_back(kReviewFields[i]);
      args.push_back(values[i]);
    }
    if (auto rr = Command(args); !rr.ok()) return rr.status();
    // The request's first item in this direction, for FindReviewForRequest.
    auto f = Command({"SET", ReviewForKey(r.request_id, r.direction), r.id, "NX"});
    if (!f.ok()) return f.status();
    auto z = Command({"ZADD", "warden:reviews", created, r.id});
    return z.ok() ? OkStatus() : z.status();
  }

  StatusOr<std::optional<ReviewItem>> FindReviewForRequest(std::string_view request_id,
                                                           std::string_view direction) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto r = Command({"GET", ReviewForKey(request_id, direction)});
    if (!r.ok()) return r.status();
    if ((*r)->type != REDIS_REPLY_STRING) return std::optional<ReviewItem>();
    StatusOr<ReviewItem> item = GetReviewLocked(Str(r->get()));
    if (item.status().code() == StatusCode::kNotFound) return std::optional<ReviewItem>();
    if (!item.ok()) return item.status();
    return std::optional<ReviewItem>(std::move(item).value());
  }

  StatusOr<ReviewItem> GetReview(std::string_view id) override {
    std::lock_guard<std::mutex> lock(mu_);
    return GetReviewLocked(id);
  }

  StatusOr<std::vector<ReviewItem>> ListReviews(std::optional<bool> pending,
                                                size_t limit) override {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string stop = std::to_string(pending ? 20000 : (limit == 0 ? 0 : limit - 1));
    auto r = Command({"ZREVRANGE", "warden:reviews", "0", stop});
    if (!r.ok()) return r.status();
    std::vector<std::string> ids;
    for (size_t i = 0; i < (*r)->elements; ++i) ids.emplace_back(Str((*r)->element[i]));
    std::vector<ReviewItem> out;
    for (const std::string& id : ids) {
      if (out.size() >= limit) break;
      StatusOr<ReviewItem> item = GetReviewLocked(id);
      if (!item.ok()) {
        if (item.status().code() == StatusCode::kNotFound) continue;
        return item.status();
      }
      if (!pending || *pending == item->label.empty()) out.push_back(std::move(item).value());
    }
    return out;
  }

  StatusOr<ReviewItem> LabelReview(std::string_view id, std::string_view label,
                                   std::string_view reviewer, std::string_view note) override {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string key = "warden:review:" + std::string(id);
    auto r = Command({"EVAL", kLabelScript, "1", key, label, reviewer, note,
                      std::to_string(NowMicros())});
    if (!r.ok()) return r.status();
    if ((*r)->type == REDIS_REPLY_INTEGER && (*r)->integer == 0) {
      return NotFoundError("no review item with id \"" + std::string(id) +
                           "\" (list them with `warden review list`)");
    }
    if ((*r)->type == REDIS_REPLY_STRING) {
      return FailedPreconditionError("review item " + std::string(id) + " was already labelled " +
                                     std::string(Str(r->get())));
    }
    return GetReviewLocked(id);
  }

  StatusOr<int64_t> AddToWindow(std::string_view name, int64_t amount,
                                int64_t window_end_us) override {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string key =
        "warden:ctr:" + std::string(name) + ":" + std::to_string(window_end_us);
    auto r = Command({"INCRBY", key, std::to_string(amount)});
    if (!r.ok()) return r.status();
    const int64_t total = (*r)->integer;
    if (total == amount) {
      // First touch of this window: let Redis forget it a minute after it ends.
      const int64_t ttl_ms = std::max<int64_t>(0, (window_end_us - NowMicros()) / 1000) + 60000;
      auto e = Command({"PEXPIRE", key, std::to_string(ttl_ms)});
      if (!e.ok()) return e.status();
    }
    return total;
  }

  StatusOr<uint32_t> NoteRepeat(std::string_view scope, std::string_view signature) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto r = Command({"EVAL", kRepeatScript, "1", "warden:repeat:" + std::string(scope),
                      signature});
    if (!r.ok()) return r.status();
    return static_cast<uint32_t>((*r)->integer);
  }

  std::string Describe() const override { return url_; }

 private:
  static std::string_view Str(const redisReply* r) {
    return r && r->str ? std::string_view(r->str, r->len) : std::string_view();
  }

  void Drop() {
    if (ctx_) redisFree(ctx_);
    ctx_ = nullptr;
  }

  // Runs one command (binary-safe arguments). A transport error drops the connection so the
  // next call reconnects; an error reply is Internal.
  StatusOr<Reply> Command(std::initializer_list<std::string_view> args) {
    return Command(std::vector<std::string_view>(args));
  }
  StatusOr<Reply> Command(const std::vector<std::string_view>& args) {
    if (Status s = Connect(); !s.ok()) return s;
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (std::string_view a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    Reply r(static_cast<redisReply*>(
        redisCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lens.data())));
    if (!r) {
      std::string err = ctx_->errstr;
      Drop();
      return UnavailableError("control store " + url_ + ": " + err);
    }
    if (r->type == REDIS_REPLY_ERROR) {
      return InternalError("control store " + url_ + ": " + std::string(Str(r.get())));
    }
    return r;
  }

  Status Bump() {
    auto r = Command({"INCR", "warden:version"});
    return r.ok() ? OkStatus() : r.status();
  }

  StatusOr<Approval> GetLocked(std::string_view id) {
    auto r = Command({"HGETALL", "warden:approval:" + std::string(id)});
    if (!r.ok()) return r.status();
    if ((*r)->elements == 0) {
      return NotFoundError("no approval with id \"" + std::string(id) +
                           "\" (list them with `warden approvals list`)");
    }
    Approval a;
    for (size_t i = 0; i + 1 < (*r)->elements; i += 2) {
      const std::string_view f = Str((*r)->element[i]);
      std::string v(Str((*r)->element[i + 1]));
      if (f == "id") a.id = std::move(v);
      else if (f == "state") a.state = ParseApprovalState(v).value_or(ApprovalState::kPending);
      else if (f == "created_us") a.created_us = ToInt(v);
      else if (f == "expires_us") a.expires_us = ToInt(v);
      else if (f == "decided_us") a.decided_us = ToInt(v);
      else if (f == "key") a.key = std::move(v);
      else if (f == "tenant") a.tenant = std::move(v);
      else if (f == "tool") a.tool = std::move(v);
      else if (f == "arguments") a.arguments = std::move(v);
      else if (f == "rule") a.rule = std::move(v);
      else if (f == "reason") a.reason = std::move(v);
      else if (f == "request_hash") a.request_hash = std::move(v);
      else if (f == "response") a.response = std::move(v);
      else if (f == "note") a.note = std::move(v);
    }
    return a;
  }

  static std::string ReviewForKey(std::string_view request_id, std::string_view direction) {
    return "warden:review-for:" + std::string(request_id) + ":" + std::string(direction);
  }

  StatusOr<ReviewItem> GetReviewLocked(std::string_view id) {
    auto r = Command({"HGETALL", "warden:review:" + std::string(id)});
    if (!r.ok()) return r.status();
    if ((*r)->elements == 0) {
      return NotFoundError("no review item with id \"" + std::string(id) +
                           "\" (list them with `warden review list`)");
    }
    ReviewItem item;
    for (size_t i = 0; i + 1 < (*r)->elements; i += 2) {
      const std::string_view f = Str((*r)->element[i]);
      std::string v(Str((*r)->element[i + 1]));
      if (f == "id") item.id = std::move(v);
      else if (f == "created_us") item.created_us = ToInt(v);
      else if (f == "request_id") item.request_id = std::move(v);
      else if (f == "key") item.key = std::move(v);
      else if (f == "tenant") item.tenant = std::move(v);
      else if (f == "direction") item.direction = std::move(v);
      else if (f == "action") item.action = std::move(v);
      else if (f == "rule") item.rule = std::move(v);
      else if (f == "reason") item.reason = std::move(v);
      else if (f == "text") item.text = std::move(v);
      else if (f == "scores_json") item.scores_json = std::move(v);
      else if (f == "suspicion") item.suspicion = std::strtod(v.c_str(), nullptr);
      else if (f == "threshold") item.threshold = std::strtod(v.c_str(), nullptr);
      else if (f == "label") item.label = std::move(v);
      else if (f == "reviewer") item.reviewer = std::move(v);
      else if (f == "note") item.note = std::move(v);
      else if (f == "labelled_us") item.labelled_us = ToInt(v);
    }
    return item;
  }

  std::mutex mu_;
  redisContext* ctx_ = nullptr;
  std::string host_;
  int port_;
  int db_;
  std::string url_;
};

}  // namespace

StatusOr<std::unique_ptr<ControlStore>> OpenRedisControlStore(std::string_view url) {
  std::string_view rest = url.substr(std::string_view("redis://").size());
  int db = 0;
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    std::string_view d = rest.substr(slash + 1);
    auto [p, ec] = std::from_chars(d.data(), d.data() + d.size(), db);
    if (ec != std::errc() || p != d.data() + d.size() || db < 0) {
      return InvalidArgumentError("control store " + std::string(url) +
                                  ": the database after '/' must be a number");
    }
    rest = rest.substr(0, slash);
  }
  std::string host(rest);
  int port = 6379;
  if (size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    std::string_view p = rest.substr(colon + 1);
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
    if (ec != std::errc() || ptr != p.data() + p.size() || port <= 0 || port > 65535) {
      return InvalidArgumentError("control store " + std::string(url) + ": bad port");
    }
    host = std::string(rest.substr(0, colon));
  }
  if (host.empty()) host = "127.0.0.1";
  auto store = std::make_unique<RedisControlStore>(host, port, db, std::string(url));
  if (Status s = store->Connect(); !s.ok()) return s;
  return std::unique_ptr<ControlStore>(std::move(store));
}

}  // namespace warden::control
