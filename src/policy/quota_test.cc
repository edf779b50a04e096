#include "policy/quota.h"

#include <gtest/gtest.h>

#include "core/time_format.h"

namespace tollgate::policy {
namespace {

using namespace std::chrono;

WallTime at(const char* rfc3339) { return *parse_rfc3339(rfc3339); }

TEST(Quota, DailyResetsAtMidnightInItsTimeZone) {
  Quota q(2, QuotaPeriod::kDay, hours(8));  // +08:00
  EXPECT_TRUE(q.try_consume(at("2026-11-26T10:00:00Z")));  // 18:00 local
  EXPECT_TRUE(q.try_consume(at("2026-11-26T15:00:00Z")));  // 23:00 local
  EXPECT_FALSE(q.try_consume(at("2026-11-26T15:59:00Z")));
  EXPECT_EQ(q.remaining(at("2026-11-26T15:59:00Z")), 0u);
  // 16:00Z is midnight in +08:00: a new day.
  EXPECT_TRUE(q.try_consume(at("2026-11-26T16:00:00Z")));
  EXPECT_EQ(q.used(at("2026-11-26T16:00:00Z")), 1u);
}

TEST(Quota, MonthlyAndRefund) {
  Quota q(1, QuotaPeriod::kMonth, minutes(0));
  EXPECT_TRUE(q.try_consume(at("2026-11-01T00:00:00Z")));
  EXPECT_FALSE(q.try_consume(at("2026-11-30T23:59:59Z")));
  q.refund(at("2026-11-30T23:59:59Z"));
  EXPECT_TRUE(q.try_consume(at("2026-11-30T23:59:59Z")));
  EXPECT_TRUE(q.try_consume(at("2026-12-01T00:00:00Z")));
}

// A count learned elsewhere (a cluster's) raises this one for its period only.
TEST(Quota, AKnownUsedCountRaisesTheCountForItsPeriodOnly) {
  Quota q(10, QuotaPeriod::kDay, minutes(0));
  const auto day = at("2026-11-26T10:00:00Z");
  EXPECT_TRUE(q.try_consume(day));
  q.raise_used_to(day, 9);
  EXPECT_EQ(q.used(day), 9u);
  q.raise_used_to(day, 4);  // never lowered
  EXPECT_EQ(q.used(day), 9u);
  EXPECT_TRUE(q.try_consume(day));
  EXPECT_FALSE(q.try_consume(day));
  EXPECT_EQ(q.used(at("2026-11-27T00:00:00Z")), 0u) << "a new day starts from zero";
  EXPECT_TRUE(q.try_consume(at("2026-11-27T00:00:00Z")));
}

}  // namespace
}  // namespace tollgate::policy
