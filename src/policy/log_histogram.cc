#include "policy/log_histogram.h"

#include <cmath>

namespace tollgate::policy {

int LogHistogram::bucket_of(std::chrono::microseconds latency) {
  const double us = static_cast<double>(latency.count());
  if (us <= kFirstUs) return 0;
  const int i = 1 + static_cast<int>(std::log(us / kFirstUs) / std::log(kGrowth));
  return i >= kBuckets ? kBuckets - 1 : i;
}

double LogHistogram::upper_us(int i) { return kFirstUs * std::pow(kGrowth, i); }

void LogHistogram::add(std::chrono::microseconds latency, std::uint64_t n) {
  counts_[bucket_of(latency)] += static_cast<std::uint32_t>(n);
  total_ += n;
}

void LogHistogram::merge(const LogHistogram& other) {
  for (int i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  total_ += other.total_;
}

std::chrono::microseconds LogHistogram::quantile(double q) const {
  if (total_ == 0) return std::chrono::microseconds(0);
  const double target = q * static_cast<double>(total_);
  double seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    if (counts_[i] == 0) continue;
    if (seen + counts_[i] >= target) {
      const double lower = i == 0 ? 0.0 : upper_us(i - 1);
      const double upper = upper_us(i);
      const double frac = (target - seen) / counts_[i];
      return std::chrono::microseconds(static_cast<long long>(lower + (upper - lower) * frac));
    }
    seen += counts_[i];
  }
  return std::chrono::microseconds(static_cast<long long>(upper_us(kBuckets - 1)));
}

}  // namespace tollgate::policy
