// Shared pieces of the command-line tool: finding the bundled policies, a progress bar for
// long work on a terminal, and aligned tables for people.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "core/bundled_file.h"

namespace warden::cli {

// Bundled policies and models are found with warden::FindBundledFile (core/bundled_file.h).
using warden::FindBundledFile;

// A one-line progress bar on stderr, redrawn at most ten times a second, and only when stderr
// is a terminal. Thread-safety: call from one thread.
class ProgressBar {
 public:
  ProgressBar(std::string label, uint64_t total);  // total 0: unknown, shows counts only
  ~ProgressBar();
  void Update(uint64_t done, uint64_t items);
  void Finish();

 private:
  std::string label_;
  uint64_t total_;
  bool enabled_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_draw_;
};

// Renders rows as a table with aligned columns; the first row is the header.
std::string RenderTable(const std::vector<std::vector<std::string>>& rows);

bool StdoutIsTerminal();

}  // namespace warden::cli
