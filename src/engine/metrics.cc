#include "engine/metrics.h"

namespace tollgate::engine {

EngineMetrics::EngineMetrics(metrics::Registry& r)
    : calls(r.counter("tollgate_calls_total", "Calls by capability, operation, caller, outcome and traffic class.",
                      {"capability", "operation", "caller", "outcome", "traffic"})),
      call_duration(r.histogram("tollgate_call_duration_seconds", "Time from receiving a call to answering it.",
                                {"capability", "operation", "traffic"})),
      rejected(r.counter("tollgate_requests_rejected_total",
                         "Requests refused before reaching a capability (bad key, unknown capability, ...).",
                         {"reason"})),
      attempts(r.counter("tollgate_provider_attempts_total",
                         "Provider attempts by provider, operation, outcome and error class.",
                         {"provider", "capability", "operation", "outcome", "error_class", "traffic"})),
      attempt_duration(r.histogram("tollgate_provider_attempt_duration_seconds",
                                   "Duration of provider attempts, from sending to the decoded answer.",
                                   {"provider", "capability", "operation", "traffic"})),
      admission_denied(r.counter("tollgate_provider_admission_denied_total",
                                 "Attempts the planner did not send to a provider, by reason.",
                                 {"provider", "reason"})),
      provider_throttled(r.counter("tollgate_provider_throttled_total",
                                   "Answers in which a provider asked tollgate to slow down.", {"provider"})),
      caller_rate_limited(r.counter("tollgate_caller_rate_limited_total",
                                    "Calls refused with 429 because their caller was over its rate limit.",
                                    {"caller"})),
      cost(r.counter("tollgate_provider_cost_total",
                     "Price times successful attempts, in the provider's configured price unit.", {"provider"})),
      accepted(r.counter("tollgate_async_accepted_total", "Calls accepted into the async queue, by why.",
                         {"capability", "operation", "reason"})),
      reloads(r.counter("tollgate_config_reloads_total", "Config reloads, by result.", {"result"})) {}

std::pair<std::string_view, std::string_view> split_capability(std::string_view capability) {
  const auto dot = capability.find('.');
  if (dot == std::string_view::npos) return {capability, ""};
  return {capability.substr(0, dot), capability.substr(dot + 1)};
}

}  // namespace tollgate::engine
