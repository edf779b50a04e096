#include "core/random.h"

#include <gtest/gtest.h>

#include <set>

namespace tollgate {
namespace {

TEST(Random, CallIdsAreUniqueAndTimeOrdered) {
  std::set<std::string> seen;
  std::string prev;
  for (std::uint64_t ms = 1700000000000; ms < 1700000000000 + 500; ++ms) {
    const std::string id = new_call_id(ms);
    ASSERT_EQ(id.size(), 26u);
    EXPECT_LT(prev, id);
    EXPECT_TRUE(seen.insert(id).second);
    prev = id;
  }
}

TEST(Random, CallIdFloorSortsBelowEveryIdOfThatMillisecond) {
  const std::uint64_t ms = 1764162500123;
  const std::string floor = call_id_floor(ms);
  for (int i = 0; i < 100; ++i) {
    EXPECT_LE(floor, new_call_id(ms));
    EXPECT_GT(floor, new_call_id(ms - 1));
  }
  EXPECT_EQ(floor.substr(10), std::string(16, '0'));
}

TEST(Random, CallIdUsesCrockfordAlphabet) {
  const std::string id = new_call_id(1700000000000);
  EXPECT_EQ(id.find_first_not_of("0123456789ABCDEFGHJKMNPQRSTVWXYZ"), std::string::npos);
}

TEST(Random, NoncesAreHexAndDistinct) {
  const auto a = new_nonce();
  const auto b = new_nonce();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
}

TEST(Random, UnitIntervalBounds) {
  for (int i = 0; i < 10000; ++i) {
    const double u = random_unit();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
  }
}

}  // namespace
}  // namespace tollgate
