#include "policy/health_window.h"

#include <algorithm>

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
  in_flight_.push(last_start_);
  return token;
}

void HealthWindow::finish(std::uint64_t token, SteadyTime now, Verdict v, ErrorClass cls) {
  std::lock_guard lock(mu_);
  const auto started = in_flight_.finish(token);
  if (!started) return;
  const Millis latency = std::chrono::duration_cast<Millis>(now - *started);
  if (token < slow_before_ && token >= reset_before_) --slow_in_flight_;
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
  s.in_flight = in_flight_.running();
  if (!in_flight_.empty()) {
    const auto is_slow = [&](std::uint64_t token) {
      return std::chrono::duration_cast<Millis>(now - in_flight_.start(token)) > cfg_.slow_call;
    };
    // Move the boundary of the slow prefix to this `now`: forward over slots
    // that have become slow, back over ones that are not slow at an earlier now
    // (never below the last reset). Finished slots move it without counting.
    std::uint64_t t = std::max(slow_before_, in_flight_.begin());
    while (t < in_flight_.end() && is_slow(t)) {
      if (in_flight_.is_running(t)) ++slow_in_flight_;
      ++t;
    }
    const std::uint64_t floor = std::max(reset_before_, in_flight_.begin());
    while (t > floor && !is_slow(t - 1)) {
      --t;
      if (in_flight_.is_running(t)) --slow_in_flight_;
    }
    slow_before_ = t;
    s.in_flight_slow = slow_in_flight_;
    s.oldest_in_flight =
        std::max(Millis{0}, std::chrono::duration_cast<Millis>(now - in_flight_.start(in_flight_.begin())));
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

void HealthWindow::InFlight::push(SteadyTime start) {
  if (size_ == ring_.size()) resize(std::max<std::size_t>(16, ring_.size() * 2));
  const std::size_t mask = ring_.size() - 1;
  ring_[(head_ + size_) & mask] = Slot{start, true};
  ++size_;
  ++running_;
}

std::optional<SteadyTime> HealthWindow::InFlight::finish(std::uint64_t token) {
  if (token < base_ || token >= end()) return std::nullopt;
  Slot& s = slot(token);
  if (!s.running) return std::nullopt;
  s.running = false;
  --running_;
  const SteadyTime started = s.start;
  // Drop the finished calls at the front: the oldest slot is always running.
  const std::size_t mask = ring_.size() - 1;
  while (size_ > 0 && !ring_[head_].running) {
    head_ = (head_ + 1) & mask;
    --size_;
    ++base_;
  }
  if (ring_.size() > 64 && size_ * 8 < ring_.size()) resize(ring_.size() / 2);
  return started;
}

void HealthWindow::InFlight::resize(std::size_t capacity) {
  std::vector<Slot> ring(capacity);
  for (std::size_t i = 0; i < size_; ++i) ring[i] = ring_[(head_ + i) & (ring_.size() - 1)];
  ring_ = std::move(ring);
  head_ = 0;
}

}  // namespace tollgate::policy
