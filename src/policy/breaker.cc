#include "policy/breaker.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/random.h"

namespace tollgate::policy {
namespace {

std::string percent(double r) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.0f%%", r * 100);
  return buf;
}

}  // namespace

std::string_view to_string(BreakerState s) {
  switch (s) {
    case BreakerState::kClosed: return "closed";
    case BreakerState::kOpen: return "open";
    case BreakerState::kHalfOpen: return "half_open";
  }
  return "closed";
}

Breaker::Breaker(BreakerConfig cfg, Millis slow_call, std::function<double()> unit_random)
    : cfg_(cfg), slow_call_(slow_call), unit_random_(unit_random ? std::move(unit_random) : std::function<double()>(random_unit)) {}

void Breaker::refresh_locked(SteadyTime now) {
  if (state_ == BreakerState::kOpen && now >= open_until_) {
    state_ = BreakerState::kHalfOpen;
    probe_successes_ = probe_failures_ = 0;
  }
  // A calm closed period forgets past trips, so the next outage starts short again.
  if (state_ == BreakerState::kClosed && trips_ > 0 && now - closed_at_ > cfg_.open_max * 2) trips_ = 0;
}

bool Breaker::should_trip_locked(const HealthSnapshot& h, std::string& reason, Millis& ceiling) const {
  ceiling = Millis(0);
  if (cfg_.consecutive_failures > 0 && consecutive_failures_ >= cfg_.consecutive_failures) {
    reason = std::to_string(consecutive_failures_) + " consecutive failures";
    return true;
  }
  // The window still holds what happened before the last close.
  if (awaiting_reset_ || h.generation < min_generation_) return false;
  // Hung: most calls in flight right now are already slow. Judged on the calls in
  // flight alone, so a long healthy history in the window cannot mask it.
  if (cfg_.min_hung_calls > 0 && h.in_flight_slow >= static_cast<std::uint64_t>(cfg_.min_hung_calls) &&
      static_cast<double>(h.in_flight_slow) >= cfg_.slow_rate * static_cast<double>(h.in_flight)) {
    ceiling = slow_call_;
    reason = std::to_string(h.in_flight_slow) + " of " + std::to_string(h.in_flight) +
             " calls in flight are past the slow threshold (hung)";
    return true;
  }
  const auto n = h.calls() + h.in_flight_slow;
  if (n >= static_cast<std::uint64_t>(cfg_.min_calls)) {
    if (h.calls() >= static_cast<std::uint64_t>(cfg_.min_calls) && h.failure_rate() >= cfg_.failure_rate) {
      reason = "failure rate " + percent(h.failure_rate()) + " >= " + percent(cfg_.failure_rate);
      return true;
    }
    if (h.calls() >= static_cast<std::uint64_t>(cfg_.min_calls) && h.timeout_rate() >= cfg_.timeout_rate) {
      reason = "timeout rate " + percent(h.timeout_rate()) + " >= " + percent(cfg_.timeout_rate);
      return true;
    }
    if (h.slow_rate() >= cfg_.slow_rate) {
      ceiling = slow_call_;
      reason = "slow-call rate " + percent(h.slow_rate()) + " >= " + percent(cfg_.slow_rate) + " (" +
               std::to_string(h.in_flight_slow) + " slow calls still in flight)";
      return true;
    }
  }
  if (cfg_.drift_factor > 0 && h.latency.total() >= static_cast<std::uint64_t>(cfg_.min_calls) &&
      h.baseline.total() >= static_cast<std::uint64_t>(cfg_.drift_min_samples)) {
    const auto recent = h.latency.quantile(0.9);
    const auto base = h.baseline.quantile(0.9);
    if (base.count() > 0 && static_cast<double>(recent.count()) > cfg_.drift_factor * static_cast<double>(base.count())) {
      ceiling = std::chrono::duration_cast<Millis>(base * cfg_.drift_factor);
      reason = "latency drift: p90 " + std::to_string(recent.count() / 1000) + "ms > " +
               std::to_string(cfg_.drift_factor).substr(0, 4) + " x baseline " + std::to_string(base.count() / 1000) + "ms";
      return true;
    }
  }
  return false;
}

