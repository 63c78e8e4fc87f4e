#include "control/control.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <optional>

#include "control/limiter.h"
#include "tests/support/redis_server.h"
#include "tests/support/temp_dir.h"

namespace warden::control {
namespace {

using testing::TempDir;

// Every behaviour is checked against both stores: SQLite (one gateway) and Redis (several).
class ControlStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      dir_.emplace("control");
      auto s = OpenControlStore("sqlite:" + (*dir_ / "control.db").string());
      ASSERT_TRUE(s.ok()) << s.status().message();
      store_ = std::move(s).value();
    } else {
      redis_ = std::make_unique<testing::RedisServer>();
      if (!redis_->ok()) GTEST_SKIP() << redis_->error();
      auto s = OpenControlStore(redis_->url());
      ASSERT_TRUE(s.ok()) << s.status().message();
      store_ = std::move(s).value();
    }
  }
  void TearDown() override { store_.reset(); }

  std::optional<TempDir> dir_;  // SQLite only
  std::unique_ptr<testing::RedisServer> redis_;
  std::unique_ptr<ControlStore> store_;
};

TEST_P(ControlStoreTest, KillAndRevive) {
  const uint64_t v0 = store_->Version().value();
  ASSERT_TRUE(store_->Kill({.scope = KillScope::kTenant, .value = "acme", .time_us = 5,
                            .note = "runaway agent"})
                  .ok());
  ASSERT_TRUE(store_->Kill({.scope = KillScope::kTool, .value = "shell", .time_us = 6}).ok());
  EXPECT_GT(store_->Version().value(), v0);

  KillSet kills(store_->Kills().value());
  ASSERT_EQ(kills.entries().size(), 2u);
  const KillEntry* hit = kills.MatchTraffic("key-1", "acme");
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(hit->note, "runaway agent");
  EXPECT_EQ(kills.MatchTraffic("key-1", "other"), nullptr);
  EXPECT_NE(kills.MatchTool("shell"), nullptr);
  EXPECT_EQ(kills.MatchTool("search"), nullptr);

  EXPECT_EQ(store_->Revive(KillScope::kTenant, "acme").value(), 1);
  EXPECT_EQ(store_->Revive(KillScope::kTenant, "acme").value(), 0);
  kills = KillSet(store_->Kills().value());
  EXPECT_EQ(kills.MatchTraffic("key-1", "acme"), nullptr);

  ASSERT_TRUE(store_->Kill({.scope = KillScope::kAll}).ok());
  EXPECT_NE(KillSet(store_->Kills().value()).MatchTraffic("", ""), nullptr);
  EXPECT_EQ(store_->Revive(KillScope::kAll, "").value(), 2);
  EXPECT_TRUE(store_->Kills().value().empty());
}

TEST_P(ControlStoreTest, ApprovalLifecycle) {
  Approval a{.id = NewApprovalId(), .created_us = NowMicros(), .expires_us = NowMicros() + 1000,
             .key = "bot", .tenant = "acme", .tool = "send_email",
             .arguments = R"({"to":"x@example.com"})", .rule = "email-needs-approval",
             .request_hash = "h1", .response = "{\"held\":true}"};
  ASSERT_TRUE(store_->CreateApproval(a).ok());
  StatusOr<Approval> got = store_->GetApproval(a.id);
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(got->tool, "send_email");
  EXPECT_EQ(got->response, "{\"held\":true}");
  EXPECT_EQ(got->state, ApprovalState::kPending);

  auto found = store_->FindApprovalForRequest("h1");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->id, a.id);
  EXPECT_FALSE(store_->FindApprovalForRequest("nope").value().has_value());

  EXPECT_EQ(store_->ListApprovals(ApprovalState::kPending, 10).value().size(), 1u);
  auto decided = store_->Decide(a.id, ApprovalState::kApproved, "looks fine");
  ASSERT_TRUE(decided.ok()) << decided.status().message();
  EXPECT_EQ(decided->state, ApprovalState::kApproved);
  EXPECT_EQ(decided->note, "looks fine");
  EXPECT_GT(decided->decided_us, 0);

  // Deciding twice never changes the first decision.
  auto again = store_->Decide(a.id, ApprovalState::kDenied, "changed my mind");
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->GetApproval(a.id)->state, ApprovalState::kApproved);
  EXPECT_EQ(store_->Decide("apr_unknown", ApprovalState::kDenied, "").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(store_->GetApproval("apr_unknown").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store_->ListApprovals(ApprovalState::kPending, 10).value().empty());
  EXPECT_EQ(store_->ListApprovals(std::nullopt, 10).value().size(), 1u);
}

