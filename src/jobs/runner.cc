#include "jobs/runner.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <spdlog/spdlog.h>

#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "core/random.h"
#include "core/time_format.h"
#include "engine/call_log.h"
#include "engine/metrics.h"
#include "engine/outcome_json.h"

namespace tollgate::jobs {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);
constexpr auto kPurgeEvery = std::chrono::seconds(60);
// Tries at recording a finished job while the store is unreachable (~30 s).
constexpr int kFinishTries = 20;

// Equal jitter: half the exponential step, plus up to the other half at random,
// so retries spread out but never come back at once.
Millis job_backoff(int retry, const config::JobsConfig& jc) {
  const int shift = std::clamp(retry, 0, 30);
  const long long ceiling = std::min<long long>(jc.max_backoff.count(), jc.base_backoff.count() * (1LL << shift));
  return Millis(ceiling / 2 + static_cast<long long>(random_unit() * static_cast<double>(ceiling / 2)));
}

json::array parse_array(const std::string& text) {
  boost::system::error_code ec;
  auto v = json::parse(text.empty() ? "[]" : text, ec);
  return !ec && v.is_array() ? v.get_array() : json::array{};
}

}  // namespace

struct Runner::Impl : std::enable_shared_from_this<Runner::Impl> {
  Impl(http::Workers& w, std::vector<Transport*> t, const engine::RuntimeHolder& rt, store::JobStore& s,
       const Clock& clk, Timers& tm, std::string inst, engine::EngineMetrics* em, JobsMetrics* jm)
      : workers(w), transports(std::move(t)), runtime(rt), store(s), clock(clk), timers(tm),
        instance(std::move(inst)), engine(clk, tm, em), metrics(jm) {}

  http::Workers& workers;
  std::vector<Transport*> transports;
  const engine::RuntimeHolder& runtime;
  store::JobStore& store;
  store::EventStore* events = nullptr;
  const Clock& clock;
  Timers& timers;
  const std::string instance;
  engine::Engine engine;
  JobsMetrics* metrics;
  CancelToken* wake = nullptr;  // worker 0 only: the claim loop's current wait
  std::unique_ptr<policy::Gcra> drain;  // worker 0 only
  std::atomic<int> running{0};
  std::mutex running_mu;
  std::set<std::string> running_ids;  // leases this process holds (heartbeats renew them)
  SteadyTime next_heartbeat{};
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> next_worker{0};
  SteadyTime next_purge{};
  // Capabilities whose every provider is out (Engine::outage). Their queued jobs
  // are not claimed: each would only find no provider and go back to the queue,
  // a store write and a log line apiece at up to drain_rps, taking the store
  // from the calls being accepted. One at a time, a forced-probe spacing apart,
  // goes as the probe that notices a provider's return (without a health check).
  // Worker 0 only.
  struct Hold {
    Millis spacing{0};  // between forced probes (Engine::outage), as of the last update_holds
    SteadyTime next_probe{};
  };
  // A little past the breaker's own spacing, so the probe is not refused for
  // coming a moment early.
  static SteadyTime next_probe_after(SteadyTime now, Millis spacing) { return now + spacing + spacing / 8; }
  std::map<std::string, Hold> holds;
  std::set<std::string> probing;  // under running_mu: held capabilities with a probe job running

  void poke() {
    asio::post(workers.context(0), [self = shared_from_this()] {
      if (self->wake) self->wake->cancel();
    });
  }

