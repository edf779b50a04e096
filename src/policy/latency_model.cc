#include "policy/latency_model.h"

#include <algorithm>
#include <cmath>

namespace tollgate::policy {
namespace {

// Box-Muller: a standard normal draw from two uniforms.
double standard_normal(double u1, double u2) {
  const double r = 1.0 - u1;  // (0, 1]
  return std::sqrt(-2.0 * std::log(r)) * std::cos(2.0 * M_PI * u2);
}

constexpr double kZ99 = 2.3263478740408408;  // the standard normal's 0.99 quantile

}  // namespace

Micros LatencyModel::sample(double u1, double u2) const {
  double ms = 0;
  switch (kind) {
    case Kind::kFixed: ms = a; break;
    case Kind::kUniform: ms = a + (b - a) * u1; break;
    case Kind::kNormal: ms = a + b * standard_normal(u1, u2); break;
    case Kind::kLogNormal: {
      const double mu = std::log(a);
      const double sigma = (std::log(b) - mu) / kZ99;
      ms = std::exp(mu + sigma * standard_normal(u1, u2));
      break;
    }
  }
  return Micros(static_cast<long long>(std::max(0.0, std::round(ms * 1000.0))));
}

}  // namespace tollgate::policy
