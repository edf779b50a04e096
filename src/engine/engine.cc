#include "engine/engine.h"

#include <boost/json/serialize.hpp>

#include <algorithm>

#include "core/random.h"
#include "policy/backoff.h"

namespace tollgate::engine {

namespace {

// The result field a candidate's response.message_id names, as text.
std::string message_id_of(const CapabilityRuntime& cap, int index, const boost::json::object& result) {
  const auto& c = cap.candidates[static_cast<size_t>(index)];
  const auto& ops = c.provider->config().operations;
  const auto op = ops.find(cap.config->name);
  if (op == ops.end() || op->second.response.message_id.empty()) return {};
  const auto* v = result.if_contains(op->second.response.message_id);
  if (!v || v->is_null() || v->is_object() || v->is_array()) return {};
  std::string text = v->is_string() ? std::string(v->get_string()) : boost::json::serialize(*v);
  return text.size() <= 128 ? text : std::string();
}

}  // namespace

namespace asio = boost::asio;

namespace {

// Attempts shorter than this are not worth starting.
constexpr Millis kMinAttemptBudget{5};
// A shared concurrency slot outlives its attempt's timeout by this much before
// it frees itself (an instance that died never releases its slots).
constexpr Millis kSlotMargin{5000};

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

}  // namespace

NextStep next_step(const Error& e, bool idempotent, bool provider_dedupes) {
  if (e.cls == ErrorClass::kUnauthorized && e.from_provider && !e.ambiguous) return NextStep::kOthersOnly;
  if (!is_retryable(e.cls)) return NextStep::kStop;
  if (!e.ambiguous || idempotent) return NextStep::kAnywhere;
  return provider_dedupes ? NextStep::kSameProviderOnly : NextStep::kOutcomeUnknown;
}

Error outcome_unknown(const Error& cause) {
  Error e = cause;
  e.cls = ErrorClass::kOutcomeUnknown;
  e.message = "the provider may have acted on the request, and repeating it is not safe; its outcome is unknown";
  e.retry_after = Millis(0);
  return e;
}

bool Engine::Progress::all_tried() const {
  return std::all_of(order.begin(), order.end(), [&](int i) { return tried[static_cast<size_t>(i)]; });
}

Engine::Choice Engine::choose(const CapabilityRuntime& cap, const Progress& p, int skip, Traffic traffic) const {
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
    for (int i : p.order) {
      const auto idx = static_cast<size_t>(i);
      if (i == skip || p.tried[idx] != second_pass || (p.only >= 0 && i != p.only)) continue;
      const auto& name = cap.candidates[idx].provider->name();
      if (p.not_before[idx] > now) {
        note_wait(std::chrono::ceil<Millis>(p.not_before[idx] - now));
        ++others_blocked;
        continue;
      }
      auto r = admit(cap, i, now, wall, traffic);
      if (auto* a = std::get_if<Admitted>(&r)) {
        out.admitted = std::move(*a);
        return out;
      }
      const auto& b = std::get<Blocked>(r);
      if (metrics_ && traffic == Traffic::kLive) metrics_->admission_denied.with({name, to_label(b.kind)}).inc();
      out.blocked += (out.blocked.empty() ? "" : "; ") + name + ": " + b.reason;
      if (b.kind == BlockKind::kCircuitOpen) {
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

std::optional<Millis> Engine::outage(const CapabilityRuntime& cap) const {
  if (cap.candidates.empty()) return std::nullopt;
  const SteadyTime now = clock_.now();
  Millis spacing = Millis::max();
  for (const auto& c : cap.candidates) {
    if (c.route->breaker.state(now) != policy::BreakerState::kOpen) return std::nullopt;
    spacing = std::min(spacing, c.route->breaker.forced_probe_spacing());
  }
  return spacing;
}

bool Engine::plan(const CapabilityRuntime& cap, const Call& call, const CallRouting& routing, Progress& p,
                  CallOutcome& out) const {
  auto order = plan_order(cap, routing, call.params, clock_.now(), call.traffic);
  if (!order) {
    out.error = order.error();
    return false;
  }
  p.order = std::move(*order);
  // Test traffic neither feeds nor spends the live retry budget.
  if (call.traffic == Traffic::kLive) cap.state->budget.on_call(clock_.now());
  return true;
}

Engine::Next Engine::pick(const CapabilityRuntime& cap, const Call& call, Progress& p, Admitted& admitted) const {
  const SteadyTime now = clock_.now();
  if (call.deadline.remaining(now) < kMinAttemptBudget) return {};
  Choice choice = choose(cap, p, -1, call.traffic);
  if (!choice.admitted) {
    p.blocked = std::move(choice.blocked);
    p.retry_hint = choice.wait.count() > 0 ? choice.wait : choice.next_probe;
    if (choice.wait.count() > 0 && now + choice.wait + kMinAttemptBudget < call.deadline.at()) {
      return {.kind = Next::kWait, .until = now + choice.wait};
    }
    return {};
  }
  admitted = std::move(*choice.admitted);
  return {.kind = Next::kSend, .now = now};
}

asio::awaitable<bool> Engine::admit_cluster(const CapabilityRuntime& cap, const Call& call, Progress& p,
                                            Admitted& admitted, SteadyTime now) const {
  const auto idx = static_cast<size_t>(admitted.index);
  const auto& pcfg = cap.candidates[idx].provider->config();
  auto blocked_by = co_await admit_shared(cap, admitted, now, clock_.wall(), pcfg.attempt_timeout + kSlotMargin);
  if (!blocked_by) co_return true;
  const auto& name = cap.candidates[idx].provider->name();
  if (metrics_) metrics_->admission_denied.with({name, to_label(blocked_by->kind)}).inc();
  p.blocked = name + ": " + blocked_by->reason;
  // Over the limit here: the next provider takes it, as on one instance.
  p.not_before[idx] = blocked_by->wait.count() > 0 ? clock_.now() + blocked_by->wait : call.deadline.at();
  if (admitted.probe) cap.candidates[idx].route->breaker.release_probe();
  co_return false;
}

Engine::Then Engine::absorb(const CapabilityRuntime& cap, const Call& call, Progress& p,
                            std::vector<AttemptOutcome>& results, CallOutcome& out) const {
  const auto& cfg = *cap.config;
  p.attempts += static_cast<int>(results.size());
  const AttemptOutcome* failure = nullptr;
  for (auto& r : results) {
    out.attempts.push_back(record_of(cap, r));
    p.tried[static_cast<size_t>(r.index)] = true;
    if (r.ok && !out.ok) {
      out.ok = true;
      out.provider = cap.candidates[static_cast<size_t>(r.index)].provider->name();
      out.result = std::move(r.result);
      if (call.traffic == Traffic::kLive) out.message_id = message_id_of(cap, r.index, out.result);
    } else if (!r.ok && !r.cancelled) {
      // Of a hedge's two failures, an ambiguous one decides what may follow.
      if (!failure || (r.error.ambiguous && !failure->error.ambiguous)) failure = &r;
      if (r.error.retry_after.count() > 0) {
        p.not_before[static_cast<size_t>(r.index)] = clock_.now() + r.error.retry_after;
      }
    }
  }
  if (out.ok) {
    out.error = Error{};  // a failure before this success is in the attempts
    return Then::kAnswer;
  }
  if (!failure) return Then::kGiveUp;
  const auto idx = static_cast<size_t>(failure->index);
  out.error = failure->error;
  p.failed = true;
  switch (next_step(out.error, cfg.idempotent, cap.candidates[idx].operation->dedupe())) {
    case NextStep::kStop:
      return Then::kAnswer;
    case NextStep::kOutcomeUnknown:
      out.error = outcome_unknown(out.error);
      return Then::kAnswer;
    case NextStep::kOthersOnly:
      // The provider refused our credentials for it: it will not serve this call,
      // but another provider may (nothing was acted on).
      p.not_before[idx] = call.deadline.at();
      return p.all_tried() || p.only >= 0 ? Then::kAnswer : Then::kNext;
    case NextStep::kSameProviderOnly:
      p.only = failure->index;
      out.pinned_provider = cap.candidates[idx].provider->name();
      break;
    case NextStep::kAnywhere:
      break;
  }
  // Every candidate tried once: coming back to them waits a jittered backoff.
  if (p.all_tried() || p.only >= 0) {
    const Millis backoff =
        policy::full_jitter_backoff(p.backoffs++, cfg.retry.base_backoff, cfg.retry.max_backoff, random_unit());
    for (int i : p.order) {
      auto& nb = p.not_before[static_cast<size_t>(i)];
      nb = std::max(nb, clock_.now() + backoff);
    }
  }
  return Then::kNext;
}

asio::awaitable<void> Engine::execute(const CapabilityRuntime& cap, const Call& call, const CallRouting& routing,
                                      Transport& transport, CallOutcome& out, const BeforeSend* before_send) const {
  out = CallOutcome{};
  Progress p(cap.candidates.size());
  if (!plan(cap, call, routing, p, out)) co_return;
  const auto& cfg = *cap.config;
  Admitted admitted;
  std::vector<AttemptOutcome> results;
  while (p.attempts < cfg.retry.max_attempts) {
    const Next next = pick(cap, call, p, admitted);
    if (next.kind == Next::kWait) {
      co_await timers_.wait_until(next.until);
      continue;
    }
    if (next.kind == Next::kGiveUp) break;
    if (admitted.needs_shared && !co_await admit_cluster(cap, call, p, admitted, next.now)) continue;
    if (p.attempts > 0 && call.traffic == Traffic::kLive && !cap.state->budget.try_spend(next.now)) {
      release(cap, admitted, false, clock_.wall());
      if (admitted.probe) cap.candidates[static_cast<size_t>(admitted.index)].route->breaker.release_probe();
      p.budget_spent = true;
      break;
    }
    p.blocked.clear();

    if (before_send) {
      co_await (*before_send)(cap.candidates[static_cast<size_t>(admitted.index)].provider->name());
    }
    results.clear();
    if (cfg.hedge.enabled && p.attempts == 0 && cap.candidates.size() > 1 && p.only < 0) {
      results = co_await hedged(cap, call, p, p.attempts + 1, std::move(admitted), transport);
    } else {
      results.push_back(co_await run_attempt(clock_, timers_, cap, call, p.attempts + 1, std::move(admitted),
                                             transport, nullptr, metrics_));
    }
    const Then then = absorb(cap, call, p, results, out);
    if (then == Then::kAnswer) co_return;
    if (then == Then::kGiveUp) break;
  }
  give_up(call, p, out);
}

// Every way out of the loop left the call retryable: try again later is allowed
// (after an ambiguous failure, only on the pinned provider).
void Engine::give_up(const Call& call, const Progress& p, CallOutcome& out) const {
  out.retry_later = true;
  const bool out_of_time = call.deadline.remaining(clock_.now()) < kMinAttemptBudget;
  if (out_of_time) {
    Error e = Error::make(ErrorClass::kTimeout, "no provider answered within the call's deadline");
    if (p.failed) {
      const Error& last = out.error;
      e.from_provider = true;
      e.provider = last.provider;
      e.provider_code = last.provider_code;
      e.detail = last.detail;
      e.ambiguous = last.ambiguous || !out.pinned_provider.empty();
    }
    out.error = std::move(e);
    return;
  }
  if (p.failed) {
    out.error.ambiguous = out.error.ambiguous || !out.pinned_provider.empty();
    if (out.error.cls == ErrorClass::kRateLimited || out.error.cls == ErrorClass::kTimeout) {
      out.error.cls = ErrorClass::kUnavailable;  // time remains, yet nobody could serve
    }
  } else {
    out.error = Error::make(ErrorClass::kUnavailable, "");
    out.error.from_provider = true;
  }
  out.error.message = "no provider could serve the request (" + std::to_string(out.attempts.size()) + " attempt" +
                      (out.attempts.size() == 1 ? "" : "s");
  if (!p.blocked.empty()) out.error.message += "; " + p.blocked;
  if (p.budget_spent) out.error.message += "; retry budget exhausted";
  out.error.message += ")";
  if (p.retry_hint > out.error.retry_after) out.error.retry_after = p.retry_hint;
}

}  // namespace tollgate::engine
