// libFuzzer target: ParsePolicy on arbitrary bytes must never crash, hang or throw, and every
// rejection must be a positioned InvalidArgument error, never an escaped exception.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "policy/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view yaml(reinterpret_cast<const char*>(data), size);
  // A base folder that does not exist: pack lookups are filesystem probes that must simply fail.
  warden::StatusOr<warden::policy::PolicyConfig> policy =
      warden::policy::ParsePolicy(yaml, "fuzz.yaml", "/nonexistent-warden-fuzz/policies");
  if (!policy.ok()) {
    if (policy.status().message().empty()) std::abort();
    return 0;
  }
  // A policy that parsed must also evaluate: run it over empty facts and one message.
  warden::Message message;
  message.text = yaml;
  warden::policy::Facts facts;
  facts.message = &message;
  warden::policy::Decision decision = warden::policy::EvaluateRules(*policy, facts);
  if (decision.rule == nullptr && decision.action != policy->default_action) std::abort();
  // And its tool section must decide a call whose arguments are the same bytes (mostly invalid
  // JSON, sometimes an object the fuzzer's policy constrains).
  const std::vector<std::string> seen = {"fuzz"};
  warden::policy::ToolDecision tool = warden::policy::EvaluateToolCall(
      policy->tools, {.tool_name = "fuzz", .arguments = yaml, .results_seen = &seen});
  if (tool.rule.empty() != (tool.action == warden::Action::kAllow && tool.message.empty())) {
    std::abort();
  }
  return 0;
}
