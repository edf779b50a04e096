#pragma once
// The async runner's and callbacks' metrics, declared in one place.

#include "metrics/registry.h"

namespace tollgate::jobs {

struct JobsMetrics {
  explicit JobsMetrics(metrics::Registry& r)
      : runs(r.counter("tollgate_job_runs_total",
                       "Job runs by how they ended: succeeded, failed, dead or requeued.",
                       {"capability", "operation", "result"})),
        resumed(r.counter("tollgate_jobs_resumed_total",
                          "Jobs taken over from a process that died holding their lease.",
                          {"capability", "operation"})),
        holds(r.counter("tollgate_job_holds_total",
                        "Times every provider of a capability was out, so the runner held its queued jobs back "
                        "(one at a time going as a probe).",
                        {"capability", "operation"})),
        held(r.gauge("tollgate_jobs_held", "1 while the runner holds a capability's queued jobs back.",
                     {"capability", "operation"})),
        callbacks(r.counter("tollgate_callbacks_total",
                            "Callback deliveries by result: delivered, retry (will try again) or failed (gave up).",
                            {"result"})),
        event_forwards(r.counter("tollgate_event_forwards_total",
                                 "Provider events forwarded to callers' callbacks: delivered, retry or failed (gave up).",
                                 {"result"})) {}

  metrics::Family<metrics::Counter>& runs;
  metrics::Family<metrics::Counter>& resumed;
  metrics::Family<metrics::Counter>& holds;
  metrics::Family<metrics::Gauge>& held;
  metrics::Family<metrics::Counter>& callbacks;
  metrics::Family<metrics::Counter>& event_forwards;
};

}  // namespace tollgate::jobs
