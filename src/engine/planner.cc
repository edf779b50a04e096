#include "engine/planner.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "core/random.h"

namespace tollgate::engine {
namespace {

// Drift needs latency histograms, which cost more to merge: check at most this often.
constexpr auto kFullCheckEvery = std::chrono::milliseconds(250);
// A half-open route with every probe slot taken: look again after this long.
constexpr Millis kHalfOpenWait{10};

std::int64_t ns(SteadyTime t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

std::string routing_json(const CallRouting& r) {
  if (r.pin.empty() && r.exclude.empty()) return {};
  boost::json::array ex;
  for (const auto& e : r.exclude) ex.push_back(boost::json::value(e));
  return boost::json::serialize(boost::json::object{{"pin", r.pin}, {"exclude", std::move(ex)}});
}

CallRouting parse_routing_json(std::string_view text) {
  CallRouting r;
  if (text.empty()) return r;
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec || !v.is_object()) return r;
  if (const auto* p = v.get_object().if_contains("pin"); p && p->is_string()) r.pin = std::string(p->get_string());
  if (const auto* ex = v.get_object().if_contains("exclude"); ex && ex->is_array()) {
    for (const auto& e : ex->get_array()) {
      if (e.is_string()) r.exclude.emplace_back(e.get_string());
    }
  }
  return r;
}

Result<std::vector<int>> plan_order(const CapabilityRuntime& cap, const CallRouting& routing,
                                    const boost::json::object& params, SteadyTime now, Traffic traffic) {
  const size_t n = cap.candidates.size();
  std::vector<policy::CandidateInfo> info(n);
  const auto kind = cap.state->selector.kind();
  const bool needs_health = kind == policy::StrategyKind::kWeighted || kind == policy::StrategyKind::kLatency ||
                            kind == policy::StrategyKind::kAdaptive;
  for (size_t i = 0; i < n; ++i) {
    const auto& c = cap.candidates[i];
    info[i].weight = c.provider->config().weight;
    info[i].price = c.provider->config().price;
    info[i].ramp = c.route->breaker.ramp(now);
    if (needs_health) {
      const auto h = c.route->health.snapshot(now);
      info[i].ewma_ms = h.ewma_ms;
      info[i].success_rate = policy::weighed_success_rate(h.successes, h.calls());
      const double delivery = c.route->delivery_rate.load(std::memory_order_relaxed);
      if (delivery >= 0) info[i].delivery = delivery;
    }
  }
  std::vector<int> order = cap.state->selector.order(info, random_unit);
  if (!routing.pin.empty()) {
    const int pinned = cap.candidate_index(routing.pin);
    if (pinned < 0) {
      return Error::make(ErrorClass::kInvalidRequest,
                         "provider '" + routing.pin + "' does not serve " + cap.config->name);
    }
    order = {pinned};
  }
  std::erase_if(order, [&](int i) {
    const auto& name = cap.candidates[static_cast<size_t>(i)].provider->name();
    return std::find(routing.exclude.begin(), routing.exclude.end(), name) != routing.exclude.end();
  });
  if (order.empty()) {
    return Error::make(ErrorClass::kInvalidRequest, "no provider of " + cap.config->name + " is left after exclusions");
  }
  std::string unsupported;
  std::erase_if(order, [&](int i) {
    for (const auto& name : cap.candidates[static_cast<size_t>(i)].operation->unsupported_params()) {
      const auto* v = params.if_contains(name);
      if (v && !v->is_null()) {
        unsupported = name;
        return true;
      }
    }
    return false;
  });
  if (order.empty()) {
    return Error::make(ErrorClass::kInvalidRequest,
                       "no provider of " + cap.config->name + " can honour param '" + unsupported + "'");
  }
  if (traffic == Traffic::kLive && order.size() > 1) {
    for (size_t k = 1; k < order.size(); ++k) {
      const auto& c = cap.candidates[static_cast<size_t>(order[k])];
      if (!c.provider->state->disabled.load(std::memory_order_relaxed) && c.route->breaker.probe_due(now)) {
        std::rotate(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k),
                    order.begin() + static_cast<std::ptrdiff_t>(k) + 1);
        break;
      }
    }
  }
  return order;
}

std::variant<Admitted, Blocked> admit(const CapabilityRuntime& cap, int index, SteadyTime now, WallTime wall,
                                      Traffic traffic) {
  const CandidateRuntime& c = cap.candidates[static_cast<size_t>(index)];
  ProviderState& provider = *c.provider->state;
  RouteState& route = *c.route;
  if (provider.disabled.load(std::memory_order_relaxed)) return Blocked{BlockKind::kDisabled, "disabled by an operator"};
  if (provider.throttled(now)) {
    return Blocked{BlockKind::kThrottled, "throttled by the provider", provider.throttle_left(now)};
  }
  if (traffic != Traffic::kLive) {
    if (route.breaker.state(now) == policy::BreakerState::kOpen) {
      const auto wait = std::chrono::ceil<Millis>(route.breaker.next_probe_at(now) - now);
      return Blocked{BlockKind::kCircuitOpen, "circuit open", std::max(wait, Millis(1))};
    }
    Admitted out{index, false, true, {}, {}};
    if (traffic == Traffic::kStress && (!cap.test_traffic || cap.test_traffic->apply_provider_limits)) {
      if (auto denied = provider.shadow_limits.try_acquire(now, wall, out.provider_ticket)) {
        return Blocked{denied->kind, denied->reason, denied->wait};
      }
    }
    return out;
  }

  std::int64_t last = route.last_full_check.load(std::memory_order_relaxed);
  if (ns(now) - last > std::chrono::duration_cast<std::chrono::nanoseconds>(kFullCheckEvery).count() &&
      route.last_full_check.compare_exchange_strong(last, ns(now))) {
    route.breaker.evaluate(now, route.health.snapshot(now, true));
  }
  const policy::Admission a = route.breaker.admit(now, route.health.snapshot(now));
  if (cap.registry) cap.registry->report_trip(route);
  if (!a.admitted) {
    if (route.breaker.state(now) == policy::BreakerState::kHalfOpen) {
      // Healthy enough to probe, every probe slot taken: one ends soon.
      return Blocked{BlockKind::kCircuitHalfOpen, route.breaker.refusal(now), kHalfOpenWait};
    }
    const auto wait = std::chrono::ceil<Millis>(route.breaker.next_probe_at(now) - now);
    return Blocked{BlockKind::kCircuitOpen, "circuit open", std::max(wait, Millis(1))};
  }
  Admitted out{index, a.probe, false, {}, {}};
  if (a.probe) return out;  // probes are never starved by limits
  if (cap.shared.limits) {
    // A cluster: the limits are the whole cluster's, taken on Redis next.
    out.needs_shared = provider.limits_cfg.any() || route.limits_cfg.any();
    return out;
  }
  if (auto denied = provider.limits.try_acquire(now, wall, out.provider_ticket)) {
    return Blocked{denied->kind, denied->reason, denied->wait};
  }
  if (auto denied = route.limits.try_acquire(now, wall, out.route_ticket)) {
    provider.limits.release(out.provider_ticket, false, wall);
    return Blocked{denied->kind, denied->reason, denied->wait};
  }
  return out;
}

namespace {

std::string quota_period(WallTime wall, std::chrono::minutes offset, bool monthly) {
  const auto local = std::chrono::floor<std::chrono::days>(wall + offset);
  const std::chrono::year_month_day ymd{local};
  char buf[16];
  if (monthly) {
    std::snprintf(buf, sizeof buf, "%04d-%02u", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()));
  } else {
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                  static_cast<unsigned>(ymd.day()));
  }
  return buf;
}

