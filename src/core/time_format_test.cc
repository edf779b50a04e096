#include "core/time_format.h"

#include <gtest/gtest.h>

namespace tollgate {
namespace {

using namespace std::chrono;

TEST(TimeFormat, FormatsUtc) {
  const WallTime t{seconds(1764162500)};  // 2025-11-26T13:08:20Z
  EXPECT_EQ(format_iso8601(t), "2025-11-26T13:08:20Z");
  EXPECT_EQ(format_iso8601_ms(t + milliseconds(7)), "2025-11-26T13:08:20.007Z");
}

TEST(TimeFormat, ParsesRfc3339WithOffsets) {
  const auto a = parse_rfc3339("2025-11-26T13:08:20Z");
  ASSERT_TRUE(a);
  EXPECT_EQ(unix_seconds(*a), 1764162500);
  const auto b = parse_rfc3339("2025-11-26T21:08:20+08:00");
  ASSERT_TRUE(b);
  EXPECT_EQ(*a, *b);
  const auto c = parse_rfc3339("2025-11-26T13:08:20.250Z");
  ASSERT_TRUE(c);
  EXPECT_EQ(unix_millis(*c), 1764162500250);
}

TEST(TimeFormat, RejectsMalformed) {
  EXPECT_FALSE(parse_rfc3339("tomorrow"));
  EXPECT_FALSE(parse_rfc3339("2025-13-26T13:08:20Z"));
  EXPECT_FALSE(parse_rfc3339("2025-02-30T13:08:20Z"));
  EXPECT_FALSE(parse_rfc3339("2025-11-26T13:08:20"));
  EXPECT_FALSE(parse_rfc3339("2025-11-26T13:08:20Zjunk"));
}

}  // namespace
}  // namespace tollgate
