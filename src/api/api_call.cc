// POST /v1/{capability}/{operation}: one call, answered synchronously, or queued
// for the async runner (asked for, scheduled, or as a fallback when no provider
// can serve now).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <spdlog/spdlog.h>

#include "api/api.h"
#include "api/replies.h"
#include "core/crypto.h"
#include "core/random.h"
#include "core/time_format.h"
#include "engine/call_log.h"
#include "engine/metrics.h"
#include "engine/validator.h"
#include "policy/backoff.h"

namespace tollgate::api {

using namespace tollgate::engine;

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// How long past a keyed synchronous call's deadline its record may stay
// "running" before a repeat treats it as abandoned (the process died, or could
// not record the outcome).
constexpr Millis kKeyedLeaseMargin{10000};
// Tries at recording a keyed call's outcome after the provider answered.
constexpr int kPersistTries = 5;
// The first block of a call's params arena: a typical body's params fit, and the
// block (with the arena's header) stays within glibc's per-thread cache (1,032
// bytes). A larger body adds blocks, each twice the last, as it parses.
constexpr std::size_t kParamsArena = 512;

Error err(ErrorClass c, std::string message) { return Error::make(c, std::move(message)); }

Error not_durable(const Error& why) {
  Error e = err(ErrorClass::kUnavailable, "the call could not be recorded durably; nothing was sent");
  e.detail = why.message;
  return e;
}

// The error a caller sees for a failed call: where the provider may have acted
// and the caller's repeat could act again, outcome_unknown (never retryable).
Error caller_error(const CallOutcome& outcome, const config::CapabilityConfig& cap) {
  if (outcome.error.ambiguous && !cap.idempotent && is_retryable(outcome.error.cls)) {
    return outcome_unknown(outcome.error);
  }
  return outcome.error;
}

// What an executed call's record says of its outcome.
void note_outcome(store::CallRecord& rec, const CallOutcome& outcome, WallTime now) {
  rec.updated_ms = unix_millis(now);
  rec.provider = outcome.ok ? outcome.provider : outcome.error.provider;
}

}  // namespace

Result<void> same_request(const store::CallRecord& existing, const store::CallRecord& attempted) {
  if (existing.capability != attempted.capability) {
    return err(ErrorClass::kConflict,
               "Idempotency-Key was already used for " + existing.capability + "; use a new key for " +
                   attempted.capability);
  }
  if (existing.body_hash != attempted.body_hash) {
    return err(ErrorClass::kConflict, "Idempotency-Key was already used with a different request body");
  }
  return ok();
}

asio::awaitable<http::ServerResponse> ApiHandler::replay(const store::CallRecord& existing,
                                                         const store::CallRecord& attempted) {
  if (auto same = same_request(existing, attempted); !same) co_return error_reply(same.error(), existing.id);
  if (existing.async) co_return accepted_reply(existing, false);
  if (!store::is_terminal(existing.state)) {
    if (existing.lease_until_ms > 0 && existing.lease_until_ms < unix_millis(clock_.wall())) {
      // Its process died, or could not record what the provider answered.
      Error e = outcome_unknown(err(ErrorClass::kUnavailable, ""));
      e.detail = "keyed call " + existing.id + " was never recorded as finished";
      co_return error_reply(e, existing.id);
    }
    co_return error_reply(err(ErrorClass::kConflict, "a call with this Idempotency-Key is still in progress"),
                          existing.id);
  }
  co_return replay_stored_answer(existing);
}

asio::awaitable<Result<void>> ApiHandler::persist_outcome(store::CallRecord rec) {
  Result<void> saved;
  for (int attempt = 0; attempt < kPersistTries; ++attempt) {
    saved = co_await store_.update(rec);
    if (saved) co_return saved;
    co_await timers_.wait_until(clock_.now() + Millis(200) * (1 << attempt));
  }
  spdlog::error("call {}: cannot record its outcome after {} tries: {}", rec.id, kPersistTries,
                saved.error().message);
  co_return saved;
}

asio::awaitable<http::ServerResponse> ApiHandler::accept_async(store::CallRecord rec, const CallOptions& o) {
  rec.state = store::CallState::kQueued;
  rec.async = true;
  auto ins = co_await store_.insert(rec);
  if (!ins) co_return error_reply(not_durable(ins.error()), rec.id);
  if (!ins->inserted) co_return co_await replay(*ins->existing, rec);
  co_return accepted_reply(rec, o.prefer_async);
}