void Breaker::trip_locked(SteadyTime now, std::string reason) {
  state_ = BreakerState::kOpen;
  ever_tripped_ = true;
  ++trips_;
  ++total_trips_;
  const int doublings = std::min(trips_ - 1, 30);
  double ms = std::min<double>(static_cast<double>(cfg_.open_max.count()),
                               static_cast<double>(cfg_.open_base.count()) * std::pow(2.0, doublings));
  ms *= 1.0 + cfg_.open_jitter * (2.0 * unit_random_() - 1.0);
  const Millis scheduled(static_cast<long long>(std::max(1.0, ms)));
  // Gated: a passing health check half-opens it; open_max bounds the wait for one.
  open_until_ = now + (cfg_.gated_by_checks ? std::max(scheduled, cfg_.open_max) : scheduled);
  probe_successes_ = probe_failures_ = 0;
  consecutive_failures_ = 0;
  last_reason_ = std::move(reason);
  // Other instances hear the usual schedule: their own checks (or timers) judge.
  opened_event_ = OpenedEvent{scheduled, last_reason_};
}

bool Breaker::on_health_check(SteadyTime now, bool healthy) {
  std::lock_guard lock(mu_);
  refresh_locked(now);
  if (!healthy) return false;
  if (state_ == BreakerState::kHalfOpen && probes_in_flight_ >= cfg_.half_open_probes) {
    // Every probe slot is held by a probe sent before the provider proved healthy
    // (into a hang, typically): forget them, so probes sent now can judge it. Their
    // late results are recognised by their start time and ignored.
    probes_forgotten_at_ = now;
    probes_in_flight_ = 0;
    probe_successes_ = probe_failures_ = 0;
    return true;
  }
  if (state_ != BreakerState::kOpen) return false;
  open_until_ = now;
  refresh_locked(now);
  return true;
}

std::optional<Breaker::OpenedEvent> Breaker::take_opened_event() {
  std::lock_guard lock(mu_);
  auto e = std::move(opened_event_);
  opened_event_.reset();
  return e;
}

void Breaker::trip(SteadyTime now, std::string reason) {
  std::lock_guard lock(mu_);
  refresh_locked(now);
  if (state_ == BreakerState::kOpen) return;
  trip_locked(now, std::move(reason));
}

void Breaker::open_remotely(SteadyTime now, Millis open_for, std::string reason) {
  std::lock_guard lock(mu_);
  refresh_locked(now);
  if (state_ == BreakerState::kOpen || open_for.count() <= 0) return;
  state_ = BreakerState::kOpen;
  ever_tripped_ = true;
  open_until_ = now + open_for;
  probe_successes_ = probe_failures_ = 0;
  consecutive_failures_ = 0;
  last_reason_ = std::move(reason);
  ++total_trips_;
}

void Breaker::close_locked(SteadyTime now) {
  state_ = BreakerState::kClosed;
  closed_at_ = now;
  consecutive_failures_ = 0;
  closed_event_ = true;
  awaiting_reset_ = true;
}

void Breaker::window_reset(std::uint64_t generation) {
  std::lock_guard lock(mu_);
  awaiting_reset_ = false;
  min_generation_ = std::max(min_generation_, generation);
}

bool Breaker::probe_due(SteadyTime now) const {
  std::lock_guard lock(mu_);
  const bool half_open = state_ == BreakerState::kHalfOpen || (state_ == BreakerState::kOpen && now >= open_until_);
  if (!half_open || probes_in_flight_ > 0) return false;
  const Millis spacing = std::max(Millis(50), cfg_.open_base / 4);
  return last_probe_ == SteadyTime{} || now - last_probe_ >= spacing;
}

std::string Breaker::refusal(SteadyTime now) const {
  std::lock_guard lock(mu_);
  const bool open = state_ == BreakerState::kOpen && now < open_until_;
  if (open) return "circuit open";
  return "circuit half-open (" + std::to_string(probes_in_flight_) + " probes in flight)";
}

Admission Breaker::admit(SteadyTime now, const HealthSnapshot& health) {
  std::lock_guard lock(mu_);
  refresh_locked(now);
  switch (state_) {
    case BreakerState::kClosed: {
      std::string reason;
      Millis ceiling;
      if (should_trip_locked(health, reason, ceiling)) {
        probe_ceiling_ = ceiling;
        trip_locked(now, std::move(reason));
        return {};
      }
      return {true, false};
    }
    case BreakerState::kOpen:
      return {};
    case BreakerState::kHalfOpen:
      if (probes_in_flight_ < cfg_.half_open_probes) {
        ++probes_in_flight_;
        last_probe_ = now;
        return {true, true};
      }
      return {};
  }
  return {};
}

Admission Breaker::force_probe(SteadyTime now) {
  std::lock_guard lock(mu_);
  refresh_locked(now);
  if (state_ == BreakerState::kClosed) return {true, false};
  if (probes_in_flight_ > 0 ||
      (last_forced_probe_ != SteadyTime{} && now - last_forced_probe_ < forced_probe_spacing())) {
    return {};
  }
  last_forced_probe_ = now;
  last_probe_ = now;
  ++probes_in_flight_;
  return {true, true};
}

