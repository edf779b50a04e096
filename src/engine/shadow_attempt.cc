// Debug and stress attempts: answered by a shadow of the chosen provider, never
// by the provider (no connection is opened). They drive the same retry and
// failover logic as live attempts.
#include "engine/attempt.h"
#include "shadow/shadow.h"

namespace tollgate::engine {

namespace asio = boost::asio;

asio::awaitable<AttemptOutcome> run_shadow_attempt(const Clock& clock, Timers& timers, const CapabilityRuntime& cap,
                                                   const Call& call, Admitted admitted, CancelToken* cancel,
                                                   EngineMetrics* metrics) {
  const CandidateRuntime& cand = cap.candidates[static_cast<size_t>(admitted.index)];
  RouteState& route = *cand.route;
  const auto& pcfg = cand.provider->config();
  const auto* tt = cap.test_traffic;

  AttemptOutcome out;
  out.index = admitted.index;
  const SteadyTime start = clock.now();
  const shadow::Answer answer =
      shadow::decide(call.traffic, route.recorder, pcfg.shadow_latency, tt ? static_cast<std::uint64_t>(tt->min_samples) : 50, start);
  const Micros budget = std::chrono::duration_cast<Micros>(std::min(call.deadline.at(), start + pcfg.attempt_timeout) - start);
  const bool times_out = answer.delay >= budget;
  if (answer.delay.count() > 0) {
    co_await timers.wait_until(start + std::chrono::duration_cast<SteadyTime::duration>(std::min(answer.delay, budget)),
                               cancel);
  }
  out.error.provider = pcfg.name;
  if (cancel && cancel->cancelled()) {
    out.cancelled = true;
    out.error = Error::make(ErrorClass::kUnavailable, "attempt abandoned by its caller");
    out.error.provider_code = "cancelled";
  } else if (times_out) {
    out.error = Error::make(ErrorClass::kTimeout, "the provider did not answer in time (shadow)");
    out.error.ambiguous = true;
    out.error.provider_code = "read_timeout";
  } else if (answer.ok) {
    out.ok = true;
    out.result = shadow::synthesize_result(call.traffic, cand.operation->decoder().result_names(), call.id);
  } else {
    out.error = Error::make(answer.cls, "the provider answered " + std::string(to_string(answer.cls)) + " (shadow)");
    out.error.ambiguous = answer.cls == ErrorClass::kTimeout;
    out.error.provider_code = "shadow";
  }
  out.error.from_provider = true;
  out.error.provider = pcfg.name;
  const SteadyTime end = clock.now();
  out.duration = std::chrono::duration_cast<Millis>(end - start);

  // Test traffic stays out of live health unless configured in.
  if (!out.cancelled && tt && tt->record_health && call.traffic == Traffic::kStress) {
    const auto verdict = policy::verdict_for(out.ok, out.error.cls);
    route.health.record(end, verdict, out.duration, out.error.cls);
    cand.provider->state->health.record(end, verdict, out.duration, out.error.cls);
    const bool fault = verdict == policy::Verdict::kFailure || verdict == policy::Verdict::kTimeout;
    route.breaker.on_result(end, false, verdict, out.duration,
                            fault ? route.health.snapshot(end) : policy::HealthSnapshot{});
    if (route.breaker.take_closed_event()) route.breaker.window_reset(route.health.reset_recent());
  if (cap.registry) cap.registry->report_trip(route);
  }
  release(cap, admitted, true, clock.wall());
  if (metrics) {
    const auto [capability, operation] = split_capability(cap.config->name);
    const std::string_view outcome = out.ok ? "success" : out.cancelled ? "cancelled" : "failure";
    const std::string_view error_class = out.ok ? "none" : to_string(out.error.cls);
    const std::string_view traffic = to_string(call.traffic);
    metrics->attempts.with({pcfg.name, capability, operation, outcome, error_class, traffic}).inc();
    metrics->attempt_duration.with({pcfg.name, capability, operation, traffic})
        .observe(std::chrono::duration<double>(end - start).count());
  }
  co_return out;
}

}  // namespace tollgate::engine
