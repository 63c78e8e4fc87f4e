#include "gateway/config.h"

#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <functional>
#include <sstream>

#include "core/hex.h"
#include "core/suggest.h"

namespace warden::gateway {

namespace {

// Builds "file:line:col: path: message" errors from yaml-cpp marks (0-based) so that every
// mistake points at the place the operator has to edit.
class Validator {
 public:
  explicit Validator(std::string file) : file_(std::move(file)) {}

  Status Error(const YAML::Node& node, const std::string& path, const std::string& message) const {
    const YAML::Mark m = node.Mark();
    std::string where = file_;
    if (m.line >= 0) where += ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
    return InvalidArgumentError(where + ": " + path + ": " + message);
  }

  std::string Location(const YAML::Node& node, const std::string& path) const {
    const YAML::Mark m = node.Mark();
    return file_ + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) + ": " +
           path;
  }

  // Rejects keys not in `known`, suggesting the closest one.
  Status CheckKeys(const YAML::Node& map, const std::string& path,
                   const std::vector<std::string_view>& known) const {
    if (!map.IsMap()) return Error(map, path, "expected a mapping");
    for (const auto& kv : map) {
      const std::string key = kv.first.Scalar();
      if (std::find(known.begin(), known.end(), key) != known.end()) continue;
      return Error(kv.first, Join(path, key), "unknown key" + DidYouMean(key, known));
    }
    return OkStatus();
  }

  Status GetString(const YAML::Node& node, const std::string& path, std::string& out) const {
    if (!node.IsScalar()) return Error(node, path, "expected a string");
    out = node.Scalar();
    return OkStatus();
  }

  template <typename Int>
  Status GetUint(const YAML::Node& node, const std::string& path, uint64_t min, uint64_t max,
                 Int& out) const {
    if (!node.IsScalar()) return Error(node, path, "expected an integer");
    const std::string& s = node.Scalar();
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) {
      return Error(node, path, "expected an integer, got \"" + s + "\"");
    }
    if (v < min || v > max) {
      return Error(node, path,
                   "must be between " + std::to_string(min) + " and " + std::to_string(max));
    }
    out = static_cast<Int>(v);
    return OkStatus();
  }

  Status GetBool(const YAML::Node& node, const std::string& path, bool& out) const {
    if (!node.IsScalar()) return Error(node, path, "expected true or false");
    const std::string& s = node.Scalar();
    if (s == "true") {
      out = true;
    } else if (s == "false") {
      out = false;
    } else {
      return Error(node, path, "expected true or false, got \"" + s + "\"");
    }
    return OkStatus();
  }

  // A string that must be one of two words; sets `out` to whether it is `yes`.
  Status GetChoice(const YAML::Node& node, const std::string& path, std::string_view yes,
                   std::string_view no, bool& out) const {
    if (!node.IsScalar()) return Error(node, path, "expected " + std::string(yes) + " or " +
                                                   std::string(no));
    const std::string& s = node.Scalar();
    if (s != yes && s != no) {
      return Error(node, path, "expected " + std::string(yes) + " or " + std::string(no) +
                                   ", got \"" + s + "\"" +
                                   DidYouMean(s, std::vector<std::string_view>{yes, no}));
    }
    out = s == yes;
    return OkStatus();
  }

  Status GetFloat01(const YAML::Node& node, const std::string& path, float& out) const {
    if (!node.IsScalar()) return Error(node, path, "expected a number");
    const std::string& s = node.Scalar();
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size()) {
      return Error(node, path, "expected a number, got \"" + s + "\"");
    }
    if (!(v >= 0.0 && v <= 1.0)) return Error(node, path, "must be between 0 and 1");
    out = static_cast<float>(v);
    return OkStatus();
  }

  static std::string Join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }

 private:
  std::string file_;
};

