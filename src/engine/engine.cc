#include "engine/engine.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/random.h"
#include "policy/backoff.h"

namespace tollgate::engine {

namespace asio = boost::asio;

namespace {

// Attempts shorter than this are not worth starting: the answer could not
// arrive in time anyway.
constexpr Millis kMinAttemptBudget{5};

Error deadline_exceeded(const Error* last) {
  Error e = Error::make(ErrorClass::kTimeout, "no provider answered within the call's deadline");
  if (last) {
    e.from_provider = true;
    e.provider = last->provider;
    e.provider_code = last->provider_code;
    e.detail = last->detail;
  }
  return e;
}

}  // namespace

bool may_retry(const Error& e, bool idempotent, bool provider_dedupes) {
  if (!is_retryable(e.cls)) return false;
  // The request may have reached the provider: repeating it could act twice,
  // unless the operation is idempotent or the provider deduplicates on the call id.
  if (e.ambiguous && !idempotent && !provider_dedupes) return false;
  return true;
}

asio::awaitable<CallOutcome> Engine::execute(const CapabilityRuntime& cap, const Call& call,
                                             http::Client& client) const {
  CallOutcome out;
  const auto& cfg = *cap.config;
  const auto& candidates = cap.candidates;
  const int max_attempts = cfg.retry.max_attempts;
  std::vector<bool> tried(candidates.size(), false);
  std::vector<SteadyTime> not_before(candidates.size(), SteadyTime{});
  std::optional<Error> last;
  size_t next = 0;
  int retries = 0;

  for (int attempt = 1; attempt <= max_attempts; ++attempt) {
    SteadyTime now = clock_.now();
    if (call.deadline.remaining(now) < kMinAttemptBudget) break;

    const size_t idx = next % candidates.size();
    const CandidateRuntime& cand = candidates[idx];
    // Wait out this candidate's Retry-After or backoff if the deadline allows.
    if (not_before[idx] > now) {
      if (not_before[idx] + kMinAttemptBudget >= call.deadline.at()) break;
      asio::steady_timer timer(co_await asio::this_coro::executor);
      timer.expires_at(not_before[idx]);
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      now = clock_.now();
    }
    tried[idx] = true;

    const auto& pcfg = cand.provider->config();
    auto request = cand.operation->encode(
        call, provider::AttemptInfo{attempt, clock_.wall(), cand.operation->uses_nonce() ? new_nonce() : std::string()});
    if (!request) {
      out.error = std::move(request).error();
      out.error.provider = pcfg.name;
      co_return out;
    }
    const SteadyTime attempt_deadline = std::min(call.deadline.at(), now + pcfg.attempt_timeout);
    auto response = co_await client.send(cand.provider->endpoint, std::move(*request), attempt_deadline);
    Result<boost::json::object> decoded{Error{}};
    if (response) {
      decoded = cand.operation->decode(*response);
    } else {
      decoded = std::move(response).error();
    }
    const Millis took = std::chrono::duration_cast<Millis>(clock_.now() - now);

    if (decoded) {
      out.attempts.push_back({pcfg.name, "ok", {}, took});
      out.ok = true;
      out.provider = pcfg.name;
      out.result = std::move(decoded.value());
      co_return out;
    }
    Error err = std::move(decoded).error();
    err.provider = pcfg.name;
    out.attempts.push_back({pcfg.name, std::string(to_string(err.cls)), err.provider_code, took});
    const bool may = may_retry(err, cfg.idempotent, cand.operation->dedupe());
    last = std::move(err);
    if (!may) {
      out.error = *last;
      co_return out;
    }

    // Fail over at once to a provider not tried yet in this call; coming back to
    // one already tried waits a jittered backoff (or its Retry-After).
    const SteadyTime after = clock_.now();
    if (last->retry_after.count() > 0) not_before[idx] = after + last->retry_after;
    next = idx + 1;
    const size_t following = next % candidates.size();
    if (tried[following]) {
      const Millis backoff = policy::full_jitter_backoff(retries++, cfg.retry.base_backoff,
                                                         cfg.retry.max_backoff, random_unit());
      not_before[following] = std::max(not_before[following], after + backoff);
    }
  }

  const bool out_of_time = call.deadline.remaining(clock_.now()) < kMinAttemptBudget;
  if (last && !out_of_time) {
    out.error = *last;
    if (out.error.cls == ErrorClass::kRateLimited || out.error.cls == ErrorClass::kTimeout) {
      // Every attempt was throttled or slow but time remains: nobody could serve.
      out.error.cls = ErrorClass::kUnavailable;
    }
    out.error.message = "no provider could serve the request (" + std::to_string(out.attempts.size()) +
                        " attempt" + (out.attempts.size() == 1 ? "" : "s") + ")";
  } else {
    out.error = deadline_exceeded(last ? &*last : nullptr);
  }
  co_return out;
}

}  // namespace tollgate::engine
