// POST /v1/{capability}/{operation}: one call, answered synchronously, or queued
// for the async runner (asked for, scheduled, or as a fallback when no provider
// can serve now).
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "core/crypto.h"
#include "core/random.h"
#include "core/time_format.h"
#include "engine/api.h"
#include "engine/call_log.h"
#include "engine/metrics.h"
#include "engine/validator.h"
#include "engine/views.h"
#include "policy/backoff.h"

namespace tollgate::engine {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

Error err(ErrorClass c, std::string message) { return Error::make(c, std::move(message)); }

Error not_durable(const Error& why) {
  Error e = err(ErrorClass::kUnavailable, "the call could not be recorded durably; nothing was sent");
  e.detail = why.message;
  return e;
}

}  // namespace

asio::awaitable<http::ServerResponse> ApiHandler::replay(const store::CallRecord& existing,
                                                         std::string_view body_hash) {
  if (existing.body_hash != body_hash) {
    co_return error_reply(err(ErrorClass::kConflict,
                              "Idempotency-Key was already used with a different request body"),
                          existing.id);
  }
  if (existing.async) co_return accepted_reply(existing, false);
  if (!store::is_terminal(existing.state)) {
    co_return error_reply(err(ErrorClass::kConflict, "a call with this Idempotency-Key is still in progress"),
                          existing.id);
  }
  co_return replay_stored_answer(existing);
}

asio::awaitable<http::ServerResponse> ApiHandler::accept_async(store::CallRecord rec, const CallOptions& o) {
  rec.state = store::CallState::kQueued;
  rec.async = true;
  auto ins = co_await store_.insert(rec);
  if (!ins) co_return error_reply(not_durable(ins.error()), rec.id);
  if (!ins->inserted) co_return co_await replay(*ins->existing, rec.body_hash);
  co_return accepted_reply(rec, o.prefer_async);
}

