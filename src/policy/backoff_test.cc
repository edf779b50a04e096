#include "policy/backoff.h"

#include <gtest/gtest.h>

namespace tollgate::policy {
namespace {

TEST(Backoff, GrowsExponentiallyUpToTheCap) {
  const Millis base(50), cap(1000);
  EXPECT_EQ(full_jitter_backoff(0, base, cap, 0.999999), Millis(49));
  EXPECT_EQ(full_jitter_backoff(1, base, cap, 0.999999), Millis(99));
  EXPECT_EQ(full_jitter_backoff(3, base, cap, 0.999999), Millis(399));
  EXPECT_EQ(full_jitter_backoff(10, base, cap, 0.999999), Millis(999));
  EXPECT_EQ(full_jitter_backoff(60, base, cap, 0.5), Millis(500));
}

TEST(Backoff, FullJitterStartsAtZero) {
  EXPECT_EQ(full_jitter_backoff(4, Millis(50), Millis(1000), 0.0), Millis(0));
}

}  // namespace
}  // namespace tollgate::policy
