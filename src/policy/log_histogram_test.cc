#include "policy/log_histogram.h"

#include <gtest/gtest.h>

namespace tollgate::policy {
namespace {

using std::chrono::microseconds;

TEST(LogHistogram, QuantilesOfAUniformSpread) {
  LogHistogram h;
  for (int ms = 1; ms <= 1000; ++ms) h.add(microseconds(ms * 1000));
  EXPECT_EQ(h.total(), 1000u);
  EXPECT_NEAR(h.quantile(0.5).count() / 1000.0, 500, 500 * 0.08);
  EXPECT_NEAR(h.quantile(0.9).count() / 1000.0, 900, 900 * 0.08);
  EXPECT_NEAR(h.quantile(0.99).count() / 1000.0, 990, 990 * 0.08);
}

TEST(LogHistogram, MergeAndExtremes) {
  LogHistogram a, b;
  a.add(microseconds(50));
  b.add(std::chrono::seconds(1000));
  a.merge(b);
  EXPECT_EQ(a.total(), 2u);
  EXPECT_EQ(LogHistogram::bucket_of(microseconds(0)), 0);
  EXPECT_EQ(LogHistogram::bucket_of(std::chrono::hours(1)), LogHistogram::kBuckets - 1);
  LogHistogram empty;
  EXPECT_EQ(empty.quantile(0.5).count(), 0);
}

}  // namespace
}  // namespace tollgate::policy
