#include "core/call.h"

#include <algorithm>

#include "core/encoding.h"
#include "core/random.h"

namespace tollgate {
namespace {

bool lower_hex(std::string_view s, size_t n) {
  return s.size() == n &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool all_zero(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == '0'; });
}

std::string random_hex(size_t digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(digits, '0');
  std::uint64_t v = 0;
  for (size_t i = 0; i < digits; ++i) {
    if (i % 16 == 0) v = random_u64();
    out[i] = kHex[v & 15];
    v >>= 4;
  }
  return out;
}

}  // namespace

std::string_view to_string(Traffic t) {
  switch (t) {
    case Traffic::kLive: return "live";
    case Traffic::kDebug: return "debug";
    case Traffic::kStress: return "stress";
  }
  return "live";
}

std::string TraceContext::header(std::string_view span) const {
  std::string out;
  out.reserve(5 + trace_id.size() + span.size() + flags.size());
  out += "00-";
  out += trace_id;
  out.push_back('-');
  out += span;
  out.push_back('-');
  out += flags;
  return out;
}

std::optional<TraceContext> parse_traceparent(std::string_view h) {
  h = trim(h);
  // version-traceid-parentid-flags: 2-32-16-2 hex digits.
  if (h.size() < 55 || h[2] != '-' || h[35] != '-' || h[52] != '-') return std::nullopt;
  const auto version = h.substr(0, 2);
  if (!lower_hex(version, 2) || version == "ff") return std::nullopt;
  if (version == "00" && h.size() != 55) return std::nullopt;
  if (h.size() > 55 && h[55] != '-') return std::nullopt;
  TraceContext t;
  t.trace_id = std::string(h.substr(3, 32));
  t.parent_id = std::string(h.substr(36, 16));
  t.flags = std::string(h.substr(53, 2));
  if (!lower_hex(t.trace_id, 32) || all_zero(t.trace_id) || !lower_hex(t.parent_id, 16) ||
      all_zero(t.parent_id) || !lower_hex(t.flags, 2)) {
    return std::nullopt;
  }
  return t;
}

TraceContext start_trace(const std::optional<TraceContext>& parent) {
  TraceContext t;
  if (parent) {
    t = *parent;
  } else {
    t.trace_id = random_hex(32);
  }
  t.span_id = random_hex(16);
  return t;
}

}  // namespace tollgate
