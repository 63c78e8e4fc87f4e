// Data-driven scanner tests: every tests/corpus/<scanner>/*.jsonl line is a text and the exact
// findings (type, start, end in original bytes) the pattern scanners must report for it, with
// all three packs and all views. A new case needs no new C++.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "scanners/patterns/pattern_engine.h"
#include "text/views.h"

namespace warden {
namespace {

namespace fs = std::filesystem;
using Span = std::tuple<std::string, uint32_t, uint32_t>;

std::string Describe(const std::vector<Span>& spans) {
  std::string s = "[";
  for (const auto& [type, b, e] : spans) {
    s += " " + type + "@" + std::to_string(b) + ".." + std::to_string(e);
  }
  return s + " ]";
}

TEST(CorpusTest, PatternFindingsMatchExpectations) {
  const fs::path root = fs::path(WARDEN_SOURCE_DIR) / "tests" / "corpus";
  const std::string rules = std::string(WARDEN_SOURCE_DIR) + "/rules/";
  auto engine = scanners::PatternEngine::Compile({{.kind = "pii", .pack_path = rules + "pii.yaml"},
                                                  {.kind = "secrets",
                                                   .pack_path = rules + "secrets.yaml"},
                                                  {.kind = "attacks",
                                                   .pack_path = rules + "attacks.yaml"}});
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  text::ViewBuilder builder;

  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.is_regular_file() && entry.path().extension() == ".jsonl") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty()) << "no corpus under " << root;

  simdjson::ondemand::parser parser;
  size_t cases = 0, failures = 0;
  for (const fs::path& file : files) {
    std::ifstream in(file);
    std::string line;
    for (int lineno = 1; std::getline(in, line); ++lineno) {
      if (line.empty()) continue;
      const std::string where = fs::relative(file, root).string() + ":" + std::to_string(lineno);
      simdjson::padded_string padded(line);
      simdjson::ondemand::document doc;
      std::string text;
      std::vector<Span> want;
      bool parsed = false;
      do {
        if (parser.iterate(padded).get(doc)) break;
        std::string_view t;
        if (doc["text"].get_string().get(t)) break;
        text = std::string(t);
        simdjson::ondemand::array expect;
        if (doc["expect"].get_array().get(expect)) break;
        bool ok = true;
        for (auto item : expect) {
          simdjson::ondemand::object o;
          std::string_view type;
          uint64_t b = 0, e = 0;
          if (item.get_object().get(o) || o["type"].get_string().get(type) ||
              o["start"].get_uint64().get(b) || o["end"].get_uint64().get(e)) {
            ok = false;
            break;
          }
          want.emplace_back(std::string(type), static_cast<uint32_t>(b),
                            static_cast<uint32_t>(e));
        }
        parsed = ok;
      } while (false);
      if (!parsed) {
        ADD_FAILURE() << where << ": malformed corpus line";
        ++failures;
        continue;
      }
      std::vector<text::View> views;
      builder.Build(text, views);
      std::vector<Finding> findings;
      (*engine)->Scan(views, findings);
      std::vector<Span> got;
      for (const Finding& f : findings) got.emplace_back(f.type, f.start, f.end);
      std::sort(got.begin(), got.end());
      std::sort(want.begin(), want.end());
      ++cases;
      if (got != want) {
        ++failures;
        std::string found_in;
        for (const Finding& f : findings) found_in += " " + f.type + ":" + f.view;
        ADD_FAILURE() << where << ": expected " << Describe(want) << " got " << Describe(got)
                      << " (views:" << found_in << ")\n  text: " << text.substr(0, 200);
      }
    }
  }
  std::cout << "corpus: " << cases << " cases in " << files.size() << " files, " << failures
            << " failing\n";
}

}  // namespace
}  // namespace warden
