#include "policy/quota.h"

#include <algorithm>

namespace tollgate::policy {

using namespace std::chrono;

Quota::Quota(std::uint64_t limit, QuotaPeriod period, minutes utc_offset)
    : limit_(limit), period_(period), offset_(utc_offset) {}

std::int64_t Quota::period_of(WallTime now) const {
  const auto local = floor<days>(now + offset_);
  if (period_ == QuotaPeriod::kDay) return local.time_since_epoch().count();
  const year_month_day ymd{local};
  return static_cast<std::int64_t>(static_cast<int>(ymd.year())) * 12 + static_cast<unsigned>(ymd.month()) - 1;
}

bool Quota::try_consume(WallTime now) {
  const auto p = period_of(now);
  std::lock_guard lock(mu_);
  if (p != current_) {
    current_ = p;
    used_ = 0;
  }
  if (used_ >= limit_) return false;
  ++used_;
  return true;
}

void Quota::refund(WallTime now) {
  const auto p = period_of(now);
  std::lock_guard lock(mu_);
  if (p == current_ && used_ > 0) --used_;
}

void Quota::raise_used_to(WallTime now, std::uint64_t floor) {
  const auto p = period_of(now);
  std::lock_guard lock(mu_);
  if (p != current_) {
    current_ = p;
    used_ = 0;
  }
  used_ = std::max(used_, floor);
}

std::uint64_t Quota::used(WallTime now) const {
  const auto p = period_of(now);
  std::lock_guard lock(mu_);
  return p == current_ ? used_ : 0;
}

}  // namespace tollgate::policy