// The shared form of one LimitsConfig: keys named after what they limit.
void add_shared(std::vector<cluster::SharedLimit>& out, std::vector<BlockKind>& kinds, const config::LimitsConfig& l,
                const std::string& scope, WallTime wall) {
  using K = cluster::SharedLimit::Kind;
  if (l.rps > 0) {
    cluster::SharedLimit s;
    s.kind = K::kRate;
    s.key = "rate:" + scope;
    s.interval_us = static_cast<std::int64_t>(1e6 / l.rps);
    s.tolerance_us = s.interval_us * (std::max(1, l.burst) - 1);
    s.reason = "rate limit reached";
    out.push_back(std::move(s));
    kinds.push_back(BlockKind::kRateLimit);
  }
  if (l.max_concurrent > 0) {
    cluster::SharedLimit s;
    s.kind = K::kConcurrency;
    s.key = "slots:" + scope;
    s.max = l.max_concurrent;
    s.reason = "concurrency limit reached";
    out.push_back(std::move(s));
    kinds.push_back(BlockKind::kConcurrency);
  }
  if (l.daily_quota > 0) {
    cluster::SharedLimit s;
    s.kind = K::kQuota;
    s.key = "quota:" + scope + ":" + quota_period(wall, l.quota_utc_offset, false);
    s.max = static_cast<std::int64_t>(l.daily_quota);
    s.ttl_s = 3 * 24 * 3600;
    s.reason = "daily quota used up";
    out.push_back(std::move(s));
    kinds.push_back(BlockKind::kDailyQuota);
  }
  if (l.monthly_quota > 0) {
    cluster::SharedLimit s;
    s.kind = K::kQuota;
    s.key = "quota:" + scope + ":" + quota_period(wall, l.quota_utc_offset, true);
    s.max = static_cast<std::int64_t>(l.monthly_quota);
    s.ttl_s = 33 * 24 * 3600;
    s.reason = "monthly quota used up";
    out.push_back(std::move(s));
    kinds.push_back(BlockKind::kMonthlyQuota);
  }
}

}  // namespace

