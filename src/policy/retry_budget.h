#pragma once
// RetryBudget: retries and hedges together may add at most `ratio` of the calls
// seen in the last window, plus `min_per_second` (so a quiet service can still
// retry), so an outage cannot multiply the load on the providers still standing.
// Time is passed in. Thread-safe (a short mutex).

#include <cstdint>
#include <mutex>
#include <vector>

#include "core/clock.h"

namespace tollgate::policy {

struct RetryBudgetConfig {
  double ratio = 0.2;          // extra attempts per call
  double min_per_second = 5;   // always allowed
  Millis window{10000};
  bool operator==(const RetryBudgetConfig&) const = default;
};

class RetryBudget {
 public:
  explicit RetryBudget(RetryBudgetConfig cfg = {});

  void on_call(SteadyTime now);
  // Takes one retry (or hedge) from the budget; false when it is spent.
  bool try_spend(SteadyTime now);

  struct Usage {
    std::uint64_t calls = 0;
    std::uint64_t retries = 0;
    double allowed = 0;
  };
  Usage usage(SteadyTime now) const;

 private:
  struct Bucket {
    std::int64_t epoch = -1;
    std::uint64_t calls = 0;
    std::uint64_t retries = 0;
  };
  Bucket& bucket_locked(SteadyTime now);
  Usage usage_locked(SteadyTime now) const;

  const RetryBudgetConfig cfg_;
  const Millis bucket_width_;
  mutable std::mutex mu_;
  std::vector<Bucket> buckets_;
};

}  // namespace tollgate::policy
