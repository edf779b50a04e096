#include "admin/routing_metrics.h"

#include <algorithm>

#include "engine/metrics.h"

namespace tollgate::admin {

using metrics::Type;

void collect_routing(const engine::Runtime& rt, SteadyTime now, WallTime wall, metrics::SampleWriter& w) {
  std::vector<const engine::ProviderRuntime*> providers;
  for (const auto& [name, p] : rt.providers()) providers.push_back(&p);
  std::sort(providers.begin(), providers.end(), [](auto* a, auto* b) { return a->name() < b->name(); });

  w.family("tollgate_provider_disabled", "1 when an operator took the provider out of rotation.", Type::kGauge);
  for (const auto* p : providers) w.sample("tollgate_provider_disabled", {{"provider", p->name()}}, p->state->disabled ? 1 : 0);
  w.family("tollgate_provider_throttled", "1 while the provider is left alone after asking tollgate to slow down.",
           Type::kGauge);
  for (const auto* p : providers) {
    w.sample("tollgate_provider_throttled", {{"provider", p->name()}}, p->state->throttled(now) ? 1 : 0);
  }
  w.family("tollgate_provider_in_flight", "Attempts in flight to the provider.", Type::kGauge);
  for (const auto* p : providers) {
    w.sample("tollgate_provider_in_flight", {{"provider", p->name()}},
             static_cast<double>(p->state->health.snapshot(now).in_flight));
  }
  w.family("tollgate_quota_used", "Quota units used in the current period.", Type::kGauge);
  for (const auto* p : providers) {
    const auto& l = p->state->limits;
    if (l.config().daily_quota) w.sample("tollgate_quota_used", {{"provider", p->name()}, {"period", "day"}}, static_cast<double>(l.daily_used(wall)));
    if (l.config().monthly_quota) w.sample("tollgate_quota_used", {{"provider", p->name()}, {"period", "month"}}, static_cast<double>(l.monthly_used(wall)));
  }
  w.family("tollgate_quota_remaining", "Quota units left in the current period.", Type::kGauge);
  for (const auto* p : providers) {
    const auto& l = p->state->limits;
    const auto& c = l.config();
    if (c.daily_quota) {
      w.sample("tollgate_quota_remaining", {{"provider", p->name()}, {"period", "day"}},
               static_cast<double>(c.daily_quota - std::min(c.daily_quota, l.daily_used(wall))));
    }
    if (c.monthly_quota) {
      w.sample("tollgate_quota_remaining", {{"provider", p->name()}, {"period", "month"}},
               static_cast<double>(c.monthly_quota - std::min(c.monthly_quota, l.monthly_used(wall))));
    }
  }

  std::vector<std::string> caps;
  for (const auto& [name, c] : rt.capabilities()) caps.push_back(name);
  std::sort(caps.begin(), caps.end());
  w.family("tollgate_breaker_state", "Circuit breaker of a provider's operation: 0 closed, 1 half-open, 2 open.",
           Type::kGauge);
  for (const auto& name : caps) {
    const auto [cap, op] = engine::split_capability(name);
    for (const auto& c : rt.capability(name)->candidates) {
      const auto s = c.route->breaker.state(now);
      w.sample("tollgate_breaker_state", {{"provider", c.provider->name()}, {"capability", cap}, {"operation", op}},
               s == policy::BreakerState::kClosed ? 0 : s == policy::BreakerState::kHalfOpen ? 1 : 2);
    }
  }
  w.family("tollgate_breaker_trips_total", "Times a provider's operation breaker opened.", Type::kCounter);
  for (const auto& name : caps) {
    const auto [cap, op] = engine::split_capability(name);
    for (const auto& c : rt.capability(name)->candidates) {
      w.sample("tollgate_breaker_trips_total",
               {{"provider", c.provider->name()}, {"capability", cap}, {"operation", op}},
               static_cast<double>(c.route->breaker.info(now).total_trips));
    }
  }
  w.family("tollgate_route_success_ratio", "Share of a provider operation's calls that succeeded in its health window.",
           Type::kGauge);
  for (const auto& name : caps) {
    const auto [cap, op] = engine::split_capability(name);
    for (const auto& c : rt.capability(name)->candidates) {
      w.sample("tollgate_route_success_ratio",
               {{"provider", c.provider->name()}, {"capability", cap}, {"operation", op}},
               c.route->health.snapshot(now).success_rate());
    }
  }
}

}  // namespace tollgate::admin
