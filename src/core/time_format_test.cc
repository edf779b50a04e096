#include "core/time_format.h"

#include <gtest/gtest.h>

#include <ctime>
#include <random>

namespace tollgate {
namespace {

using namespace std::chrono;

TEST(TimeFormat, FormatsUtc) {
  const WallTime t{seconds(1764162500)};  // 2025-11-26T13:08:20Z
  EXPECT_EQ(format_iso8601(t), "2025-11-26T13:08:20Z");
  EXPECT_EQ(format_iso8601_ms(t + milliseconds(7)), "2025-11-26T13:08:20.007Z");
}

// The digit-by-digit writer against the C library's calendar, over random
// instants from 1900 to 2200, and the edges: before the epoch, the last
// millisecond of a day and of a year, the last instant a WallTime holds.
TEST(TimeFormat, FormatsEveryInstantAsTheCLibraryDoes) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<std::int64_t> ms_dist(-2208988800000, 7258118400000);
  for (int i = 0; i < 20000; ++i) {
    const std::int64_t ms = ms_dist(rng);
    const std::int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    const std::time_t tt = static_cast<std::time_t>(secs);
    std::tm tm{};
    ASSERT_NE(gmtime_r(&tt, &tm), nullptr);
    char want[40];
    std::strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%S", &tm);
    char frac[8];
    std::snprintf(frac, sizeof frac, ".%03dZ", static_cast<int>(ms - secs * 1000));
    const WallTime t{milliseconds(ms)};
    ASSERT_EQ(format_iso8601(t), std::string(want) + "Z") << ms;
    ASSERT_EQ(format_iso8601_ms(t), std::string(want) + frac) << ms;
  }
  EXPECT_EQ(format_iso8601_ms(WallTime{milliseconds(-1)}), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(format_iso8601_ms(WallTime{milliseconds(86'399'999)}), "1970-01-01T23:59:59.999Z");
  EXPECT_EQ(format_iso8601_ms(WallTime{seconds(1'767'225'599) + milliseconds(999)}), "2025-12-31T23:59:59.999Z");
  EXPECT_EQ(format_iso8601_ms(WallTime::max()), "2262-04-11T23:47:16.854Z");
  EXPECT_EQ(format_iso8601(WallTime::min()), "1677-09-21T00:12:43Z");
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
