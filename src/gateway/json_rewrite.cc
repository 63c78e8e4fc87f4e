#include "gateway/json_rewrite.h"

#include "core/json_writer.h"

namespace warden::gateway {

namespace {

void Write(std::string& out, simdjson::dom::element e, std::string& path,
           const std::map<std::string, std::string>& replacements) {
  using simdjson::dom::element_type;
  switch (e.type()) {
    case element_type::OBJECT: {
      out.push_back('{');
      bool first = true;
      const simdjson::dom::object obj = e.get_object().value_unsafe();
      for (simdjson::dom::key_value_pair kv : obj) {
        if (!first) out.push_back(',');
        first = false;
        AppendJsonString(out, kv.key);
        out.push_back(':');
        const size_t saved = path.size();
        path.push_back('/');
        path.append(kv.key);
        Write(out, kv.value, path, replacements);
        path.resize(saved);
      }
      out.push_back('}');
      return;
    }
    case element_type::ARRAY: {
      out.push_back('[');
      size_t i = 0;
      const simdjson::dom::array arr = e.get_array().value_unsafe();
      for (simdjson::dom::element child : arr) {
        if (i) out.push_back(',');
        const size_t saved = path.size();
        path.push_back('/');
        path.append(std::to_string(i));
        Write(out, child, path, replacements);
        path.resize(saved);
        ++i;
      }
      out.push_back(']');
      return;
    }
    case element_type::STRING: {
      auto it = replacements.find(path);
      if (it != replacements.end()) {
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

void WriteJsonWithReplacements(std::string& out, simdjson::dom::element root,
                               const std::map<std::string, std::string>& replacements) {
  std::string path;
  Write(out, root, path, replacements);
}

simdjson::dom::parser& ThreadParser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

}  // namespace warden::gateway