  asio::awaitable<void> loop() {
    auto self = shared_from_this();
    while (!stopping.load()) {
      const auto rt = runtime.get();
      const auto& jc = rt->config().jobs;
      if (!drain || drain->rate() != jc.drain_rps) {
        drain = std::make_unique<policy::Gcra>(jc.drain_rps, std::max(1, static_cast<int>(jc.drain_rps / 10)));
      }
      const SteadyTime now = clock.now();
      if (now >= next_purge) {
        const auto wall = unix_millis(clock.wall());
        (void)co_await store.purge(wall - rt->config().store.idempotency_ttl.count(),
                                   wall - rt->config().store.retention.count());
        next_purge = now + kPurgeEvery;
      }
      if (now >= next_heartbeat) {
        co_await heartbeat(jc);
        next_heartbeat = now + jc.lease / 3;
      }
      update_holds(*rt, now);
      co_await probe_holds(jc, now);
      int want = 0;
      const int capacity = jc.concurrency - running.load();
      // While some are held: every other configured capability's jobs (a job of
      // a capability no longer configured waits for the holds to end).
      store::ClaimFilter filter;
      if (!holds.empty()) {
        for (const auto& [name, cap] : rt->capabilities()) {
          if (!holds.contains(name)) filter.among.push_back(name);
        }
      }
      if (holds.empty() || !filter.among.empty()) {
        while (want < capacity && drain->try_acquire(now).count() == 0) ++want;
      }
      bool more = false;
      if (want > 0) {
        const auto now_ms = unix_millis(clock.wall());
        auto claimed = co_await store.claim(now_ms, want, instance, now_ms + jc.lease.count(), std::move(filter));
        const int got = claimed ? static_cast<int>(claimed->size()) : 0;
        for (int i = got; i < want; ++i) drain->refund();
        if (!claimed) spdlog::error("jobs: claim failed: {}", claimed.error().message);
        if (claimed) {
          for (auto& job : *claimed) launch(std::move(job), false);
        }
        more = got == want && got > 0;
      }
      if (!more) {
        CancelToken token;
        wake = &token;
        co_await timers.wait_until(clock.now() + jc.poll_interval, &token);
        wake = nullptr;
      }
    }
  }

  // Runs a claimed job on the next worker. A probe job (of a held capability)
  // marks its capability as probing until it ends.
  void launch(store::CallRecord job, bool probe) {
    auto self = shared_from_this();
    if (job.resumed) log_takeover(job);
    running.fetch_add(1);
    {
      std::lock_guard lock(running_mu);
      running_ids.insert(job.id);
      if (probe) probing.insert(job.capability);
    }
    const int w = static_cast<int>(next_worker.fetch_add(1) % static_cast<std::uint64_t>(workers.size()));
    std::string id = job.id;
    std::string probed = probe ? job.capability : std::string();
    asio::co_spawn(workers.context(w), run_job(std::move(job), w),
                   [self, id = std::move(id), probed = std::move(probed)](std::exception_ptr e) {
                     if (e) spdlog::error("jobs: a job run failed unexpectedly");
                     {
                       std::lock_guard lock(self->running_mu);
                       self->running_ids.erase(id);
                       if (!probed.empty()) self->probing.erase(probed);
                     }
                     self->running.fetch_sub(1);
                     self->poke();
                   });
  }

  // Starts and ends holds from the breakers' state now.
  void update_holds(const engine::Runtime& rt, SteadyTime now) {
    for (auto it = holds.begin(); it != holds.end();) {
      if (rt.capability(it->first)) {
        ++it;
        continue;
      }
      set_held_gauge(it->first, false);  // no longer configured
      it = holds.erase(it);
    }
    for (const auto& [name, cap] : rt.capabilities()) {
      // A capability without async calls has no jobs to hold.
      const bool has_jobs = cap.config->async.allow || cap.config->async.fallback;
      const auto spacing = has_jobs ? engine.outage(cap) : std::nullopt;
      const auto it = holds.find(name);
      if (spacing && it != holds.end()) {
        it->second.spacing = *spacing;
      } else if (spacing) {
        holds.emplace(name, Hold{*spacing, next_probe_after(now, *spacing)});
        set_held_gauge(name, true);
        if (metrics) {
          const auto [c, op] = engine::split_capability(name);
          metrics->holds.with({c, op}).inc();
        }
        spdlog::warn("jobs: every provider of {} is out; its queued jobs wait, one at a time going as a probe", name);
      } else if (!spacing && it != holds.end()) {
        holds.erase(it);
        set_held_gauge(name, false);
        spdlog::info("jobs: a provider of {} admits calls again; its queued jobs are claimed again", name);
      }
    }
  }

