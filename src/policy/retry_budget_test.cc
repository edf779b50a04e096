#include "policy/retry_budget.h"

#include <gtest/gtest.h>

namespace tollgate::policy {
namespace {

using namespace std::chrono;
const SteadyTime t0 = SteadyTime{} + hours(1);

TEST(RetryBudget, RatioOfCallsPlusAFloor) {
  RetryBudget b(RetryBudgetConfig{0.2, 1, Millis(10000)});  // floor: 10 per window
  for (int i = 0; i < 100; ++i) b.on_call(t0);
  int spent = 0;
  while (b.try_spend(t0)) ++spent;
  EXPECT_EQ(spent, 30);  // 20% of 100 + 1/s over 10 s
}

TEST(RetryBudget, RefillsAsTheWindowMoves) {
  RetryBudget b(RetryBudgetConfig{0.0, 1, Millis(10000)});
  int spent = 0;
  while (b.try_spend(t0)) ++spent;
  EXPECT_EQ(spent, 10);
  EXPECT_FALSE(b.try_spend(t0 + seconds(5)));
  EXPECT_TRUE(b.try_spend(t0 + seconds(11)));
}

}  // namespace
}  // namespace tollgate::policy
