#pragma once
// The two-sample Kolmogorov–Smirnov test, for tests that check one sample of
// latencies follows another's distribution (shadow answers vs recorded ones).

#include <algorithm>
#include <cmath>
#include <vector>

namespace tollgate::testing {

// The largest gap between the two empirical CDFs.
inline double ks_statistic(std::vector<double> a, std::vector<double> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  size_t i = 0, j = 0;
  double d = 0;
  while (i < a.size() && j < b.size()) {
    const double x = std::min(a[i], b[j]);
    while (i < a.size() && a[i] <= x) ++i;
    while (j < b.size() && b[j] <= x) ++j;
    d = std::max(d, std::fabs(static_cast<double>(i) / a.size() - static_cast<double>(j) / b.size()));
  }
  return d;
}

// Critical value at significance alpha (0.01: c = 1.63; 0.001: c = 1.95):
// c(alpha) * sqrt((n + m) / (n * m)).
inline double ks_critical(double c_alpha, size_t n, size_t m) {
  return c_alpha * std::sqrt(static_cast<double>(n + m) / (static_cast<double>(n) * static_cast<double>(m)));
}

}  // namespace tollgate::testing
