#include "app/cluster_wiring.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_future.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <future>

namespace tollgate::app {

namespace asio = boost::asio;

namespace {

// The cluster's disable set is the truth: apply it to every provider known here.
asio::awaitable<void> sync_disabled(cluster::Cluster& c, engine::StateRegistry& registry) {
  auto set = co_await c.disabled_providers();
  if (!set) co_return;
  for (const auto& name : registry.provider_names()) {
    registry.set_disabled(name, std::find(set->begin(), set->end(), name) != set->end());
  }
  for (const auto& name : *set) registry.set_disabled(name, true);
}

}  // namespace

Result<std::unique_ptr<cluster::Cluster>> start_cluster(const config::Config& cfg, engine::StateRegistry& registry,
                                                        const std::string& instance, const std::string& version) {
  if (!cfg.shared.enabled) return std::unique_ptr<cluster::Cluster>();
  auto redis = cluster::parse_redis_url(cfg.shared.redis_url);
  if (!redis) return redis.error();
  redis->timeout = cfg.shared.timeout;
  cluster::ClusterOptions o;
  o.redis = *redis;
  o.prefix = cfg.shared.prefix;
  o.instance = instance;
  o.version = version;
  auto c = std::make_unique<cluster::Cluster>(std::move(o));
  registry.set_shared(engine::SharedSetup{&c->limits(), cfg.shared.expected_instances, cfg.shared.deny_on_shared_loss});

  cluster::Cluster* cl = c.get();
  registry.set_trip_listener([cl](const engine::RouteState& route, const policy::Breaker::OpenedEvent& e) {
    cluster::ClusterEvent event;
    event.kind = cluster::ClusterEvent::Kind::kBreakerOpen;
    event.provider = route.provider;
    event.capability = route.capability;
    event.open_for = e.open_for;
    event.reason = e.reason;
    cl->publish(std::move(event));
  });
  c->on_event([cl, &registry](const cluster::ClusterEvent& e) {
    switch (e.kind) {
      case cluster::ClusterEvent::Kind::kBreakerOpen:
        spdlog::warn("cluster: {} opened {} for {} ({}); not sending it new calls for {} ms", e.from, e.provider,
                     e.capability, e.reason, e.open_for.count());
        registry.open_remotely(e.provider, e.capability, std::chrono::steady_clock::now(), e.open_for,
                               "opened by " + e.from + ": " + e.reason);
        break;
      case cluster::ClusterEvent::Kind::kDisabled:
        spdlog::warn("cluster: {} {} provider {}", e.from, e.disabled ? "disabled" : "enabled", e.provider);
        registry.set_disabled(e.provider, e.disabled);
        break;
      case cluster::ClusterEvent::Kind::kResync:
        asio::co_spawn(cl->executor(), sync_disabled(*cl, registry), asio::detached);
        break;
    }
  });
  // Providers disabled on other instances stay disabled here from the first
  // call on: the set is read before this instance serves, not only on the
  // subscription's first (re)connect, which may come after the first calls.
  // Redis away or slow: serving starts anyway, and that resync applies them.
  const auto wait = std::max(std::chrono::milliseconds(500), 4 * cfg.shared.timeout);
  auto synced = asio::co_spawn(cl->executor(), sync_disabled(*cl, registry), asio::use_future);
  if (synced.wait_for(wait) != std::future_status::ready) {
    spdlog::warn("cluster: disabled providers not read from Redis within {} ms; they apply once it answers",
                 wait.count());
  }
  return c;
}

}  // namespace tollgate::app
