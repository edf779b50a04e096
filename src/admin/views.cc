#include "admin/views.h"

#include <boost/json/array.hpp>

namespace tollgate::admin {

namespace json = boost::json;

namespace {

double ms(std::chrono::microseconds us) { return static_cast<double>(us.count()) / 1000.0; }

json::object limits_json(const engine::Limits& l, WallTime wall) {
  const auto& c = l.config();
  json::object o;
  if (c.rps > 0) {
    o["rps"] = c.rps;
    o["burst"] = c.burst;
  }
  if (c.max_concurrent > 0) {
    o["max_concurrent"] = c.max_concurrent;
    o["in_flight"] = l.in_flight();
  }
  if (c.daily_quota > 0) {
    o["daily_quota"] = c.daily_quota;
    o["daily_used"] = l.daily_used(wall);
  }
  if (c.monthly_quota > 0) {
    o["monthly_quota"] = c.monthly_quota;
    o["monthly_used"] = l.monthly_used(wall);
  }
  return o;
}

std::uint64_t traffic(const policy::HealthSnapshot& h) { return h.calls() + h.throttled; }

}  // namespace

json::object health_json(const policy::HealthSnapshot& h, const policy::HealthConfig& cfg) {
  json::object classes;
  for (int i = 0; i < kErrorClassCount; ++i) {
    if (h.by_class[i] > 0) classes[to_string(static_cast<ErrorClass>(i))] = h.by_class[i];
  }
  return json::object{
      {"window_s", std::chrono::duration<double>(cfg.bucket * cfg.buckets).count()},
      {"calls", h.calls()},
      {"successes", h.successes},
      {"failures", h.failures},
      {"timeouts", h.timeouts},
      {"throttled", h.throttled},
      {"slow", h.slow},
      {"in_flight", h.in_flight},
      {"in_flight_slow", h.in_flight_slow},
      {"success_rate", h.success_rate()},
      {"errors", std::move(classes)},
      {"latency_ms",
       {{"p50", ms(h.latency.quantile(0.5))},
        {"p90", ms(h.latency.quantile(0.9))},
        {"p95", ms(h.latency.quantile(0.95))},
        {"p99", ms(h.latency.quantile(0.99))},
        {"ewma", h.ewma_ms}}},
  };
}

json::object provider_json(const engine::Runtime& rt, const engine::ProviderRuntime& p, SteadyTime now,
                           WallTime wall) {
  const auto& state = *p.state;
  json::object o;
  o["name"] = p.name();
  o["disabled"] = state.disabled.load();
  o["throttled_for_ms"] = state.throttle_left(now).count();
  o["weight"] = p.config().weight;
  o["price"] = p.config().price;
  o["health"] = health_json(state.health.snapshot(now, true), state.health_cfg);
  o["limits"] = limits_json(state.limits, wall);
  json::array routes;
  for (const auto& [name, cap] : rt.capabilities()) {
    const int idx = cap.candidate_index(p.name());
    if (idx < 0) continue;
    std::uint64_t total = 0;
    for (const auto& c : cap.candidates) total += traffic(c.route->health.snapshot(now));
    const auto& route = *cap.candidates[static_cast<size_t>(idx)].route;
    const auto h = route.health.snapshot(now, true);
    const auto b = route.breaker.info(now);
    json::object r{
        {"capability", name},
        {"breaker",
         {{"state", policy::to_string(b.state)},
          {"trips", b.trips},
          {"total_trips", b.total_trips},
          {"reason", b.last_reason},
          {"open_for_ms", b.open_for.count()},
          {"ramp", b.ramp},
          {"consecutive_failures", b.consecutive_failures}}},
        {"health", health_json(h, route.health_cfg)},
        {"traffic_share", total ? static_cast<double>(traffic(h)) / static_cast<double>(total) : 0.0},
    };
    if (route.limits_cfg.any()) r["limits"] = limits_json(route.limits, wall);
    if (p.config().events.enabled) {
      const double d = route.delivery_rate.load(std::memory_order_relaxed);
      r["delivery_rate"] = d >= 0 ? json::value(d) : json::value(nullptr);  // null: not known yet
    }
    routes.push_back(std::move(r));
  }
  o["routes"] = std::move(routes);
  return o;
}

json::object overview_json(const engine::Runtime& rt, SteadyTime now, WallTime wall) {
  std::vector<std::string> names;
  for (const auto& [name, c] : rt.capabilities()) names.push_back(name);
  std::sort(names.begin(), names.end());
  json::array caps;
  for (const auto& name : names) {
    const auto& cap = *rt.capability(name);
    std::uint64_t total = 0, successes = 0;
    double cost = 0;
    std::vector<policy::HealthSnapshot> snaps;
    for (const auto& c : cap.candidates) {
      snaps.push_back(c.route->health.snapshot(now, true));
      total += traffic(snaps.back());
      successes += snaps.back().successes;
      cost += c.provider->config().price * static_cast<double>(snaps.back().successes);
    }
    json::array routes;
    for (size_t i = 0; i < cap.candidates.size(); ++i) {
      const auto& c = cap.candidates[i];
      const auto& h = snaps[i];
      const auto b = c.route->breaker.info(now);
      json::object r{{"provider", c.provider->name()},
                     {"disabled", c.provider->state->disabled.load()},
                     {"throttled_for_ms", c.provider->state->throttle_left(now).count()},
                     {"price", c.provider->config().price},
                     {"breaker",
                      {{"state", policy::to_string(b.state)},
                       {"reason", b.last_reason},
                       {"open_for_ms", b.open_for.count()},
                       {"ramp", b.ramp},
                       {"total_trips", b.total_trips}}},
                     {"health", health_json(h, c.route->health_cfg)},
                     {"traffic_share", total ? static_cast<double>(traffic(h)) / static_cast<double>(total) : 0.0}};
      json::object limits = limits_json(c.provider->state->limits, wall);
      if (!limits.empty()) r["limits"] = std::move(limits);
      if (c.provider->config().events.enabled) {
        const double d = c.route->delivery_rate.load(std::memory_order_relaxed);
        r["delivery_rate"] = d >= 0 ? json::value(d) : json::value(nullptr);
      }
      routes.push_back(std::move(r));
    }
    caps.push_back(json::object{{"name", name},
                                {"strategy", policy::to_string(cap.config->strategy)},
                                {"successes", successes},
                                {"cost_per_success", successes ? cost / static_cast<double>(successes) : 0.0},
                                {"routes", std::move(routes)}});
  }
  return json::object{{"capabilities", std::move(caps)}};
}

json::object providers_json(const engine::Runtime& rt, SteadyTime now, WallTime wall) {
  std::vector<std::string> names;
  for (const auto& [name, p] : rt.providers()) names.push_back(name);
  std::sort(names.begin(), names.end());
  json::array list;
  for (const auto& name : names) list.push_back(provider_json(rt, *rt.provider(name), now, wall));
  return json::object{{"providers", std::move(list)}};
}

}  // namespace tollgate::admin
