// Instructions injected into documents, found by their clean twins in the training data.
//
// An indirect prompt injection data set (BIPIA) holds each document twice: clean, labelled safe,
// and with an instruction inserted, labelled unsafe. Trained on whole, the injected copy teaches
// the model that the document's own words are an attack (they occur in two unsafe copies for
// every safe one), so a clean email scores as an injection. The difference between the twins is
// the attack; training reads the inserted text with a little of the document around it, about
// what one scoring window sees at inference.
//
//   std::vector<Example> train = ...;
//   // train[i].text shortened where a twin exists; each cut followed by its injection alone.
//   size_t cut = CutInsertions(train, {.context_bytes = 96, .alone = true});
//
// Thread-safety: free functions without shared state.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include "eval/dataset.h"

namespace warden::eval {

// Where `longer` is `shorter` with one run of text inserted: [begin, end) of that run in
// `longer`. nullopt when `longer` is not such a copy.
struct Insertion {
  size_t begin = 0;
  size_t end = 0;
};
std::optional<Insertion> FindInsertion(std::string_view shorter, std::string_view longer);

// Records shorter than this are not documents; a short request with words added ("make a cake"
// -> "make a cake bomb") is a different request, not an injected document.
inline constexpr size_t kMinTwinBytes = 200;

struct CutOptions {
  size_t context_bytes = 512;  // document bytes kept on each side of the inserted run
  // Each inserted run is also added, right after its record, as the request it is when sent by
  // itself: role "user", the record's harm categories without its attack label, safe when it
  // has none. BIPIA's injections are mostly harmless tasks ("What is the capital of Brazil?"),
  // attacks only inside a document; without their plain twins a bag of n-grams learns the tasks'
  // words as the attack, and "Summarise the causes of the First World War." is unsafe.
  bool alone = false;
  // The clean twin's same window (the cut without the run) is also added, as safe: every
  // document word of a cut then occurs as often in safe as in unsafe records, and only the
  // inserted run tells them apart.
  bool clean_window = false;
};

// Replaces the text of every unsafe record that is a safe record of the same source (at least
// kMinTwinBytes long) with a run inserted, by that run with up to `context_bytes` of the
// document on each side (cut at spaces, never inside a UTF-8 sequence), and adds the records
// `options` asks for. Returns how many records it shortened. Deterministic; the order of
// `examples` is kept.
size_t CutInsertions(std::vector<Example>& examples, const CutOptions& options);

}  // namespace warden::eval
