#pragma once
// Runner: completes accepted (202) calls. It claims due jobs from the store with a
// lease — so a crashed process's jobs are taken up again when the lease expires —
// and runs each through the same Engine as live calls (same health, breakers,
// limits, strategies), spread over the workers. Between runs a job waits an
// exponential backoff with full jitter; after jobs.max_attempts runs or
// jobs.max_age it is dead-lettered. Job starts are paced by jobs.drain_rps and
// capped by jobs.concurrency, so a recovered provider sees a controlled drain,
// not a stampede (and the planner still applies the provider's own limits).
//
// A job taken over from an interrupted run is pinned to the provider it was last
// sent to when that provider deduplicates, so the retry cannot deliver twice; an
// interrupted job whose operation is neither idempotent nor deduplicated is failed
// as outcome_unknown rather than sent again. A job whose run ended ambiguously on
// a deduplicating provider stays pinned to it for every later run.
//
// Every run and every take-over is logged (one line each, params masked as in
// the call log) and counted.
//
// The claim loop runs on worker 0; jobs run on every worker. Thread-safety: the
// running count is atomic; the wake-up timer is touched on worker 0 only.

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/timers.h"
#include "core/transport.h"
#include "engine/engine.h"
#include "engine/runtime.h"
#include "http/workers.h"
#include "jobs/metrics.h"
#include "policy/gcra.h"
#include "store/event_store.h"
#include "store/job_store.h"

namespace tollgate::jobs {

class Runner {
 public:
  // `transports[i]` belongs to worker i.
  Runner(http::Workers& workers, std::vector<Transport*> transports, const engine::RuntimeHolder& runtime,
         store::JobStore& store, const Clock& clock, Timers& timers, std::string instance,
         engine::EngineMetrics* engine_metrics = nullptr, JobsMetrics* metrics = nullptr);
  ~Runner();

  // Where sends are recorded for providers' events (null: none). Before start().
  void set_events(store::EventStore* events);
  // Starts the claim loop (call after the workers run).
  void start();
  // Stops claiming and waits up to `grace` for running jobs to finish.
  void stop(Millis grace);

  int running() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace tollgate::jobs
