#pragma once
// SimTime: simulated time for coroutine code running on one io_context. It is a
// Clock and the Timers (core/timers.h) at once: a wait registers itself and
// suspends; run() executes everything that is ready and, when nothing is, jumps
// the clock to the earliest registered wait and wakes it. So an engine test with
// providers answering in 300 ms, backoffs and hedge delays runs in microseconds,
// and the same script always gives the same interleaving.
//
// Single-threaded: the io_context passed to run() must be the only one the code
// under test awaits on.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdint>
#include <map>
#include <utility>

#include "core/clock.h"
#include "core/timers.h"

namespace tollgate::testing {

class SimTime final : public Clock, public Timers {
 public:
  SimTime() : now_(SteadyTime{} + std::chrono::hours(1)), wall0_(WallTime{} + std::chrono::seconds(1700000000)) {}

  SteadyTime now() const override { return now_; }
  WallTime wall() const override {
    return wall0_ + std::chrono::duration_cast<WallTime::duration>(now_ - (SteadyTime{} + std::chrono::hours(1)));
  }

  boost::asio::awaitable<bool> wait_until(SteadyTime t, CancelToken* wake = nullptr) override {
    if (wake && wake->cancelled()) co_return true;
    if (t <= now_) co_return false;
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
    timer.expires_at(std::chrono::steady_clock::time_point::max());
    const auto key = std::make_pair(t, seq_++);
    waiting_.emplace(key, &timer);
    if (wake) {
      wake->set_hook([this, key, &timer] {
        waiting_.erase(key);
        timer.cancel();
      });
    }
    co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    if (wake) wake->clear_hook();
    waiting_.erase(key);
    co_return wake && wake->cancelled();
  }

  // Runs `ctx` until nothing is ready and nothing waits, or until time reaches
  // `limit`. Returns the number of jumps in time it made.
  int run(boost::asio::io_context& ctx, SteadyTime limit = SteadyTime::max()) {
    int jumps = 0;
    for (;;) {
      ctx.restart();
      while (ctx.poll() > 0) {
      }
      if (waiting_.empty()) return jumps;
      auto it = waiting_.begin();
      if (it->first.first > limit) return jumps;
      now_ = std::max(now_, it->first.first);
      boost::asio::steady_timer* timer = it->second;
      waiting_.erase(it);
      timer->cancel();
      ++jumps;
    }
  }

  // Like run(), but stops as soon as `done()` holds (background work the code
  // under test left behind keeps waiting for the next run()).
  template <typename Done>
  void run_until(boost::asio::io_context& ctx, Done done) {
    for (;;) {
      ctx.restart();
      while (!done() && ctx.poll_one() > 0) {
      }
      if (done() || waiting_.empty()) return;
      auto it = waiting_.begin();
      now_ = std::max(now_, it->first.first);
      boost::asio::steady_timer* timer = it->second;
      waiting_.erase(it);
      timer->cancel();
    }
  }

  void advance(std::chrono::nanoseconds d) { now_ += d; }
  size_t waiting() const { return waiting_.size(); }

 private:
  SteadyTime now_;
  WallTime wall0_;
  std::uint64_t seq_ = 0;
  std::map<std::pair<SteadyTime, std::uint64_t>, boost::asio::steady_timer*> waiting_;
};

}  // namespace tollgate::testing
