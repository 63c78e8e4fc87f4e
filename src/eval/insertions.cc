#include "eval/insertions.h"

#include <algorithm>
#include <map>
#include <string>
#include <tuple>

#include "core/strings.h"
#include "core/utf8.h"

namespace warden::eval {
namespace {

// Twins are looked up by the bytes a document starts or ends with: an instruction is inserted
// at the start, in the middle or at the end, and the other end stays the clean copy's.
constexpr size_t kKeyBytes = 64;

// Moves `pos` back to the start of its word (after a space or newline) if one is within 32 bytes,
// else to the start of its UTF-8 character: a cut never splits a character.
size_t BackToWordStart(std::string_view text, size_t pos) {
  for (size_t p = pos; p > 0 && pos - p < 32; --p) {
    if (text[p - 1] == ' ' || text[p - 1] == '\n') return p;
  }
  return Utf8Floor(text, pos);
}

// Moves `pos` on to the end of its word, or to the end of its UTF-8 character.
size_t OnToWordEnd(std::string_view text, size_t pos) {
  for (size_t p = pos; p < text.size() && p - pos < 32; ++p) {
    if (text[p] == ' ' || text[p] == '\n') return p;
  }
  return Utf8Ceil(text, pos);
}

// The inserted run of `injected` as a request of its own: its harm, without the injection.
Example AsSentAlone(const Example& injected, std::string_view run) {
  Example alone;
  alone.id = injected.id + "#alone";
  alone.text = run;
  alone.role = "user";
  alone.source = injected.source;
  for (const uint8_t label : injected.labels) {
    if (static_cast<int>(label) != injected.attack) alone.labels.push_back(label);
  }
  // Unsafe only for its harm: an unsafe record without an attack label stays unsafe.
  alone.unsafe = injected.unsafe && (injected.attack < 0 || !alone.labels.empty());
  return alone;
}

// The window of the clean twin that `injected` was cut to: the same document bytes, safe.
Example CleanWindow(const Example& injected, std::string text) {
  Example clean;
  clean.id = injected.id + "#clean";
  clean.text = std::move(text);
  clean.role = injected.role;
  clean.source = injected.source;
  return clean;
}

}  // namespace

std::optional<Insertion> FindInsertion(std::string_view shorter, std::string_view longer) {
  if (longer.size() <= shorter.size()) return std::nullopt;
  const size_t prefix = static_cast<size_t>(
      std::mismatch(shorter.begin(), shorter.end(), longer.begin()).first - shorter.begin());
  const size_t room = shorter.size() - prefix;
  const size_t suffix = static_cast<size_t>(
      std::mismatch(shorter.rbegin(), shorter.rbegin() + room, longer.rbegin()).first -
      shorter.rbegin());
  if (prefix + suffix != shorter.size()) return std::nullopt;
  return Insertion{prefix, longer.size() - suffix};
}

size_t CutInsertions(std::vector<Example>& examples, const CutOptions& options) {
  const size_t context_bytes = options.context_bytes;
  // (source, first or last kKeyBytes) -> safe records with that start or end.
  using Key = std::tuple<std::string_view, bool, std::string_view>;
  std::map<Key, std::vector<size_t>> safe_by_end;
  for (size_t i = 0; i < examples.size(); ++i) {
    const Example& ex = examples[i];
    if (ex.unsafe || ex.text.size() < kMinTwinBytes) continue;
    const std::string_view t = ex.text;
    safe_by_end[{ex.source, false, t.substr(0, kKeyBytes)}].push_back(i);
    safe_by_end[{ex.source, true, t.substr(t.size() - kKeyBytes)}].push_back(i);
  }
  // Where each unsafe record with a clean twin is cut: the window kept and the run inserted.
  struct Cut {
    size_t index;
    Insertion window;
    Insertion run;
  };
  std::vector<Cut> cuts;
  for (size_t i = 0; i < examples.size(); ++i) {
    const Example& ex = examples[i];
    if (!ex.unsafe || ex.text.size() <= kMinTwinBytes) continue;
    const std::string_view t = ex.text;
    std::optional<Insertion> found;
    for (const bool at_end : {false, true}) {
      const auto it = safe_by_end.find(
          {ex.source, at_end, at_end ? t.substr(t.size() - kKeyBytes) : t.substr(0, kKeyBytes)});
      if (it == safe_by_end.end()) continue;
      for (const size_t twin : it->second) {
        found = FindInsertion(examples[twin].text, t);
        if (found) break;
      }
      if (found) break;
    }
    if (!found) continue;
    const size_t begin = BackToWordStart(t, found->begin - std::min(found->begin, context_bytes));
    const size_t end = OnToWordEnd(t, found->end + std::min(t.size() - found->end, context_bytes));
    cuts.push_back({i, {begin, end}, *found});
  }
  if (cuts.empty()) return 0;
  // Texts change only after the search, so every unsafe record was compared with the clean
  // copies as they were read. The added records follow the record they come from, so a
  // source's records stay together.
  std::vector<Example> out;
  out.reserve(examples.size() + 2 * cuts.size());
  size_t next = 0;
  for (size_t i = 0; i < examples.size(); ++i) {
    if (next == cuts.size() || cuts[next].index != i) {
      out.push_back(std::move(examples[i]));
      continue;
    }
    const Cut& cut = cuts[next++];
    const std::string injected = std::move(examples[i].text);
    const std::string_view t = injected;
    const size_t at = out.size();  // an index, not a reference: the pushes below may move it
    out.push_back(std::move(examples[i]));
    out[at].text = t.substr(cut.window.begin, cut.window.end - cut.window.begin);
    const std::string_view run = TrimSpace(t.substr(cut.run.begin, cut.run.end - cut.run.begin));
    if (options.alone && !run.empty()) out.push_back(AsSentAlone(out[at], run));
    if (options.clean_window) {
      std::string clean(t.substr(cut.window.begin, cut.run.begin - cut.window.begin));
      clean += t.substr(cut.run.end, cut.window.end - cut.run.end);
      out.push_back(CleanWindow(out[at], std::move(clean)));
    }
  }
  examples = std::move(out);
  return cuts.size();
}

}  // namespace warden::eval
