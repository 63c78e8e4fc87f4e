// The classifier a policy names, with the views the policy's engine builds for it: what
// `warden eval --policy` scores with and what `warden check --explain` explains.
#pragma once

#include <memory>
#include <string>

#include "scanners/classifier/classifier.h"
#include "text/views.h"
#include "warden/status.h"

namespace warden::cli {

struct PolicyClassifier {
  std::shared_ptr<const classifier::Classifier> model;
  text::ViewOptions views;  // the policy's views, its glossary loaded
};

// Errors name the policy (and its line) when it has no enabled `scanners.classifier` section or
// its model or glossary cannot be loaded.
StatusOr<PolicyClassifier> LoadPolicyClassifier(const std::string& policy_path);

}  // namespace warden::cli
