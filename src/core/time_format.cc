#include "core/time_format.h"

#include <charconv>
#include <chrono>
#include <type_traits>

namespace tollgate {
namespace {

using namespace std::chrono;

bool parse_fixed(std::string_view s, size_t pos, size_t len, int& out) {
  if (pos + len > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + len; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

}  // namespace

std::int64_t unix_seconds(WallTime t) {
  return duration_cast<seconds>(t.time_since_epoch()).count();
}

std::int64_t unix_millis(WallTime t) {
  return duration_cast<milliseconds>(t.time_since_epoch()).count();
}

namespace {

// "YYYY-MM-DDTHH:MM:SS" of `secs`, written digit by digit (this runs for every
// call log line). A WallTime (64-bit nanoseconds since 1970) spans the years
// 1677 to 2262: the year always has four digits.
void put_date_time(char* p, sys_seconds secs) {
  static_assert(std::is_same_v<WallTime::duration, nanoseconds>, "the year range above assumes nanoseconds");
  const auto day = floor<days>(secs);
  const year_month_day ymd{day};
  const auto year = static_cast<unsigned>(static_cast<int>(ymd.year()));
  const hh_mm_ss hms{secs - day};
  auto put2 = [](char* at, unsigned v) {
    at[0] = static_cast<char>('0' + v / 10);
    at[1] = static_cast<char>('0' + v % 10);
  };
  put2(p, year / 100);
  put2(p + 2, year % 100);
  p[4] = '-';
  put2(p + 5, static_cast<unsigned>(ymd.month()));
  p[7] = '-';
  put2(p + 8, static_cast<unsigned>(ymd.day()));
  p[10] = 'T';
  put2(p + 11, static_cast<unsigned>(hms.hours().count()));
  p[13] = ':';
  put2(p + 14, static_cast<unsigned>(hms.minutes().count()));
  p[16] = ':';
  put2(p + 17, static_cast<unsigned>(hms.seconds().count()));
}

}  // namespace

std::string format_iso8601(WallTime t) {
  char buf[20];
  put_date_time(buf, floor<seconds>(t));
  buf[19] = 'Z';
  return std::string(buf, sizeof buf);
}

std::string format_iso8601_ms(WallTime t) {
  const auto secs = floor<seconds>(t);
  const auto ms = static_cast<unsigned>(duration_cast<milliseconds>(t - secs).count());  // 0..999
  char buf[24];
  put_date_time(buf, secs);
  buf[19] = '.';
  buf[20] = static_cast<char>('0' + ms / 100);
  buf[21] = static_cast<char>('0' + ms / 10 % 10);
  buf[22] = static_cast<char>('0' + ms % 10);
  buf[23] = 'Z';
  return std::string(buf, sizeof buf);
}

std::optional<WallTime> parse_rfc3339(std::string_view s) {
  int y, mo, d, h, mi, se;
  if (s.size() < 20 || !parse_fixed(s, 0, 4, y) || s[4] != '-' || !parse_fixed(s, 5, 2, mo) ||
      s[7] != '-' || !parse_fixed(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't') ||
      !parse_fixed(s, 11, 2, h) || s[13] != ':' || !parse_fixed(s, 14, 2, mi) || s[16] != ':' ||
      !parse_fixed(s, 17, 2, se)) {
    return std::nullopt;
  }
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || se > 60) return std::nullopt;
  size_t pos = 19;
  milliseconds frac{0};
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int digits = 0;
    int ms = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 3) ms = ms * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    for (int i = digits; i < 3; ++i) ms *= 10;
    frac = milliseconds(ms);
  }
  minutes offset{0};
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!parse_fixed(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !parse_fixed(s, pos + 4, 2, om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset = minutes(oh * 60 + om);
    if (s[pos] == '-') offset = -offset;
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  const auto tp = sys_days{ymd} + hours{h} + minutes{mi} + seconds{se} + frac - offset;
  return time_point_cast<WallTime::duration>(tp);
}

}  // namespace tollgate
