// One valid config and one test per rejected field.
#include "gateway/config.h"

#include <gtest/gtest.h>

namespace warden::gateway {
namespace {

std::string Error(std::string_view yaml) {
  auto c = ParseGatewayConfig(yaml, "gw.yaml");
  return c.ok() ? "" : c.status().message();
}

TEST(GatewayConfig, ValidFullConfig) {
  auto c = ParseGatewayConfig(R"(
listen: 127.0.0.1:9000
threads: 4
busy_poll_us: 20
slow_check_threads: 6
policy: policies/default.yaml
upstream:
  url: https://api.openai.com/v1
  api_key: sk-test
  connect_timeout_ms: 1000
  read_timeout_ms: 60000
  verify_tls: true
  max_idle_connections: 8
limits:
  max_body_bytes: 1048576
  max_header_bytes: 8192
  read_timeout_ms: 1000
  idle_timeout_ms: 2000
streaming:
  hold_back_chars: 128
  sentence_boundary: false
refusal: "No."
moderation:
  threshold: 0.4
admin:
  token: hunter2
keys:
  - key: sk-team-a
    tenant: team-a
  - sha256: 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae
    tenant: team-b
    policy: policies/strict.yaml
)",
                              "gw.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->threads, 4u);
  EXPECT_EQ(c->busy_poll_us, 20u);
  EXPECT_EQ(c->slow_check_threads, 6u);
  EXPECT_TRUE(c->upstream.parsed.tls);
  EXPECT_EQ(c->upstream.parsed.host, "api.openai.com");
  EXPECT_EQ(c->upstream.parsed.port, 443);
  EXPECT_EQ(c->upstream.parsed.base_path, "/v1");
  EXPECT_EQ(c->streaming.hold_back_chars, 128u);
  EXPECT_FALSE(c->streaming.sentence_boundary);
  EXPECT_FLOAT_EQ(c->moderation_threshold, 0.4f);
  EXPECT_EQ(c->admin_token_sha256, Sha256Hex("hunter2"));
  ASSERT_EQ(c->keys.size(), 2u);
  EXPECT_EQ(c->keys[0].sha256_hex, Sha256Hex("sk-team-a"));
  EXPECT_EQ(c->keys[1].policy, "policies/strict.yaml");
}

TEST(GatewayConfig, EmptyIsDefaults) {
  auto c = ParseGatewayConfig("", "gw.yaml");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->listen, "127.0.0.1:8080");
}

TEST(GatewayConfig, UnknownTopLevelKeySuggests) {
  EXPECT_EQ(Error("upstreem:\n  url: http://x\n"),
            "gw.yaml:1:1: upstreem: unknown key (did you mean \"upstream\"?)");
}

TEST(GatewayConfig, UnknownNestedKey) {
  EXPECT_EQ(Error("upstream:\n  urll: http://x\n"),
            "gw.yaml:2:3: upstream.urll: unknown key (did you mean \"url\"?)");
}

TEST(GatewayConfig, RejectsListen) {
  EXPECT_NE(Error("listen: nope\n").find("gw.yaml:1:9: listen: expected HOST:PORT"),
            std::string::npos);
}

TEST(GatewayConfig, RejectsThreads) {
  EXPECT_NE(Error("threads: many\n").find("gw.yaml:1:10: threads: expected an integer"),
            std::string::npos);
}

TEST(GatewayConfig, RejectsBusyPoll) {
  EXPECT_NE(Error("busy_poll_us: -1\n").find("gw.yaml:1:15: busy_poll_us:"), std::string::npos);
  EXPECT_NE(Error("busy_poll_us: 200000\n").find("must be between 0 and 100000"),
            std::string::npos);
}

TEST(GatewayConfig, RejectsUpstreamUrl) {
  EXPECT_NE(Error("upstream:\n  url: ftp://x\n").find("gw.yaml:2:8: upstream.url:"),
            std::string::npos);
  EXPECT_NE(Error("upstream:\n  url: http://x:99999\n").find("bad port"), std::string::npos);
}

TEST(GatewayConfig, RejectsTimeouts) {
  EXPECT_NE(Error("upstream:\n  read_timeout_ms: 0\n").find("must be between"),
            std::string::npos);
  EXPECT_NE(Error("limits:\n  read_timeout_ms: -5\n").find("limits.read_timeout_ms"),
            std::string::npos);
}

TEST(GatewayConfig, RejectsVerifyTls) {
  EXPECT_NE(Error("upstream:\n  verify_tls: maybe\n").find("expected true or false"),
            std::string::npos);
}

TEST(GatewayConfig, RejectsApiKeyEnvUnset) {
  EXPECT_NE(Error("upstream:\n  api_key_env: WARDEN_TEST_SURELY_UNSET\n").find("is not set"),
            std::string::npos);
}

TEST(GatewayConfig, RejectsLimits) {
  EXPECT_NE(Error("limits:\n  max_header_bytes: 10\n").find("limits.max_header_bytes"),
            std::string::npos);
  EXPECT_NE(Error("limits:\n  max_body_byte: 10\n").find("did you mean \"max_body_bytes\""),
            std::string::npos);
}

TEST(GatewayConfig, RejectsStreaming) {
  EXPECT_NE(Error("streaming:\n  hold_back_chars: lots\n").find("streaming.hold_back_chars"),
            std::string::npos);
}

TEST(GatewayConfig, RejectsModerationThreshold) {
  EXPECT_NE(Error("moderation:\n  threshold: 2\n").find("must be between 0 and 1"),
            std::string::npos);
}

TEST(GatewayConfig, RejectsAdminHash) {
  EXPECT_NE(Error("admin:\n  token_sha256: abc\n").find("admin.token_sha256"), std::string::npos);
}

TEST(GatewayConfig, RejectsKeys) {
  EXPECT_NE(Error("keys: {a: 1}\n").find("keys: expected a list"), std::string::npos);
  EXPECT_NE(Error("keys:\n  - tenant: x\n").find("keys[0]: needs sha256"), std::string::npos);
  EXPECT_NE(Error("keys:\n  - sha256: XYZ\n").find("keys[0].sha256"), std::string::npos);
  EXPECT_NE(Error("keys:\n  - key: a\n  - key: a\n").find("duplicate key"), std::string::npos);
  EXPECT_NE(Error("keys:\n  - key: a\n    tenat: x\n").find("did you mean \"tenant\""),
            std::string::npos);
}

TEST(GatewayConfig, AgentControlAuditAndLimits) {
  auto c = ParseGatewayConfig(R"(
keys:
  - key: sk-1
    name: ci-bot
    tenant: acme
    rate_limits: {requests_per_minute: 60, max_repeated_tool_calls: 4}
  - key: sk-2
rate_limits:
  key: {requests_per_minute: 600, tool_calls_per_minute: 100}
  tenant: {tokens_per_day: 5000000}
  tenants:
    acme: {tokens_per_minute: 200000}
control:
  store: redis://127.0.0.1:6379/2
  on_store_error: fail_open
  poll_interval_ms: 20
  approval_timeout_ms: 30000
  on_approval_timeout: allow
audit:
  store: sqlite:/var/lib/warden/audit.db
  signing_key: /etc/warden/audit.pem
  checkpoint_every: 500
  when_full: fail_closed
  group_commit_us: 250
  group_commit_records: 64
)", "gw.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->keys[0].name, "ci-bot");
  ASSERT_TRUE(c->keys[0].rate_limits.has_value());
  EXPECT_EQ(c->keys[0].rate_limits->requests_per_minute, 60u);
  EXPECT_EQ(c->keys[0].rate_limits->max_repeated_tool_calls, 4u);
  EXPECT_EQ(c->keys[1].name, "key-" + Sha256Hex("sk-2").substr(0, 8));
  EXPECT_FALSE(c->keys[1].rate_limits.has_value());
  EXPECT_EQ(c->rate_limits.key.tool_calls_per_minute, 100u);
  EXPECT_EQ(c->rate_limits.ForTenant("acme").tokens_per_minute, 200000u);
  EXPECT_EQ(c->rate_limits.ForTenant("globex").tokens_per_day, 5000000u);
  EXPECT_EQ(c->control.store, "redis://127.0.0.1:6379/2");
  EXPECT_FALSE(c->control.fail_closed);
  EXPECT_EQ(c->control.poll_interval_ms, 20u);
  EXPECT_TRUE(c->control.approve_on_timeout);
  EXPECT_EQ(c->audit.checkpoint_every, 500u);
  EXPECT_TRUE(c->audit.fail_closed_when_full);
  EXPECT_EQ(c->audit.group_commit_us, 250u);
  EXPECT_EQ(c->audit.group_commit_records, 64u);
}