  void set_held_gauge(const std::string& capability, bool held) {
    if (!metrics) return;
    const auto [c, op] = engine::split_capability(capability);
    metrics->held.with({c, op}).set(held ? 1 : 0);
  }

  // One probe job per held capability at a time, a forced-probe spacing apart
  // (the engine forces the probe through the least bad provider's breaker).
  // Runs right after update_holds: every hold here is current.
  asio::awaitable<void> probe_holds(const config::JobsConfig& jc, SteadyTime now) {
    for (auto& [name, hold] : holds) {
      if (now < hold.next_probe || running.load() >= jc.concurrency) continue;
      {
        std::lock_guard lock(running_mu);
        if (probing.contains(name)) continue;
      }
      hold.next_probe = next_probe_after(now, hold.spacing);
      const auto now_ms = unix_millis(clock.wall());
      // A named filter: with a braced temporary in this co_await's arguments, the
      // GCC 12 build freed the filter's string from a wrong address (abort).
      store::ClaimFilter only;
      only.among.push_back(name);
      auto claimed = co_await store.claim(now_ms, 1, instance, now_ms + jc.lease.count(), std::move(only));
      if (!claimed) {
        spdlog::error("jobs: claim failed: {}", claimed.error().message);
        continue;
      }
      for (auto& job : *claimed) launch(std::move(job), true);
    }
  }

  // Renews the leases of the jobs running here, so a run longer than the lease is
  // not taken over while this process is alive; a process that dies stops
  // renewing, and its jobs are claimable once their leases lapse.
  asio::awaitable<void> heartbeat(const config::JobsConfig& jc) {
    std::vector<std::string> ids;
    {
      std::lock_guard lock(running_mu);
      ids.assign(running_ids.begin(), running_ids.end());
    }
    if (ids.empty()) co_return;
    const auto asked = ids.size();
    auto held = co_await store.renew_leases(std::move(ids), instance, unix_millis(clock.wall()) + jc.lease.count());
    if (!held) {
      spdlog::warn("jobs: lease renewal failed: {}", held.error().message);
    } else if (static_cast<size_t>(*held) < asked) {
      spdlog::warn("jobs: {} of {} running jobs were taken over by another process", asked - *held, asked);
    }
  }

  // A job taken over from a process that died holding its lease.
  void log_takeover(const store::CallRecord& job) {
    if (metrics) {
      const auto [cap, op] = engine::split_capability(job.capability);
      metrics->resumed.with({cap, op}).inc();
    }
    spdlog::warn("jobs: took over job {} ({}, run {}) from {}, whose lease lapsed", job.id, job.capability, job.runs,
                 job.resumed_from.empty() ? std::string("a stopped process") : job.resumed_from);
  }

