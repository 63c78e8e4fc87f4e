#include "scanners/patterns/pack.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>
#include <utility>

#include "core/suggest.h"
#include "text/views.h"

namespace warden::scanners {
namespace {

constexpr std::string_view kViewNames[] = {"raw",          "normalized", "skeleton",
                                           "deobfuscated", "decoded",    "glossed"};
static_assert(std::size(kViewNames) == text::kViewKindCount);

Status Error(const std::string& path, const YAML::Node& node, const std::string& what) {
  std::string where = path;
  if (node.IsDefined() && node.Mark().line >= 0) {
    where += ":" + std::to_string(node.Mark().line + 1);
  }
  return InvalidArgumentError(where + ": " + what);
}

Status CheckKeys(const std::string& path, const YAML::Node& map, const std::string& ctx,
                 const std::vector<std::string_view>& allowed) {
  if (!map.IsMap()) return Error(path, map, ctx + ": expected a mapping");
  for (const auto& kv : map) {
    std::string key = kv.first.as<std::string>();
    bool known = false;
    for (std::string_view a : allowed) known = known || a == key;
    if (!known) {
      return Error(path, kv.first,
                   (ctx.empty() ? "" : ctx + ".") + key + ": unknown key" +
                       DidYouMean(key, allowed));
    }
  }
  return OkStatus();
}

Status ParseViews(const std::string& path, const YAML::Node& node, const std::string& ctx,
                  ViewMask& mask) {
  if (!node.IsSequence() || node.size() == 0) {
    return Error(path, node, ctx + ": expected a non-empty list of views");
  }
  mask = 0;
  for (const auto& v : node) {
    std::string name = v.as<std::string>();
    ViewMask bit = ViewBit(name);
    if (bit == 0) {
      return Error(path, v,
                   ctx + ": unknown view \"" + name + "\"" +
                       DidYouMean(name, {std::begin(kViewNames), std::end(kViewNames)}));
    }
    mask |= bit;
  }
  return OkStatus();
}

Status ParseString(const std::string& path, const YAML::Node& node, const std::string& ctx,
                   std::string& out) {
  if (!node.IsScalar()) return Error(path, node, ctx + ": expected a string");
  out = node.as<std::string>();
  if (out.empty()) return Error(path, node, ctx + ": must not be empty");
  return OkStatus();
}

Status ParsePattern(const std::string& path, const YAML::Node& node, const std::string& ctx,
                    const Pack& pack, ViewMask default_views, PatternSpec& p) {
  static const std::vector<std::string_view> kKeys = {
      "type",  "placeholder", "regex", "caseless",    "multiline",  "dotall",
      "label", "validator",   "score", "min_entropy", "min_length", "views"};
  if (Status s = CheckKeys(path, node, ctx, kKeys); !s.ok()) return s;
  p.line = node.Mark().line + 1;
  for (const char* required : {"type", "placeholder", "regex"}) {
    if (!node[required]) return Error(path, node, ctx + ": missing \"" + required + "\"");
  }
  if (Status s = ParseString(path, node["type"], ctx + ".type", p.type); !s.ok()) return s;
  if (Status s = ParseString(path, node["placeholder"], ctx + ".placeholder", p.placeholder);
      !s.ok()) {
    return s;
  }
  if (Status s = ParseString(path, node["regex"], ctx + ".regex", p.regex); !s.ok()) return s;
  p.label = pack.label;
  if (node["label"]) {
    if (Status s = ParseString(path, node["label"], ctx + ".label", p.label); !s.ok()) return s;
  }
  if (p.label.empty()) return Error(path, node, ctx + ": no label (set one on the pack or here)");
  for (auto [key, field] : {std::pair{"caseless", &p.caseless}, std::pair{"multiline", &p.multiline},
                            std::pair{"dotall", &p.dotall}}) {
    if (!node[key]) continue;
    bool b = false;
    if (!node[key].IsScalar() || !YAML::convert<bool>::decode(node[key], b)) {
      return Error(path, node[key], ctx + "." + key + ": expected true or false");
    }
    *field = b;
  }
  if (node["validator"]) {
    std::string name;
    if (Status s = ParseString(path, node["validator"], ctx + ".validator", name); !s.ok()) {
      return s;
    }
    p.validator = FindValidator(name);
    if (p.validator == nullptr) {
      return Error(path, node["validator"],
                   ctx + ".validator: unknown validator \"" + name + "\"" +
                       DidYouMean(name, ValidatorNames()));
    }
  }
  if (node["score"]) {
    double d = -1;
    if (!node["score"].IsScalar() || !YAML::convert<double>::decode(node["score"], d) || d < 0 ||
        d > 1) {
      return Error(path, node["score"], ctx + ".score: expected a number in [0, 1]");
    }
    p.score = static_cast<float>(d);
  }
  if (node["min_entropy"]) {
    double d = -1;
    if (!node["min_entropy"].IsScalar() ||
        !YAML::convert<double>::decode(node["min_entropy"], d) || d < 0 || d > 8) {
      return Error(path, node["min_entropy"], ctx + ".min_entropy: expected bits/char in [0, 8]");
    }
    p.params.min_entropy = d;
  }
  if (node["min_length"]) {
    int n = -1;
    if (!node["min_length"].IsScalar() || !YAML::convert<int>::decode(node["min_length"], n) ||
        n < 1 || n > 4096) {
      return Error(path, node["min_length"], ctx + ".min_length: expected an integer in [1, 4096]");
    }
    p.params.min_length = static_cast<uint32_t>(n);
  }
  if ((node["min_entropy"] || node["min_length"]) &&
      (p.validator == nullptr || p.validator->name != "entropy")) {
    return Error(path, node, ctx + ": min_entropy/min_length need validator: entropy");
  }
  p.views = default_views;
  if (node["views"]) {
    if (Status s = ParseViews(path, node["views"], ctx + ".views", p.views); !s.ok()) return s;
  }
  return OkStatus();
}

Status ParseRoot(const YAML::Node& root, const std::string& path, Pack& pack) {
  if (Status s = CheckKeys(path, root, "", {"pack", "label", "views", "patterns"}); !s.ok()) {
    return s;
  }
  if (!root["pack"]) return Error(path, root, "missing \"pack\"");
  if (Status s = ParseString(path, root["pack"], "pack", pack.name); !s.ok()) return s;
  if (root["label"]) {
    if (Status s = ParseString(path, root["label"], "label", pack.label); !s.ok()) return s;
  }
  ViewMask default_views = kAllViews;
  if (root["views"]) {
    if (Status s = ParseViews(path, root["views"], "views", default_views); !s.ok()) return s;
  }
  const YAML::Node& patterns = root["patterns"];
  if (!patterns || !patterns.IsSequence() || patterns.size() == 0) {
    return Error(path, patterns ? patterns : root, "patterns: expected a non-empty list");
  }
  for (size_t i = 0; i < patterns.size(); ++i) {
    PatternSpec p;
    std::string ctx = "patterns[" + std::to_string(i) + "]";
    if (Status s = ParsePattern(path, patterns[i], ctx, pack, default_views, p); !s.ok()) {
      return s;
    }
    pack.patterns.push_back(std::move(p));
  }
  return OkStatus();
}

}  // namespace

ViewMask ViewBit(std::string_view name) {
  for (int i = 0; i < text::kViewKindCount; ++i) {
    if (kViewNames[i] == name) return ViewMask{1} << i;
  }
  return 0;
}

StatusOr<Pack> ParsePack(std::string_view yaml, const std::string& path) {
  Pack pack;
  pack.path = path;
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    if (Status s = ParseRoot(root, path, pack); !s.ok()) return s;
  } catch (const YAML::Exception& e) {
    std::string where = path;
    if (e.mark.line >= 0) where += ":" + std::to_string(e.mark.line + 1);
    return InvalidArgumentError(where + ": " + e.msg);
  } catch (const std::exception& e) {
    return InvalidArgumentError(path + ": " + e.what());
  }
  return pack;
}

StatusOr<Pack> LoadPack(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError(path + ": cannot open pattern pack");
  std::stringstream ss;
  ss << in.rdbuf();
  return ParsePack(ss.str(), path);
}

}  // namespace warden::scanners