TEST(GatewayConfig, RejectsBadLimitsControlAndAudit) {
  EXPECT_EQ(Error("rate_limits:\n  key: {requests_per_minut: 5}\n"),
            "gw.yaml:2:9: rate_limits.key.requests_per_minut: unknown key (did you mean "
            "\"requests_per_minute\"?)");
  EXPECT_EQ(Error("rate_limits:\n  tenants:\n    acme: {tokens_per_day: -1}\n"),
            "gw.yaml:3:28: rate_limits.tenants.acme.tokens_per_day: expected an integer, got "
            "\"-1\"");
  EXPECT_NE(Error("rate_limits: {tenants: [a]}\n").find("expected a mapping of tenant names"),
            std::string::npos);
  EXPECT_EQ(Error("control:\n  on_store_error: fail_closd\n"),
            "gw.yaml:2:19: control.on_store_error: expected fail_closed or fail_open, got "
            "\"fail_closd\" (did you mean \"fail_closed\"?)");
  EXPECT_NE(Error("control:\n  poll_interval_ms: 0\n").find("must be between 5 and 60000"),
            std::string::npos);
  EXPECT_NE(Error("audit:\n  when_full: drop\n").find("audit.when_full: expected fail_closed or "
                                                      "block"),
            std::string::npos);
  EXPECT_NE(Error("audit:\n  group_commit_records: 0\n").find("must be between 1 and 4096"),
            std::string::npos);
  EXPECT_NE(Error("keys:\n  - {key: a, name: x}\n  - {key: b, name: x}\n").find("duplicate name"),
            std::string::npos);
}

TEST(GatewayConfig, YamlSyntaxErrorHasPosition) {
  EXPECT_EQ(Error("listen: [\n").rfind("gw.yaml:", 0), 0u);
}

TEST(ParseUpstreamUrl, Forms) {
  auto u = ParseUpstreamUrl("http://[::1]:8000/");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 8000);
  EXPECT_EQ(u->base_path, "");
  EXPECT_FALSE(ParseUpstreamUrl("http://user:pw@host/").ok());
  EXPECT_FALSE(ParseUpstreamUrl("http://host/v1?x=1").ok());
}

}  // namespace
}  // namespace warden::gateway
