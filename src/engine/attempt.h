#pragma once
// One provider attempt, admitted by the planner: render and sign the request,
// send it within the attempt's deadline, decode the answer — and record what it
// says about the provider (health windows, breaker, throttling) and give back
// what admission took (limits, probe slot), whatever happens.

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include "core/call.h"
#include "core/clock.h"
#include "core/timers.h"
#include "core/transport.h"
#include "engine/metrics.h"
#include "engine/planner.h"
#include "engine/runtime.h"

namespace tollgate::engine {

struct AttemptOutcome {
  int index = -1;  // candidate
  bool ok = false;
  boost::json::object result;
  Error error;
  Millis duration{0};
  bool probe = false;
  bool hedge = false;      // started as the second leg of a hedge
  bool cancelled = false;  // lost a hedge race and was abandoned (read from its CancelToken)
};

// A debug or stress attempt (shadow_attempt.cc): never reaches the provider.
boost::asio::awaitable<AttemptOutcome> run_shadow_attempt(const Clock& clock, Timers& timers,
                                                          const CapabilityRuntime& cap, const Call& call,
                                                          Admitted admitted, CancelToken* cancel,
                                                          EngineMetrics* metrics);

boost::asio::awaitable<AttemptOutcome> run_attempt(const Clock& clock, Timers& timers, const CapabilityRuntime& cap,
                                                   const Call& call, int number, Admitted admitted,
                                                   Transport& transport, CancelToken* cancel,
                                                   EngineMetrics* metrics);

}  // namespace tollgate::engine
