#include "policy/health_window.h"

#include <algorithm>
#include <iterator>

namespace tollgate::policy {
namespace {

std::int64_t epoch_of(SteadyTime t, Millis width) {
  return std::chrono::duration_cast<Millis>(t.time_since_epoch()).count() / width.count();
}

}  // namespace

Verdict verdict_for(bool ok, ErrorClass cls) {
  if (ok) return Verdict::kSuccess;
  switch (cls) {
    case ErrorClass::kTimeout: return Verdict::kTimeout;
    case ErrorClass::kRateLimited: return Verdict::kThrottled;
    default: return is_provider_fault(cls) ? Verdict::kFailure : Verdict::kNeutral;
  }
}

HealthWindow::HealthWindow(HealthConfig cfg)
    : cfg_(cfg), recent_(static_cast<size_t>(cfg.buckets)), baseline_(static_cast<size_t>(cfg.baseline_buckets)) {}

std::uint64_t HealthWindow::start(SteadyTime now) {
  std::lock_guard lock(mu_);
  const std::uint64_t token = next_token_++;
  last_start_ = std::max(last_start_, now);
  in_flight_.emplace_hint(in_flight_.end(), token, last_start_);
  return token;
}

void HealthWindow::finish(std::uint64_t token, SteadyTime now, Verdict v, ErrorClass cls) {
  std::lock_guard lock(mu_);
  auto it = in_flight_.find(token);
  if (it == in_flight_.end()) return;
  const Millis latency = std::chrono::duration_cast<Millis>(now - it->second);
  if (token < slow_before_ && token >= reset_before_) --slow_in_flight_;
  in_flight_.erase(it);
  if (token < reset_before_) return;  // started before the last reset: no evidence now
  add_locked(now, v, latency, cls);
}

void HealthWindow::record(SteadyTime now, Verdict v, Millis latency, ErrorClass cls) {
  std::lock_guard lock(mu_);
  add_locked(now, v, latency, cls);
}

HealthWindow::Bucket& HealthWindow::bucket_locked(SteadyTime now) {
  const std::int64_t epoch = epoch_of(now, cfg_.bucket);
  Bucket& b = recent_[static_cast<size_t>(epoch % cfg_.buckets)];
  if (b.epoch != epoch) b = Bucket{epoch};
  return b;
}

void HealthWindow::add_locked(SteadyTime now, Verdict v, Millis latency, ErrorClass cls) {
  if (v == Verdict::kNeutral) return;
  Bucket& b = bucket_locked(now);
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(latency);
  switch (v) {
    case Verdict::kSuccess: ++b.successes; break;
    case Verdict::kFailure: ++b.failures; break;
    case Verdict::kTimeout: ++b.timeouts; break;
    case Verdict::kThrottled: ++b.throttled; break;
    case Verdict::kNeutral: break;
  }
  if (v != Verdict::kSuccess) ++b.by_class[static_cast<size_t>(cls)];
  if (v == Verdict::kThrottled) return;  // a quick "slow down" says nothing of latency
  if (latency > cfg_.slow_call) ++b.slow;
  b.latency.add(us);
  const std::int64_t be = epoch_of(now, cfg_.baseline_bucket);
  BaselineBucket& bb = baseline_[static_cast<size_t>(be % cfg_.baseline_buckets)];
  if (bb.epoch != be) bb = BaselineBucket{be};
  bb.latency.add(us);
  const double ms = static_cast<double>(us.count()) / 1000.0;
  ewma_ms_ = ewma_set_ ? cfg_.ewma_alpha * ms + (1 - cfg_.ewma_alpha) * ewma_ms_ : ms;
  ewma_set_ = true;
}

HealthSnapshot HealthWindow::snapshot(SteadyTime now, bool with_latency) const {
  HealthSnapshot s;
  std::lock_guard lock(mu_);
  s.generation = generation_;
  const std::int64_t current = epoch_of(now, cfg_.bucket);
  for (const auto& b : recent_) {
    if (b.epoch < 0 || b.epoch <= current - cfg_.buckets || b.epoch > current) continue;
    s.successes += b.successes;
    s.failures += b.failures;
    s.timeouts += b.timeouts;
    s.throttled += b.throttled;
    s.slow += b.slow;
    for (int i = 0; i < kErrorClassCount; ++i) s.by_class[i] += b.by_class[i];
    if (with_latency) s.latency.merge(b.latency);
  }
  if (with_latency) {
    const std::int64_t bcurrent = epoch_of(now, cfg_.baseline_bucket);
    for (const auto& b : baseline_) {
      if (b.epoch < 0 || b.epoch <= bcurrent - cfg_.baseline_buckets || b.epoch > bcurrent) continue;
      s.baseline.merge(b.latency);
    }
  }
  s.in_flight = in_flight_.size();
  if (!in_flight_.empty()) {
    const auto is_slow = [&](SteadyTime started) {
      return std::chrono::duration_cast<Millis>(now - started) > cfg_.slow_call;
    };
    // Move the boundary of the slow prefix to this `now`: forward over calls
    // that have become slow, back over ones that are not slow at an earlier now.
    auto it = in_flight_.lower_bound(slow_before_);
    while (it != in_flight_.end() && is_slow(it->second)) {
      ++slow_in_flight_;
      slow_before_ = it->first + 1;
      ++it;
    }
    while (it != in_flight_.begin()) {
      auto prev = std::prev(it);
      if (prev->first < reset_before_ || is_slow(prev->second)) break;
      --slow_in_flight_;
      slow_before_ = prev->first;
      it = prev;
    }
    s.in_flight_slow = slow_in_flight_;
    s.oldest_in_flight = std::max(Millis{0}, std::chrono::duration_cast<Millis>(now - in_flight_.begin()->second));
  }
  s.ewma_ms = ewma_ms_;
  return s;
}

std::uint64_t HealthWindow::reset_recent() {
  std::lock_guard lock(mu_);
  for (auto& b : recent_) b = Bucket{};
  reset_before_ = next_token_;
  slow_before_ = next_token_;
  slow_in_flight_ = 0;
  return ++generation_;
}

}  // namespace tollgate::policy