bool IsHex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// `section` is "upstream" or "defer_upstream"; only the latter takes `model`.
Status ParseUpstream(const Validator& v, const YAML::Node& node, const std::string& section,
                     UpstreamConfig& up) {
  std::vector<std::string_view> known = {
      "url",        "api_key", "api_key_env",         "connect_timeout_ms", "read_timeout_ms",
      "verify_tls", "ca_file", "max_idle_connections"};
  if (section == "defer_upstream") known.push_back("model");
  if (Status s = v.CheckKeys(node, section, known); !s.ok()) return s;
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    const std::string path = section + "." + key;
    if (key == "model") {
      if (Status s = v.GetString(kv.second, path, up.model); !s.ok()) return s;
      continue;
    }
    const YAML::Node& val = kv.second;
    Status s;
    if (key == "url") {
      s = v.GetString(val, path, up.url);
      if (s.ok()) {
        auto parsed = ParseUpstreamUrl(up.url);
        if (!parsed.ok()) return v.Error(val, path, parsed.status().message());
        up.parsed = *parsed;
      }
    } else if (key == "api_key") {
      s = v.GetString(val, path, up.api_key);
    } else if (key == "api_key_env") {
      std::string name;
      s = v.GetString(val, path, name);
      if (s.ok()) {
        const char* value = std::getenv(name.c_str());
        if (value == nullptr || *value == '\0') {
          return v.Error(val, path, "environment variable " + name + " is not set");
        }
        up.api_key = value;
      }
    } else if (key == "connect_timeout_ms") {
      s = v.GetUint(val, path, 1, 600000, up.connect_timeout_ms);
    } else if (key == "read_timeout_ms") {
      s = v.GetUint(val, path, 1, 3600000, up.read_timeout_ms);
    } else if (key == "verify_tls") {
      s = v.GetBool(val, path, up.verify_tls);
    } else if (key == "ca_file") {
      s = v.GetString(val, path, up.ca_file);
    } else if (key == "max_idle_connections") {
      s = v.GetUint(val, path, 0, 100000, up.max_idle_connections);
    }
    if (!s.ok()) return s;
  }
  return OkStatus();
}

Status ParseLimits(const Validator& v, const YAML::Node& node, LimitsConfig& l) {
  if (Status s = v.CheckKeys(node, "limits",
                             {"max_body_bytes", "max_header_bytes", "read_timeout_ms",
                              "idle_timeout_ms", "max_upstream_response_bytes"});
      !s.ok()) {
    return s;
  }
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    const std::string path = "limits." + key;
    Status s;
    if (key == "max_body_bytes") {
      s = v.GetUint(kv.second, path, 1, 1u << 30, l.max_body_bytes);
    } else if (key == "max_header_bytes") {
      s = v.GetUint(kv.second, path, 1024, 1u << 20, l.max_header_bytes);
    } else if (key == "read_timeout_ms") {
      s = v.GetUint(kv.second, path, 1, 3600000, l.read_timeout_ms);
    } else if (key == "idle_timeout_ms") {
      s = v.GetUint(kv.second, path, 1, 3600000, l.idle_timeout_ms);
    } else if (key == "max_upstream_response_bytes") {
      s = v.GetUint(kv.second, path, 1024, 1u << 30, l.max_upstream_response_bytes);
    }
    if (!s.ok()) return s;
  }
  return OkStatus();
}

Status ParseRateLimits(const Validator& v, const YAML::Node& node, const std::string& path,
                       control::RateLimits& out) {
  if (Status s = v.CheckKeys(node, path,
                             {"requests_per_minute", "tokens_per_minute", "tokens_per_day",
                              "tool_calls_per_minute", "max_repeated_tool_calls"});
      !s.ok()) {
    return s;
  }
  for (const auto& kv : node) {
    const std::string k = kv.first.Scalar();
    const std::string p = path + "." + k;
    constexpr uint64_t kMax = uint64_t{1} << 40;
    Status s;
    if (k == "requests_per_minute") {
      s = v.GetUint(kv.second, p, 0, 1u << 30, out.requests_per_minute);
    } else if (k == "tokens_per_minute") {
      s = v.GetUint(kv.second, p, 0, kMax, out.tokens_per_minute);
    } else if (k == "tokens_per_day") {
      s = v.GetUint(kv.second, p, 0, kMax, out.tokens_per_day);
    } else if (k == "tool_calls_per_minute") {
      s = v.GetUint(kv.second, p, 0, 1u << 30, out.tool_calls_per_minute);
    } else {
      s = v.GetUint(kv.second, p, 0, 1u << 20, out.max_repeated_tool_calls);
    }
    if (!s.ok()) return s;
  }
  return OkStatus();
}

