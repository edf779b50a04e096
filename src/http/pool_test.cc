#include "http/pool.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <gtest/gtest.h>

namespace tollgate::http {
namespace {

using namespace std::chrono;

// Defect 11: release() used to cancel a timer that had already expired, whose
// completion was queued: the waiter saw "expired" and failed with
// connection_limit beside the connection just freed. The wake-up must stick.
TEST(Pool, AWakeUpAfterTheTimerExpiredIsNotLost) {
  boost::asio::io_context ctx;
  Pool pool;
  std::optional<PoolWait> result;
  // A deadline already past: the timer's completion is queued at once.
  boost::asio::co_spawn(ctx, pool.wait(ctx, std::chrono::steady_clock::now() - milliseconds(1), nullptr),
                        [&](std::exception_ptr, PoolWait w) { result = w; });
  // Run until the waiter is suspended with its expiry queued, not yet handled.
  while (pool.waiters.empty()) ASSERT_EQ(ctx.run_one(), 1u);
  pool.wake_one();  // a connection comes back in that window
  ctx.run();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(*result, PoolWait::kWoken);
}

TEST(Pool, WaitersAreWokenInOrderAndTimeOutOtherwise) {
  boost::asio::io_context ctx;
  Pool pool;
  std::vector<std::pair<int, PoolWait>> order;
  const auto later = std::chrono::steady_clock::now() + milliseconds(50);
  for (int i = 0; i < 2; ++i) {
    boost::asio::co_spawn(ctx, pool.wait(ctx, later, nullptr),
                          [&, i](std::exception_ptr, PoolWait w) { order.emplace_back(i, w); });
  }
  while (pool.waiters.size() < 2) ctx.run_one();
  pool.wake_one();
  ctx.run();
  ASSERT_EQ(order.size(), 2u);
  EXPECT_EQ(order[0], std::make_pair(0, PoolWait::kWoken));
  EXPECT_EQ(order[1], std::make_pair(1, PoolWait::kTimedOut));
}

TEST(Pool, ACancelledWaiterPassesItsWakeUpOn) {
  boost::asio::io_context ctx;
  Pool pool;
  CancelToken first;
  std::vector<std::pair<int, PoolWait>> order;
  const auto later = std::chrono::steady_clock::now() + seconds(5);
  boost::asio::co_spawn(ctx, pool.wait(ctx, later, &first),
                        [&](std::exception_ptr, PoolWait w) { order.emplace_back(0, w); });
  boost::asio::co_spawn(ctx, pool.wait(ctx, later, nullptr),
                        [&](std::exception_ptr, PoolWait w) { order.emplace_back(1, w); });
  while (pool.waiters.size() < 2) ctx.run_one();
  pool.wake_one();  // wakes the first...
  first.cancel();   // ...which is abandoned before it runs
  ctx.run();
  ASSERT_EQ(order.size(), 2u);
  EXPECT_EQ(order[0], std::make_pair(0, PoolWait::kCancelled));
  EXPECT_EQ(order[1], std::make_pair(1, PoolWait::kWoken));
}

}  // namespace
}  // namespace tollgate::http
