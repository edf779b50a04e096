#include "policy/gcra.h"

#include <gtest/gtest.h>

namespace tollgate::policy {
namespace {

using namespace std::chrono;
const SteadyTime t0 = SteadyTime{} + hours(1);

TEST(Gcra, AllowsTheBurstThenTheRate) {
  Gcra g(10, 3);  // 10/s, bursts of 3
  EXPECT_EQ(g.try_acquire(t0).count(), 0);
  EXPECT_EQ(g.try_acquire(t0).count(), 0);
  EXPECT_EQ(g.try_acquire(t0).count(), 0);
  const auto wait = g.try_acquire(t0);
  EXPECT_GT(wait.count(), 0);
  EXPECT_LE(wait, milliseconds(100));
  EXPECT_EQ(g.try_acquire(t0 + wait).count(), 0);
  // Over a long run the rate holds: 10 per second.
  int admitted = 0;
  for (int ms = 0; ms < 10000; ++ms) {
    if (g.try_acquire(t0 + seconds(1) + milliseconds(ms)).count() == 0) ++admitted;
  }
  EXPECT_NEAR(admitted, 100, 3);
}

TEST(Gcra, RefundGivesBackOne) {
  Gcra g(1, 1);
  EXPECT_EQ(g.try_acquire(t0).count(), 0);
  EXPECT_GT(g.try_acquire(t0).count(), 0);
  g.refund();
  EXPECT_EQ(g.try_acquire(t0).count(), 0);
}

}  // namespace
}  // namespace tollgate::policy