Millis Breaker::forced_probe_spacing() const { return std::max(Millis(50), cfg_.open_base / 4); }

void Breaker::release_probe() {
  std::lock_guard lock(mu_);
  if (probes_in_flight_ > 0) --probes_in_flight_;
}

void Breaker::on_result(SteadyTime now, bool probe, Verdict v, Millis latency, const HealthSnapshot& health) {
  std::lock_guard lock(mu_);
  refresh_locked(now);
  if (probe && v == Verdict::kSuccess && probe_ceiling_.count() > 0 && latency > probe_ceiling_) {
    v = Verdict::kFailure;  // answered, but as slowly as what tripped the breaker
  }
  const bool failed = v == Verdict::kFailure || v == Verdict::kTimeout;
  if (v == Verdict::kSuccess) consecutive_failures_ = 0;
  if (failed) ++consecutive_failures_;
  if (probe) {
    if (probes_forgotten_at_ != SteadyTime{} && now - latency < probes_forgotten_at_) {
      return;  // sent before a health check freed its slot: it no longer counts
    }
    if (probes_in_flight_ > 0) --probes_in_flight_;
    if (state_ == BreakerState::kOpen) {
      // A forced probe while every breaker is open: success lets more probes in.
      if (v == Verdict::kSuccess) {
        state_ = BreakerState::kHalfOpen;
        probe_successes_ = 1;
        probe_failures_ = 0;
      }
      return;
    }
    if (state_ != BreakerState::kHalfOpen) return;
    if (v == Verdict::kSuccess) ++probe_successes_;
    if (failed) ++probe_failures_;
    const int allowed_failures =
        static_cast<int>(std::floor((1.0 - cfg_.probe_success_ratio) * cfg_.half_open_probes + 1e-9));
    if (probe_failures_ > allowed_failures) {
      trip_locked(now, probe_ceiling_.count() > 0 && v == Verdict::kFailure && latency > probe_ceiling_
                           ? "probe too slow while half-open"
                           : "probe failed while half-open");
    } else if (probe_successes_ + probe_failures_ >= cfg_.half_open_probes) {
      close_locked(now);
    }
    return;
  }
  if (state_ == BreakerState::kClosed && failed) {
    std::string reason;
    Millis ceiling;
    if (should_trip_locked(health, reason, ceiling)) {
      probe_ceiling_ = ceiling;
      trip_locked(now, std::move(reason));
    }
  }
}

void Breaker::evaluate(SteadyTime now, const HealthSnapshot& health) {
  std::lock_guard lock(mu_);
  refresh_locked(now);
  if (state_ != BreakerState::kClosed) return;
  std::string reason;
  Millis ceiling;
  if (should_trip_locked(health, reason, ceiling)) {
    probe_ceiling_ = ceiling;
    trip_locked(now, std::move(reason));
  }
}

BreakerState Breaker::state(SteadyTime now) const {
  std::lock_guard lock(mu_);
  if (state_ == BreakerState::kOpen && now >= open_until_) return BreakerState::kHalfOpen;
  return state_;
}

double Breaker::ramp(SteadyTime now) const {
  std::lock_guard lock(mu_);
  if (state_ != BreakerState::kClosed || !ever_tripped_ || cfg_.slow_start.count() <= 0) return 1.0;
  // Linear from ramp_from (10%, or where a proven recovery starts) to 100%.
  const double r = std::clamp(std::chrono::duration<double>(now - closed_at_) / cfg_.slow_start, 0.0, 1.0);
  const double from = std::clamp(cfg_.ramp_from, 0.1, 1.0);
  return from + (1.0 - from) * r;
}

SteadyTime Breaker::next_probe_at(SteadyTime now) const {
  std::lock_guard lock(mu_);
  return state_ == BreakerState::kOpen && open_until_ > now ? open_until_ : now;
}

BreakerInfo Breaker::info(SteadyTime now) const {
  BreakerInfo i;
  i.state = state(now);
  i.ramp = ramp(now);
  std::lock_guard lock(mu_);
  i.trips = trips_;
  i.total_trips = total_trips_;
  i.last_reason = last_reason_;
  i.consecutive_failures = consecutive_failures_;
  if (i.state == BreakerState::kOpen) i.open_for = std::chrono::duration_cast<Millis>(open_until_ - now);
  return i;
}

bool Breaker::take_closed_event() {
  std::lock_guard lock(mu_);
  const bool e = closed_event_;
  closed_event_ = false;
  return e;
}

}  // namespace tollgate::policy
