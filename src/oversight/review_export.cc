#include "oversight/review_export.h"

#include <simdjson.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <unordered_map>
#include <vector>

#include "core/json_writer.h"
#include "core/suggest.h"
#include "scanners/classifier/classifier.h"

namespace warden::oversight {
namespace {

std::string Where(const std::string& file, size_t line) {
  return file + ":" + std::to_string(line) + ": ";
}

struct Item {
  std::string id;
  std::string text;
  std::string role;
  bool unsafe = false;
  std::vector<std::string> categories;
  std::string attack;
  std::vector<std::string> labels;  // as the reviewer gave them
  std::string reviewer;
  std::string note;
  bool conflict = false;
};

bool IsAttack(std::string_view l) { return l == "jailbreak" || l == "prompt_injection"; }

// Taxonomy labels a reviewer may give: the harm categories and the two attacks (not "unsafe",
// which is what `label` says).
bool IsTaxonomyLabel(std::string_view l) {
  const int i = classifier::LabelIndex(l);
  return i >= 0 && static_cast<size_t>(i) != classifier::kUnsafeLabel;
}

std::vector<std::string_view> LabelNames() {
  std::vector<std::string_view> names = {"safe", "unsafe", "unsure"};
  for (size_t i = 0; i < classifier::kUnsafeLabel; ++i) names.push_back(classifier::kLabels[i]);
  return names;
}

Status AddLabel(std::string_view l, const std::string& where, Item& item) {
  if (!IsTaxonomyLabel(l)) {
    return InvalidArgumentError(where + "unknown label \"" + std::string(l) + "\"" +
                                DidYouMean(l, LabelNames()));
  }
  if (std::find(item.labels.begin(), item.labels.end(), l) != item.labels.end()) {
    return OkStatus();
  }
  item.labels.emplace_back(l);
  item.unsafe = true;
  if (IsAttack(l)) {
    // The training schema has one attack per record; a second one stays in source_labels.
    if (item.attack.empty()) item.attack = std::string(l);
  } else {
    item.categories.emplace_back(l);
  }
  return OkStatus();
}

void WriteRecord(const Item& item, std::string& out) {
  out += "{\"id\":";
  AppendJsonString(out, "review-" + item.id);
  out += ",\"text\":";
  AppendJsonString(out, item.text);
  out += ",\"role\":";
  AppendJsonString(out, item.role);
  out += ",\"label\":";
  out += item.unsafe ? "\"unsafe\"" : "\"safe\"";
  out += ",\"categories\":[";
  for (size_t i = 0; i < item.categories.size(); ++i) {
    if (i > 0) out += ',';
    AppendJsonString(out, item.categories[i]);
  }
  out += "],\"attack\":";
  AppendJsonStringOrNull(out, item.attack);
  out += ",\"source\":\"review\",\"source_labels\":{\"reviewer\":";
  AppendJsonString(out, item.reviewer);
  out += ",\"note\":";
  AppendJsonStringOrNull(out, item.note);
  out += ",\"labels\":[";
  for (size_t i = 0; i < item.labels.size(); ++i) {
    if (i > 0) out += ',';
    AppendJsonString(out, item.labels[i]);
  }
  out += "],\"id\":";
  AppendJsonString(out, item.id);
  out += "}}\n";
}

}  // namespace

Status ExportReviewsText(std::string_view jsonl, const std::string& display_name, std::string* out,
                         ReviewExportStats* stats) {
  ReviewExportStats local;
  ReviewExportStats& st = stats ? *stats : local;
  st = {};
  simdjson::dom::parser parser;
  std::vector<Item> items;
  std::unordered_map<std::string, size_t> by_text;  // text -> index in items
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < jsonl.size()) {
    size_t end = jsonl.find('\n', pos);
    if (end == std::string_view::npos) end = jsonl.size();
    const std::string_view line = jsonl.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const std::string where = Where(display_name, line_no);
    simdjson::dom::element root;
    if (auto err = parser.parse(line.data(), line.size()).get(root); err != simdjson::SUCCESS) {
      return InvalidArgumentError(where + "malformed JSON: " + simdjson::error_message(err));
    }
    if (!root.is_object()) return InvalidArgumentError(where + "not an object");
    ++st.read;
    Item item;
    std::string_view sv;
    if (root["text"].get(sv) != simdjson::SUCCESS) {
      return InvalidArgumentError(where + "\"text\" must be a string");
    }
    item.text = sv;
    if (root["reviewer"].get(sv) != simdjson::SUCCESS || sv.empty()) {
      return InvalidArgumentError(where + "\"reviewer\" must be a non-empty string");
    }
    item.reviewer = sv;
    simdjson::dom::element el;
    if (root["note"].get(el) == simdjson::SUCCESS && !el.is_null()) {
      if (el.get(sv) != simdjson::SUCCESS) {
        return InvalidArgumentError(where + "\"note\" must be a string");
      }
      item.note = sv;
    }
    item.role = "user";
    if (root["role"].get(el) == simdjson::SUCCESS && !el.is_null()) {
      if (el.get(sv) != simdjson::SUCCESS ||
          (sv != "user" && sv != "assistant" && sv != "document")) {
        return InvalidArgumentError(where +
                                    "\"role\" must be \"user\", \"assistant\" or "
                                    "\"document\"");
      }
      item.role = sv;
    }
    if (root["id"].get(el) == simdjson::SUCCESS && !el.is_null()) {
      if (el.get(sv) == simdjson::SUCCESS) {
        item.id = sv;
      } else if (int64_t n; el.get(n) == simdjson::SUCCESS) {
        item.id = std::to_string(n);
      } else {
        return InvalidArgumentError(where + "\"id\" must be a string or a whole number");
      }
    } else {
      item.id =
          display_name.substr(display_name.find_last_of('/') + 1) + "-" + std::to_string(line_no);
    }
    bool has_label = false;
    bool said_safe = false;
    bool unsure = false;
    if (root["label"].get(el) == simdjson::SUCCESS && !el.is_null()) {
      if (el.get(sv) != simdjson::SUCCESS) {
        return InvalidArgumentError(where + "\"label\" must be a string");
      }
      has_label = true;
      if (sv == "safe") {
        said_safe = true;
      } else if (sv == "unsafe") {
        item.unsafe = true;
      } else if (sv == "unsure") {
        unsure = true;
      } else if (Status s = AddLabel(sv, where, item); !s.ok()) {
        return s;
      }
    }
    if (root["labels"].get(el) == simdjson::SUCCESS && !el.is_null()) {
      simdjson::dom::array arr;
      if (el.get(arr) != simdjson::SUCCESS) {
        return InvalidArgumentError(where + "\"labels\" must be an array of strings");
      }
      for (simdjson::dom::element l : arr) {
        if (l.get(sv) != simdjson::SUCCESS) {
          return InvalidArgumentError(where + "\"labels\" must be an array of strings");
        }
        if (Status s = AddLabel(sv, where, item); !s.ok()) return s;
        has_label = true;
      }
    }
    if (!has_label) {
      return InvalidArgumentError(where +
                                  "needs \"label\" (safe, unsafe, unsure or a taxonomy "
                                  "label) or \"labels\"");
    }
    if (said_safe && !item.labels.empty()) {
      return InvalidArgumentError(where + "a \"safe\" item may not list harm or attack labels");
    }
    if (unsure) {
      ++st.unsure;
      continue;
    }
    auto [it, fresh] = by_text.emplace(item.text, items.size());
    if (!fresh) {
      Item& first = items[it->second];
      std::vector<std::string> a = first.labels, b = item.labels;
      std::sort(a.begin(), a.end());
      std::sort(b.begin(), b.end());
      if (first.unsafe == item.unsafe && a == b) {
        ++st.duplicates;
      } else {
        if (!first.conflict) ++st.conflicts;  // the first item, counted once
        first.conflict = true;
        ++st.conflicts;
      }
      continue;
    }
    items.push_back(std::move(item));
  }
  for (const Item& item : items) {
    if (item.conflict) continue;
    WriteRecord(item, *out);
    ++st.written;
    ++(item.unsafe ? st.unsafe : st.safe);
  }
  return OkStatus();
}

Status ExportReviews(const std::string& from, const std::string& out, ReviewExportStats* stats) {
  std::ifstream in(from, std::ios::binary);
  if (!in) return NotFoundError(from + ": cannot open review file");
  std::ostringstream text;
  text << in.rdbuf();
  std::string records;
  if (Status s = ExportReviewsText(text.str(), from, &records, stats); !s.ok()) return s;
  std::ofstream o(out, std::ios::binary | std::ios::trunc);
  if (!o) return NotFoundError(out + ": cannot create output file");
  o << records;
  o.close();
  if (!o) return InternalError(out + ": error while writing");
  return OkStatus();
}

}  // namespace warden::oversight
