#include "sim/behavior.h"

#include <boost/json.hpp>

#include <cmath>

#include "core/random.h"

namespace tollgate::sim {
namespace {

namespace json = boost::json;

constexpr std::pair<std::string_view, FaultKind> kFaultNames[] = {
    {"http_500", FaultKind::kHttp500},    {"http_503", FaultKind::kHttp503},
    {"http_429", FaultKind::kHttp429},    {"error_code", FaultKind::kErrorCode},
    {"throttle", FaultKind::kThrottle},   {"invalid", FaultKind::kInvalid},
    {"hang", FaultKind::kHang},           {"reset", FaultKind::kReset},
    {"close", FaultKind::kClose},         {"malformed", FaultKind::kMalformed},
    {"slow_body", FaultKind::kSlowBody},  {"vendor_error", FaultKind::kVendorError},
    {"answer_lost", FaultKind::kAnswerLost}, {"tamper", FaultKind::kTamper},
};


Result<double> number(const json::object& o, std::string_view key, double fallback) {
  const auto* v = o.if_contains(key);
  if (!v) return fallback;
  if (v->is_int64()) return static_cast<double>(v->as_int64());
  if (v->is_uint64()) return static_cast<double>(v->as_uint64());
  if (v->is_double()) return v->as_double();
  return Error::make(ErrorClass::kInvalidRequest, std::string(key) + " must be a number");
}

Result<Latency> parse_latency(const json::value& v) {
  if (!v.is_object()) return Error::make(ErrorClass::kInvalidRequest, "latency must be an object");
  const auto& o = v.get_object();
  const auto* kind = o.if_contains("dist");
  const std::string dist = kind && kind->is_string() ? std::string(kind->get_string()) : "fixed";
  Latency l;
  auto need = [&](std::string_view key) { return number(o, key, -1); };
  Result<double> a = 0.0, b = 0.0;
  if (dist == "fixed") {
    l.kind = Latency::Kind::kFixed;
    a = need("ms");
  } else if (dist == "uniform") {
    l.kind = Latency::Kind::kUniform;
    a = need("min_ms");
    b = need("max_ms");
  } else if (dist == "normal") {
    l.kind = Latency::Kind::kNormal;
    a = need("mean_ms");
    b = need("stddev_ms");
  } else if (dist == "lognormal") {
    l.kind = Latency::Kind::kLogNormal;
    a = need("median_ms");
    b = need("p99_ms");
  } else {
    return Error::make(ErrorClass::kInvalidRequest, "latency.dist must be fixed, uniform, normal or lognormal");
  }
  if (!a) return a.error();
  if (!b) return b.error();
  if (*a < 0 || *b < 0) return Error::make(ErrorClass::kInvalidRequest, "latency." + dist + " needs its parameters (>= 0)");
  if (l.kind == Latency::Kind::kUniform && *b < *a) return Error::make(ErrorClass::kInvalidRequest, "max_ms < min_ms");
  if (l.kind == Latency::Kind::kLogNormal && (*a <= 0 || *b < *a)) {
    return Error::make(ErrorClass::kInvalidRequest, "lognormal needs 0 < median_ms <= p99_ms");
  }
  l.a = *a;
  l.b = *b;
  return l;
}

Result<Fault> parse_fault(const json::value& v) {
  if (!v.is_object()) return Error::make(ErrorClass::kInvalidRequest, "each fault must be an object");
  const auto& o = v.get_object();
  const auto* kind = o.if_contains("kind");
  if (!kind || !kind->is_string()) return Error::make(ErrorClass::kInvalidRequest, "fault.kind is required");
  Fault f{};
  bool found = false;
  for (const auto& [name, k] : kFaultNames) {
    if (name == kind->get_string()) {
      f.kind = k;
      found = true;
    }
  }
  if (!found) return Error::make(ErrorClass::kInvalidRequest, "unknown fault kind '" + std::string(kind->get_string()) + "'");
  auto rate = number(o, "rate", 1.0);
  if (!rate || *rate < 0 || *rate > 1) return Error::make(ErrorClass::kInvalidRequest, "fault.rate must be in [0, 1]");
  f.rate = *rate;
  if (o.contains("count")) {
    auto c = number(o, "count", 0);
    if (!c || *c < 1) return Error::make(ErrorClass::kInvalidRequest, "fault.count must be >= 1");
    f.remaining = static_cast<long>(*c);
  }
  auto ra = number(o, "retry_after_s", 1);
  auto iv = number(o, "interval_ms", 200);
  if (!ra || !iv || *ra < 0 || *iv < 0) return Error::make(ErrorClass::kInvalidRequest, "retry_after_s and interval_ms must be >= 0");
  f.retry_after_s = static_cast<int>(*ra);
  f.interval_ms = static_cast<int>(*iv);
  if (const auto* code = o.if_contains("code"); code && code->is_string()) f.code = std::string(code->get_string());
  if (f.kind == FaultKind::kVendorError && f.code.empty()) {
    return Error::make(ErrorClass::kInvalidRequest, "fault vendor_error needs a code (the vendor's error code)");
  }
  return f;
}

}  // namespace

std::string_view fault_name(FaultKind k) {
  for (const auto& [name, kind] : kFaultNames) {
    if (kind == k) return name;
  }
  return "?";
}

Result<void> Behavior::set(const json::value& spec) {
  if (!spec.is_object()) return Error::make(ErrorClass::kInvalidRequest, "behaviour must be a JSON object");
  const auto& o = spec.get_object();
  for (const auto& kv : o) {
    if (kv.key() != "latency" && kv.key() != "faults") {
      return Error::make(ErrorClass::kInvalidRequest, "unknown field '" + std::string(kv.key()) + "' (known: latency, faults)");
    }
  }
  Latency latency;
  if (const auto* l = o.if_contains("latency")) {
    auto parsed = parse_latency(*l);
    if (!parsed) return parsed.error();
    latency = *parsed;
  }
  std::vector<Fault> faults;
  if (const auto* f = o.if_contains("faults")) {
    if (!f->is_array()) return Error::make(ErrorClass::kInvalidRequest, "faults must be a list");
    for (const auto& item : f->get_array()) {
      auto parsed = parse_fault(item);
      if (!parsed) return parsed.error();
      faults.push_back(*parsed);
    }
  }
  std::lock_guard lock(mu_);
  latency_ = latency;
  faults_ = std::move(faults);
  return ok();
}

void Behavior::reset() {
  std::lock_guard lock(mu_);
  latency_ = Latency{};
  faults_.clear();
}

std::string Behavior::to_json() const {
  std::lock_guard lock(mu_);
  json::object out;
  json::object lat;
  switch (latency_.kind) {
    case Latency::Kind::kFixed: lat = {{"dist", "fixed"}, {"ms", latency_.a}}; break;
    case Latency::Kind::kUniform: lat = {{"dist", "uniform"}, {"min_ms", latency_.a}, {"max_ms", latency_.b}}; break;
    case Latency::Kind::kNormal: lat = {{"dist", "normal"}, {"mean_ms", latency_.a}, {"stddev_ms", latency_.b}}; break;
    case Latency::Kind::kLogNormal: lat = {{"dist", "lognormal"}, {"median_ms", latency_.a}, {"p99_ms", latency_.b}}; break;
  }
  out["latency"] = std::move(lat);
  json::array faults;
  for (const auto& f : faults_) {
    json::object fo{{"kind", fault_name(f.kind)}, {"rate", f.rate}};
    if (f.remaining) fo["count"] = *f.remaining;
    if (!f.code.empty()) fo["code"] = f.code;
    faults.push_back(std::move(fo));
  }
  out["faults"] = std::move(faults);
  return json::serialize(out);
}

Decision Behavior::decide() {
  std::lock_guard lock(mu_);
  Decision d;
  d.delay = latency_.sample(random_unit(), random_unit());
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if (it->rate < 1.0 && random_unit() >= it->rate) continue;
    d.fault = *it;
    if (it->remaining && --*it->remaining <= 0) faults_.erase(it);
    break;
  }
  return d;
}

}  // namespace tollgate::sim
