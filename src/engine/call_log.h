#pragma once
// The call log: one line per call (JSON or text, per log.format) on the "calls"
// logger: time, id, caller, capability, operation, traffic, outcome, HTTP status,
// error class, provider codes, providers tried, attempts, duration, trace id, and
// the params with those marked sensitive masked. Credentials never appear: the log
// is built from the call, not from the requests sent to providers.

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/call.h"
#include "core/error.h"
#include "engine/engine.h"

namespace tollgate::engine {

struct CallLogEntry {
  // "call" for a caller's request; "job" for a run of a queued call by the
  // runner, "job_resumed" for a job taken over from a process that died.
  std::string_view msg = "call";
  int run = 0;  // jobs: which run this is
  const Call* call = nullptr;
  const config::CapabilityConfig* capability = nullptr;
  std::string_view outcome;  // succeeded | queued | <error class>
  int status = 0;
  const Error* error = nullptr;
  const std::vector<AttemptRecord>* attempts = nullptr;
  Millis duration{0};
};

// Writes the line when the "calls" logger exists and log.calls is on.
void log_call(const CallLogEntry& e);
// JSON lines (default) or key=value text; set once at start.
void set_call_log_json(bool json);

// Masks a sensitive value, keeping just enough to recognise it:
// "+8613812340000" -> "+86138****0000"; short values are fully masked.
std::string mask_value(std::string_view v);

// Appends the params as a JSON object with sensitive ones masked.
void append_masked_params(std::string& out, const boost::json::object& params, const config::CapabilityConfig& cap);

}  // namespace tollgate::engine
