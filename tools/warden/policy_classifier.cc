#include "policy_classifier.h"

#include <utility>

#include "engine/engine.h"
#include "policy/policy.h"

namespace warden::cli {

StatusOr<PolicyClassifier> LoadPolicyClassifier(const std::string& policy_path,
                                                bool with_patterns) {
  auto policy = policy::LoadPolicyFile(policy_path);
  if (!policy.ok()) return policy.status();
  if (!policy->classifier || !policy->classifier->enabled) {
    return InvalidArgumentError(policy_path +
                                ": the policy has no enabled `scanners.classifier` section");
  }
  auto model = classifier::Classifier::Load(policy->classifier->model_path);
  if (!model.ok()) return model.status();
  PolicyClassifier out;
  out.model = std::move(model).value();
  out.views = policy->views;
  if (Status s = policy::LoadViewWords(*policy, out.views); !s.ok()) return s;
  if (!with_patterns) return out;
  const std::vector<scanners::PatternScannerConfig> configs =
      engine::Engine::PatternConfigs(*policy);
  if (configs.empty()) return out;
  auto patterns = scanners::PatternEngine::Compile(configs);
  if (!patterns.ok()) return patterns.status();
  out.patterns = std::move(patterns).value();
  return out;
}

}  // namespace warden::cli
