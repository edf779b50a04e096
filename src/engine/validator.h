#pragma once
// Checks a call's params against its capability's declared params. Pure; any
// thread. Messages name the param and the rule, never the value (params may be
// phone numbers or ID numbers).

#include <boost/json/object.hpp>

#include "config/config.h"
#include "core/result.h"

namespace tollgate::engine {

Result<void> validate_params(const config::CapabilityConfig& cap, const boost::json::object& params);

}  // namespace tollgate::engine
