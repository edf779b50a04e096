#pragma once
// Exponential backoff with full jitter (sleep = U(0, min(cap, base * 2^retry))),
// the variant that spreads retries best (AWS Architecture Blog, "Exponential
// Backoff And Jitter"). Pure: the random draw is passed in.

#include "core/clock.h"

namespace tollgate::policy {

// `retry` counts from 0 (the first retry); `unit` is a uniform draw in [0, 1).
inline Millis full_jitter_backoff(int retry, Millis base, Millis cap, double unit) {
  const int shift = retry < 0 ? 0 : (retry > 30 ? 30 : retry);
  const long long ceiling = std::min<long long>(cap.count(), base.count() * (1LL << shift));
  return Millis(static_cast<long long>(unit * static_cast<double>(ceiling)));
}

}  // namespace tollgate::policy