asio::awaitable<http::ServerResponse> ApiHandler::call(HttpRequest& req, int worker, std::string_view capability) {
  const SteadyTime started = clock_.now();
  auto admitted = admit_caller(req, capability);
  if (!admitted) {
    if (metrics_) {
      if (admitted.error().cls == ErrorClass::kRateLimited) {
        metrics_->caller_rate_limited.with({caller_name(req)}).inc();
      } else {
        metrics_->rejected.with({to_string(admitted.error().cls)}).inc();
      }
    }
    co_return error_reply(admitted.error(), {});
  }
  const Admitted& a = *admitted;
  const auto& cfg = a.rt->config();

  Call call;
  call.received_at = clock_.wall();
  call.id = new_call_id(static_cast<std::uint64_t>(unix_millis(call.received_at)));
  call.caller = a.caller->config->name;
  call.capability = std::string(capability);
  call.trace = start_trace(parse_traceparent(req.header("traceparent")));

  // Every way out: metrics, the call log line, the trace header.
  const std::vector<AttemptRecord> no_attempts;
  auto finish = [&](http::ServerResponse reply, std::string_view outcome, const Error* error,
                    const std::vector<AttemptRecord>& attempts) {
    const Millis took = std::chrono::duration_cast<Millis>(clock_.now() - started);
    if (metrics_) {
      const auto [cap_label, op_label] = split_capability(call.capability);
      const std::string_view traffic = to_string(call.traffic);
      metrics_->calls.with({cap_label, op_label, call.caller, outcome, traffic}).inc();
      metrics_->call_duration.with({cap_label, op_label, traffic})
          .observe(std::chrono::duration<double>(clock_.now() - started).count());
    }
    if (cfg.log.calls) {
      log_call(CallLogEntry{&call, a.cap->config, outcome, reply.response.status, error, &attempts, took});
    }
    reply.response.headers.emplace_back("traceparent", call.trace.header(call.trace.span_id));
    return reply;
  };
  auto fail = [&](const Error& e) { return finish(error_reply(e, call.id), to_string(e.cls), &e, no_attempts); };

  boost::system::error_code ec;
  json::value body = json::parse(req.body, ec);
  if (ec) co_return fail(err(ErrorClass::kBadRequest, "request body is not valid JSON"));
  if (!body.is_object()) co_return fail(err(ErrorClass::kBadRequest, "request body must be a JSON object of params"));
  call.params = std::move(body.get_object());
  if (auto valid = validate_params(*a.cap->config, call.params); !valid) co_return fail(valid.error());
  auto options = parse_options(req, a);
  if (!options) co_return fail(options.error());
  const CallOptions& o = *options;
  call.traffic = o.traffic;

  const bool keyed = !o.idempotency_key.empty();
  store::CallRecord rec = new_record(a, call, o, req.body, o.async() || keyed);
  rec.trace_id = call.trace.trace_id;
  if (o.async()) {
    auto reply = co_await accept_async(std::move(rec), o);
    if (metrics_ && reply.response.status == 202) {
      const auto [cap_label, op_label] = split_capability(call.capability);
      metrics_->accepted.with({cap_label, op_label, o.prefer_async ? "requested" : "scheduled"}).inc();
    }
    const std::string_view label = reply.response.status == 202 ? "queued" : "replayed";
    co_return finish(std::move(reply), label, nullptr, no_attempts);
  }

  // Synchronous. With an Idempotency-Key the call is recorded (running) before any
  // provider is contacted, so a concurrent repeat cannot send it twice.
  if (keyed) {
    rec.state = store::CallState::kRunning;
    rec.lease_owner = instance_;
    auto ins = co_await store_.insert(rec);
    if (!ins) co_return fail(not_durable(ins.error()));
    if (!ins->inserted) co_return finish(co_await replay(*ins->existing, rec.body_hash), "replayed", nullptr, no_attempts);
  }

  const Millis budget = std::min(o.deadline.value_or(a.cap->config->default_deadline), a.cap->config->max_deadline);
  call.deadline = Deadline::after(clock_.now(), budget);
  CallOutcome outcome = co_await engine_.execute(*a.cap, call, o.routing, *clients_[worker]);

  rec.updated_ms = unix_millis(clock_.wall());
  rec.provider = outcome.ok ? outcome.provider : outcome.error.provider;
  if (!outcome.ok && outcome.retry_later && a.cap->config->async.fallback && call.traffic == Traffic::kLive) {
    if (!keyed) {
      rec.params_json = json::serialize(call.params);
      rec.body_hash = sha256_hex(req.body);
    }
    rec.attempts_json = json::serialize(attempts_json(outcome.attempts));
    // Nobody can serve it now, but it may be tried again: accept it durably
    // instead of failing it, and let the runner finish it.
    const Millis wait = std::max(outcome.error.retry_after,
                                 policy::full_jitter_backoff(0, cfg.jobs.base_backoff, cfg.jobs.max_backoff,
                                                             0.5 + 0.5 * random_unit()));
    rec.state = store::CallState::kQueued;
    rec.async = true;
    rec.lease_owner.clear();
    rec.not_before_ms = rec.updated_ms + wait.count();
    rec.error_json = json::serialize(error_json(outcome.error));
    Result<void> saved;
    if (keyed) {
      saved = co_await store_.update(rec);
    } else {
      auto ins = co_await store_.insert(rec);
      if (!ins) saved = ins.error();
    }
    if (saved) {
      if (metrics_) {
        const auto [cap_label, op_label] = split_capability(call.capability);
        metrics_->accepted.with({cap_label, op_label, "fallback"}).inc();
      }
      co_return finish(accepted_reply(rec, false), "queued", &outcome.error, outcome.attempts);
    }
    // Could not queue it: answer with the failure as it was.
  }

  http::ServerResponse reply = outcome.ok ? success_reply(call.id, outcome, call.traffic)
                                          : error_reply(outcome.error, call.id, &outcome.attempts, call.traffic);
  if (keyed || (cfg.store.record_sync_calls && !a.cap->config->secret_results)) {
    rec.async = false;
    rec.lease_owner.clear();
    rec.state = outcome.ok ? store::CallState::kSucceeded : store::CallState::kFailed;
    rec.attempts_json.clear();  // they are in the stored answer
    (outcome.ok ? rec.result_json : rec.error_json) = stored_answer(reply.response.status, reply.response.body);
    if (keyed) {
      // Durable before answering: a repeat after a crash must see this outcome.
      auto saved = co_await store_.update(rec);
      if (!saved) co_return fail(not_durable(saved.error()));
    } else {
      store_.record(std::move(rec));
    }
  }
  co_return finish(std::move(reply), outcome.ok ? std::string_view("succeeded") : to_string(outcome.error.cls),
                   outcome.ok ? nullptr : &outcome.error, outcome.attempts);
}

}  // namespace tollgate::engine
