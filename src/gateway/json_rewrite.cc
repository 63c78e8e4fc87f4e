#include "gateway/json_rewrite.h"

#include "core/json_writer.h"

namespace warden::gateway {

namespace {

void Write(std::string& out, simdjson::dom::element e, std::string& path,
           const JsonEdits& edits) {
  using simdjson::dom::element_type;
  if (auto it = edits.raw.find(path); it != edits.raw.end()) {
    out.append(it->second);
    return;
  }
  switch (e.type()) {
    case element_type::OBJECT: {
      out.push_back('{');
      bool first = true;
      const simdjson::dom::object obj = e.get_object().value_unsafe();
      const auto added = edits.added.find(path);
      for (simdjson::dom::key_value_pair kv : obj) {
        const size_t saved = path.size();
        path.push_back('/');
        path.append(kv.key);
        if (!edits.removed.count(path)) {
          if (!first) out.push_back(',');
          first = false;
          AppendJsonString(out, kv.key);
          out.push_back(':');
          Write(out, kv.value, path, edits);
        }
        path.resize(saved);
      }
      if (added != edits.added.end()) {
        for (const auto& [key, json] : added->second) {
          if (obj[key].error() != simdjson::NO_SUCH_FIELD) continue;
          if (!first) out.push_back(',');
          first = false;
          AppendJsonString(out, key);
          out.push_back(':');
          out.append(json);
        }
      }
      out.push_back('}');
      return;
    }
    case element_type::ARRAY: {
      out.push_back('[');
      size_t i = 0;
      bool first = true;
      const simdjson::dom::array arr = e.get_array().value_unsafe();
      for (simdjson::dom::element child : arr) {
        const size_t saved = path.size();
        path.push_back('/');
        path.append(std::to_string(i));
        if (!edits.removed.count(path)) {
          if (!first) out.push_back(',');
          first = false;
          Write(out, child, path, edits);
        }
        path.resize(saved);
        ++i;
      }
      out.push_back(']');
      return;
    }
    case element_type::STRING: {
      auto it = edits.strings.find(path);
      if (it != edits.strings.end()) {
        AppendJsonString(out, it->second);
      } else {
        AppendJsonString(out, e.get_string().value_unsafe());
      }
      return;
    }
    default:
      out.append(simdjson::minify(e));
      return;
  }
}

}  // namespace

void WriteJsonEdited(std::string& out, simdjson::dom::element root, const JsonEdits& edits) {
  std::string path;
  Write(out, root, path, edits);
}

void WriteJsonWithReplacements(std::string& out, simdjson::dom::element root,
                               const std::map<std::string, std::string>& replacements) {
  JsonEdits edits;
  edits.strings = replacements;
  WriteJsonEdited(out, root, edits);
}

simdjson::dom::parser& ThreadParser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

}  // namespace warden::gateway
