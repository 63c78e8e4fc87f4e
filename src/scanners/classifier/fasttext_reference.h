// Test support: what fastText itself computes for a text, for tests that check the classifier's
// own scoring path (decoded matrices, Warden's tokenisation and n-gram hashing) against it.
//
//   fasttext::FastText ft;  ft.loadModel("m.ftz");
//   LabelScores want = FastTextReference(ft, 4.0, "some text");   // compare with ScoreText
//
// The reference is the whole text (no windows): compare with a model whose manifest has
// window_tokens 0.
#pragma once

#include <fasttext/fasttext.h>

#include <cmath>
#include <sstream>
#include <string>
#include <string_view>

#include "scanners/classifier/classifier.h"
#include "scanners/classifier/features.h"

namespace warden::classifier {

// fastText's sentence vector of the feature text, dotted with its output matrix, through the
// exact sigmoid of logit / `temperature` (as Classifier does).
inline LabelScores FastTextReference(fasttext::FastText& ft, double temperature,
                                     std::string_view text, size_t max_tokens = 1024) {
  std::string features;
  AppendFeatureText(text, max_tokens, features);
  features.push_back('\n');
  std::istringstream in(features);
  fasttext::Vector hidden(ft.getDimension());
  ft.getSentenceVector(in, hidden);
  auto out = ft.getOutputMatrix();
  auto dict = ft.getDictionary();
  LabelScores s;
  s.fill(0.0f);
  for (int32_t j = 0; j < dict->nlabels(); ++j) {
    const int index = LabelIndex(dict->getLabel(j).substr(9));  // after "__label__"
    if (index < 0) continue;
    s[index] = static_cast<float>(1.0 / (1.0 + std::exp(-out->dotRow(hidden, j) / temperature)));
  }
  return s;
}

}  // namespace warden::classifier
