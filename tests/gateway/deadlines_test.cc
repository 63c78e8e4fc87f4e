// The worker's time-limit sweep, on a real io_context.
#include "gateway/deadlines.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>

namespace warden::gateway {
namespace {

using std::chrono::milliseconds;

TEST(Deadlines, APassedLimitRunsItsExpiryOnceAndAClearedOneNever) {
  net::io_context ioc;
  Deadlines deadlines(ioc, milliseconds(5));
  int late = 0, cleared = 0, unset = 0;
  Deadline a(deadlines, [&] { ++late; });
  Deadline b(deadlines, [&] { ++cleared; });
  Deadline c(deadlines, [&] { ++unset; });
  deadlines.Start();
  a.ExpireAfter(milliseconds(20));
  b.ExpireAfter(milliseconds(20));
  b.Clear();
  ioc.run_for(milliseconds(150));
  EXPECT_EQ(late, 1);
  EXPECT_TRUE(a.expired());
  EXPECT_EQ(cleared, 0);
  EXPECT_FALSE(b.expired());
  EXPECT_EQ(unset, 0);
  a.Reset();
  EXPECT_FALSE(a.expired());
}

TEST(Deadlines, ALimitIsNotEarly) {
  net::io_context ioc;
  Deadlines deadlines(ioc, milliseconds(2));
  const auto start = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point fired;
  Deadline d(deadlines, [&] {
    fired = std::chrono::steady_clock::now();
    ioc.stop();
  });
  deadlines.Start();
  d.ExpireAfter(milliseconds(30));
  ioc.run_for(milliseconds(2000));
  EXPECT_TRUE(d.expired());
  EXPECT_GE(fired - start, milliseconds(30));
}

TEST(Deadlines, DeadlinesComeAndGoInAnyOrder) {
  net::io_context ioc;
  auto deadlines = std::make_unique<Deadlines>(ioc, milliseconds(1));
  int fired = 0;
  std::vector<std::unique_ptr<Deadline>> ds;
  for (int i = 0; i < 10; ++i) {
    ds.push_back(std::make_unique<Deadline>(*deadlines, [&] { ++fired; }));
    ds.back()->ExpireAfter(milliseconds(i % 2 == 0 ? 5 : 100000));
  }
  // Removing from the middle and the end keeps the others watched.
  ds.erase(ds.begin() + 3);
  ds.erase(ds.begin());
  ds.pop_back();
  deadlines->Start();
  ioc.run_for(milliseconds(100));
  EXPECT_EQ(fired, 4);  // the short limits left: deadlines 2, 4, 6 and 8
  // A Deadline may outlive its Deadlines (sessions die with the io_context, after it).
  deadlines.reset();
  ds.front()->ExpireAfter(milliseconds(1));
  ds.clear();
}

}  // namespace
}  // namespace warden::gateway