  asio::awaitable<void> finish(store::CallRecord& job, store::CallState state, const Error* error,
                               const Call* call = nullptr, const config::CapabilityConfig* cap_cfg = nullptr,
                               const std::vector<engine::AttemptRecord>* attempts = nullptr,
                               SteadyTime started = {}) {
    const std::string_view result = state == store::CallState::kQueued ? "requeued" : store::to_string(state);
    if (metrics) {
      const auto [cap, op] = engine::split_capability(job.capability);
      metrics->runs.with({cap, op, result}).inc();
    }
    if (call && cap_cfg && runtime.get()->config().log.calls) {
      engine::log_call(engine::CallLogEntry{.msg = job.resumed ? "job_resumed" : "job",
                                            .run = job.runs,
                                            .call = call,
                                            .capability = cap_cfg,
                                            .outcome = result,
                                            .error = error,
                                            .attempts = attempts,
                                            .duration = std::chrono::duration_cast<Millis>(clock.now() - started)});
    }
    job.state = state;
    job.lease_owner.clear();
    job.lease_until_ms = 0;
    job.updated_ms = unix_millis(clock.wall());
    if (error) job.error_json = json::serialize(engine::error_json(*error));
    if (store::is_terminal(state) && !job.callback_url.empty()) {
      job.callback_state = store::CallbackState::kPending;
      job.callback_next_ms = job.updated_ms;
    }
    // The provider has answered: keep trying while the store is away (the
    // heartbeat keeps the lease meanwhile), so the outcome is not re-run later.
    auto saved = co_await store.update_leased(job, instance);
    for (int attempt = 0; !saved && saved.error().cls == ErrorClass::kUnavailable && attempt < kFinishTries; ++attempt) {
      co_await timers.wait_until(clock.now() + std::min(Millis(2000), Millis(100) * (1 << attempt)));
      saved = co_await store.update_leased(job, instance);
    }
    if (!saved && saved.error().cls == ErrorClass::kConflict) {
      spdlog::warn("jobs: job {} was taken over by another process; its outcome here is not recorded", job.id);
    } else if (!saved) {
      spdlog::error("jobs: cannot record job {} (it runs again once its lease lapses): {}", job.id,
                    saved.error().message);
    }
  }

