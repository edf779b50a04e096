#pragma once
// Gcra: a rate limiter by the generic cell rate algorithm — `rate` requests per
// second with bursts of up to `burst` — kept in one atomic timestamp (the
// theoretical arrival time), so every worker can use it without a lock.
// Time is passed in.

#include <atomic>
#include <cstdint>

#include "core/clock.h"

namespace tollgate::policy {

class Gcra {
 public:
  // rate > 0 requests per second; burst >= 1.
  Gcra(double rate, int burst);

  // Admits one request now, or returns how long until one could be admitted.
  // Returns 0 when admitted.
  std::chrono::nanoseconds try_acquire(SteadyTime now);
  // Gives back a request that was admitted but never sent.
  void refund();

  double rate() const { return rate_; }
  int burst() const { return burst_; }

 private:
  const double rate_;
  const int burst_;
  const std::int64_t interval_ns_;
  const std::int64_t tolerance_ns_;
  std::atomic<std::int64_t> tat_ns_{0};
};

}  // namespace tollgate::policy