TEST_P(ControlStoreTest, RequestRateLimitAndRetryAfter) {
  Limiter limiter(*store_);
  const RateLimits limits{.requests_per_minute = 3};
  const LimitSubject who[] = {{"key", "bot", &limits}};
  const int64_t t = 120'000'000 * 1000LL + 15'000'000;  // 15 s into a minute
  for (int i = 0; i < 3; ++i) {
    auto hit = limiter.AdmitRequest(who, t);
    ASSERT_TRUE(hit.ok());
    EXPECT_FALSE(hit->has_value()) << i;
  }
  auto hit = limiter.AdmitRequest(who, t);
  ASSERT_TRUE(hit.ok() && hit->has_value());
  EXPECT_EQ((*hit)->limit, "requests_per_minute");
  EXPECT_EQ((*hit)->subject, "key bot");
  EXPECT_EQ((*hit)->retry_after_s, 45);
  // The next minute starts afresh.
  EXPECT_FALSE(limiter.AdmitRequest(who, t + 60'000'000).value().has_value());
}

TEST_P(ControlStoreTest, TokenLimitsCountUsage) {
  Limiter limiter(*store_);
  const RateLimits key_limits{};
  const RateLimits tenant_limits{.tokens_per_day = 1000};
  const LimitSubject who[] = {{"key", "bot", &key_limits}, {"tenant", "acme", &tenant_limits}};
  const int64_t t = 86'400'000'000LL * 20000 + 1;
  EXPECT_FALSE(limiter.AdmitRequest(who, t).value().has_value());
  ASSERT_TRUE(limiter.AddTokens(who, 999, t).ok());
  EXPECT_FALSE(limiter.AdmitRequest(who, t).value().has_value());
  ASSERT_TRUE(limiter.AddTokens(who, 1, t).ok());
  auto hit = limiter.AdmitRequest(who, t);
  ASSERT_TRUE(hit.ok() && hit->has_value());
  EXPECT_EQ((*hit)->limit, "tokens_per_day");
  EXPECT_EQ((*hit)->subject, "tenant acme");
  EXPECT_GT((*hit)->retry_after_s, 86000);
}

TEST_P(ControlStoreTest, ToolCallLimitsAndLoopDetector) {
  Limiter limiter(*store_);
  const RateLimits limits{.tool_calls_per_minute = 10, .max_repeated_tool_calls = 3};
  const LimitSubject who[] = {{"key", "bot", &limits}};
  const int64_t t = 60'000'000LL * 30000;
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(limiter.AdmitToolCall(who, "search", "args-a", t).value().has_value());
  }
  auto loop = limiter.AdmitToolCall(who, "search", "args-a", t);
  ASSERT_TRUE(loop.ok() && loop->has_value());
  EXPECT_EQ((*loop)->limit, "max_repeated_tool_calls");
  // Different arguments break the run.
  EXPECT_FALSE(limiter.AdmitToolCall(who, "search", "args-b", t).value().has_value());
  EXPECT_FALSE(limiter.AdmitToolCall(who, "search", "args-a", t).value().has_value());
  // Per-tool window: 6 calls so far; four more are fine, the eleventh is not.
  for (int i = 0; i < 4; ++i) {
    EXPECT_FALSE(
        limiter.AdmitToolCall(who, "search", "x" + std::to_string(i), t).value().has_value());
  }
  auto over = limiter.AdmitToolCall(who, "search", "y", t);
  ASSERT_TRUE(over.ok() && over->has_value());
  EXPECT_EQ((*over)->limit, "tool_calls_per_minute");
  // Another tool has its own window.
  EXPECT_FALSE(limiter.AdmitToolCall(who, "fetch", "z", t).value().has_value());
}

TEST_P(ControlStoreTest, ReviewQueue) {
  ReviewItem a{.id = NewReviewId(), .created_us = 10, .request_id = "req_1", .key = "bot",
               .tenant = "acme", .direction = "input", .action = "escalate", .reason = "budget",
               .text = "how do I get into my neighbour's wifi [EMAIL]",
               .scores_json = R"({"unsafe":0.62})", .suspicion = 0.62, .threshold = 0.58};
  ReviewItem b = a;
  b.id = NewReviewId();
  b.created_us = 20;
  b.reason = "rule";
  b.rule = "escalate-unsafe";
  ASSERT_TRUE(store_->AddReview(a).ok());
  ASSERT_TRUE(store_->AddReview(b).ok());
  auto pending = store_->ListReviews(true, 10);
  ASSERT_TRUE(pending.ok()) << pending.status().message();
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0].id, b.id);  // newest first
  EXPECT_NEAR((*pending)[1].threshold, 0.58, 1e-9);
  EXPECT_EQ((*pending)[1].scores_json, R"({"unsafe":0.62})");

  auto labelled = store_->LabelReview(a.id, "nonviolent_crimes", "alice", "wifi break-in");
  ASSERT_TRUE(labelled.ok()) << labelled.status().message();
  EXPECT_EQ(labelled->label, "nonviolent_crimes");
  EXPECT_EQ(labelled->reviewer, "alice");
  EXPECT_GT(labelled->labelled_us, 0);
  EXPECT_EQ(store_->LabelReview(a.id, "safe", "bob", "").status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->LabelReview("rev_nope", "safe", "bob", "").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(store_->ListReviews(true, 10)->size(), 1u);
  EXPECT_EQ(store_->ListReviews(false, 10)->size(), 1u);
  EXPECT_EQ(store_->ListReviews(std::nullopt, 10)->size(), 2u);
  const std::string line = ReviewItemToExportJson(*labelled);
  EXPECT_NE(line.find("\"label\":\"nonviolent_crimes\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"reviewer\":\"alice\""), std::string::npos) << line;
  EXPECT_TRUE(IsReviewLabel("hate"));
  EXPECT_FALSE(IsReviewLabel("bad"));
}

