#pragma once
// InboundHandler: the listener providers call back (inbound:, its own address,
// docs/events.md). One route:
//
//   POST /events/<provider>/<kind>[/<token>]
//
// Each request is verified by the provider's scheme (events/verify.h; a failure
// is 401 and stores nothing), normalised (events/normalize.h; garbage is 400),
// stored durably, all of its events or none (a repeat is recognised by its
// dedupe key), and only then acknowledged in the form the vendor expects
// (events.ack). When the store cannot take them the answer is 503, so the
// vendor sends them again later. GET /healthz answers 200 for load balancers.

#include <memory>
#include <mutex>

#include "core/clock.h"
#include "engine/runtime.h"
#include "events/metrics.h"
#include "events/verify.h"
#include "http/server.h"
#include "store/event_store.h"

namespace tollgate::events {

class InboundHandler final : public http::Handler {
 public:
  InboundHandler(const engine::RuntimeHolder& runtime, store::EventStore& store, const Clock& clock,
                 EventsMetrics* metrics = nullptr);
  boost::asio::awaitable<http::ServerResponse> handle(HttpRequest req, http::RequestContext ctx) override;
  // Builds the verifiers of `rt` (reads key files): call it off the workers
  // after each reload, so no request pays for it. Returns the problems.
  std::vector<std::string> prepare(const std::shared_ptr<const engine::Runtime>& rt);

 private:
  // The verifiers of one config snapshot (keys parsed once), kept with it.
  struct Verifiers {
    std::shared_ptr<const engine::Runtime> runtime;
    std::map<std::string, Verifier, std::less<>> by_provider;
  };
  std::shared_ptr<const Verifiers> verifiers(const std::shared_ptr<const engine::Runtime>& rt,
                                             std::vector<std::string>* problems = nullptr);

  const engine::RuntimeHolder& runtime_;
  store::EventStore& store_;
  const Clock& clock_;
  EventsMetrics* metrics_;
  std::mutex mu_;
  std::shared_ptr<const Verifiers> verifiers_;
};

}  // namespace tollgate::events
