#pragma once
// DeliveryMonitor: the delivery rate as a health signal (docs/events.md).
//
// Every inbound.delivery_interval it asks the store, per provider and
// capability, how many sends were made in the delivery window that are old
// enough for their receipt to be due (sent between now - delivery_window and
// now - receipt_due), and how many of those a receipt reported delivered. A send
// whose receipt never came counts as not delivered. With at least
// min_delivery_samples such sends, delivered / due is the route's delivery rate:
//   - routing: the adaptive strategy multiplies its score by it;
//   - breaker: below the provider's breaker.min_delivery_rate the route's
//     breaker trips (open time doubling as for any trip; the cluster is told);
//   - metrics (tollgate_delivery_rate, tollgate_delivery_sends_due), the admin
//     API and the dashboard.
// Fewer sends due (including a provider that lost its traffic): unknown, and
// routing treats it as fully delivering again — which is how a recovered
// provider earns its traffic back.
//
// The same tick sweeps held events (attach late-recorded sends, expire those
// past inbound.hold) and refreshes the held gauge. All counts come from the
// shared store, so every instance of a cluster sees the same rate.

#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "core/clock.h"
#include "core/timers.h"
#include "engine/runtime.h"
#include "events/metrics.h"
#include "http/workers.h"
#include "metrics/registry.h"
#include "store/event_store.h"

namespace tollgate::events {

struct DeliveryRate {
  std::string provider;
  std::string capability;
  std::int64_t due = 0;        // sends whose receipt is due, in the window
  std::int64_t delivered = 0;
  std::int64_t undelivered = 0;
  double rate = -1;            // negative: unknown (fewer than min_delivery_samples due)
};

class DeliveryMonitor {
 public:
  DeliveryMonitor(http::Workers& workers, const engine::RuntimeHolder& runtime, store::EventStore& store,
                  const Clock& clock, Timers& timers, metrics::Registry* registry = nullptr,
                  EventsMetrics* metrics = nullptr);
  ~DeliveryMonitor();
  void start();
  void stop();

  // One evaluation of `counts` (the store's answer) against `rt`: sets each
  // route's rate, trips breakers below their minimum. Public for tests.
  void apply(const std::vector<store::DeliveryCount>& counts, const engine::Runtime& rt, SteadyTime now);
  std::vector<DeliveryRate> rates() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace tollgate::events
