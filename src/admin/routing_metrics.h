#pragma once
// Scrape-time metrics of routing state (breakers, throttling, disables, calls in
// flight, quotas), read from the current Runtime when /metrics is served.

#include "engine/runtime.h"
#include "metrics/registry.h"

namespace tollgate::admin {

void collect_routing(const engine::Runtime& rt, SteadyTime now, WallTime wall, metrics::SampleWriter& w);

}  // namespace tollgate::admin
