#pragma once
// The async runner's and callbacks' metrics, declared in one place.

#include "metrics/registry.h"

namespace tollgate::jobs {

struct JobsMetrics {
  explicit JobsMetrics(metrics::Registry& r)
      : runs(r.counter("tollgate_job_runs_total",
                       "Job runs by how they ended: succeeded, failed, dead or requeued.",
                       {"capability", "operation", "result"})),
        callbacks(r.counter("tollgate_callbacks_total",
                            "Callback deliveries by result: delivered, retry (will try again) or failed (gave up).",
                            {"result"})) {}

  metrics::Family<metrics::Counter>& runs;
  metrics::Family<metrics::Counter>& callbacks;
};

}  // namespace tollgate::jobs
