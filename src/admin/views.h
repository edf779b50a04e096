#pragma once
// JSON views of routing state for the admin API (and the dashboard): providers
// with their health, limits, breakers and traffic share. Read-only.

#include <boost/json/object.hpp>

#include "engine/runtime.h"

namespace tollgate::admin {

boost::json::object health_json(const policy::HealthSnapshot& h, const policy::HealthConfig& cfg);
boost::json::object provider_json(const engine::Runtime& rt, const engine::ProviderRuntime& p, SteadyTime now,
                                  WallTime wall);
boost::json::object providers_json(const engine::Runtime& rt, SteadyTime now, WallTime wall);
// Per capability: strategy, and for each candidate provider its breaker, health,
// share, price; and the capability's cost per successful call over the window.
boost::json::object overview_json(const engine::Runtime& rt, SteadyTime now, WallTime wall);

}  // namespace tollgate::admin