// What one call carries across its suspensions. GCC keeps every local of a
// coroutine body in the frame for the whole call, none sharing space with
// another: the steps that never suspend are plain functions (their temporaries
// live on the stack), the rare paths are coroutines of their own, and a usual
// call's frame holds this, the outcome and little else.
struct ApiHandler::CallState {
  explicit CallState(SteadyTime t) : started(t) {}
  SteadyTime started;
  Admitted a;
  // The params live as long as the call: in one arena the call owns (and any
  // copy of them shares), not an allocation per key, object and long string.
  // Only this worker's thread touches them. (The arena's first block is taken
  // at the first parse, not here.)
  Call call{.params = json::object(json::make_shared_resource<json::monotonic_resource>(kParamsArena))};
  CallOptions o;
  Millis budget{0};  // synchronous calls: the deadline's length
  bool keyed() const { return !o.idempotency_key.empty(); }
};

// The caller's answer to an executed call; `record`: whether the call's record
// is written.
struct ApiHandler::Settled {
  http::ServerResponse reply;
  Error error;
  bool record = false;
};

asio::awaitable<http::ServerResponse> ApiHandler::call(HttpRequest& req, int worker, std::string_view capability) {
  CallState s(clock_.now());
  std::optional<http::ServerResponse> early = admit(req, capability, s);
  if (!early && s.a.cap->shared.limits) early = co_await shared_limit_refusal(s.a);
  if (!early) early = prepare(req, capability, s);
  if (early) co_return std::move(*early);
  if (s.o.async() || s.keyed()) co_return co_await call_recorded(req, worker, s);

  CallOutcome outcome;
  co_await engine_.execute(*s.a.cap, s.call, s.o.routing, *transports_[worker], outcome);
  if (falls_back(s, outcome)) {
    early = co_await queue_fallback(req, s, outcome, nullptr);
    if (early) co_return std::move(*early);
    // Could not queue it: answer with the failure as it was.
  }
  co_return answer(req, s, outcome);
}

std::optional<http::ServerResponse> ApiHandler::admit(const HttpRequest& req, std::string_view capability,
                                                      CallState& s) const {
  auto admitted = admit_caller(req, capability);
  if (admitted) {
    s.a = std::move(*admitted);
    return std::nullopt;
  }
  if (metrics_) {
    if (admitted.error().cls == ErrorClass::kRateLimited) {
      metrics_->caller_rate_limited.with({caller_name(req)}).inc();
    } else {
      metrics_->rejected.with({to_string(admitted.error().cls)}).inc();
    }
  }
  return error_reply(admitted.error(), {});
}

asio::awaitable<std::optional<http::ServerResponse>> ApiHandler::shared_limit_refusal(const Admitted& a) const {
  auto limited = co_await caller_limit_shared(a);
  if (limited) co_return std::nullopt;
  if (metrics_) metrics_->caller_rate_limited.with({a.caller->config->name}).inc();
  co_return error_reply(limited.error(), {});
}

std::optional<http::ServerResponse> ApiHandler::prepare(const HttpRequest& req, std::string_view capability,
                                                        CallState& s) const {
  Call& call = s.call;
  call.received_at = clock_.wall();
  call.id = new_call_id(static_cast<std::uint64_t>(unix_millis(call.received_at)));
  call.caller = s.a.caller->config->name;
  call.capability = std::string(capability);
  call.trace = start_trace(parse_traceparent(req.header("traceparent")));

  auto params = parse_params(req.body, call.params.storage());
  if (!params) return fail(s, params.error());
  call.params = std::move(*params);  // the same arena: no copy
  if (auto valid = validate_params(*s.a.cap->config, call.params); !valid) return fail(s, valid.error());
  auto options = parse_options(req, s.a);
  if (!options) return fail(s, options.error());
  s.o = std::move(*options);
  call.traffic = s.o.traffic;
  if (!s.o.async()) {
    const auto& cap = *s.a.cap->config;
    s.budget = std::min(s.o.deadline.value_or(cap.default_deadline), cap.max_deadline);
    call.deadline = Deadline::after(clock_.now(), s.budget);
  }
  return std::nullopt;
}

