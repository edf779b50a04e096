#include "policy/gcra.h"

#include <algorithm>

namespace tollgate::policy {

Gcra::Gcra(double rate, int burst)
    : rate_(rate),
      burst_(std::max(1, burst)),
      interval_ns_(static_cast<std::int64_t>(1e9 / rate)),
      tolerance_ns_(interval_ns_ * (std::max(1, burst) - 1)) {}

std::chrono::nanoseconds Gcra::try_acquire(SteadyTime now) {
  const std::int64_t t = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  std::int64_t tat = tat_ns_.load(std::memory_order_relaxed);
  for (;;) {
    const std::int64_t earliest = tat - tolerance_ns_;
    if (t < earliest) return std::chrono::nanoseconds(earliest - t);
    const std::int64_t next = std::max(tat, t) + interval_ns_;
    if (tat_ns_.compare_exchange_weak(tat, next, std::memory_order_relaxed)) return std::chrono::nanoseconds(0);
  }
}

void Gcra::refund() { tat_ns_.fetch_sub(interval_ns_, std::memory_order_relaxed); }

}  // namespace tollgate::policy