Status ParseRateLimitConfig(const Validator& v, const YAML::Node& node, RateLimitConfig& out) {
  if (Status s = v.CheckKeys(node, "rate_limits", {"key", "tenant", "tenants"}); !s.ok()) return s;
  for (const auto& kv : node) {
    const std::string k = kv.first.Scalar();
    const std::string p = "rate_limits." + k;
    Status s;
    if (k == "key") {
      s = ParseRateLimits(v, kv.second, p, out.key);
    } else if (k == "tenant") {
      s = ParseRateLimits(v, kv.second, p, out.tenant);
    } else {
      if (!kv.second.IsMap()) return v.Error(kv.second, p, "expected a mapping of tenant names");
      for (const auto& t : kv.second) {
        s = ParseRateLimits(v, t.second, p + "." + t.first.Scalar(),
                            out.tenants[t.first.Scalar()]);
        if (!s.ok()) return s;
      }
    }
    if (!s.ok()) return s;
  }
  return OkStatus();
}

Status ParseControl(const Validator& v, const YAML::Node& node, ControlConfig& out) {
  if (Status s = v.CheckKeys(node, "control",
                             {"store", "on_store_error", "poll_interval_ms", "approval_timeout_ms",
                              "on_approval_timeout"});
      !s.ok()) {
    return s;
  }
  for (const auto& kv : node) {
    const std::string k = kv.first.Scalar();
    const std::string p = "control." + k;
    Status s;
    if (k == "store") {
      s = v.GetString(kv.second, p, out.store);
    } else if (k == "on_store_error") {
      s = v.GetChoice(kv.second, p, "fail_closed", "fail_open", out.fail_closed);
    } else if (k == "poll_interval_ms") {
      s = v.GetUint(kv.second, p, 5, 60000, out.poll_interval_ms);
    } else if (k == "approval_timeout_ms") {
      s = v.GetUint(kv.second, p, 1, 86400000, out.approval_timeout_ms);
    } else {
      s = v.GetChoice(kv.second, p, "allow", "block", out.approve_on_timeout);
    }
    if (!s.ok()) return s;
  }
  return OkStatus();
}

Status ParseAudit(const Validator& v, const YAML::Node& node, AuditConfig& out) {
  if (Status s = v.CheckKeys(node, "audit",
                             {"store", "signing_key", "checkpoint_every", "checkpoint_interval_ms",
                              "queue_capacity", "when_full", "group_commit_us",
                              "group_commit_records"});
      !s.ok()) {
    return s;
  }
  for (const auto& kv : node) {
    const std::string k = kv.first.Scalar();
    const std::string p = "audit." + k;
    Status s;
    if (k == "store") {
      s = v.GetString(kv.second, p, out.store);
    } else if (k == "signing_key") {
      s = v.GetString(kv.second, p, out.signing_key);
    } else if (k == "checkpoint_every") {
      s = v.GetUint(kv.second, p, 0, 1u << 30, out.checkpoint_every);
    } else if (k == "checkpoint_interval_ms") {
      s = v.GetUint(kv.second, p, 0, 86400000, out.checkpoint_interval_ms);
    } else if (k == "queue_capacity") {
      s = v.GetUint(kv.second, p, 16, 1u << 24, out.queue_capacity);
    } else if (k == "group_commit_us") {
      s = v.GetUint(kv.second, p, 0, 100000, out.group_commit_us);
    } else if (k == "group_commit_records") {
      s = v.GetUint(kv.second, p, 1, 4096, out.group_commit_records);
    } else {
      s = v.GetChoice(kv.second, p, "fail_closed", "block", out.fail_closed_when_full);
    }
    if (!s.ok()) return s;
  }
  return OkStatus();
}

