#include "events/delivery.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>

#include <spdlog/spdlog.h>

#include <cmath>

#include "core/time_format.h"

namespace tollgate::events {

namespace asio = boost::asio;

struct DeliveryMonitor::Impl : std::enable_shared_from_this<DeliveryMonitor::Impl> {
  Impl(http::Workers& w, const engine::RuntimeHolder& rt, store::EventStore& s, const Clock& c, Timers& t,
       EventsMetrics* m)
      : workers(w), runtime(rt), store(s), clock(c), timers(t), metrics(m) {}

  http::Workers& workers;
  const engine::RuntimeHolder& runtime;
  store::EventStore& store;
  const Clock& clock;
  Timers& timers;
  EventsMetrics* metrics;
  std::atomic<bool> stopping{false};
  CancelToken* wake = nullptr;  // worker 0 only

  mutable std::mutex mu;
  std::vector<DeliveryRate> rates;

  void apply(const std::vector<store::DeliveryCount>& counts, const engine::Runtime& rt, SteadyTime now) {
    const auto& inbound = rt.config().inbound;
    std::map<std::pair<std::string, std::string>, const store::DeliveryCount*> by_route;
    for (const auto& c : counts) by_route[{c.provider, c.capability}] = &c;
    std::vector<DeliveryRate> next;
    for (const auto& [cap_name, cap] : rt.capabilities()) {
      for (const auto& cand : cap.candidates) {
        const auto& p = cand.provider->config();
        if (!p.events.enabled) continue;
        DeliveryRate r{p.name, cap_name};
        if (auto it = by_route.find({p.name, cap_name}); it != by_route.end()) {
          r.due = it->second->sent;
          r.delivered = it->second->delivered;
          r.undelivered = it->second->undelivered;
        }
        if (r.due >= inbound.min_delivery_samples) r.rate = static_cast<double>(r.delivered) / static_cast<double>(r.due);
        cand.route->delivery_rate.store(r.rate, std::memory_order_relaxed);
        const double min = p.breaker.min_delivery_rate;
        if (r.rate >= 0 && min > 0 && r.rate < min &&
            cand.route->breaker.state(now) == policy::BreakerState::kClosed) {
          const std::string reason = "delivery rate " + std::to_string(static_cast<int>(std::lround(r.rate * 100))) +
                                     "% below " + std::to_string(static_cast<int>(std::lround(min * 100))) + "% (" +
                                     std::to_string(r.delivered) + " of " + std::to_string(r.due) +
                                     " sends delivered)";
          cand.route->breaker.trip(now, reason);
          spdlog::warn("provider {} {}: breaker opened: {}", p.name, cap_name, reason);
          if (cap.registry) cap.registry->report_trip(*cand.route);
        }
        next.push_back(std::move(r));
      }
    }
    std::lock_guard lock(mu);
    rates = std::move(next);
  }

  asio::awaitable<void> loop() {
    auto self = shared_from_this();
    while (!stopping.load()) {
      const auto rt = runtime.get();
      const auto& inbound = rt->config().inbound;
      const std::int64_t now_ms = unix_millis(clock.wall());
      auto counts = co_await store.delivery_counts(now_ms - inbound.delivery_window.count(),
                                                   now_ms - inbound.receipt_due.count());
      if (counts) {
        apply(*counts, *rt, clock.now());
      } else {
        spdlog::warn("events: delivery counts unavailable: {}", counts.error().message);
      }
      if (auto swept = co_await store.sweep_events(now_ms); swept && *swept > 0) {
        spdlog::info("events: {} held events expired before their call was known", *swept);
      }
      if (auto held = co_await store.held_events(); held && metrics) metrics->held.with({}).set(static_cast<double>(*held));
      CancelToken token;
      wake = &token;
      co_await timers.wait_until(clock.now() + inbound.delivery_interval, &token);
      wake = nullptr;
    }
  }
};

DeliveryMonitor::DeliveryMonitor(http::Workers& workers, const engine::RuntimeHolder& runtime,
                                 store::EventStore& store, const Clock& clock, Timers& timers,
                                 metrics::Registry* registry, EventsMetrics* metrics)
    : impl_(std::make_shared<Impl>(workers, runtime, store, clock, timers, metrics)) {
  if (registry) {
    registry->add_collector([impl = impl_](metrics::SampleWriter& w) {
      std::vector<DeliveryRate> rates;
      {
        std::lock_guard lock(impl->mu);
        rates = impl->rates;
      }
      w.family("tollgate_delivery_rate",
               "Share of sends in the delivery window, old enough for a receipt, that a receipt reported delivered "
               "(absent while fewer than inbound.min_delivery_samples are due).",
               metrics::Type::kGauge);
      for (const auto& r : rates) {
        if (r.rate >= 0) w.sample("tollgate_delivery_rate", {{"provider", r.provider}, {"capability", r.capability}}, r.rate);
      }
      w.family("tollgate_delivery_sends_due", "Sends in the delivery window whose receipt is due.",
               metrics::Type::kGauge);
      for (const auto& r : rates) {
        w.sample("tollgate_delivery_sends_due", {{"provider", r.provider}, {"capability", r.capability}},
                 static_cast<double>(r.due));
      }
    });
  }
}

DeliveryMonitor::~DeliveryMonitor() = default;

void DeliveryMonitor::start() { asio::co_spawn(impl_->workers.context(0), impl_->loop(), asio::detached); }

void DeliveryMonitor::stop() {
  impl_->stopping.store(true);
  asio::post(impl_->workers.context(0), [self = impl_] {
    if (self->wake) self->wake->cancel();
  });
}

void DeliveryMonitor::apply(const std::vector<store::DeliveryCount>& counts, const engine::Runtime& rt,
                            SteadyTime now) {
  impl_->apply(counts, rt, now);
}

std::vector<DeliveryRate> DeliveryMonitor::rates() const {
  std::lock_guard lock(impl_->mu);
  return impl_->rates;
}

}  // namespace tollgate::events
