#include "engine/attempt.h"

#include "core/random.h"

namespace tollgate::engine {

namespace asio = boost::asio;

namespace {

// The request of one attempt, rendered and signed; with a new child span when
// the provider forwards traces (opt-in per provider).
Result<HttpRequest> attempt_request(const CandidateRuntime& cand, const Call& call, int number, WallTime wall) {
  auto request = cand.operation->encode(
      call, provider::AttemptInfo{number, wall, cand.operation->uses_nonce() ? new_nonce() : std::string()});
  if (request && cand.provider->config().forward_trace && !call.trace.trace_id.empty()) {
    const std::string span = new_nonce().substr(0, 16);
    request->headers.emplace_back("traceparent", call.trace.header(span));
  }
  return request;
}

// Reads what came back into `out`; whether the request reached the provider.
bool take_answer(const CandidateRuntime& cand, Result<HttpResponse>& response, AttemptOutcome& out) {
  if (!response) {
    out.error = std::move(response).error();
    return out.error.ambiguous;
  }
  auto decoded = cand.operation->decode(*response);
  if (decoded) {
    out.ok = true;
    out.result = std::move(decoded.value());
  } else {
    out.error = std::move(decoded).error();
  }
  return true;
}

// When an attempt ends, whatever happened: what it says about the provider
// (health windows, breaker, recorder, throttling), what admission took given
// back, metrics.
struct AttemptEnd {
  const Clock& clock;
  const CapabilityRuntime& cap;
  const Call& call;
  Admitted& admitted;  // release() gives back what it holds
  CancelToken* cancel;
  EngineMetrics* metrics;
  SteadyTime start;
  std::uint64_t route_token;
  std::uint64_t provider_token;
  bool sent;       // the request could be encoded (and so was sent)
  bool delivered;  // it may have reached the provider

  void operator()(AttemptOutcome& out) {
    const CandidateRuntime& cand = cap.candidates[static_cast<size_t>(admitted.index)];
    ProviderState& provider = *cand.provider->state;
    RouteState& route = *cand.route;
    const auto& pcfg = cand.provider->config();
    out.error.provider = pcfg.name;
    // Abandoned by its caller (a hedge's loser): known from the token, never from a
    // code, which a provider could send too.
    out.cancelled = !out.ok && cancel && cancel->cancelled();

    const SteadyTime end = clock.now();
    out.duration = std::chrono::duration_cast<Millis>(end - start);
    // A cancelled hedge leg says nothing about the provider; neither does an
    // attempt that never reached it because a param could not be encoded.
    const policy::Verdict verdict =
        out.cancelled || !sent ? policy::Verdict::kNeutral : policy::verdict_for(out.ok, out.error.cls);
    route.health.finish(route_token, end, verdict, out.error.cls);
    provider.health.finish(provider_token, end, verdict, out.error.cls);
    // What the provider answered, and how fast, is what stress traffic will see.
    if (sent && !out.cancelled) route.recorder.record(end, std::chrono::duration_cast<Micros>(end - start), out.ok, out.error.cls);
    if (verdict == policy::Verdict::kNeutral && admitted.probe) {
      route.breaker.release_probe();
    } else {
      // Only a fault can trip the breaker, so only a fault needs the window's numbers.
      const bool fault = verdict == policy::Verdict::kFailure || verdict == policy::Verdict::kTimeout;
      route.breaker.on_result(end, admitted.probe, verdict, out.duration,
                              fault ? route.health.snapshot(end) : policy::HealthSnapshot{});
    }
    if (route.breaker.take_closed_event()) route.breaker.window_reset(route.health.reset_recent());
    if (cap.registry) cap.registry->report_trip(route);
    if (verdict == policy::Verdict::kThrottled) {
      provider.throttle_until(end + (out.error.retry_after.count() > 0 ? out.error.retry_after : pcfg.throttle_default));
    }
    release(cap, admitted, delivered, clock.wall());
    if (metrics) {
      const auto [capability, operation] = split_capability(cap.config->name);
      const std::string_view traffic = to_string(call.traffic);
      const std::string_view outcome = out.ok ? "success" : out.cancelled ? "cancelled" : "failure";
      const std::string_view error_class = out.ok ? "none" : to_string(out.error.cls);
      metrics->attempts.with({pcfg.name, capability, operation, outcome, error_class, traffic}).inc();
      metrics->attempt_duration.with({pcfg.name, capability, operation, traffic})
          .observe(std::chrono::duration<double>(end - start).count());
      if (verdict == policy::Verdict::kThrottled) metrics->provider_throttled.with({pcfg.name}).inc();
      if (out.ok && pcfg.price > 0) metrics->cost.with({pcfg.name}).inc(pcfg.price);
    }
  }
};

// A live attempt. The coroutine frame holds what must outlive the send; the
// steps around it are plain functions (GCC keeps every local of a coroutine body
// in the frame).
asio::awaitable<AttemptOutcome> run_live_attempt(const Clock& clock, const CapabilityRuntime& cap, const Call& call,
                                                 int number, Admitted admitted, Transport& transport,
                                                 CancelToken* cancel, EngineMetrics* metrics) {
  const CandidateRuntime& cand = cap.candidates[static_cast<size_t>(admitted.index)];
  AttemptOutcome out;
  out.index = admitted.index;
  out.probe = admitted.probe;
  const SteadyTime start = clock.now();
  AttemptEnd end{clock, cap, call, admitted, cancel, metrics, start, cand.route->health.start(start),
                 cand.provider->state->health.start(start), false, false};
  Result<HttpRequest> request = attempt_request(cand, call, number, clock.wall());
  if (request) {
    end.sent = true;
    const SteadyTime attempt_deadline = std::min(call.deadline.at(), start + cand.provider->config().attempt_timeout);
    Result<HttpResponse> response = co_await transport.send(cand.provider->endpoint, *request, attempt_deadline, cancel);
    end.delivered = take_answer(cand, response, out);
  } else {
    out.error = std::move(request).error();
  }
  end(out);
  co_return out;
}

}  // namespace

asio::awaitable<AttemptOutcome> run_attempt(const Clock& clock, Timers& timers, const CapabilityRuntime& cap,
                                            const Call& call, int number, Admitted admitted, Transport& transport,
                                            CancelToken* cancel, EngineMetrics* metrics) {
  // Not a coroutine: hands back the one that runs the attempt, with no frame of its own.
  if (call.traffic != Traffic::kLive) {
    return run_shadow_attempt(clock, timers, cap, call, std::move(admitted), cancel, metrics);
  }
  return run_live_attempt(clock, cap, call, number, std::move(admitted), transport, cancel, metrics);
}

}  // namespace tollgate::engine
