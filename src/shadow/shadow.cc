#include "shadow/shadow.h"

#include "core/random.h"

namespace tollgate::shadow {

Answer decide(Traffic traffic, const Recorder& recorder, const policy::LatencyModel& fallback,
              std::uint64_t min_samples, SteadyTime now) {
  Answer a;
  if (traffic == Traffic::kDebug) return a;  // at once, success
  if (auto s = recorder.sample(now, min_samples, random_unit(), random_unit(), random_unit())) {
    a.delay = s->delay;
    a.ok = s->ok;
    a.cls = s->cls;
    a.recorded = true;
    return a;
  }
  a.delay = fallback.sample(random_unit(), random_unit());
  return a;
}

boost::json::object synthesize_result(Traffic traffic, const std::vector<std::string>& fields,
                                      std::string_view call_id) {
  boost::json::object out;
  const std::string value = std::string(to_string(traffic)) + "-" + std::string(call_id);
  for (const auto& f : fields) out[f] = value;
  return out;
}

}  // namespace tollgate::shadow
