#include "core/formats.h"

#include <gtest/gtest.h>

namespace tollgate {
namespace {

TEST(Formats, E164) {
  EXPECT_TRUE(is_e164("+8613800000000"));
  EXPECT_TRUE(is_e164("+14155550100"));
  EXPECT_FALSE(is_e164("13800000000"));
  EXPECT_FALSE(is_e164("+0123456789"));
  EXPECT_FALSE(is_e164("+1415555010a"));
  EXPECT_FALSE(is_e164("+1234567"));
}

// The examples printed in GB 11643-1999 itself, and the same numbers with their
// check character changed.
TEST(Formats, CnResidentIdChecksItsCheckCharacter) {
  EXPECT_TRUE(is_cn_resident_id("11010519491231002X"));
  EXPECT_TRUE(is_cn_resident_id("11010519491231002x"));
  EXPECT_TRUE(is_cn_resident_id("440524188001010014"));
  EXPECT_FALSE(is_cn_resident_id("110105194912310021"));
  EXPECT_FALSE(is_cn_resident_id("440524188001010015"));
  EXPECT_FALSE(is_cn_resident_id("44052418800101001"));
  EXPECT_FALSE(is_cn_resident_id("4405241880010100140"));
  EXPECT_FALSE(is_cn_resident_id("44052418800101A014"));
}

}  // namespace
}  // namespace tollgate
