#include "policy/retry_budget.h"

namespace tollgate::policy {
namespace {
constexpr int kBuckets = 10;
}

RetryBudget::RetryBudget(RetryBudgetConfig cfg)
    : cfg_(cfg), bucket_width_(std::max<Millis>(Millis(1), cfg.window / kBuckets)), buckets_(kBuckets) {}

RetryBudget::Bucket& RetryBudget::bucket_locked(SteadyTime now) {
  const std::int64_t epoch = std::chrono::duration_cast<Millis>(now.time_since_epoch()).count() / bucket_width_.count();
  Bucket& b = buckets_[static_cast<size_t>(epoch % kBuckets)];
  if (b.epoch != epoch) b = Bucket{epoch};
  return b;
}

RetryBudget::Usage RetryBudget::usage_locked(SteadyTime now) const {
  const std::int64_t current = std::chrono::duration_cast<Millis>(now.time_since_epoch()).count() / bucket_width_.count();
  Usage u;
  for (const auto& b : buckets_) {
    if (b.epoch < 0 || b.epoch <= current - kBuckets || b.epoch > current) continue;
    u.calls += b.calls;
    u.retries += b.retries;
  }
  u.allowed = cfg_.ratio * static_cast<double>(u.calls) +
              cfg_.min_per_second * std::chrono::duration<double>(cfg_.window).count();
  return u;
}

void RetryBudget::on_call(SteadyTime now) {
  std::lock_guard lock(mu_);
  ++bucket_locked(now).calls;
}

bool RetryBudget::try_spend(SteadyTime now) {
  std::lock_guard lock(mu_);
  const Usage u = usage_locked(now);
  if (static_cast<double>(u.retries) + 1 > u.allowed) return false;
  ++bucket_locked(now).retries;
  return true;
}

RetryBudget::Usage RetryBudget::usage(SteadyTime now) const {
  std::lock_guard lock(mu_);
  return usage_locked(now);
}

}  // namespace tollgate::policy
