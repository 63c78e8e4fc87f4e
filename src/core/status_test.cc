#include "warden/status.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace warden {
namespace {

TEST(StatusOr, HoldsAValueOrAnError) {
  StatusOr<std::string> value = std::string("x");
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(*value, "x");
  StatusOr<std::string> error = NotFoundError("gone");
  EXPECT_FALSE(error.ok());
  EXPECT_EQ(error.status().code(), StatusCode::kNotFound);
}

// An empty optional is a value like any other: "OK, nothing found", not an error.
TEST(StatusOr, AnEmptyOptionalIsAValue) {
  StatusOr<std::optional<int>> none = std::nullopt;
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  StatusOr<std::optional<int>> empty = std::optional<int>();
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->has_value());
  StatusOr<std::optional<int>> some = 3;
  ASSERT_TRUE(some.ok());
  EXPECT_EQ(**some, 3);
}

}  // namespace
}  // namespace warden