TEST_P(ControlStoreTest, FindsTheReviewItemOfARequest) {
  ReviewItem in{.id = NewReviewId(),
                .created_us = 10,
                .request_id = "req_7",
                .key = "bot",
                .tenant = "acme",
                .direction = "input",
                .action = "escalate",
                .reason = "rule"};
  ReviewItem out = in;
  out.id = NewReviewId();
  out.created_us = 11;
  out.direction = "output";
  ReviewItem later = in;  // a second input item of the same request: the first one is found
  later.id = NewReviewId();
  later.created_us = 12;
  for (const ReviewItem& r : {in, out, later}) ASSERT_TRUE(store_->AddReview(r).ok());

  auto found = store_->FindReviewForRequest("req_7", "input");
  ASSERT_TRUE(found.ok()) << found.status().message();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->id, in.id);
  found = store_->FindReviewForRequest("req_7", "output");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->id, out.id);
  EXPECT_FALSE(store_->FindReviewForRequest("req_7", "tool_call")->has_value());
  EXPECT_FALSE(store_->FindReviewForRequest("req_8", "input")->has_value());
}

INSTANTIATE_TEST_SUITE_P(Stores, ControlStoreTest, ::testing::Values("sqlite", "redis"),
                         [](const auto& info) { return info.param; });

TEST(SqliteControlStore, StateSurvivesReopenAndIsSharedBetweenHandles) {
  const TempDir dir("control-reopen");
  const std::string url = "sqlite:" + (dir / "c.db").string();
  {
    auto a = OpenControlStore(url);
    auto b = OpenControlStore(url);  // the CLI and the gateway at once
    ASSERT_TRUE(a.ok() && b.ok());
    const uint64_t v = (*b)->Version().value();
    ASSERT_TRUE((*a)->Kill({.scope = KillScope::kKey, .value = "bot"}).ok());
    EXPECT_GT((*b)->Version().value(), v);
    EXPECT_EQ((*b)->Kills().value().size(), 1u);
  }
  auto again = OpenControlStore(url);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->Kills().value().size(), 1u);
}

TEST(SqliteControlStore, RefusesForeignAndCorruptFiles) {
  const TempDir dir("control-bad");
  const std::string garbage = (dir / "garbage.db").string();
  std::ofstream(garbage) << std::string(4096, 'x');
  auto g = OpenControlStore(garbage);
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find(garbage), std::string::npos) << g.status().message();

  const std::string foreign = (dir / "foreign.db").string();
  sqlite3* db = nullptr;
  sqlite3_open(foreign.c_str(), &db);
  sqlite3_exec(db, "CREATE TABLE customers(id INTEGER)", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  auto f = OpenControlStore(foreign);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("not Warden's control state"), std::string::npos)
      << f.status().message();
  EXPECT_FALSE(OpenControlStore("mysql://db").ok());
}

TEST(RedisControlStore, UnreachableThenRecovers) {
  testing::RedisServer redis;
  if (!redis.ok()) GTEST_SKIP() << redis.error();
  auto store = OpenControlStore(redis.url());
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->Kill({.scope = KillScope::kTool, .value = "shell"}).ok());
  redis.Stop();
  auto down = (*store)->Kills();
  EXPECT_EQ(down.status().code(), StatusCode::kUnavailable);
  ASSERT_TRUE(redis.Restart());
  // The server came back empty (no persistence in tests) and the store reconnected.
  auto up = (*store)->Kills();
  ASSERT_TRUE(up.ok()) << up.status().message();
  EXPECT_TRUE(up->empty());
  EXPECT_FALSE(OpenControlStore("redis://127.0.0.1:1").ok());
}

}  // namespace
}  // namespace warden::control
