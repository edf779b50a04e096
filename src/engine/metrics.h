#pragma once
// The engine's metrics, declared in one place. Label values come from config
// (capability, provider, caller names) or enums (outcome, error class, reason,
// traffic) — never from per-call data.

#include "metrics/registry.h"

namespace tollgate::engine {

struct EngineMetrics {
  explicit EngineMetrics(metrics::Registry& r);

  // Calls that reached a known capability and caller, by how they ended:
  // outcome = succeeded | queued | <error class>.
  metrics::Family<metrics::Counter>& calls;
  metrics::Family<metrics::Histogram>& call_duration;
  // Requests refused before a capability/caller was known (no such labels then).
  metrics::Family<metrics::Counter>& rejected;
  // Provider attempts: outcome = success | failure | cancelled; error_class = none | <class>.
  metrics::Family<metrics::Counter>& attempts;
  metrics::Family<metrics::Histogram>& attempt_duration;
  // Attempts the planner did not let through, by reason.
  metrics::Family<metrics::Counter>& admission_denied;
  metrics::Family<metrics::Counter>& provider_throttled;
  metrics::Family<metrics::Counter>& caller_rate_limited;
  // price × successful attempts, in the providers' configured currency.
  metrics::Family<metrics::Counter>& cost;
  // Calls accepted into the queue, by why: requested | scheduled | fallback | batch.
  metrics::Family<metrics::Counter>& accepted;
  metrics::Family<metrics::Counter>& reloads;
};

// Splits "sms.send" into its two label values.
std::pair<std::string_view, std::string_view> split_capability(std::string_view capability);

}  // namespace tollgate::engine
