#include "eval/dataset.h"

#include <simdjson.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "scanners/classifier/classifier.h"

namespace warden::eval {
namespace {

namespace fs = std::filesystem;

std::string Where(const std::string& path, size_t line) {
  return path + ":" + std::to_string(line) + ": ";
}

Status ReadFile(const std::string& path, std::vector<Example>& out) {
  std::ifstream in(path);
  if (!in) return NotFoundError(path + ": cannot open data file");
  simdjson::dom::parser parser;
  std::string line;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    simdjson::dom::element root;
    if (auto err = parser.parse(line).get(root); err != simdjson::SUCCESS) {
      return InvalidArgumentError(Where(path, line_no) + "malformed JSON: " +
                                  simdjson::error_message(err));
    }
    if (!root.is_object()) return InvalidArgumentError(Where(path, line_no) + "not an object");
    Example ex;
    std::string_view sv;
    if (root["text"].get(sv) != simdjson::SUCCESS) {
      return InvalidArgumentError(Where(path, line_no) + "\"text\" must be a string");
    }
    ex.text = sv;
    if (root["id"].get(sv) == simdjson::SUCCESS) ex.id = sv;
    if (root["role"].get(sv) == simdjson::SUCCESS) ex.role = sv;
    if (root["source"].get(sv) == simdjson::SUCCESS) ex.source = sv;
    if (root["label"].get(sv) != simdjson::SUCCESS) {
      return InvalidArgumentError(Where(path, line_no) + "\"label\" must be a string");
    }
    if (sv == "unsafe") {
      ex.unsafe = true;
    } else if (sv != "safe") {
      return InvalidArgumentError(Where(path, line_no) + "unknown label \"" + std::string(sv) +
                                  "\" (expected \"safe\" or \"unsafe\")");
    }
    simdjson::dom::element cats;
    if (root["categories"].get(cats) == simdjson::SUCCESS && !cats.is_null()) {
      simdjson::dom::array arr;
      if (cats.get(arr) != simdjson::SUCCESS) {
        return InvalidArgumentError(Where(path, line_no) + "\"categories\" must be an array");
      }
      for (auto c : arr) {
        std::string_view name;
        if (c.get(name) != simdjson::SUCCESS) {
          return InvalidArgumentError(Where(path, line_no) + "categories: not a string");
        }
        const int index = classifier::LabelIndex(name);
        if (index < 0 || index >= 16) {
          return InvalidArgumentError(Where(path, line_no) + "unknown category \"" +
                                      std::string(name) + "\"");
        }
        ex.labels.push_back(static_cast<uint8_t>(index));
      }
    }
    simdjson::dom::element attack;
    if (root["attack"].get(attack) == simdjson::SUCCESS && !attack.is_null()) {
      std::string_view name;
      if (attack.get(name) != simdjson::SUCCESS ||
          (name != "jailbreak" && name != "prompt_injection")) {
        return InvalidArgumentError(Where(path, line_no) + "unknown attack " +
                                    simdjson::to_string(attack) +
                                    " (expected null, \"jailbreak\" or \"prompt_injection\")");
      }
      ex.attack = classifier::LabelIndex(name);
      ex.labels.push_back(static_cast<uint8_t>(ex.attack));
    }
    if (!ex.unsafe && !ex.labels.empty()) {
      return InvalidArgumentError(Where(path, line_no) +
                                  "a safe record may not have categories or an attack");
    }
    out.push_back(std::move(ex));
  }
  return OkStatus();
}

}  // namespace

StatusOr<std::vector<std::string>> ExpandDataPaths(const std::vector<std::string>& paths,
                                                   const std::string& split) {
  std::vector<std::string> files;
  for (const std::string& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> found;
      const fs::path direct = fs::path(p) / (split + ".jsonl");
      if (fs::is_regular_file(direct, ec)) found.push_back(direct.string());
      for (const auto& entry : fs::directory_iterator(p, ec)) {
        const fs::path f = entry.path() / (split + ".jsonl");
        if (entry.is_directory(ec) && fs::is_regular_file(f, ec)) found.push_back(f.string());
      }
      if (found.empty()) {
        return NotFoundError(p + ": directory holds no " + split + ".jsonl files");
      }
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::exists(p, ec)) {
      files.push_back(p);
    } else {
      return NotFoundError(p + ": no such file or directory");
    }
  }
  return files;
}

StatusOr<std::vector<Example>> ReadDataset(const std::vector<std::string>& paths,
                                           const std::string& split) {
  auto files = ExpandDataPaths(paths, split);
  if (!files.ok()) return files.status();
  std::vector<Example> out;
  for (const std::string& f : *files) {
    if (Status s = ReadFile(f, out); !s.ok()) return s;
  }
  if (out.empty()) {
    std::string names;
    for (const auto& p : paths) names += (names.empty() ? "" : ", ") + p;
    return InvalidArgumentError(names + ": empty data set (no records)");
  }
  return out;
}

}  // namespace warden::eval
