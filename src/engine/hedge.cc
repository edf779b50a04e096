// Hedging: an idempotent call's first attempt gets a second leg on another
// provider when it has not answered after the hedge delay; the first success
// wins. The loser is cancelled and awaited before the call goes on: a leg
// references the call, so it must never outlive this function. Every step of a
// leg runs under the attempt deadline, so waiting for the legs needs no cut-off
// of its own.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>

#include "engine/engine.h"

namespace tollgate::engine {

namespace asio = boost::asio;

namespace {
constexpr Millis kMinAttemptBudget{5};
}

asio::awaitable<std::vector<AttemptOutcome>> Engine::hedged(const CapabilityRuntime& cap, const Call& call,
                                                            const Progress& p, int number, Admitted&& first,
                                                            Transport& transport) const {
  // Shared with the legs' completion handlers (same thread).
  struct Race {
    std::optional<AttemptOutcome> results[2];
    CancelToken tokens[2];
    CancelToken* wake = nullptr;  // the waiter's current wake-up, if waiting
    void notify() {
      if (wake) wake->cancel();
    }
  };
  const auto executor = co_await asio::this_coro::executor;
  auto race = std::make_shared<Race>();
  auto spawn = [&](int leg, Admitted admitted) {
    asio::co_spawn(executor,
                   run_attempt(clock_, timers_, cap, call, number + leg, std::move(admitted), transport,
                               &race->tokens[leg], metrics_),
                   [race, leg, index = admitted.index](std::exception_ptr e, AttemptOutcome o) {
                     if (e) {
                       o = AttemptOutcome{};
                       o.index = index;
                       o.error = Error::make(ErrorClass::kInternal, "attempt failed unexpectedly");
                     }
                     o.hedge = leg == 1;
                     race->results[leg] = std::move(o);
                     race->notify();
                   });
  };
  // Waits until done() or, when `until` is set, that time.
  auto wait = [&](auto done, std::optional<SteadyTime> until) -> asio::awaitable<void> {
    while (!done()) {
      if (until && clock_.now() >= *until) co_return;
      CancelToken wake;
      race->wake = &wake;
      co_await timers_.wait_until(until ? *until : SteadyTime::max(), &wake);
      race->wake = nullptr;
    }
  };
  const int first_index = first.index;
  spawn(0, std::move(first));

  const auto& cfg = cap.config->hedge;
  Millis delay = cfg.delay;
  if (cfg.use_p95) {
    const auto h = cap.candidates[static_cast<size_t>(first_index)].route->health.snapshot(clock_.now(), true);
    if (h.latency.total() >= 20) {
      delay = std::max(cfg.delay, std::chrono::duration_cast<Millis>(h.latency.quantile(0.95)));
    }
  }
  co_await wait([&] { return race->results[0].has_value(); }, std::min(clock_.now() + delay, call.deadline.at()));

  std::optional<Admitted> second;
  if (!race->results[0] && clock_.now() + kMinAttemptBudget < call.deadline.at() &&
      (call.traffic != Traffic::kLive || cap.state->budget.try_spend(clock_.now()))) {
    Choice c = choose(cap, p, first_index, call.traffic);
    if (c.admitted && c.admitted->needs_shared) {
      const auto& pcfg = cap.candidates[static_cast<size_t>(c.admitted->index)].provider->config();
      auto blocked = co_await admit_shared(cap, *c.admitted, clock_.now(), clock_.wall(),
                                           pcfg.attempt_timeout + Millis(5000));
      if (blocked) c.admitted.reset();  // over the limit: no second leg
    }
    if (c.admitted) second = std::move(c.admitted);
  }
  std::vector<AttemptOutcome> out;
  if (!second) {
    co_await wait([&] { return race->results[0].has_value(); }, std::nullopt);
    out.push_back(std::move(*race->results[0]));
    co_return out;
  }
  spawn(1, std::move(*second));
  auto any_ok = [&] {
    return (race->results[0] && race->results[0]->ok) || (race->results[1] && race->results[1]->ok);
  };
  auto both = [&] { return race->results[0].has_value() && race->results[1].has_value(); };
  co_await wait([&] { return any_ok() || both(); }, std::nullopt);
  // First success wins; the other leg is cancelled and reaped before returning.
  for (int leg = 0; leg < 2; ++leg) {
    if (!race->results[leg]) race->tokens[leg].cancel();
  }
  co_await wait(both, std::nullopt);
  for (auto& r : race->results) out.push_back(std::move(*r));
  co_return out;
}

}  // namespace tollgate::engine
