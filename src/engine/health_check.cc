#include "engine/health_check.h"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <spdlog/spdlog.h>

#include <thread>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <vector>

namespace tollgate::engine {

namespace {

// The breakers of `provider`'s routes in this runtime (one per capability it serves).
std::vector<RouteState*> routes_of(const Runtime& rt, const std::string& provider) {
  std::vector<RouteState*> out;
  for (const auto& [name, cap] : rt.capabilities()) {
    for (const auto& c : cap.candidates) {
      if (c.provider->name() == provider && c.route &&
          std::find(out.begin(), out.end(), c.route.get()) == out.end()) {
        out.push_back(c.route.get());
      }
    }
  }
  return out;
}

bool passes(const config::HealthCheckConfig& hc, int status) {
  if (hc.expect_status.empty()) return status >= 200 && status < 300;
  return std::find(hc.expect_status.begin(), hc.expect_status.end(), status) != hc.expect_status.end();
}

}  // namespace

struct HealthChecker::Impl : std::enable_shared_from_this<HealthChecker::Impl> {
  static constexpr int kMaxInFlight = 3;  // per provider
  const Clock& clock;
  Timers& timers;
  Transport& transport;
  RuntimeSource runtime;
  metrics::Family<metrics::Counter>* checks = nullptr;
  metrics::Family<metrics::Counter>* half_opened = nullptr;

  std::atomic<bool> stopping{false};
  std::atomic<bool> running{false};
  boost::asio::any_io_executor executor;  // run()'s (set before running is)
  CancelToken* wake = nullptr;            // run()'s current wait (its executor only)
  mutable std::mutex mu;        // guards state (status() reads it from any thread)
  struct State {
    SteadyTime last{};             // the last check sent
    std::uint64_t judged_seq = 0;  // the newest check (by its number) whose verdict counted
    int in_flight = 0;
    Status status;
  };
  std::atomic<int> checks_in_flight{0};
  std::map<std::string, State> state;
  SteadyTime next_due = SteadyTime::max();  // the earliest next check of a sick provider (run()'s executor)

  Impl(const Clock& c, Timers& t, Transport& tr, RuntimeSource rt, metrics::Registry* m)
      : clock(c), timers(t), transport(tr), runtime(std::move(rt)) {
    if (m) {
      checks = &m->counter("tollgate_health_checks_total",
                           "Active health checks sent while a provider's breaker was open or half-open, by "
                           "result: pass, fail.",
                           {"provider", "result"});
      half_opened = &m->counter("tollgate_health_check_recoveries_total",
                                "Breakers a passing health check half-opened (live probes follow).", {"provider"});
    }
  }

  // One check of one provider; records the verdict and acts on the breakers.
  // Checks overlap (a hung one does not hold back the next); a verdict older
  // than one already counted is dropped.
  boost::asio::awaitable<void> check(std::shared_ptr<const Runtime> rt, const ProviderRuntime& p,
                                     std::vector<RouteState*> routes, std::uint64_t seq) {
    const auto& hc = p.config().health_check;
    HttpRequest req;
    req.method = hc.method;
    const auto q = hc.path.find('?');
    req.path = p.config().base_path + hc.path.substr(0, q);
    if (q != std::string::npos) req.query = hc.path.substr(q + 1);
    for (const auto& [k, v] : hc.headers) req.headers.emplace_back(k, v);
    if (!hc.body.empty()) {
      req.body = hc.body;
      req.headers.emplace_back("Content-Type", "application/json");
    }
    const SteadyTime started = clock.now();
    auto answer = co_await transport.send(p.endpoint, req, started + hc.timeout);
    const SteadyTime now = clock.now();
    const bool ok = answer && passes(hc, answer->status);
    std::string why;
    if (!ok) why = answer ? "status " + std::to_string(answer->status) : answer.error().message;
    if (checks) checks->with({p.name(), ok ? "pass" : "fail"}).inc();
    bool recover = false;
    {
      std::lock_guard lock(mu);
      State& s = state[p.name()];
      --s.in_flight;
      if (seq < s.judged_seq) co_return;  // a newer check already spoke
      s.judged_seq = seq;
      if (ok) {
        ++s.status.passes_in_a_row;
        s.status.failures_in_a_row = 0;
      } else {
        s.status.passes_in_a_row = 0;
        ++s.status.failures_in_a_row;
        s.status.last_error = why;
      }
      recover = ok && s.status.passes_in_a_row >= hc.healthy_after;
    }
    if (!recover) co_return;
    int moved = 0;
    for (RouteState* r : routes) moved += r->breaker.on_health_check(now, true);
    if (moved > 0) {
      if (half_opened) half_opened->with({p.name()}).inc(moved);
      spdlog::info("health check of {} passed: {} breaker{} half-open, live probes follow", p.name(), moved,
                   moved == 1 ? "" : "s");
    }
  }

