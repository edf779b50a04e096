#include "engine/state.h"

namespace tollgate::engine {

namespace {

std::int64_t ns(SteadyTime t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

std::string_view to_label(BlockKind k) {
  switch (k) {
    case BlockKind::kDisabled: return "disabled";
    case BlockKind::kThrottled: return "throttled";
    case BlockKind::kCircuitOpen: return "circuit_open";
    case BlockKind::kCircuitHalfOpen: return "circuit_half_open";
    case BlockKind::kRateLimit: return "rate_limit";
    case BlockKind::kConcurrency: return "concurrency";
    case BlockKind::kDailyQuota: return "daily_quota";
    case BlockKind::kMonthlyQuota: return "monthly_quota";
    case BlockKind::kSharedUnavailable: return "shared_unavailable";
  }
  return "other";
}

Limits::Limits(const config::LimitsConfig& cfg) : cfg_(cfg) {
  if (cfg.rps > 0) rate_ = std::make_unique<policy::Gcra>(cfg.rps, cfg.burst);
  if (cfg.max_concurrent > 0) bulkhead_ = std::make_unique<policy::Bulkhead>(cfg.max_concurrent);
  if (cfg.daily_quota > 0) {
    daily_ = std::make_unique<policy::Quota>(cfg.daily_quota, policy::QuotaPeriod::kDay, cfg.quota_utc_offset);
  }
  if (cfg.monthly_quota > 0) {
    monthly_ = std::make_unique<policy::Quota>(cfg.monthly_quota, policy::QuotaPeriod::kMonth, cfg.quota_utc_offset);
  }
}

std::optional<Limits::Denial> Limits::try_acquire(SteadyTime now, WallTime wall, LimitTicket& t) {
  if (bulkhead_) {
    if (!bulkhead_->try_enter()) return Denial{BlockKind::kConcurrency, "concurrency limit reached", Millis(0)};
    t.bulkhead = true;
  }
  if (rate_) {
    const auto wait = rate_->try_acquire(now);
    if (wait.count() > 0) {
      release(t, false, wall);
      return Denial{BlockKind::kRateLimit, "rate limit reached", std::chrono::ceil<Millis>(wait)};
    }
    t.rate = true;
  }
  if (daily_) {
    if (!daily_->try_consume(wall)) {
      release(t, false, wall);
      return Denial{BlockKind::kDailyQuota, "daily quota used up", Millis(0)};
    }
    t.daily = true;
  }
  if (monthly_) {
    if (!monthly_->try_consume(wall)) {
      release(t, false, wall);
      return Denial{BlockKind::kMonthlyQuota, "monthly quota used up", Millis(0)};
    }
    t.monthly = true;
  }
  return std::nullopt;
}

void Limits::release(LimitTicket& t, bool delivered, WallTime wall) {
  if (t.bulkhead) bulkhead_->leave();
  if (!delivered) {
    if (t.rate) rate_->refund();
    if (t.daily) daily_->refund(wall);
    if (t.monthly) monthly_->refund(wall);
  }
  t = LimitTicket{};
}

void Limits::observe_shared_quota(BlockKind kind, WallTime wall, std::uint64_t shared_used, std::uint64_t shared_max) {
  policy::Quota* q = kind == BlockKind::kDailyQuota ? daily_.get() : kind == BlockKind::kMonthlyQuota ? monthly_.get() : nullptr;
  if (!q || shared_max == 0) return;
  shared_used = std::min(shared_used, shared_max);
  // ceil(used × share / max): a used-up shared quota leaves no local share.
  const std::uint64_t floor = (shared_used * q->limit() + shared_max - 1) / shared_max;
  q->raise_used_to(wall, floor);
}

namespace {
config::LimitsConfig without_quotas(config::LimitsConfig l) {
  l.daily_quota = l.monthly_quota = 0;
  return l;
}
}  // namespace

config::LimitsConfig divide(const config::LimitsConfig& l, int instances) {
  if (instances <= 1) return l;
  config::LimitsConfig d = l;
  const auto n = static_cast<std::uint64_t>(instances);
  if (l.rps > 0) d.rps = l.rps / instances;
  if (l.burst > 0) d.burst = std::max(1, l.burst / instances);
  if (l.max_concurrent > 0) d.max_concurrent = std::max(1, l.max_concurrent / instances);
  if (l.daily_quota > 0) d.daily_quota = std::max<std::uint64_t>(1, l.daily_quota / n);
  if (l.monthly_quota > 0) d.monthly_quota = std::max<std::uint64_t>(1, l.monthly_quota / n);
  return d;
}

ProviderState::ProviderState(const config::ProviderConfig& cfg, int instances)
    : name(cfg.name),
      health_cfg(cfg.health),
      limits_cfg(cfg.limits),
      health(cfg.health),
      limits(cfg.limits),
      fallback_limits(divide(cfg.limits, instances)),
      shadow_limits(without_quotas(cfg.limits)) {}

bool ProviderState::throttled(SteadyTime now) const { return throttled_until.load(std::memory_order_relaxed) > ns(now); }

Millis ProviderState::throttle_left(SteadyTime now) const {
  const auto left = throttled_until.load(std::memory_order_relaxed) - ns(now);
  return left > 0 ? std::chrono::ceil<Millis>(std::chrono::nanoseconds(left)) : Millis(0);
}

void ProviderState::throttle_until(SteadyTime t) {
  const std::int64_t v = ns(t);
  std::int64_t cur = throttled_until.load(std::memory_order_relaxed);
  while (cur < v && !throttled_until.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

RouteState::RouteState(const config::ProviderConfig& p, const config::OperationConfig& op, Millis h, int instances)
    : provider(p.name),
      capability(op.capability),
      health_cfg(p.health),
      breaker_cfg(p.breaker),
      limits_cfg(op.limits),
      health(p.health),
      breaker(p.breaker, p.health.slow_call),
      limits(op.limits),
      fallback_limits(divide(op.limits, instances)),
      horizon(h),
      recorder(h) {}

CapabilityState::CapabilityState(const config::CapabilityConfig& cfg)
    : strategy(cfg.strategy),
      adaptive(cfg.adaptive),
      budget_cfg(cfg.retry_budget),
      selector(cfg.strategy, cfg.adaptive),
      budget(cfg.retry_budget) {}

CallerState::CallerState(const config::CallerConfig& cfg, int instances) : rps(cfg.rps), burst(cfg.burst) {
  if (cfg.rps > 0) {
    rate = std::make_unique<policy::Gcra>(cfg.rps, cfg.burst);
    const int n = std::max(1, instances);
    fallback_rate = std::make_unique<policy::Gcra>(cfg.rps / n, std::max(1, cfg.burst / n));
  }
}

std::shared_ptr<ProviderState> StateRegistry::provider(const config::ProviderConfig& cfg) {
  std::lock_guard lock(mu_);
  auto& slot = providers_[cfg.name];
  if (!slot || !(slot->health_cfg == cfg.health) || !(slot->limits_cfg == cfg.limits)) {
    auto next = std::make_shared<ProviderState>(cfg, shared_.expected_instances);
    if (slot) next->throttled_until.store(slot->throttled_until.load());
    slot = std::move(next);
  }
  slot->disabled.store(disabled_.count(cfg.name) > 0);
  return slot;
}

std::shared_ptr<RouteState> StateRegistry::route(const config::ProviderConfig& p, const config::OperationConfig& op,
                                                 Millis horizon) {
  std::lock_guard lock(mu_);
  auto& slot = routes_[{p.name, op.capability}];
  if (!slot || !(slot->health_cfg == p.health) || !(slot->breaker_cfg == p.breaker) ||
      !(slot->limits_cfg == op.limits) || slot->horizon != horizon) {
    auto next = std::make_shared<RouteState>(p, op, horizon, shared_.expected_instances);
    // What was learned about the provider's latency survives a settings change.
    if (slot) next->recorder.import(slot->recorder.snapshot(std::chrono::steady_clock::now()));
    slot = std::move(next);
  }
  return slot;
}

std::vector<std::shared_ptr<RouteState>> StateRegistry::routes() const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<RouteState>> out;
  for (const auto& [key, r] : routes_) out.push_back(r);
  return out;
}

std::shared_ptr<CapabilityState> StateRegistry::capability(const config::CapabilityConfig& cfg) {
  std::lock_guard lock(mu_);
  auto& slot = capabilities_[cfg.name];
  if (!slot || slot->strategy != cfg.strategy || !(slot->adaptive == cfg.adaptive) ||
      !(slot->budget_cfg == cfg.retry_budget)) {
    slot = std::make_shared<CapabilityState>(cfg);
  }
  return slot;
}

std::shared_ptr<CallerState> StateRegistry::caller(const config::CallerConfig& cfg) {
  std::lock_guard lock(mu_);
  auto& slot = callers_[cfg.name];
  if (!slot || slot->rps != cfg.rps || slot->burst != cfg.burst) {
    slot = std::make_shared<CallerState>(cfg, shared_.expected_instances);
  }
  return slot;
}

bool StateRegistry::set_disabled(const std::string& name, bool disabled) {
  std::lock_guard lock(mu_);
  // Remembered even for a provider not configured (yet): a cluster's shared
  // disable set may name one this instance learns of at its next reload.
  if (disabled) {
    disabled_.insert(name);
  } else {
    disabled_.erase(name);
  }
  auto it = providers_.find(name);
  if (it == providers_.end()) return false;
  it->second->disabled.store(disabled);
  return true;
}

std::vector<std::string> StateRegistry::provider_names() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, p] : providers_) out.push_back(name);
  return out;
}

void StateRegistry::set_shared(SharedSetup shared) {
  std::lock_guard lock(mu_);
  shared_ = shared;
}

void StateRegistry::open_remotely(const std::string& provider, const std::string& capability, SteadyTime now,
                                  Millis open_for, const std::string& reason) {
  std::shared_ptr<RouteState> route;
  {
    std::lock_guard lock(mu_);
    auto it = routes_.find({provider, capability});
    if (it == routes_.end()) return;
    route = it->second;
  }
  route->breaker.open_remotely(now, open_for, reason);
}

void StateRegistry::set_trip_listener(TripListener listener) {
  std::lock_guard lock(mu_);
  trip_listener_ = std::move(listener);
}

void StateRegistry::report_trip(RouteState& route) {
  auto e = route.breaker.take_opened_event();
  if (!e) return;
  TripListener listener;
  {
    std::lock_guard lock(mu_);
    listener = trip_listener_;
  }
  if (listener) listener(route, *e);
}

bool StateRegistry::disabled(const std::string& name) const {
  std::lock_guard lock(mu_);
  return disabled_.count(name) > 0;
}

}  // namespace tollgate::engine
