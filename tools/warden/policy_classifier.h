// The classifier a policy names, with the views the policy's engine builds for it: what
// `warden eval --policy` scores with and what `warden check --explain` explains.
#pragma once

#include <memory>
#include <string>

#include "scanners/classifier/classifier.h"
#include "scanners/patterns/pattern_engine.h"
#include "text/views.h"
#include "warden/status.h"

namespace warden::cli {

struct PolicyClassifier {
  std::shared_ptr<const classifier::Classifier> model;
  text::ViewOptions views;  // the policy's views, its glossary loaded
  // The policy's enabled pattern scanners, when asked for (null otherwise or when it has none).
  std::shared_ptr<const scanners::PatternEngine> patterns;
};

// Errors name the policy (and its line) when it has no enabled `scanners.classifier` section or
// its model, glossary or (with `with_patterns`) pattern packs cannot be loaded.
StatusOr<PolicyClassifier> LoadPolicyClassifier(const std::string& policy_path,
                                                bool with_patterns = false);

}  // namespace warden::cli