// Every way out of a call that got an id: metrics, the call log line, the trace
// header.
http::ServerResponse ApiHandler::finish(const CallState& s, http::ServerResponse reply, std::string_view outcome,
                                        const Error* error, const std::vector<AttemptRecord>& attempts) const {
  const Call& call = s.call;
  const Millis took = std::chrono::duration_cast<Millis>(clock_.now() - s.started);
  if (metrics_) {
    const auto [cap_label, op_label] = split_capability(call.capability);
    const std::string_view traffic = to_string(call.traffic);
    metrics_->calls.with({cap_label, op_label, call.caller, outcome, traffic}).inc();
    metrics_->call_duration.with({cap_label, op_label, traffic})
        .observe(std::chrono::duration<double>(clock_.now() - s.started).count());
  }
  if (s.a.rt->config().log.calls) {
    log_call(CallLogEntry{.call = &call,
                          .capability = s.a.cap->config,
                          .outcome = outcome,
                          .status = reply.response.status,
                          .error = error,
                          .attempts = &attempts,
                          .duration = took});
  }
  reply.response.headers.emplace_back("traceparent", call.trace.header(call.trace.span_id));
  return reply;
}

http::ServerResponse ApiHandler::fail(const CallState& s, const Error& e) const {
  return finish(s, error_reply(e, s.call.id), to_string(e.cls), &e, {});
}

bool ApiHandler::falls_back(const CallState& s, const CallOutcome& outcome) const {
  return !outcome.ok && outcome.retry_later && s.a.cap->config->async.fallback && s.call.traffic == Traffic::kLive;
}

store::CallRecord ApiHandler::executed_record(const HttpRequest& req, const CallState& s, const CallOutcome& outcome,
                                              bool payload) const {
  store::CallRecord rec = new_record(s.a, s.call, s.o, req.body, payload);
  note_outcome(rec, outcome, clock_.wall());
  return rec;
}

ApiHandler::Settled ApiHandler::settle(const CallState& s, const CallOutcome& outcome, store::CallRecord& rec) const {
  const Call& call = s.call;
  if (outcome.ok && events_ && !outcome.message_id.empty()) {
    // Its receipts and notifications will name this id (docs/events.md).
    events_->record_send({outcome.provider, outcome.message_id, call.id, call.capability, rec.caller,
                          s.o.callback_url, rec.updated_ms});
  }
  Settled st;
  st.error = outcome.ok ? Error{} : caller_error(outcome, *s.a.cap->config);
  st.reply = outcome.ok ? success_reply(call.id, outcome, call.traffic)
                        : error_reply(st.error, call.id, &outcome.attempts, call.traffic);
  st.record = s.keyed() || (s.a.rt->config().store.record_sync_calls && !s.a.cap->config->secret_results);
  if (st.record) {
    rec.async = false;
    rec.lease_owner.clear();
    rec.lease_until_ms = 0;
    rec.state = outcome.ok ? store::CallState::kSucceeded : store::CallState::kFailed;
    rec.attempts_json.clear();  // they are in the stored answer
    (outcome.ok ? rec.result_json : rec.error_json) = stored_answer(st.reply.response.status, st.reply.response.body);
  }
  return st;
}

http::ServerResponse ApiHandler::conclude(const CallState& s, Settled st, const CallOutcome& outcome) const {
  return finish(s, std::move(st.reply), outcome.ok ? std::string_view("succeeded") : to_string(st.error.cls),
                outcome.ok ? nullptr : &st.error, outcome.attempts);
}

// A synchronous call without a key: recorded once answered, without waiting for
// the store.
http::ServerResponse ApiHandler::answer(const HttpRequest& req, const CallState& s, const CallOutcome& outcome) {
  store::CallRecord rec = executed_record(req, s, outcome, false);
  Settled st = settle(s, outcome, rec);
  if (st.record) store_.record(std::move(rec));
  return conclude(s, std::move(st), outcome);
}