Status ParseKeys(const Validator& v, const YAML::Node& node, std::vector<ApiKey>& keys) {
  if (!node.IsSequence()) return v.Error(node, "keys", "expected a list");
  for (size_t i = 0; i < node.size(); ++i) {
    const YAML::Node& item = node[i];
    const std::string path = "keys[" + std::to_string(i) + "]";
    if (Status s = v.CheckKeys(item, path,
                               {"sha256", "key", "name", "tenant", "policy", "rate_limits"});
        !s.ok()) {
      return s;
    }
    ApiKey key;
    key.location = v.Location(item, path);
    for (const auto& kv : item) {
      const std::string k = kv.first.Scalar();
      const std::string p = path + "." + k;
      Status s;
      if (k == "sha256") {
        s = v.GetString(kv.second, p, key.sha256_hex);
        if (s.ok() && !IsHex64(key.sha256_hex)) {
          return v.Error(kv.second, p, "expected 64 lowercase hex digits (the key's SHA-256)");
        }
      } else if (k == "key") {
        // Plain keys are accepted for local testing but only their hash is kept in memory.
        std::string plain;
        s = v.GetString(kv.second, p, plain);
        key.sha256_hex = Sha256Hex(plain);
      } else if (k == "tenant") {
        s = v.GetString(kv.second, p, key.tenant);
      } else if (k == "policy") {
        s = v.GetString(kv.second, p, key.policy);
      } else if (k == "name") {
        s = v.GetString(kv.second, p, key.name);
      } else if (k == "rate_limits") {
        key.rate_limits.emplace();
        s = ParseRateLimits(v, kv.second, p, *key.rate_limits);
      }
      if (!s.ok()) return s;
    }
    if (key.sha256_hex.empty()) return v.Error(item, path, "needs sha256 (or key)");
    if (key.name.empty()) key.name = "key-" + key.sha256_hex.substr(0, 8);
    for (const ApiKey& other : keys) {
      if (other.sha256_hex == key.sha256_hex) {
        return v.Error(item, path, "duplicate key (same hash as " + other.location + ")");
      }
      if (other.name == key.name) {
        return v.Error(item, path + ".name",
                       "duplicate name \"" + key.name + "\" (also " + other.location + ")");
      }
    }
    keys.push_back(std::move(key));
  }
  return OkStatus();
}

}  // namespace

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  return HexOf(digest, len);
}

StatusOr<UpstreamUrl> ParseUpstreamUrl(std::string_view url) {
  UpstreamUrl out;
  std::string_view rest;
  if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else if (url.starts_with("https://")) {
    out.tls = true;
    rest = url.substr(8);
  } else {
    return InvalidArgumentError("upstream URL must start with http:// or https://");
  }
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (path.find_first_of("?#") != std::string_view::npos) {
    return InvalidArgumentError("upstream URL must not have a query or fragment");
  }
  std::string_view host = authority;
  std::string_view port;
  if (authority.starts_with("[")) {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return InvalidArgumentError("unterminated IPv6 host");
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return InvalidArgumentError("bad port in upstream URL");
      port = authority.substr(close + 2);
    }
  } else if (const size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return InvalidArgumentError("upstream URL has no host");
  if (authority.find('@') != std::string_view::npos) {
    return InvalidArgumentError("credentials in the upstream URL are not supported; use api_key");
  }
  out.host = std::string(host);
  out.port = out.tls ? 443 : 80;
  if (!port.empty()) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (ec != std::errc() || p != port.data() + port.size() || v == 0 || v > 65535) {
      return InvalidArgumentError("bad port \"" + std::string(port) + "\" in upstream URL");
    }
    out.port = static_cast<uint16_t>(v);
  }
  out.base_path = std::string(path);
  return out;
}

StatusOr<std::pair<std::string, uint16_t>> ParseListen(std::string_view listen) {
  std::string_view host;
  std::string_view port;
  if (listen.starts_with("[")) {
    const size_t close = listen.find("]:");
    if (close == std::string_view::npos) return InvalidArgumentError("expected [v6addr]:port");
    host = listen.substr(1, close - 1);
    port = listen.substr(close + 2);
  } else {
    const size_t colon = listen.rfind(':');
    if (colon == std::string_view::npos) return InvalidArgumentError("expected HOST:PORT");
    host = listen.substr(0, colon);
    port = listen.substr(colon + 1);
  }
  unsigned v = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
  if (port.empty() || ec != std::errc() || p != port.data() + port.size() || v > 65535) {
    return InvalidArgumentError("bad port \"" + std::string(port) + "\"");
  }
  return std::make_pair(host.empty() ? std::string("0.0.0.0") : std::string(host),
                        static_cast<uint16_t>(v));
}

