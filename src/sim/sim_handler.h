#pragma once
// The simulator's request handler: control endpoints under /_sim/, and provider
// dialects everywhere else, with the configured latency and faults applied.
// Called concurrently from every worker; all shared state is in Behavior and
// SimState, which lock internally.

#include <functional>
#include <memory>
#include <vector>

#include "http/server.h"
#include "sim/behavior.h"
#include "sim/dialects.h"
#include "sim/events.h"

namespace tollgate::sim {

class SimHandler final : public http::Handler {
 public:
  explicit SimHandler(Credentials creds, EventKeys keys = {});
  boost::asio::awaitable<http::ServerResponse> handle(HttpRequest req, http::RequestContext ctx) override;
  // GET <any path>/health: a vendor's status endpoint for active health checks.
  // It follows the behaviour (latency and faults) like the API, and is counted
  // apart (stats: health_checks), never as a request.
  boost::asio::awaitable<http::ServerResponse> health();
  Behavior& behavior() { return behavior_; }
  EventSender& events() { return *events_; }

 private:
  http::ServerResponse control(const HttpRequest& req);

  // A request a dialect carried out: its receipts go out (if configured).
  void report(const Dialect& d, const HttpRequest& req, const HttpResponse& resp);

  Credentials creds_;
  std::vector<std::unique_ptr<Dialect>> dialects_;
  std::unique_ptr<EventSender> events_;
  Behavior behavior_;
  SimState state_;
};

}  // namespace tollgate::sim
