#include "engine/engine.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/random.h"
#include "policy/backoff.h"

namespace tollgate::engine {

namespace asio = boost::asio;

namespace {

// Attempts shorter than this are not worth starting.
constexpr Millis kMinAttemptBudget{5};

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

AttemptRecord record_of(const CapabilityRuntime& cap, const AttemptOutcome& a) {
  AttemptRecord r;
  r.provider = cap.candidates[static_cast<size_t>(a.index)].provider->name();
  r.outcome = a.ok ? "ok" : a.cancelled ? "cancelled" : std::string(to_string(a.error.cls));
  if (!a.ok) r.provider_code = a.error.provider_code;
  r.duration = a.duration;
  r.probe = a.probe;
  r.hedge = a.hedge;
  return r;
}

// Waits on `wake` (cancelled by whoever completes something) until done() or t.
template <typename Done>
asio::awaitable<void> wait_until(asio::steady_timer& wake, const Clock& clock, SteadyTime t, Done done) {
  while (!done() && clock.now() < t) {
    wake.expires_at(t);
    co_await wake.async_wait(nothrow);
  }
}

asio::awaitable<void> sleep_until(SteadyTime t) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_at(t);
  co_await timer.async_wait(nothrow);
}

}  // namespace

bool may_retry(const Error& e, bool idempotent, bool provider_dedupes) {
  if (!is_retryable(e.cls)) return false;
  // The request may have reached the provider: repeating it could act twice,
  // unless the operation is idempotent or the provider deduplicates on the call id.
  if (e.ambiguous && !idempotent && !provider_dedupes) return false;
  return true;
}

struct Engine::Choice {
  std::optional<Admitted> admitted;
  Millis wait{0};       // something may admit after this long (throttle, rate, backoff)
  Millis next_probe{0};  // open breakers: when one will let a probe through
  std::string blocked;  // why nothing could be admitted, per provider
};

Engine::Choice Engine::choose(const CapabilityRuntime& cap, const std::vector<int>& order,
                              const std::vector<bool>& tried, const std::vector<SteadyTime>& not_before, int skip,
                              Traffic traffic) const {
  Choice out;
  const SteadyTime now = clock_.now();
  const WallTime wall = clock_.wall();
  std::vector<int> open;
  int others_blocked = 0;
  auto note_wait = [&](Millis w) {
    if (w.count() > 0 && (out.wait.count() == 0 || w < out.wait)) out.wait = w;
  };
  // Untried providers first (fail over at once), then tried ones whose backoff is over.
  for (const bool second_pass : {false, true}) {
    for (int i : order) {
      if (i == skip || tried[static_cast<size_t>(i)] != second_pass) continue;
      const auto& name = cap.candidates[static_cast<size_t>(i)].provider->name();
      if (not_before[static_cast<size_t>(i)] > now) {
        note_wait(std::chrono::ceil<Millis>(not_before[static_cast<size_t>(i)] - now));
        ++others_blocked;
        continue;
      }
      auto r = admit(cap, i, now, wall, traffic);
      if (auto* a = std::get_if<Admitted>(&r)) {
        out.admitted = std::move(*a);
        return out;
      }
      const auto& b = std::get<Blocked>(r);
      if (metrics_ && traffic == Traffic::kLive) metrics_->admission_denied.with({name, denial_label(b.reason)}).inc();
      out.blocked += (out.blocked.empty() ? "" : "; ") + name + ": " + b.reason;
      if (b.breaker_open) {
        open.push_back(i);
        if (out.next_probe.count() == 0 || b.wait < out.next_probe) out.next_probe = b.wait;
      } else {
        ++others_blocked;
        note_wait(b.wait);
      }
    }
  }
  // Every candidate's breaker is open: the least bad one still gets a probe
  // (live traffic only: test traffic never probes).
  if (!open.empty() && others_blocked == 0 && traffic == Traffic::kLive) {
    if (auto probe = force_probe(cap, least_bad(cap, open, now), now)) out.admitted = std::move(*probe);
  }
  return out;
}

