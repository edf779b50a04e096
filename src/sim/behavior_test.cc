#include "sim/behavior.h"

#include "core/random.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

namespace tollgate::sim {
namespace {

TEST(SimBehavior, LogNormalMatchesMedianAndP99) {
  Latency l{Latency::Kind::kLogNormal, 50, 400};
  std::vector<long> v;
  for (int i = 0; i < 20000; ++i) v.push_back(std::chrono::duration_cast<Millis>(l.sample(random_unit(), random_unit())).count());
  std::sort(v.begin(), v.end());
  EXPECT_NEAR(v[v.size() / 2], 50, 5);
  EXPECT_NEAR(v[v.size() * 99 / 100], 400, 60);
}

TEST(SimBehavior, CountedFaultsRunOut) {
  Behavior b;
  ASSERT_TRUE(b.set(boost::json::parse(R"({"faults":[{"kind":"http_503","count":2}]})")));
  EXPECT_TRUE(b.decide().fault);
  EXPECT_TRUE(b.decide().fault);
  EXPECT_FALSE(b.decide().fault);
}

TEST(SimBehavior, RateIsApproximatelyHonoured) {
  Behavior b;
  ASSERT_TRUE(b.set(boost::json::parse(R"({"faults":[{"kind":"hang","rate":0.3}]})")));
  int faults = 0;
  for (int i = 0; i < 10000; ++i) faults += b.decide().fault ? 1 : 0;
  EXPECT_NEAR(faults / 10000.0, 0.3, 0.03);
}

TEST(SimBehavior, BadSpecChangesNothing) {
  Behavior b;
  ASSERT_TRUE(b.set(boost::json::parse(R"({"latency":{"dist":"fixed","ms":5}})")));
  const std::string before = b.to_json();
  EXPECT_FALSE(b.set(boost::json::parse(R"({"faults":[{"kind":"explode"}]})")));
  EXPECT_FALSE(b.set(boost::json::parse(R"({"latency":{"dist":"lognormal","median_ms":10}})")));
  EXPECT_FALSE(b.set(boost::json::parse(R"({"faults":[{"kind":"hang","rate":2}]})")));
  EXPECT_FALSE(b.set(boost::json::parse(R"({"colour":"red"})")));
  EXPECT_EQ(b.to_json(), before);
}

}  // namespace
}  // namespace tollgate::sim
