#pragma once
// AdminHandler: the operators' API on its own listener (127.0.0.1 by default),
// every request authenticated with the admin bearer token. See docs/api.md.
//   GET  /admin/providers                 health, breakers, limits, traffic share
//   GET  /admin/providers/{name}
//   POST /admin/providers/{name}/disable  out of rotation at once (kept across reloads);
//                                          optional body {"reason": "..."} for the timeline
//   POST /admin/providers/{name}/enable
//   GET  /admin/cluster                   instances up, shared limit usage, Redis state, jobs by state
//   GET  /admin/jobs?state=dead&limit=50   async jobs in a state (queued, running, dead, ...)
//   GET  /admin/jobs/counts                jobs by state
//   POST /admin/jobs/{id}/replay           a dead letter back to the queue
//   POST /admin/jobs/replay-dead           every dead letter back to the queue
//   GET  /admin/requests/{id}              any call's status
//   GET  /admin/overview                   capabilities, routes, costs, queue: the dashboard's data
//                                          (?history=1: the last 15 minutes and the timeline too)
//   GET  /admin/recordings                 recorded latency/outcome mix per route (for stress traffic)
//   POST /admin/recordings                 import such an export (422, nothing changed, if invalid)
//   POST /admin/config/reload              re-read the config file (422 with problems if invalid)
//   GET  /dashboard                        the live dashboard page (its data calls need the token)
//   GET  /metrics                          Prometheus text format (no token needed)
//   GET  /healthz, /readyz                 (no token needed)
// Runs on the worker that owns the connection; reads shared state only.

#include "admin/history.h"
#include "cluster/cluster.h"
#include "engine/runtime.h"
#include "engine/state.h"
#include <functional>
#include <string>
#include <vector>

#include "http/server.h"
#include "metrics/registry.h"
#include "store/job_store.h"

namespace tollgate::admin {

class AdminHandler final : public http::Handler {
 public:
  // What a reload returned: the problems of a rejected file (empty when applied).
  struct ReloadOutcome {
    bool applied = false;
    std::vector<std::string> problems;
  };
  // Starts a reload off the workers; calls `done` (on any thread) when it ends.
  using Reload = std::function<void(std::function<void(ReloadOutcome)> done)>;

  // `cluster` (null without shared:) makes disables cluster-wide and persistent.
  AdminHandler(const engine::RuntimeHolder& runtime, engine::StateRegistry& registry, store::JobStore& store,
               const Clock& clock, metrics::Registry* metrics = nullptr, Reload reload = nullptr,
               cluster::Cluster* cluster = nullptr);
  boost::asio::awaitable<http::ServerResponse> handle(HttpRequest req, http::RequestContext ctx) override;
  // The dashboard's 15-minute history (null: none kept); also told of disables.
  void set_history(History* history) { history_ = history; }
  // Queue mode's state for the overview ("queues": connected, in flight); unset without queues:.
  void set_queue_status(std::function<boost::json::object()> status) { queue_status_ = std::move(status); }

 private:
  boost::asio::awaitable<http::ServerResponse> providers(const HttpRequest& req, const engine::Runtime& rt);
  boost::asio::awaitable<http::ServerResponse> cluster_view(const engine::Runtime& rt);
  boost::asio::awaitable<http::ServerResponse> jobs(const HttpRequest& req);
  boost::asio::awaitable<http::ServerResponse> metrics_text();
  boost::asio::awaitable<http::ServerResponse> overview(const engine::Runtime& rt, bool with_history);

  const engine::RuntimeHolder& runtime_;
  engine::StateRegistry& registry_;
  store::JobStore& store_;
  const Clock& clock_;
  metrics::Registry* metrics_;
  Reload reload_;
  cluster::Cluster* cluster_;
  History* history_ = nullptr;
  std::function<boost::json::object()> queue_status_;
};

}  // namespace tollgate::admin
