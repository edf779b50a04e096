#include "jobs/recordings.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <spdlog/spdlog.h>

#include "core/blocking.h"
#include "core/time_format.h"

namespace tollgate::jobs {

namespace asio = boost::asio;
namespace json = boost::json;

std::string recording_key(const engine::RouteState& route) { return route.provider + "|" + route.capability; }

struct Recordings::Impl : std::enable_shared_from_this<Recordings::Impl> {
  Impl(http::Workers& w, const engine::RuntimeHolder& rt, engine::StateRegistry& reg, store::JobStore& s,
       const Clock& c)
      : workers(w), runtime(rt), registry(reg), store(s), clock(c), wake(w.context(0)) {}
  http::Workers& workers;
  const engine::RuntimeHolder& runtime;
  engine::StateRegistry& registry;
  store::JobStore& store;
  const Clock& clock;
  asio::steady_timer wake;
  std::atomic<bool> stopping{false};

  // Saved as {"saved_at_ms", "live", "seeded"}: the live part is dropped at
  // load when older than the horizon, the seeded (imported) part is kept.
  void save() {
    std::vector<std::pair<std::string, std::string>> items;
    const SteadyTime now = clock.now();
    const auto saved_at = unix_millis(clock.wall());
    for (const auto& r : registry.routes()) {
      const auto live = r->recorder.live(now);
      const auto seeded = r->recorder.seeded();
      if (live.samples() == 0 && seeded.samples() == 0) continue;
      items.emplace_back(recording_key(*r),
                         json::serialize(json::object{{"saved_at_ms", saved_at},
                                                      {"live", shadow::to_json(live)},
                                                      {"seeded", shadow::to_json(seeded)}}));
    }
    if (!items.empty()) store.save_recordings(std::move(items));
  }

  // Restores one saved route; false when the data is unreadable.
  bool restore(engine::RouteState& route, std::string_view data, Millis horizon) {
    boost::system::error_code ec;
    const auto v = json::parse(data, ec);
    if (ec || !v.is_object()) return false;
    const auto* at = v.as_object().if_contains("saved_at_ms");
    const auto* live = v.as_object().if_contains("live");
    const auto* seeded = v.as_object().if_contains("seeded");
    if (!at || !at->is_int64() || !live || !seeded) return false;
    auto l = shadow::from_json(*live);
    auto s = shadow::from_json(*seeded);
    if (!l || !s) return false;
    const bool fresh = unix_millis(clock.wall()) - at->as_int64() < horizon.count();
    route.recorder.restore(clock.now(), fresh ? *l : shadow::Recording{}, *s);
    return true;
  }

  asio::awaitable<void> loop() {
    auto self = shared_from_this();
    while (!stopping.load()) {
      wake.expires_after(runtime.get()->config().test_traffic.snapshot_every);
      co_await wake.async_wait(asio::as_tuple(asio::use_awaitable));
      save();
    }
  }
};

Recordings::Recordings(http::Workers& workers, const engine::RuntimeHolder& runtime, engine::StateRegistry& registry,
                       store::JobStore& store, const Clock& clock)
    : impl_(std::make_shared<Impl>(workers, runtime, registry, store, clock)) {}

Recordings::~Recordings() = default;

int Recordings::load() {
  auto saved = run_blocking(impl_->store.load_recordings());
  if (!saved) {
    spdlog::error("cannot load saved recordings: {}", saved.error().message);
    return 0;
  }
  const Millis horizon = impl_->runtime.get()->config().test_traffic.horizon;
  int loaded = 0;
  for (const auto& r : impl_->registry.routes()) {
    for (const auto& [key, data] : *saved) {
      if (key != recording_key(*r)) continue;
      if (impl_->restore(*r, data, horizon)) {
        ++loaded;
      } else {
        spdlog::warn("ignoring an unreadable saved recording for {}", key);
      }
    }
  }
  return loaded;
}

void Recordings::start() { asio::co_spawn(impl_->workers.context(0), impl_->loop(), asio::detached); }

void Recordings::stop() {
  impl_->stopping.store(true);
  asio::post(impl_->workers.context(0), [self = impl_] { self->wake.cancel(); });
}

void Recordings::save_now() { impl_->save(); }

}  // namespace tollgate::jobs