  asio::awaitable<void> run_job(store::CallRecord job, int worker) {
    auto self = shared_from_this();
    const auto rt = runtime.get();
    const auto& jc = rt->config().jobs;
    const auto* cap = rt->capability(job.capability);
    if (!cap) {
      const Error e = Error::make(ErrorClass::kNotFound, "capability " + job.capability + " is no longer configured");
      spdlog::error("jobs: job {} dead-lettered: {}", job.id, e.message);
      co_await finish(job, store::CallState::kDead, &e);
      co_return;
    }
    const SteadyTime started = clock.now();
    Call call;
    call.id = job.id;
    call.caller = job.caller;
    call.capability = job.capability;
    call.received_at = WallTime(std::chrono::milliseconds(job.created_ms));
    boost::system::error_code ec;
    auto params = json::parse(job.params_json, ec);
    if (ec || !params.is_object()) {
      const Error e = Error::make(ErrorClass::kInternal, "stored params are not a JSON object");
      spdlog::error("jobs: job {} failed: {}", job.id, e.message);
      co_await finish(job, store::CallState::kFailed, &e);
      co_return;
    }
    call.params = std::move(params.get_object());
    call.deadline = Deadline::after(clock.now(), cap->config->default_deadline);
    // The job continues the trace of the request that created it.
    if (!job.trace_id.empty()) {
      TraceContext parent;
      parent.trace_id = job.trace_id;
      call.trace = start_trace(parent);
    } else {
      call.trace = start_trace(std::nullopt);
    }
    engine::CallRouting routing = engine::parse_routing_json(job.routing_json);
    const config::CapabilityConfig* cc = cap->config;

    // Taken over from a run that died: only send again where that cannot act twice.
    if (job.resumed && !job.provider.empty()) {
      const int idx = cap->candidate_index(job.provider);
      const bool dedupes = idx >= 0 && cap->candidates[static_cast<size_t>(idx)].operation->dedupe();
      if (dedupes) {
        routing.pin = job.provider;  // only that provider can recognise the repeat
      } else if (!cap->config->idempotent) {
        Error e = engine::outcome_unknown(Error::make(ErrorClass::kUnavailable, ""));
        e.provider = job.provider;
        e.message = "tollgate stopped while " + job.provider +
                    " may have been processing this call, and repeating it is not safe; its outcome is unknown";
        co_await finish(job, store::CallState::kFailed, &e, &call, cc, nullptr, started);
        co_return;
      }
    }

    // Durably note which provider is about to receive the call, before it is sent.
    engine::Engine::BeforeSend before_send = [&job, this](const std::string& provider) -> asio::awaitable<void> {
      if (job.provider == provider) co_return;
      job.provider = provider;
      job.updated_ms = unix_millis(clock.wall());
      auto saved = co_await store.update_leased(job, instance);
      if (!saved) spdlog::error("jobs: cannot record job {}: {}", job.id, saved.error().message);
    };
    engine::CallOutcome outcome;
    co_await engine.execute(*cap, call, routing, *transports[static_cast<size_t>(worker)], outcome, &before_send);
    if (!outcome.pinned_provider.empty() && routing.pin != outcome.pinned_provider) {
      // The provider may have acted: every later run goes back to it alone.
      routing.pin = outcome.pinned_provider;
      job.routing_json = engine::routing_json(routing);
    }

    json::array attempts = parse_array(job.attempts_json);
    for (auto& a : engine::attempts_json(outcome.attempts)) {
      a.as_object()["run"] = job.runs;
      attempts.push_back(std::move(a));
    }
    job.attempts_json = json::serialize(attempts);
    if (outcome.ok) {
      job.provider = outcome.provider;
      job.result_json = json::serialize(outcome.result);
      if (events && !outcome.message_id.empty()) {
        events->record_send({outcome.provider, outcome.message_id, job.id, job.capability, job.caller,
                             job.callback_url, unix_millis(clock.wall())});
      }
      job.error_json.clear();
      co_await finish(job, store::CallState::kSucceeded, nullptr, &call, cc, &outcome.attempts, started);
      co_return;
    }
    if (!outcome.error.provider.empty()) job.provider = outcome.error.provider;
    const auto now_ms = unix_millis(clock.wall());
    if (!outcome.retry_later) {
      co_await finish(job, store::CallState::kFailed, &outcome.error, &call, cc, &outcome.attempts, started);
      co_return;
    }
    // A run in which no provider could even be tried (all breakers open, all
    // throttled) does not count against max_attempts; only max_age bounds it.
    if (outcome.attempts.empty()) --job.runs;
    const bool too_old = now_ms - job.created_ms >= jc.max_age.count();
    if (job.runs >= jc.max_attempts || too_old) {
      Error e = outcome.error;
      e.message = (too_old ? "gave up after jobs.max_age: " : "gave up after jobs.max_attempts runs: ") + e.message;
      if (e.ambiguous && !cc->idempotent) e = engine::outcome_unknown(e);
      co_await finish(job, store::CallState::kDead, &e, &call, cc, &outcome.attempts, started);
      co_return;
    }
    const Millis wait = std::max(outcome.error.retry_after, job_backoff(std::max(0, job.runs - 1), jc));
    job.not_before_ms = now_ms + wait.count();
    co_await finish(job, store::CallState::kQueued, &outcome.error, &call, cc, &outcome.attempts, started);
  }
};

Runner::Runner(http::Workers& workers, std::vector<Transport*> transports, const engine::RuntimeHolder& runtime,
               store::JobStore& store, const Clock& clock, Timers& timers, std::string instance,
               engine::EngineMetrics* engine_metrics, JobsMetrics* metrics)
    : impl_(std::make_shared<Impl>(workers, std::move(transports), runtime, store, clock, timers,
                                   std::move(instance), engine_metrics, metrics)) {}

Runner::~Runner() = default;

void Runner::set_events(store::EventStore* events) { impl_->events = events; }

void Runner::start() {
  impl_->store.set_wakeup([weak = std::weak_ptr<Impl>(impl_)] {
    if (auto self = weak.lock()) self->poke();
  });
  asio::co_spawn(impl_->workers.context(0), impl_->loop(), asio::detached);
}

void Runner::stop(Millis grace) {
  impl_->stopping.store(true);
  impl_->poke();
  const auto end = std::chrono::steady_clock::now() + grace;
  while (impl_->running.load() > 0 && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

int Runner::running() const { return impl_->running.load(); }

}  // namespace tollgate::jobs
