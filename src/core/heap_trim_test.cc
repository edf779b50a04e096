#include "core/heap_trim.h"

#include <gtest/gtest.h>

#include <vector>

namespace tollgate {
namespace {

using std::chrono::milliseconds;

const SteadyTime t0 = SteadyTime{} + std::chrono::hours(1);

TEST(HeapTrim, NothingServedNothingToGiveBack) {
  HeapTrimPolicy p(milliseconds(500));
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(p.due(0, t0 + milliseconds(250 * i)));
}

TEST(HeapTrim, OnceAfterABurstWhenItHasBeenQuietLongEnough) {
  HeapTrimPolicy p(milliseconds(500));
  EXPECT_FALSE(p.due(100, t0));                       // serving
  EXPECT_FALSE(p.due(250, t0 + milliseconds(250)));   // still serving
  EXPECT_FALSE(p.due(250, t0 + milliseconds(500)));   // quiet for 250 ms
  EXPECT_FALSE(p.due(250, t0 + milliseconds(749)));
  EXPECT_TRUE(p.due(250, t0 + milliseconds(750)));    // quiet for 500 ms
  for (int i = 1; i < 20; ++i) EXPECT_FALSE(p.due(250, t0 + milliseconds(750 + 250 * i))) << i;
}

TEST(HeapTrim, NeverWhileRequestsKeepComing) {
  HeapTrimPolicy p(milliseconds(500));
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(p.due(static_cast<std::uint64_t>(i + 1), t0 + milliseconds(250 * i)));
}

TEST(HeapTrim, AgainAfterTheNextBurst) {
  HeapTrimPolicy p(milliseconds(500));
  std::vector<int> due_at;
  // Bursts at 0-1 s and 5-6 s, a check every 250 ms.
  std::uint64_t served = 0;
  for (int i = 0; i < 40; ++i) {
    const int ms = 250 * i;
    if (ms <= 1000 || (ms >= 5000 && ms <= 6000)) served += 10;
    if (p.due(served, t0 + milliseconds(ms))) due_at.push_back(ms);
  }
  EXPECT_EQ(due_at, (std::vector<int>{1500, 6500}));
}

}  // namespace
}  // namespace tollgate