  boost::asio::awaitable<int> check_due() {
    const auto rt = runtime();
    if (!rt) co_return 0;
    const auto executor_here = co_await boost::asio::this_coro::executor;
    int sent = 0;
    next_due = SteadyTime::max();
    for (const auto& [name, p] : rt->providers()) {
      const auto& hc = p.config().health_check;
      if (!hc.enabled) continue;
      const SteadyTime now = clock.now();
      const auto routes = routes_of(*rt, name);
      const bool sick = std::any_of(routes.begin(), routes.end(), [&](RouteState* r) {
        return r->breaker.state(now) != policy::BreakerState::kClosed;
      });
      std::uint64_t seq = 0;
      {
        std::lock_guard lock(mu);
        State& s = state[name];
        if (!sick) {
          // A closed provider's traffic is its check; the next outage starts afresh.
          s.status.passes_in_a_row = s.status.failures_in_a_row = 0;
          continue;
        }
        if (s.last != SteadyTime{} && now - s.last < hc.interval) {
          next_due = std::min(next_due, s.last + hc.interval);
          continue;
        }
        // Hung checks wait for their timeout; a few may overlap, no more.
        if (s.in_flight >= kMaxInFlight) continue;
        s.last = now;
        next_due = std::min(next_due, now + hc.interval);
        ++s.in_flight;
        seq = ++s.status.sent;  // checks are numbered in the order they are sent
      }
      checks_in_flight.fetch_add(1);
      // The runtime snapshot travels with the check: its provider and routes stay
      // valid. (No co_await in this statement: GCC 12 destroys the temporaries of
      // a full-expression holding a co_await twice, here the handler's reference.)
      boost::asio::co_spawn(executor_here, check(rt, p, routes, seq),
                            [self = shared_from_this()](std::exception_ptr) { self->checks_in_flight.fetch_sub(1); });
      ++sent;
    }
    co_return sent;
  }

  Millis shortest_interval() const {
    Millis out{1000};
    if (const auto rt = runtime()) {
      for (const auto& [name, p] : rt->providers()) {
        if (p.config().health_check.enabled) out = std::min(out, p.config().health_check.interval);
      }
    }
    return std::max(out, Millis(10));
  }
};

HealthChecker::HealthChecker(const Clock& clock, Timers& timers, Transport& transport, RuntimeSource runtime,
                             metrics::Registry* metrics)
    : impl_(std::make_shared<Impl>(clock, timers, transport, std::move(runtime), metrics)) {}

HealthChecker::~HealthChecker() = default;

boost::asio::awaitable<int> HealthChecker::check_due() { co_return co_await impl_->check_due(); }

boost::asio::awaitable<void> HealthChecker::run() {
  auto self = impl_;  // the loop keeps its state alive
  self->executor = co_await boost::asio::this_coro::executor;
  self->running.store(true);
  while (!self->stopping.load()) {
    co_await self->check_due();
    if (self->stopping.load()) break;
    CancelToken token;
    self->wake = &token;
    // The next check due, or (no provider sick) the shortest interval: a
    // breaker that opens meanwhile is checked within one interval.
    const SteadyTime idle = self->clock.now() + self->shortest_interval();
    co_await self->timers.wait_until(std::min(self->next_due, idle), &token);
    self->wake = nullptr;
  }
  self->running.store(false);
}

void HealthChecker::stop(Millis grace) {
  impl_->stopping.store(true);
  if (impl_->running.load()) {
    boost::asio::post(impl_->executor, [self = impl_] {
      if (self->wake) self->wake->cancel();
    });
  }
  // A check in flight ends within its timeout; the transport must outlive it.
  const auto end = std::chrono::steady_clock::now() + grace;
  while ((impl_->running.load() || impl_->checks_in_flight.load() > 0) && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

HealthChecker::Status HealthChecker::status(const std::string& provider) const {
  std::lock_guard lock(impl_->mu);
  const auto it = impl_->state.find(provider);
  return it == impl_->state.end() ? Status{} : it->second.status;
}

}  // namespace tollgate::engine