// A call queued at once (asked for, or scheduled), or a synchronous call with an
// Idempotency-Key.
asio::awaitable<http::ServerResponse> ApiHandler::call_recorded(const HttpRequest& req, int worker, CallState& s) {
  store::CallRecord rec = new_record(s.a, s.call, s.o, req.body, true);
  if (s.o.async()) {
    auto reply = co_await accept_async(std::move(rec), s.o);
    if (metrics_ && reply.response.status == 202) {
      const auto [cap_label, op_label] = split_capability(s.call.capability);
      metrics_->accepted.with({cap_label, op_label, s.o.prefer_async ? "requested" : "scheduled"}).inc();
    }
    const std::string_view label = reply.response.status == 202 ? "queued" : "replayed";
    co_return finish(s, std::move(reply), label, nullptr, {});
  }

  // Synchronous. With an Idempotency-Key the call is recorded (running) before any
  // provider is contacted, so a concurrent repeat cannot send it twice. Its lease
  // tells a later repeat when the record was abandoned.
  rec.state = store::CallState::kRunning;
  rec.lease_owner = instance_;
  rec.lease_until_ms = unix_millis(s.call.received_at) + s.budget.count() + kKeyedLeaseMargin.count();
  auto ins = co_await store_.insert(rec);
  if (!ins) co_return fail(s, not_durable(ins.error()));
  if (!ins->inserted) co_return finish(s, co_await replay(*ins->existing, rec), "replayed", nullptr, {});

  CallOutcome outcome;
  co_await engine_.execute(*s.a.cap, s.call, s.o.routing, *transports_[worker], outcome);
  note_outcome(rec, outcome, clock_.wall());
  if (falls_back(s, outcome)) {
    auto queued = co_await queue_fallback(req, s, outcome, &rec);
    if (queued) co_return std::move(*queued);
  }
  Settled st = settle(s, outcome, rec);
  // Durable before answering, so a repeat after a crash sees this outcome. The
  // provider has answered: whatever the store says, the caller learns the real
  // outcome; a record that cannot be written yet is retried in the background
  // (repeats meanwhile get 409, and outcome_unknown if it never lands before its
  // lease ends).
  auto saved = co_await store_.update(rec);
  if (!saved) {
    spdlog::warn("call {}: recording its outcome failed ({}); retrying in the background", rec.id,
                 saved.error().message);
    // The executor first, in a statement of its own: GCC 12 may destroy the
    // temporaries of a full-expression holding a co_await twice.
    const auto executor = co_await asio::this_coro::executor;
    asio::co_spawn(executor, persist_outcome(std::move(rec)), asio::detached);
  }
  co_return conclude(s, std::move(st), outcome);
}

// Nobody can serve the call now, but it may be tried again: accepts it durably
// instead of failing it, for the runner to finish. nullopt when it could not be
// queued (the caller then gets the failure as it was). `keyed`: the record a keyed
// call already has (the queued one is written over it).
asio::awaitable<std::optional<http::ServerResponse>> ApiHandler::queue_fallback(const HttpRequest& req,
                                                                                const CallState& s,
                                                                                const CallOutcome& outcome,
                                                                                const store::CallRecord* keyed) {
  store::CallRecord rec = keyed ? *keyed : executed_record(req, s, outcome, true);
  const auto& cfg = s.a.rt->config();
  rec.attempts_json = json::serialize(attempts_json(outcome.attempts));
  if (!outcome.pinned_provider.empty()) {
    // The provider may have acted: the job may only go back to it, with this id.
    CallRouting pinned = s.o.routing;
    pinned.pin = outcome.pinned_provider;
    rec.routing_json = routing_json(pinned);
  }
  const Millis wait = std::max(outcome.error.retry_after,
                               policy::full_jitter_backoff(0, cfg.jobs.base_backoff, cfg.jobs.max_backoff,
                                                           0.5 + 0.5 * random_unit()));
  rec.state = store::CallState::kQueued;
  rec.async = true;
  rec.lease_owner.clear();
  rec.lease_until_ms = 0;
  rec.not_before_ms = rec.updated_ms + wait.count();
  rec.error_json = json::serialize(error_json(outcome.error));
  Result<void> saved;
  if (keyed) {
    saved = co_await persist_outcome(rec);
  } else {
    auto ins = co_await store_.insert(rec);
    if (!ins) saved = ins.error();
  }
  if (!saved) co_return std::nullopt;
  if (metrics_) {
    const auto [cap_label, op_label] = split_capability(s.call.capability);
    metrics_->accepted.with({cap_label, op_label, "fallback"}).inc();
  }
  co_return finish(s, accepted_reply(rec, false), "queued", &outcome.error, outcome.attempts);
}

}  // namespace tollgate::api
