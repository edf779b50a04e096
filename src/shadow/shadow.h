#pragma once
// Shadow answers: how a debug or stress call's attempt is answered without ever
// contacting the provider.
//   debug:  at once, success, result fields "debug-<call id>";
//   stress: after a delay sampled from the provider's recorded latency, with an
//           outcome sampled from its recorded mix (or, until enough is recorded,
//           from its configured latency model, always succeeding), result fields
//           "stress-<call id>".
// Pure apart from the random draws it takes.

#include <boost/json/object.hpp>

#include <string>
#include <vector>

#include "core/call.h"
#include "core/clock.h"
#include "core/error.h"
#include "policy/latency_model.h"
#include "shadow/recorder.h"

namespace tollgate::shadow {

struct Answer {
  Micros delay{0};
  bool ok = true;
  ErrorClass cls = ErrorClass::kInternal;
  bool recorded = false;  // sampled from a recording (not the configured model)
};

// Draws the answer for one attempt of a debug or stress call.
Answer decide(Traffic traffic, const Recorder& recorder, const policy::LatencyModel& fallback,
              std::uint64_t min_samples, SteadyTime now);

// The unified result of a successful shadow attempt: every result field of the
// provider's mapping, marked with the traffic class.
boost::json::object synthesize_result(Traffic traffic, const std::vector<std::string>& fields,
                                      std::string_view call_id);

}  // namespace tollgate::shadow
