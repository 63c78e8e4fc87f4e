#include "scanners/classifier/binary_io.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "tests/support/temp_dir.h"

namespace warden::classifier {
namespace {

using testing::TempDir;

class FileBytesTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& bytes) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
  TempDir dir_{"binary-io"};
};

TEST_F(FileBytesTest, MapsARegularFile) {
  std::string bytes(3 * 4096 + 17, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 31 + 7);
  const std::string path = Write("model.bin", bytes);
  FileBytes file;
  ASSERT_TRUE(file.Open(path));
  EXPECT_EQ(file.view(), bytes);
}

TEST_F(FileBytesTest, ReadsAnEmptyFileAndRefusesAMissingOne) {
  FileBytes empty;
  ASSERT_TRUE(empty.Open(Write("empty.bin", "")));
  EXPECT_TRUE(empty.view().empty());
  FileBytes missing;
  EXPECT_FALSE(missing.Open((dir_ / "no-such-file").string()));
  FileBytes directory;
  EXPECT_FALSE(directory.Open(dir_.str()));
}

TEST_F(FileBytesTest, ReadsAPipe) {
  const std::string path = (dir_ / "fifo").string();
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  const std::string bytes = "bytes through a pipe, which cannot be mapped";
  std::thread writer([&] { std::ofstream(path, std::ios::binary) << bytes; });
  FileBytes file;
  const bool opened = file.Open(path);
  writer.join();
  ASSERT_TRUE(opened);
  EXPECT_EQ(file.view(), bytes);
}

TEST(HugePageAllocatorTest, LargeBuffersAreAlignedForHugePagesAndAllWork) {
  std::vector<float, HugePageAllocator<float>> large(3u << 20);  // 12 MiB
  EXPECT_EQ(reinterpret_cast<uintptr_t>(large.data()) % HugePageAllocator<float>::kHugePage, 0u);
  for (size_t i = 0; i < large.size(); i += 4096) large[i] = static_cast<float>(i);
  EXPECT_EQ(large[4096 * 100], 4096.0f * 100);
  std::vector<float, HugePageAllocator<float>> small(16, 1.5f);
  small.resize(1u << 20);  // grows from an ordinary buffer to a huge one, keeping its values
  EXPECT_EQ(small[15], 1.5f);
  EXPECT_EQ(small[16], 0.0f);
  const auto copy = large;
  EXPECT_EQ(copy, large);
}

}  // namespace
}  // namespace warden::classifier
