#include "scanners/patterns/pattern_engine.h"

#include <hs/hs.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <utility>

#include "core/suggest.h"
#include "scanners/patterns/database_cache.h"
#include "scanners/patterns/pack.h"

namespace warden::scanners {
namespace {

struct CompiledPattern {
  PatternSpec spec;
  std::string scanner;    // PatternScannerConfig::kind
  std::string pack_path;  // for messages
};

struct RawMatch {
  uint32_t id;
  uint32_t from;
  uint32_t to;
};

struct Candidate {
  uint32_t id;
  uint32_t begin;  // view offsets
  uint32_t end;
};

// Per-thread state. The Hyperscan scratch is tagged with the id of the engine it was last sized
// for: ids are never reused, unlike addresses of destroyed engines.
struct ThreadScratch {
  uint64_t engine_id = 0;
  hs_scratch_t* scratch = nullptr;
  std::vector<RawMatch> matches;
  std::vector<Candidate> candidates;
  ~ThreadScratch() {
    if (scratch != nullptr) hs_free_scratch(scratch);
  }
};

std::atomic<uint64_t> next_engine_id{1};

// The prefilter stops at the first pattern that may match in this view: one such hit is enough to
// send the view to the SOM database.
struct PrefilterContext {
  const std::vector<ViewMask>* masks;
  ViewMask view_bit;
  bool hit = false;
};

int OnPrefilterMatch(unsigned int id, unsigned long long, unsigned long long, unsigned int,
                     void* ctx) {
  auto* c = static_cast<PrefilterContext*>(ctx);
  if (((*c->masks)[id] & c->view_bit) == 0) return 0;
  c->hit = true;
  return 1;  // terminate the scan
}

struct MatchContext {
  std::vector<RawMatch>* matches;
  const std::vector<ViewMask>* masks;
  ViewMask view_bit;
};

int OnMatch(unsigned int id, unsigned long long from, unsigned long long to, unsigned int,
            void* ctx) {
  auto* c = static_cast<MatchContext*>(ctx);
  // A match in a view the pattern does not allow is ignored here, before it costs anything.
  if (((*c->masks)[id] & c->view_bit) == 0) return 0;
  c->matches->push_back({id, static_cast<uint32_t>(from), static_cast<uint32_t>(to)});
  return 0;
}

bool Overlaps(uint32_t b1, uint32_t e1, uint32_t b2, uint32_t e2) { return b1 < e2 && b2 < e1; }

}  // namespace

struct PatternEngine::Impl {
  uint64_t id = next_engine_id.fetch_add(1);
  hs_database_t* db = nullptr;         // SOM_LEFTMOST: start and end of every match
  hs_database_t* prefilter = nullptr;  // no SOM, SINGLEMATCH: "does anything match?"; may be null
  std::vector<CompiledPattern> patterns;
  std::vector<ViewMask> masks;
  std::map<std::string, std::string, std::less<>> placeholders;  // type -> kind

