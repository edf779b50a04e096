#pragma once
// Export and import of recordings (GET/POST /admin/recordings): carries what
// one gateway learned about providers' latency and outcomes to another, e.g.
// from production to a stress-test environment.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "core/clock.h"
#include "core/error.h"
#include "engine/runtime.h"

namespace tollgate::admin {

// {"version":1,"recordings":[{"provider","capability","samples","recording"}]}
boost::json::object export_recordings(const engine::Runtime& rt, SteadyTime now);
// Validates the whole document against the runtime, then imports it (nothing
// changes on error). Returns how many routes were seeded.
Result<int> import_recordings(const engine::Runtime& rt, const boost::json::value& doc);

}  // namespace tollgate::admin
