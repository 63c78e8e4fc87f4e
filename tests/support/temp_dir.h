// A directory of its own for one test, under the system temp dir, removed when the test ends
// unless the test failed, so that the files it left can be read.
//
//   TempDir dir("policy");
//   std::ofstream(dir / "policy.yaml") << "version: 1\n";
//   auto guard = Guard::Open((dir / "policy.yaml").string());
//
// Each object belongs to one test (a fixture member or a local in the test's body) and must be
// destroyed while that test runs; creating several at once from different threads is safe.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

namespace warden::testing {

class TempDir {
 public:
  // Creates <tmp>/warden-<name>-<pid>-<n>, empty. The pid keeps concurrent test processes
  // (ctest -j) apart, the count keeps apart the directories of one process; a directory left by an
  // earlier process with the same pid is emptied first. A failure to create it fails the test.
  explicit TempDir(std::string_view name)
      : path_(std::filesystem::temp_directory_path() /
              ("warden-" + std::string(name) + "-" + std::to_string(::getpid()) + "-" +
               std::to_string(NextCount()))) {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
    if (!ec) std::filesystem::create_directories(path_, ec);
    if (ec) ADD_FAILURE() << "cannot create " << path_ << ": " << ec.message();
  }

  // Removes the directory and everything in it, unless the current test has failed: then it
  // stays, and its path is printed, for a look at what the test wrote.
  ~TempDir() {
    if (::testing::Test::HasFailure()) {
      std::fprintf(stderr, "kept %s: the test failed\n", path_.c_str());
      return;
    }
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }

  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::filesystem::path& file) const { return path_ / file; }
  std::string str() const { return path_.string(); }

 private:
  static int NextCount() {
    static std::atomic<int> count{0};
    return ++count;
  }

  std::filesystem::path path_;
};

}  // namespace warden::testing