  ~Impl() {
    if (db != nullptr) hs_free_database(db);
    if (prefilter != nullptr) hs_free_database(prefilter);
  }
};

PatternEngine::PatternEngine() : impl_(std::make_unique<Impl>()) {}
PatternEngine::~PatternEngine() = default;

StatusOr<std::shared_ptr<const PatternEngine>> PatternEngine::Compile(
    const std::vector<PatternScannerConfig>& scanners) {
  std::shared_ptr<PatternEngine> engine(new PatternEngine());
  Impl& impl = *engine->impl_;
  for (const PatternScannerConfig& cfg : scanners) {
    if (cfg.kind.empty()) return InvalidArgumentError(cfg.pack_path + ": scanner kind is empty");
    StatusOr<Pack> pack = LoadPack(cfg.pack_path);
    if (!pack.ok()) return pack.status();
    std::vector<std::string_view> types;
    for (const PatternSpec& p : pack->patterns) types.push_back(p.type);
    for (const std::string& t : cfg.types) {
      if (std::find(types.begin(), types.end(), t) == types.end()) {
        return InvalidArgumentError(cfg.pack_path + ": scanner \"" + cfg.kind +
                                    "\" asks for type \"" + t + "\", which the pack does not have" +
                                    DidYouMean(t, types));
      }
    }
    for (PatternSpec& p : pack->patterns) {
      auto [it, inserted] = impl.placeholders.emplace(p.type, p.placeholder);
      if (!inserted && it->second != p.placeholder) {
        return InvalidArgumentError(cfg.pack_path + ":" + std::to_string(p.line) + ": type \"" +
                                    p.type + "\" has placeholder \"" + p.placeholder +
                                    "\" here but \"" + it->second + "\" elsewhere");
      }
      // Both filters are static, so they are applied at compile time: a filtered-out pattern
      // costs nothing at scan time.
      if (!cfg.types.empty() &&
          std::find(cfg.types.begin(), cfg.types.end(), p.type) == cfg.types.end()) {
        continue;
      }
      if (p.score < cfg.min_score) continue;
      impl.masks.push_back(p.views);
      impl.patterns.push_back({std::move(p), cfg.kind, cfg.pack_path});
    }
  }
  if (impl.patterns.empty()) return engine;  // nothing to scan for; Scan() is a no-op

  std::vector<const char*> expressions;
  std::vector<unsigned int> flags;
  std::vector<unsigned int> ids;
  for (size_t i = 0; i < impl.patterns.size(); ++i) {
    const PatternSpec& p = impl.patterns[i].spec;
    expressions.push_back(p.regex.c_str());
    unsigned int f = HS_FLAG_SOM_LEFTMOST;
    if (p.caseless) f |= HS_FLAG_CASELESS;
    if (p.multiline) f |= HS_FLAG_MULTILINE;
    if (p.dotall) f |= HS_FLAG_DOTALL;
    flags.push_back(f);
    ids.push_back(static_cast<unsigned int>(i));
  }
  hs_compile_error_t* error = nullptr;
  hs_error_t rc = CompileMultiCached(expressions.data(), flags.data(), ids.data(),
                                     static_cast<unsigned int>(expressions.size()), &impl.db,
                                     &error);
  if (rc != HS_SUCCESS) {
    std::string message = error != nullptr ? error->message : "unknown error";
    int index = error != nullptr ? error->expression : -1;
    hs_free_compile_error(error);
    if (index >= 0 && static_cast<size_t>(index) < impl.patterns.size()) {
      const CompiledPattern& p = impl.patterns[index];
      return InvalidArgumentError(p.pack_path + ":" + std::to_string(p.spec.line) +
                                  ": pattern \"" + p.spec.type + "\": regex rejected: " + message);
    }
    return InternalError("hyperscan: " + message);
  }

  // The prefilter: the same expressions without start-of-match tracking, each reported at most
  // once per scan. SOM tracking dominates the cost of a scan (the email pattern alone costs more
  // than all others without SOM), and most views match nothing, so only views in which the
  // prefilter finds something are scanned again with the SOM database.
  std::vector<unsigned int> prefilter_flags;
  for (unsigned int f : flags) {
    prefilter_flags.push_back((f & ~HS_FLAG_SOM_LEFTMOST) | HS_FLAG_SINGLEMATCH);
  }
  for (size_t attempt = 0; attempt <= expressions.size(); ++attempt) {
    error = nullptr;
    rc = CompileMultiCached(expressions.data(), prefilter_flags.data(), ids.data(),
                            static_cast<unsigned int>(expressions.size()), &impl.prefilter,
                            &error);
    if (rc == HS_SUCCESS) break;
    int index = error != nullptr ? error->expression : -1;
    hs_free_compile_error(error);
    impl.prefilter = nullptr;
    // A pattern refused with SINGLEMATCH is reported at every match instead (the scan still stops
    // at the first hit in the view). Anything else: no prefilter, every view takes the SOM scan.
    if (index < 0 || static_cast<size_t>(index) >= prefilter_flags.size() ||
        (prefilter_flags[index] & HS_FLAG_SINGLEMATCH) == 0) {
      break;
    }
    prefilter_flags[index] &= ~HS_FLAG_SINGLEMATCH;
  }
  return engine;
}

void PatternEngine::Scan(const std::vector<text::View>& views, std::vector<Finding>& out) const {
  const Impl& impl = *impl_;
  if (impl.db == nullptr) return;
  thread_local ThreadScratch ts;
  if (ts.engine_id != impl.id) {
    // hs_alloc_scratch grows an existing scratch to fit this database too.
    if (hs_alloc_scratch(impl.db, &ts.scratch) != HS_SUCCESS) return;
    if (impl.prefilter != nullptr && hs_alloc_scratch(impl.prefilter, &ts.scratch) != HS_SUCCESS) {
      return;
    }
    ts.engine_id = impl.id;
  }
  const size_t first_out = out.size();
  for (const text::View& view : views) {
    const ViewMask view_bit = ViewMask{1} << static_cast<int>(view.kind);
    if (impl.prefilter != nullptr) {
      PrefilterContext pre{&impl.masks, view_bit};
      hs_error_t rc = hs_scan(impl.prefilter, view.text.data(),
                              static_cast<unsigned int>(view.text.size()), 0, ts.scratch,
                              &OnPrefilterMatch, &pre);
      // Nothing can match in this view. (On a scan error, fall through to the full scan.)
      if (rc == HS_SUCCESS && !pre.hit) continue;
    }
    ts.matches.clear();
    MatchContext ctx{&ts.matches, &impl.masks, view_bit};
    if (hs_scan(impl.db, view.text.data(), static_cast<unsigned int>(view.text.size()), 0,
                ts.scratch, &OnMatch, &ctx) != HS_SUCCESS) {
      continue;
    }
    if (ts.matches.empty()) continue;
    // Group the end offsets of each (pattern, start); the longest end that validates wins.
    std::sort(ts.matches.begin(), ts.matches.end(), [](const RawMatch& a, const RawMatch& b) {
      if (a.id != b.id) return a.id < b.id;
      if (a.from != b.from) return a.from < b.from;
      return a.to > b.to;
    });
    ts.candidates.clear();
    for (size_t i = 0; i < ts.matches.size();) {
      size_t j = i;
      const RawMatch& m = ts.matches[i];
      const PatternSpec& spec = impl.patterns[m.id].spec;
      bool found = false;
      for (; j < ts.matches.size() && ts.matches[j].id == m.id && ts.matches[j].from == m.from;
           ++j) {
        if (found) continue;
        size_t begin = ts.matches[j].from;
        size_t end = ts.matches[j].to;
        if (spec.validator == nullptr || spec.validator->fn(view.text, begin, end, spec.params)) {
          ts.candidates.push_back(
              {m.id, static_cast<uint32_t>(begin), static_cast<uint32_t>(end)});
          found = true;
        }
      }
      i = j;
    }
    // Earlier start first, then longer, then the pattern listed first.
    std::sort(ts.candidates.begin(), ts.candidates.end(),
              [](const Candidate& a, const Candidate& b) {
                if (a.begin != b.begin) return a.begin < b.begin;
                if (a.end != b.end) return a.end > b.end;
                return a.id < b.id;
              });
    for (const Candidate& c : ts.candidates) {
      const CompiledPattern& p = impl.patterns[c.id];
      auto [begin, end] = view.ToOriginal(c.begin, c.end);
      // One finding per thing: a span that overlaps an earlier finding of the same type is a
      // duplicate, unless it strictly contains it (zero-width characters split the raw match;
      // the normalized view sees the whole value), in which case it replaces it. A span inside
      // an earlier finding of the same scanner is dropped (a card's digits are not also a phone).
      bool dup = false;
      size_t replace = out.size();
      for (size_t k = first_out; k < out.size() && !dup; ++k) {
        const Finding& f = out[k];
        if (f.type == p.spec.type) {
          if (!(Overlaps(begin, end, f.start, f.end) || (begin == end && begin == f.start))) {
            continue;
          }
          bool wider = begin <= f.start && f.end <= end && end - begin > f.end - f.start;
          if (wider && replace == out.size()) {
            replace = k;
          } else {
            dup = true;
          }
        } else if (f.scanner == p.scanner) {
          dup = f.start <= begin && end <= f.end;
        }
      }
      if (dup) continue;
      Finding f;
      f.scanner = p.scanner;
      f.type = p.spec.type;
      f.start = begin;
      f.end = end;
      f.view = view.name;
      f.score = p.spec.score;
      f.label = p.spec.label;
      if (replace < out.size()) {
        out[replace] = std::move(f);
      } else {
        out.push_back(std::move(f));
      }
    }
  }
}

std::string_view PatternEngine::PlaceholderKind(std::string_view type) const {
  auto it = impl_->placeholders.find(type);
  if (it == impl_->placeholders.end()) return "REDACTED";
  return it->second;
}

size_t PatternEngine::pattern_count() const { return impl_->patterns.size(); }

std::vector<std::string> PatternEngine::Types() const {
  std::vector<std::string> types;
  for (const CompiledPattern& p : impl_->patterns) types.push_back(p.spec.type);
  std::sort(types.begin(), types.end());
  types.erase(std::unique(types.begin(), types.end()), types.end());
  return types;
}

}  // namespace warden::scanners
