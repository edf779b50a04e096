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
                        [&](std::exception_ptr, PoolGrant g) { result = g.result; });
  // Run until the waiter is suspended with its expiry queued, not yet handled.
  while (pool.waiters.empty()) ASSERT_EQ(ctx.run_one(), 1u);
  pool.open = 1;
  pool.hand_over(nullptr, std::chrono::steady_clock::now());  // a slot frees in that window
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
                          [&, i](std::exception_ptr, PoolGrant g) { order.emplace_back(i, g.result); });
  }
  while (pool.waiters.size() < 2) ctx.run_one();
  pool.open = 1;
  pool.hand_over(nullptr, std::chrono::steady_clock::now());
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
                        [&](std::exception_ptr, PoolGrant g) { order.emplace_back(0, g.result); });
  boost::asio::co_spawn(ctx, pool.wait(ctx, later, nullptr),
                        [&](std::exception_ptr, PoolGrant g) { order.emplace_back(1, g.result); });
  while (pool.waiters.size() < 2) ctx.run_one();
  pool.open = 1;
  pool.hand_over(nullptr, std::chrono::steady_clock::now());  // wakes the first...
  first.cancel();   // ...which is abandoned before it runs
  ctx.run();
  ASSERT_EQ(order.size(), 2u);
  EXPECT_EQ(order[0], std::make_pair(0, PoolWait::kCancelled));
  EXPECT_EQ(order[1], std::make_pair(1, PoolWait::kWoken));
}

// Under load, an attempt arriving while a woken waiter had not run yet used to
// take the connection just freed; the waiter found none and queued again at the
// back (some calls waited hundreds of milliseconds at 128 callers). A connection
// coming back now goes to the first waiter itself, never to the idle list.
TEST(Pool, AConnectionComingBackIsHandedToTheFirstWaiterNotLeftForANewcomer) {
  boost::asio::io_context ctx;
  Pool pool;
  pool.open = 1;
  std::vector<std::pair<int, bool>> got;  // waiter, handed a connection
  const auto later = std::chrono::steady_clock::now() + seconds(5);
  for (int i = 0; i < 2; ++i) {
    boost::asio::co_spawn(ctx, pool.wait(ctx, later, nullptr), [&, i](std::exception_ptr, PoolGrant g) {
      EXPECT_EQ(g.result, PoolWait::kWoken);
      got.emplace_back(i, g.conn != nullptr);
    });
  }
  while (pool.waiters.size() < 2) ctx.run_one();
  auto conn = std::make_unique<Connection>();
  pool.hand_over(std::move(conn), std::chrono::steady_clock::now());
  EXPECT_TRUE(pool.idle.empty()) << "a newcomer would find the connection before the waiter runs";
  pool.hand_over(nullptr, std::chrono::steady_clock::now());  // a connection closed: its slot
  EXPECT_EQ(pool.open, 1) << "a slot handed over stays counted for its new owner";
  ctx.run();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], std::make_pair(0, true));   // the first waiter got the connection itself
  EXPECT_EQ(got[1], std::make_pair(1, false));  // the second, the slot to open one
  // With nobody waiting, a connection goes to the idle list and a slot is given up.
  pool.hand_over(std::make_unique<Connection>(), std::chrono::steady_clock::now());
  EXPECT_EQ(pool.idle.size(), 1u);
  pool.hand_over(nullptr, std::chrono::steady_clock::now());
  EXPECT_EQ(pool.open, 0);
}

}  // namespace
}  // namespace tollgate::http
