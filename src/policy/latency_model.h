#pragma once
// LatencyModel: a configured latency distribution — fixed, uniform, normal
// (truncated at 0) or lognormal given by its median and p99 — sampled from
// uniform draws passed in. Used by tollgate-sim and by shadow answers when
// nothing has been recorded yet. A plain value.

#include "core/clock.h"

namespace tollgate::policy {

struct LatencyModel {
  enum class Kind { kFixed, kUniform, kNormal, kLogNormal } kind = Kind::kFixed;
  double a = 0;  // fixed: ms | uniform: min | normal: mean | lognormal: median
  double b = 0;  // uniform: max | normal: stddev | lognormal: p99

  // u1, u2: independent uniform draws in [0, 1).
  Micros sample(double u1, double u2) const;
  bool operator==(const LatencyModel&) const = default;
};

}  // namespace tollgate::policy
