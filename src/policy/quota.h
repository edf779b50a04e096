#pragma once
// Quota: at most `limit` requests per calendar day or month, counted in a fixed
// UTC offset (the provider's billing time zone, e.g. +08:00), resetting at its
// midnight. Wall time is passed in. Thread-safe (a short mutex).
// Counts live in memory: a restart starts the period's count from zero.

#include <cstdint>
#include <mutex>

#include "core/clock.h"

namespace tollgate::policy {

enum class QuotaPeriod { kDay, kMonth };

class Quota {
 public:
  Quota(std::uint64_t limit, QuotaPeriod period, std::chrono::minutes utc_offset);

  bool try_consume(WallTime now);
  // Gives back one unit consumed in the current period (a request never sent).
  void refund(WallTime now);
  std::uint64_t used(WallTime now) const;
  // What is known to be used already in the period containing `now` (counted
  // elsewhere, e.g. the instance's share of a cluster-wide count): the count
  // is raised to `floor`, never lowered.
  void raise_used_to(WallTime now, std::uint64_t floor);
  std::uint64_t limit() const { return limit_; }
  std::uint64_t remaining(WallTime now) const { return limit_ - std::min(limit_, used(now)); }
  QuotaPeriod period() const { return period_; }
  // Index of the period containing `now` (days or months since the epoch, local).
  std::int64_t period_of(WallTime now) const;

 private:
  const std::uint64_t limit_;
  const QuotaPeriod period_;
  const std::chrono::minutes offset_;
  mutable std::mutex mu_;
  std::int64_t current_ = -1;
  std::uint64_t used_ = 0;
};

}  // namespace tollgate::policy
