#include "engine/validator.h"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/formats.h"

namespace tollgate::engine {
namespace {

using config::ParamType;

Error invalid(const std::string& name, std::string_view rule) {
  return Error::make(ErrorClass::kInvalidRequest, "param '" + name + "' " + std::string(rule));
}

bool type_matches(ParamType t, const boost::json::value& v) {
  switch (t) {
    case ParamType::kString: return v.is_string();
    case ParamType::kInteger:
      return v.is_int64() || v.is_uint64() || (v.is_double() && std::floor(v.get_double()) == v.get_double());
    case ParamType::kNumber: return v.is_number();
    case ParamType::kBoolean: return v.is_bool();
    case ParamType::kObject: return v.is_object();
    case ParamType::kArray: return v.is_array();
  }
  return false;
}

double as_double(const boost::json::value& v) {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  return v.get_double();
}

}  // namespace

bool has_non_finite(const boost::json::value& v) {
  // Recursion is bounded: every JSON value here was parsed with Boost.JSON's
  // depth limit (32).
  switch (v.kind()) {
    case boost::json::kind::double_:
      return !std::isfinite(v.get_double());
    case boost::json::kind::object:
      for (const auto& kv : v.get_object()) {
        if (has_non_finite(kv.value())) return true;
      }
      return false;
    case boost::json::kind::array:
      for (const auto& item : v.get_array()) {
        if (has_non_finite(item)) return true;
      }
      return false;
    default:
      return false;
  }
}

Result<boost::json::object> parse_params(std::string_view body, boost::json::storage_ptr sp) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec, std::move(sp));
  if (ec) return Error::make(ErrorClass::kBadRequest, "request body is not valid JSON");
  if (!v.is_object()) return Error::make(ErrorClass::kBadRequest, "request body must be a JSON object of params");
  if (has_non_finite(v)) {
    return Error::make(ErrorClass::kInvalidRequest, "a number in the request is too large to represent");
  }
  return std::move(v.get_object());
}

Result<void> validate_params(const config::CapabilityConfig& cap, const boost::json::object& params) {
  for (const auto& kv : params) {
    if (!cap.param(kv.key())) {
      return Error::make(ErrorClass::kInvalidRequest,
                         "unknown param '" + std::string(kv.key()) + "' for " + cap.name);
    }
  }
  for (const auto& kv : params) {
    if (has_non_finite(kv.value())) return invalid(std::string(kv.key()), "is a number too large to represent");
  }
  for (const auto& spec : cap.params) {
    const auto* v = params.if_contains(spec.name);
    if (!v || v->is_null()) {
      if (spec.required) return invalid(spec.name, "is required");
      continue;
    }
    if (!type_matches(spec.type, *v)) {
      return invalid(spec.name, "must be " + std::string(spec.type == ParamType::kInteger ? "an " : "a ") +
                                    std::string(config::to_string(spec.type)));
    }
    if (spec.type == ParamType::kString) {
      const auto& s = v->get_string();
      if (spec.min_length && s.size() < *spec.min_length) {
        return invalid(spec.name, "must be at least " + std::to_string(*spec.min_length) + " bytes long");
      }
      if (spec.max_length && s.size() > *spec.max_length) {
        return invalid(spec.name, "must be at most " + std::to_string(*spec.max_length) + " bytes long");
      }
      if (spec.format == config::ParamFormat::kE164 && !is_e164(s)) {
        return invalid(spec.name, "must be an E.164 phone number: '+' and 8 to 15 digits");
      }
      if (spec.format == config::ParamFormat::kCnResidentId && !is_cn_resident_id(s)) {
        return invalid(spec.name, "must be a resident identity number: 17 digits and a valid check character");
      }
      if (!spec.one_of.empty() &&
          std::find(spec.one_of.begin(), spec.one_of.end(), std::string_view(s)) == spec.one_of.end()) {
        std::string list;
        for (const auto& o : spec.one_of) list += (list.empty() ? "" : ", ") + o;
        return invalid(spec.name, "must be one of: " + list);
      }
    }
    if (spec.type == ParamType::kInteger || spec.type == ParamType::kNumber) {
      const double d = as_double(*v);
      if (spec.minimum && d < *spec.minimum) return invalid(spec.name, "is below its minimum");
      if (spec.maximum && d > *spec.maximum) return invalid(spec.name, "is above its maximum");
    }
  }
  return ok();
}

}  // namespace tollgate::engine
