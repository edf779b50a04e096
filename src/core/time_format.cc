#include "core/time_format.h"

#include <charconv>
#include <chrono>
#include <cstdio>

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

std::string format_iso8601(WallTime t) {
  const auto secs = floor<seconds>(t);
  const auto day = floor<days>(secs);
  const year_month_day ymd{day};
  const hh_mm_ss hms{secs - day};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

std::string format_iso8601_ms(WallTime t) {
  std::string s = format_iso8601(t);
  const auto ms = unix_millis(t) % 1000;
  char buf[8];
  std::snprintf(buf, sizeof buf, ".%03d", static_cast<int>(ms < 0 ? ms + 1000 : ms));
  s.insert(s.size() - 1, buf);
  return s;
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
