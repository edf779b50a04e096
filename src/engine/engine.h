#pragma once
// Engine: the call pipeline after admission of the caller — the attempt loop. It
// asks the planner for the call's order of providers, admits each attempt
// against provider health and limits, fails over at once to a provider not yet
// tried, comes back to a tried one only after a jittered backoff (or its
// Retry-After), retries only retryable classes and never repeats an ambiguous
// failure of a non-idempotent operation unless the provider dedupes, keeps
// retries and hedges within the capability's retry budget, hedges idempotent
// calls when configured, and answers by the caller's deadline.
// Stateless apart from the injected clock; a call runs on the worker thread that
// received it, using that worker's http::Client.

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <functional>
#include <string>
#include <vector>

#include "core/call.h"
#include "core/clock.h"
#include "core/error.h"
#include "engine/attempt.h"
#include "engine/metrics.h"
#include "engine/planner.h"
#include "engine/runtime.h"
#include "http/client.h"

namespace tollgate::engine {

struct AttemptRecord {
  std::string provider;
  std::string outcome;        // "ok", "cancelled" or an error class name
  std::string provider_code;  // the provider's code, or a transport code
  Millis duration{0};
  bool probe = false;         // a half-open (or forced) breaker probe
  bool hedge = false;         // the second leg of a hedge
};

struct CallOutcome {
  bool ok = false;
  // On failure: whether trying again later is allowed (a retryable class, and not
  // an ambiguous failure of an operation that must not be repeated) — the call may
  // then be queued instead of failed.
  bool retry_later = false;
  std::string provider;        // who served it (success)
  boost::json::object result;  // unified result fields (success)
  Error error;                 // why it failed (failure)
  std::vector<AttemptRecord> attempts;
};

class Engine {
 public:
  explicit Engine(const Clock& clock, EngineMetrics* metrics = nullptr) : clock_(clock), metrics_(metrics) {}

  // Called (and awaited) before each attempt is sent, with the provider's name:
  // lets the async runner record durably which provider a job is about to reach.
  using BeforeSend = std::function<boost::asio::awaitable<void>(const std::string& provider)>;

  boost::asio::awaitable<CallOutcome> execute(const CapabilityRuntime& cap, const Call& call,
                                              const CallRouting& routing, http::Client& client,
                                              const BeforeSend* before_send = nullptr) const;

 private:
  struct Choice;
  Choice choose(const CapabilityRuntime& cap, const std::vector<int>& order, const std::vector<bool>& tried,
                const std::vector<SteadyTime>& not_before, int skip, Traffic traffic) const;
  boost::asio::awaitable<std::vector<AttemptOutcome>> hedged(const CapabilityRuntime& cap, const Call& call,
                                                             const std::vector<int>& order,
                                                             const std::vector<bool>& tried,
                                                             const std::vector<SteadyTime>& not_before,
                                                             int number, Admitted first,
                                                             http::Client& client) const;

  const Clock& clock_;
  EngineMetrics* metrics_;
};

// Whether a failed attempt may be tried again (here or on another provider).
bool may_retry(const Error& e, bool idempotent, bool provider_dedupes);

}  // namespace tollgate::engine
