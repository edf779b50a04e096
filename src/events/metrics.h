#pragma once
// Metrics of inbound provider events and the delivery rate, declared in one place.

#include "metrics/registry.h"

namespace tollgate::events {

struct EventsMetrics {
  explicit EventsMetrics(metrics::Registry& r)
      : received(r.counter("tollgate_events_received_total",
                           "Verified provider events by normalised kind and what became of them: stored (attached "
                           "to its call), held (its call not known yet) or duplicate (stored before).",
                           {"provider", "kind", "result"})),
        refused(r.counter("tollgate_events_refused_total",
                          "Inbound event requests refused, nothing stored: signature, stale, source, token, "
                          "decrypt, malformed, not_found or unavailable (the store could not take them).",
                          {"provider", "reason"})),
        held(r.gauge("tollgate_events_held", "Events waiting for the answer that names their message id.", {})) {}

  metrics::Family<metrics::Counter>& received;
  metrics::Family<metrics::Counter>& refused;
  metrics::Family<metrics::Gauge>& held;
};

}  // namespace tollgate::events
