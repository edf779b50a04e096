#pragma once
// Call: one request from an internal caller to a capability, as the engine carries
// it through validation, planning and attempts. Owned by the coroutine handling
// the call; never shared between threads while in flight.

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "core/deadline.h"

namespace tollgate {

// Live calls reach providers; debug and stress calls never do (docs/api.md).
enum class Traffic { kLive, kDebug, kStress };
std::string_view to_string(Traffic t);

// W3C trace context of a call: the caller's (from `traceparent`) or a new one.
struct TraceContext {
  std::string trace_id;  // 32 lower-case hex digits
  std::string parent_id; // the caller's span (16 hex), empty when tollgate started the trace
  std::string span_id;   // tollgate's span for this call (16 hex)
  std::string flags = "01";
  // "00-<trace_id>-<span>-<flags>" for a child span `span`.
  std::string header(std::string_view span) const;
};

// Parses a `traceparent` header; nullopt when absent or malformed (W3C Trace
// Context level 1: version 00 layout, non-zero ids, lower-case hex).
std::optional<TraceContext> parse_traceparent(std::string_view header);
// A new trace (random ids), or a child of `parent` when given.
TraceContext start_trace(const std::optional<TraceContext>& parent);

struct Call {
  std::string id;          // tollgate's id for the call (also the provider dedupe id)
  std::string caller;      // caller name from config
  std::string capability;  // "sms.send"
  boost::json::object params;
  Deadline deadline;
  WallTime received_at{};
  Traffic traffic = Traffic::kLive;
  TraceContext trace;
};

}  // namespace tollgate