StatusOr<GatewayConfig> ParseGatewayConfig(std::string_view yaml,
                                           const std::string& display_name) {
  GatewayConfig config;
  config.path = display_name;
  Validator v(display_name);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    // yaml-cpp reports syntax errors by exception; turn them into the same file:line:col form.
    return InvalidArgumentError(display_name + ":" + std::to_string(e.mark.line + 1) + ":" +
                                std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  if (root.IsNull()) return config;
  if (Status s = v.CheckKeys(
          root, "",
          {"listen", "threads", "busy_poll_us", "slow_check_threads", "policy", "upstream",
           "defer_upstream", "restore_placeholders", "limits", "streaming", "refusal", "moderation",
           "admin", "keys", "rate_limits", "control", "audit"});
      !s.ok()) {
    return s;
  }
  for (const auto& kv : root) {
    const std::string key = kv.first.Scalar();
    const YAML::Node& val = kv.second;
    Status s;
    if (key == "listen") {
      s = v.GetString(val, key, config.listen);
      if (s.ok()) {
        auto parsed = ParseListen(config.listen);
        if (!parsed.ok()) return v.Error(val, key, parsed.status().message());
      }
    } else if (key == "threads") {
      s = v.GetUint(val, key, 0, 1024, config.threads);
    } else if (key == "busy_poll_us") {
      s = v.GetUint(val, key, 0, GatewayConfig::kMaxBusyPollUs, config.busy_poll_us);
    } else if (key == "slow_check_threads") {
      s = v.GetUint(val, key, 0, 1024, config.slow_check_threads);
    } else if (key == "policy") {
      s = v.GetString(val, key, config.policy);
    } else if (key == "upstream") {
      s = ParseUpstream(v, val, key, config.upstream);
    } else if (key == "defer_upstream") {
      s = ParseUpstream(v, val, key, config.defer_upstream);
      if (s.ok() && config.defer_upstream.url.empty()) {
        return v.Error(val, key, "needs url (the trusted model that answers deferred requests)");
      }
    } else if (key == "limits") {
      s = ParseLimits(v, val, config.limits);
    } else if (key == "streaming") {
      s = v.CheckKeys(val, key, {"hold_back_chars", "sentence_boundary"});
      if (s.ok()) {
        for (const auto& skv : val) {
          const std::string k = skv.first.Scalar();
          if (k == "hold_back_chars") {
            s = v.GetUint(skv.second, "streaming." + k, 0, 1u << 20,
                          config.streaming.hold_back_chars);
          } else {
            s = v.GetBool(skv.second, "streaming." + k, config.streaming.sentence_boundary);
          }
          if (!s.ok()) return s;
        }
      }
    } else if (key == "restore_placeholders") {
      s = v.GetBool(val, key, config.restore_placeholders);
    } else if (key == "refusal") {
      s = v.GetString(val, key, config.refusal);
    } else if (key == "moderation") {
      s = v.CheckKeys(val, key, {"threshold"});
      if (s.ok() && val["threshold"]) {
        s = v.GetFloat01(val["threshold"], "moderation.threshold", config.moderation_threshold);
      }
    } else if (key == "admin") {
      s = v.CheckKeys(val, key, {"token_sha256", "token"});
      if (s.ok()) {
        for (const auto& akv : val) {
          const std::string k = akv.first.Scalar();
          std::string value;
          s = v.GetString(akv.second, "admin." + k, value);
          if (!s.ok()) return s;
          if (k == "token") {
            config.admin_token_sha256 = Sha256Hex(value);
          } else if (!IsHex64(value)) {
            return v.Error(akv.second, "admin.token_sha256", "expected 64 lowercase hex digits");
          } else {
            config.admin_token_sha256 = value;
          }
        }
      }
    } else if (key == "keys") {
      s = ParseKeys(v, val, config.keys);
    } else if (key == "rate_limits") {
      s = ParseRateLimitConfig(v, val, config.rate_limits);
    } else if (key == "control") {
      s = ParseControl(v, val, config.control);
    } else if (key == "audit") {
      s = ParseAudit(v, val, config.audit);
    }
    if (!s.ok()) return s;
  }
  return config;
}

StatusOr<GatewayConfig> LoadGatewayConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError(path + ": cannot open config file");
  std::ostringstream text;
  text << in.rdbuf();
  return ParseGatewayConfig(text.str(), path);
}

}  // namespace warden::gateway
