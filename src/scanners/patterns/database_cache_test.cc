#include "scanners/patterns/database_cache.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tests/support/temp_dir.h"

namespace warden::scanners {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

struct Matches {
  static int On(unsigned int id, unsigned long long, unsigned long long to, unsigned int,
                void* ctx) {
    ++static_cast<Matches*>(ctx)->count;
    return 0;
  }
  int count = 0;
};

int CountMatches(const hs_database_t* db, const std::string& text) {
  hs_scratch_t* scratch = nullptr;
  EXPECT_EQ(hs_alloc_scratch(db, &scratch), HS_SUCCESS);
  Matches m;
  hs_scan(db, text.data(), text.size(), 0, scratch, &Matches::On, &m);
  hs_free_scratch(scratch);
  return m.count;
}

class DatabaseCacheTest : public ::testing::Test {
 protected:
  void SetUp() override { setenv("WARDEN_CACHE_DIR", dir_.c_str(), 1); }
  void TearDown() override { unsetenv("WARDEN_CACHE_DIR"); }
  hs_database_t* Compile(const char* expression) {
    const char* expressions[] = {expression};
    const unsigned int flags[] = {HS_FLAG_CASELESS};
    const unsigned int ids[] = {0};
    hs_database_t* db = nullptr;
    hs_compile_error_t* error = nullptr;
    EXPECT_EQ(CompileMultiCached(expressions, flags, ids, 1, &db, &error), HS_SUCCESS);
    return db;
  }
  size_t Entries() {
    size_t n = 0;
    if (fs::exists(dir_)) {
      for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) ++n;
    }
    return n;
  }
  TempDir tmp_{"hscache"};
  const fs::path dir_ = tmp_ / "cache";  // not there yet: the cache makes its own directory
};

TEST_F(DatabaseCacheTest, StoresThenLoadsAnEquivalentDatabase) {
  hs_database_t* first = Compile("ignore previous");
  EXPECT_EQ(Entries(), 1u);
  hs_database_t* second = Compile("ignore previous");
  EXPECT_EQ(Entries(), 1u);
  EXPECT_EQ(CountMatches(second, "please IGNORE previous text"), 1);
  hs_free_database(first);
  hs_free_database(second);
}

TEST_F(DatabaseCacheTest, DifferentPatternsGetDifferentEntries) {
  hs_free_database(Compile("alpha"));
  hs_free_database(Compile("beta"));
  EXPECT_EQ(Entries(), 2u);
}

TEST_F(DatabaseCacheTest, CorruptEntryIsCompiledAgain) {
  hs_free_database(Compile("gamma"));
  for (const auto& e : fs::directory_iterator(dir_)) {
    std::ofstream(e.path(), std::ios::binary | std::ios::trunc) << "not a database";
  }
  hs_database_t* db = Compile("gamma");
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(CountMatches(db, "gamma ray"), 1);
  hs_free_database(db);
}

TEST_F(DatabaseCacheTest, OffDisablesTheCache) {
  setenv("WARDEN_CACHE_DIR", "off", 1);
  hs_free_database(Compile("delta"));
  EXPECT_EQ(Entries(), 0u);
}

}  // namespace
}  // namespace warden::scanners
