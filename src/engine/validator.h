#pragma once
// Checks a call's params against its capability's declared params. Pure; any
// thread. Messages name the param and the rule, never the value (params may be
// phone numbers or ID numbers).

#include <boost/json/object.hpp>

#include "config/config.h"
#include "core/result.h"

namespace tollgate::engine {

// A caller's request body as params: a JSON object (bad_request otherwise), with
// no number that overflows to infinity at any depth (invalid_request: such a
// value cannot be stored or sent as JSON). Its memory comes from `sp`.
Result<boost::json::object> parse_params(std::string_view body, boost::json::storage_ptr sp = {});
// Whether `v` holds a non-finite number anywhere inside.
bool has_non_finite(const boost::json::value& v);

Result<void> validate_params(const config::CapabilityConfig& cap, const boost::json::object& params);

}  // namespace tollgate::engine
