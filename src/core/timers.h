#pragma once
// Timers: how tollgate code waits for a time — backoff between attempts, a
// hedge's delay, a runner's poll interval. They follow a Clock: the real ones
// (http::AsioTimers) are Asio timers on the steady clock; tests use simulated
// time (tests/mocks/sim_time.h) in which waiting takes no wall-clock time at all.
// Waits run on the awaiting coroutine's executor.

#include <boost/asio/awaitable.hpp>

#include "core/clock.h"
#include "core/transport.h"

namespace tollgate {

class Timers {
 public:
  virtual ~Timers() = default;
  // Suspends until `t`, or until `wake` is cancelled (by another coroutine on the
  // same thread), whichever comes first. Returns true when woken early. A token
  // cancelled before the call returns at once.
  virtual boost::asio::awaitable<bool> wait_until(SteadyTime t, CancelToken* wake = nullptr) = 0;
};

}  // namespace tollgate
