#include "output.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>

namespace warden::cli {

namespace fs = std::filesystem;

ProgressBar::ProgressBar(std::string label, uint64_t total)
    : label_(std::move(label)),
      total_(total),
      enabled_(isatty(STDERR_FILENO) == 1),
      started_(std::chrono::steady_clock::now()),
      last_draw_(started_) {}

ProgressBar::~ProgressBar() { Finish(); }

void ProgressBar::Update(uint64_t done, uint64_t items) {
  if (!enabled_ || finished_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const double secs = std::chrono::duration<double>(now - started_).count();
  const double rate = secs > 0 ? items / secs : 0;
  if (total_ > 0) {
    const double frac = std::min(1.0, static_cast<double>(done) / total_);
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(frac * kWidth);
    std::string bar(filled, '#');
    bar.append(kWidth - filled, '.');
    std::fprintf(stderr, "\r%s [%s] %5.1f%%  %llu items  %.0f/s ", label_.c_str(), bar.c_str(),
                 frac * 100, static_cast<unsigned long long>(items), rate);
  } else {
    std::fprintf(stderr, "\r%s %llu items  %.0f/s ", label_.c_str(),
                 static_cast<unsigned long long>(items), rate);
  }
  std::fflush(stderr);
}

void ProgressBar::Finish() {
  if (!enabled_ || finished_) return;
  finished_ = true;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
}

std::string RenderTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (size_t r = 0; r < rows.size(); ++r) {
    for (size_t i = 0; i < rows[r].size(); ++i) {
      out.append(rows[r][i]);
      if (i + 1 < rows[r].size()) out.append(widths[i] - rows[r][i].size() + 2, ' ');
    }
    out.push_back('\n');
    if (r == 0) {
      size_t total = 0;
      for (size_t w : widths) total += w + 2;
      out.append(total > 2 ? total - 2 : 0, '-');
      out.push_back('\n');
    }
  }
  return out;
}

bool StdoutIsTerminal() { return isatty(STDOUT_FILENO) == 1; }

}  // namespace warden::cli