asio::awaitable<std::vector<AttemptOutcome>> Engine::hedged(const CapabilityRuntime& cap, const Call& call,
                                                            const std::vector<int>& order,
                                                            const std::vector<bool>& tried,
                                                            const std::vector<SteadyTime>& not_before, int number,
                                                            Admitted first, http::Client& client) const {
  struct Race {
    explicit Race(const asio::any_io_executor& ex) : wake(ex) {}
    asio::steady_timer wake;
    std::optional<AttemptOutcome> results[2];
    http::CancelToken tokens[2];
  };
  const auto executor = co_await asio::this_coro::executor;
  auto race = std::make_shared<Race>(executor);
  auto spawn = [&](int leg, Admitted admitted) {
    asio::co_spawn(executor, run_attempt(clock_, cap, call, number + leg, std::move(admitted), client, &race->tokens[leg], metrics_),
                   [race, leg, index = admitted.index](std::exception_ptr e, AttemptOutcome o) {
                     if (e) {
                       o = AttemptOutcome{};
                       o.index = index;
                       o.error = Error::make(ErrorClass::kInternal, "attempt failed unexpectedly");
                     }
                     o.hedge = leg == 1;
                     race->results[leg] = std::move(o);
                     race->wake.cancel();
                   });
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
  const SteadyTime far = call.deadline.at() + Millis(1000);
  co_await wait_until(race->wake, clock_, std::min(clock_.now() + delay, call.deadline.at()), [&] { return race->results[0].has_value(); });

  std::vector<AttemptOutcome> out;
  std::optional<Admitted> second;
  if (!race->results[0] && clock_.now() + kMinAttemptBudget < call.deadline.at() &&
      (call.traffic != Traffic::kLive || cap.state->budget.try_spend(clock_.now()))) {
    Choice c = choose(cap, order, tried, not_before, first_index, call.traffic);
    if (c.admitted) {
      second = std::move(c.admitted);
    }
  }
  if (!second) {
    co_await wait_until(race->wake, clock_, far, [&] { return race->results[0].has_value(); });
    out.push_back(std::move(*race->results[0]));
    co_return out;
  }
  spawn(1, std::move(*second));
  auto any_ok = [&] {
    return (race->results[0] && race->results[0]->ok) || (race->results[1] && race->results[1]->ok);
  };
  co_await wait_until(race->wake, clock_, far, [&] { return any_ok() || (race->results[0] && race->results[1]); });
  // First success wins; the other leg is cancelled and reaped before returning
  // (it references this call).
  for (int leg = 0; leg < 2; ++leg) {
    if (!race->results[leg]) race->tokens[leg].cancel();
  }
  co_await wait_until(race->wake, clock_, far, [&] { return race->results[0] && race->results[1]; });
  for (auto& r : race->results) {
    if (r) out.push_back(std::move(*r));
  }
  co_return out;
}

asio::awaitable<CallOutcome> Engine::execute(const CapabilityRuntime& cap, const Call& call,
                                             const CallRouting& routing, http::Client& client,
                                             const BeforeSend* before_send) const {
  CallOutcome out;
  const auto& cfg = *cap.config;
  auto order = plan_order(cap, routing, call.params, clock_.now());
  if (!order) {
    out.error = order.error();
    co_return out;
  }
  const size_t n = cap.candidates.size();
  std::vector<bool> tried(n, false);
  std::vector<SteadyTime> not_before(n, SteadyTime{});
  std::optional<Error> last;
  std::string blocked;
  Millis retry_hint{0};
  bool budget_spent = false;
  int attempts = 0;
  int backoffs = 0;
  // Test traffic neither feeds nor spends the live retry budget.
  const bool budgeted = call.traffic == Traffic::kLive;
  if (budgeted) cap.state->budget.on_call(clock_.now());

  while (attempts < cfg.retry.max_attempts) {
    const SteadyTime now = clock_.now();
    if (call.deadline.remaining(now) < kMinAttemptBudget) break;
    Choice choice = choose(cap, *order, tried, not_before, -1, call.traffic);
    if (!choice.admitted) {
      blocked = choice.blocked;
      retry_hint = choice.wait.count() > 0 ? choice.wait : choice.next_probe;
      if (choice.wait.count() > 0 && now + choice.wait + kMinAttemptBudget < call.deadline.at()) {
        co_await sleep_until(now + choice.wait);
        continue;
      }
      break;
    }
    Admitted admitted = std::move(*choice.admitted);
    if (attempts > 0 && budgeted && !cap.state->budget.try_spend(now)) {
      release(cap, admitted, false, clock_.wall());
      if (admitted.probe) cap.candidates[static_cast<size_t>(admitted.index)].route->breaker.release_probe();
      budget_spent = true;
      break;
    }
    blocked.clear();

    if (before_send) {
      co_await (*before_send)(cap.candidates[static_cast<size_t>(admitted.index)].provider->name());
    }
    std::vector<AttemptOutcome> results;
    if (cfg.hedge.enabled && attempts == 0 && n > 1) {
      results = co_await hedged(cap, call, *order, tried, not_before, attempts + 1, std::move(admitted), client);
    } else {
      results.push_back(
          co_await run_attempt(clock_, cap, call, attempts + 1, std::move(admitted), client, nullptr, metrics_));
    }
    attempts += static_cast<int>(results.size());
    const AttemptOutcome* failure = nullptr;
    for (auto& r : results) {
      out.attempts.push_back(record_of(cap, r));
      tried[static_cast<size_t>(r.index)] = true;
      if (r.ok && !out.ok) {
        out.ok = true;
        out.provider = cap.candidates[static_cast<size_t>(r.index)].provider->name();
        out.result = std::move(r.result);
      } else if (!r.ok && !r.cancelled) {
        failure = &r;
        if (r.error.retry_after.count() > 0) {
          not_before[static_cast<size_t>(r.index)] = clock_.now() + r.error.retry_after;
        }
      }
    }
    if (out.ok) co_return out;
    if (!failure) break;
    const auto& op = *cap.candidates[static_cast<size_t>(failure->index)].operation;
    last = failure->error;
    if (last->cls == ErrorClass::kUnauthorized && last->from_provider && !last->ambiguous) {
      // The provider refused our credentials for it: it will not serve this call,
      // but another provider may (nothing was acted on).
      not_before[static_cast<size_t>(failure->index)] = call.deadline.at();
      if (std::all_of(order->begin(), order->end(), [&](int i) { return tried[static_cast<size_t>(i)]; })) {
        out.error = *last;
        co_return out;
      }
      continue;
    }
    if (!may_retry(*last, cfg.idempotent, op.dedupe())) {
      out.error = *last;
      co_return out;
    }
    // Every candidate tried once: coming back to them waits a jittered backoff.
    if (std::all_of(order->begin(), order->end(), [&](int i) { return tried[static_cast<size_t>(i)]; })) {
      const Millis backoff =
          policy::full_jitter_backoff(backoffs++, cfg.retry.base_backoff, cfg.retry.max_backoff, random_unit());
      for (int i : *order) {
        auto& nb = not_before[static_cast<size_t>(i)];
        nb = std::max(nb, clock_.now() + backoff);
      }
    }
  }

  // Every way out of the loop left the call retryable: try again later is allowed.
  out.retry_later = true;
  const bool out_of_time = call.deadline.remaining(clock_.now()) < kMinAttemptBudget;
  if (out_of_time) {
    out.error = Error::make(ErrorClass::kTimeout, "no provider answered within the call's deadline");
    if (last) {
      out.error.from_provider = true;
      out.error.provider = last->provider;
      out.error.provider_code = last->provider_code;
      out.error.detail = last->detail;
    }
    co_return out;
  }
  if (last) {
    out.error = *last;
    if (out.error.cls == ErrorClass::kRateLimited || out.error.cls == ErrorClass::kTimeout) {
      out.error.cls = ErrorClass::kUnavailable;  // time remains, yet nobody could serve
    }
  } else {
    out.error = Error::make(ErrorClass::kUnavailable, "");
    out.error.from_provider = true;
  }
  out.error.message = "no provider could serve the request (" + std::to_string(out.attempts.size()) + " attempt" +
                      (out.attempts.size() == 1 ? "" : "s");
  if (!blocked.empty()) out.error.message += "; " + blocked;
  if (budget_spent) out.error.message += "; retry budget exhausted";
  out.error.message += ")";
  if (retry_hint > out.error.retry_after) out.error.retry_after = retry_hint;
  co_return out;
}

}  // namespace tollgate::engine
