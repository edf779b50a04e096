#pragma once
// LogHistogram: latency counts in geometrically growing buckets (each 15% wider
// than the last, from 100 µs to about 2 minutes), so quantiles are accurate to a
// few percent at any scale with a fixed, small footprint. A plain value; the owner
// provides any locking.

#include <array>
#include <cstdint>

#include "core/clock.h"

namespace tollgate::policy {

class LogHistogram {
 public:
  static constexpr int kBuckets = 100;
  static constexpr double kFirstUs = 100.0;
  static constexpr double kGrowth = 1.15;

  void add(std::chrono::microseconds latency, std::uint64_t n = 1);
  void merge(const LogHistogram& other);
  void clear() { counts_.fill(0); total_ = 0; }
  std::uint64_t total() const { return total_; }
  // The q-quantile (0 < q < 1), interpolated inside its bucket; 0 when empty.
  std::chrono::microseconds quantile(double q) const;

  static int bucket_of(std::chrono::microseconds latency);
  // Upper bound of bucket i, in microseconds.
  static double upper_us(int i);
  std::uint64_t count(int i) const { return counts_[i]; }

 private:
  std::array<std::uint32_t, kBuckets> counts_{};
  std::uint64_t total_ = 0;
};

}  // namespace tollgate::policy
