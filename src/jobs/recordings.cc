#include "jobs/recordings.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>

#include <spdlog/spdlog.h>

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

  void save() {
    std::vector<std::pair<std::string, std::string>> items;
    const SteadyTime now = clock.now();
    for (const auto& r : registry.routes()) {
      const auto snap = r->recorder.snapshot(now);
      if (snap.samples() == 0) continue;
      items.emplace_back(recording_key(*r), json::serialize(shadow::to_json(snap)));
    }
    if (!items.empty()) store.save_recordings(std::move(items));
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
  asio::io_context once;
  auto f = asio::co_spawn(once, impl_->store.load_recordings(), asio::use_future);
  once.run();
  auto saved = f.get();
  if (!saved) {
    spdlog::error("cannot load saved recordings: {}", saved.error().message);
    return 0;
  }
  int loaded = 0;
  for (const auto& r : impl_->registry.routes()) {
    for (const auto& [key, data] : *saved) {
      if (key != recording_key(*r)) continue;
      boost::system::error_code ec;
      auto v = json::parse(data, ec);
      auto rec = ec ? Result<shadow::Recording>(Error::make(ErrorClass::kInternal, "not JSON")) : shadow::from_json(v);
      if (rec) {
        r->recorder.import(*rec);
        ++loaded;
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
