#pragma once
// Recordings: keeps what tollgate learned about providers' latency and outcomes
// (for stress answers) across restarts — loads the saved snapshots into the
// routes at start, and saves every route's snapshot to the store every
// test_traffic.snapshot_every. The loop runs on worker 0.

#include <memory>
#include <string>

#include "engine/runtime.h"
#include "engine/state.h"
#include "http/workers.h"
#include "store/job_store.h"

namespace tollgate::jobs {

// "provider|capability": a route's key in the store and in exports.
std::string recording_key(const engine::RouteState& route);

class Recordings {
 public:
  Recordings(http::Workers& workers, const engine::RuntimeHolder& runtime, engine::StateRegistry& registry,
             store::JobStore& store, const Clock& clock);
  ~Recordings();
  // Loads saved snapshots into the current routes (blocking; call before serving).
  int load();
  void start();
  void stop();
  // Saves every route's snapshot now (also done by the loop).
  void save_now();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace tollgate::jobs