boost::asio::awaitable<std::optional<Blocked>> admit_shared(const CapabilityRuntime& cap, Admitted& a,
                                                            SteadyTime now, WallTime wall, Millis slot_ttl) {
  if (!a.needs_shared || !cap.shared.limits) co_return std::nullopt;
  const CandidateRuntime& c = cap.candidates[static_cast<size_t>(a.index)];
  ProviderState& provider = *c.provider->state;
  RouteState& route = *c.route;
  std::vector<cluster::SharedLimit> limits;
  std::vector<BlockKind> kinds;
  add_shared(limits, kinds, provider.limits_cfg, "p:" + provider.name, wall);
  const size_t provider_limits = limits.size();
  add_shared(limits, kinds, route.limits_cfg, "r:" + route.provider + ":" + route.capability, wall);
  std::vector<std::int64_t> maxima;
  for (const auto& l : limits) maxima.push_back(l.max);
  auto grant = co_await cap.shared.limits->acquire(std::move(limits), slot_ttl);
  if (grant) {
    // Quotas' cluster-wide counts keep the local fallback shares in step.
    for (size_t i = 0; i < grant->quota_used.size() && i < kinds.size(); ++i) {
      if (grant->quota_used[i] < 0) continue;
      Limits& local = i < provider_limits ? provider.fallback_limits : route.fallback_limits;
      local.observe_shared_quota(kinds[i], wall, static_cast<std::uint64_t>(grant->quota_used[i]),
                                 static_cast<std::uint64_t>(maxima[i]));
    }
    if (grant->granted) {
      a.grant = std::move(*grant);
      co_return std::nullopt;
    }
    const auto kind = kinds[static_cast<size_t>(std::max(0, grant->denied_by))];
    const Millis wait = kind == BlockKind::kRateLimit      ? std::max(grant->wait, Millis(1))
                        : kind == BlockKind::kConcurrency ? Millis(10)
                                                          : Millis(0);
    co_return Blocked{kind, std::string(to_label(kind)) + " (shared)", wait};
  }
  // Redis is away: each instance enforces its share, or refuses, per limit.
  const bool deny = provider.limits_cfg.deny_on_shared_loss.value_or(cap.shared.deny_on_loss) ||
                    route.limits_cfg.deny_on_shared_loss.value_or(cap.shared.deny_on_loss);
  if (deny) co_return Blocked{BlockKind::kSharedUnavailable, "shared limits unavailable", Millis(0)};
  if (auto denied = provider.fallback_limits.try_acquire(now, wall, a.provider_ticket)) {
    co_return Blocked{denied->kind, denied->reason + " (local share)", denied->wait};
  }
  if (auto denied = route.fallback_limits.try_acquire(now, wall, a.route_ticket)) {
    provider.fallback_limits.release(a.provider_ticket, false, wall);
    co_return Blocked{denied->kind, denied->reason + " (local share)", denied->wait};
  }
  a.fallback = true;
  co_return std::nullopt;
}

std::optional<Admitted> force_probe(const CapabilityRuntime& cap, int index, SteadyTime now) {
  const CandidateRuntime& c = cap.candidates[static_cast<size_t>(index)];
  if (c.provider->state->disabled.load(std::memory_order_relaxed)) return std::nullopt;
  const policy::Admission a = c.route->breaker.force_probe(now);
  if (!a.admitted) return std::nullopt;
  return Admitted{index, a.probe, false, {}, {}};
}

int least_bad(const CapabilityRuntime& cap, const std::vector<int>& indices, SteadyTime now) {
  int best = -1;
  double best_rate = -1;
  SteadyTime best_probe{};
  for (int i : indices) {
    const auto& route = *cap.candidates[static_cast<size_t>(i)].route;
    const double rate = route.health.snapshot(now).success_rate();
    const SteadyTime probe = route.breaker.next_probe_at(now);
    if (best < 0 || rate > best_rate || (rate == best_rate && probe < best_probe)) {
      best = i;
      best_rate = rate;
      best_probe = probe;
    }
  }
  return best;
}

void release(const CapabilityRuntime& cap, Admitted& a, bool delivered, WallTime wall) {
  const CandidateRuntime& c = cap.candidates[static_cast<size_t>(a.index)];
  if (a.shadow) {
    c.provider->state->shadow_limits.release(a.provider_ticket, true, wall);
    return;
  }
  if (a.grant.granted) {
    cap.shared.limits->release(a.grant, delivered);
    a.grant = cluster::Grant{};
    return;
  }
  if (a.fallback) {
    c.provider->state->fallback_limits.release(a.provider_ticket, delivered, wall);
    c.route->fallback_limits.release(a.route_ticket, delivered, wall);
    return;
  }
  c.provider->state->limits.release(a.provider_ticket, delivered, wall);
  c.route->limits.release(a.route_ticket, delivered, wall);
}

}  // namespace tollgate::engine
