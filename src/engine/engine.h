#pragma once
// Engine: the call pipeline after admission of the caller — the attempt loop. It
// asks the planner for the call's order of providers, admits each attempt
// against provider health and limits, fails over at once to a provider not yet
// tried, comes back to a tried one only after a jittered backoff (or its
// Retry-After), retries only retryable classes, keeps retries and hedges within
// the capability's retry budget, hedges idempotent calls when configured, and
// answers by the caller's deadline.
//
// After an ambiguous failure (the provider may have acted: a read timeout, a
// connection lost after sending, a garbage answer) the call is repeated only
// where that cannot act twice: anywhere when the capability is idempotent; on
// the same provider only when that provider deduplicates on the call's id (its
// deduplication means nothing to another provider); nowhere otherwise — the call
// then ends as outcome_unknown.
//
// Stateless apart from the injected clock and timers; a call runs on the worker
// thread that received it, sending through that worker's Transport.

#include <boost/asio/awaitable.hpp>
#include <boost/container/small_vector.hpp>
#include <boost/json/object.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/call.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/timers.h"
#include "core/transport.h"
#include "engine/attempt.h"
#include "engine/metrics.h"
#include "engine/planner.h"
#include "engine/runtime.h"

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
  // Set after an ambiguous failure on a provider that deduplicates: the call may
  // only ever be sent again to this provider, with the same call id.
  std::string pinned_provider;
  std::string provider;        // who served it (success)
  boost::json::object result;  // unified result fields (success)
  // The provider's id of what it did (the result field its response.message_id
  // names), which its events will quote; live calls only, "" when none.
  std::string message_id;
  Error error;                 // why it failed (failure)
  std::vector<AttemptRecord> attempts;
};

class Engine {
 public:
  Engine(const Clock& clock, Timers& timers, EngineMetrics* metrics = nullptr)
      : clock_(clock), timers_(timers), metrics_(metrics) {}

  // Called (and awaited) before each attempt is sent, with the provider's name:
  // lets the async runner record durably which provider a job is about to reach.
  using BeforeSend = std::function<boost::asio::awaitable<void>(const std::string& provider)>;

  // Runs the call to its outcome, written to `out` (which, like the other
  // arguments, must outlive the call: the caller's frame holds it, so the
  // outcome is not kept twice in this coroutine's frame and promise).
  boost::asio::awaitable<void> execute(const CapabilityRuntime& cap, const Call& call, const CallRouting& routing,
                                       Transport& transport, CallOutcome& out,
                                       const BeforeSend* before_send = nullptr) const;

  // Every provider of the capability is out: each one's breaker is open (not yet
  // half-open), so a call now could only go as a forced probe of the least bad
  // one. Returns how far apart such probes may go; nullopt while any provider
  // admits calls (or the capability has none).
  std::optional<Millis> outage(const CapabilityRuntime& cap) const;

 private:
  // Per candidate, kept in the call's frame for the usual few (no allocation).
  template <class T>
  using PerCandidate = boost::container::small_vector<T, 4>;
  // The attempt loop's memory of one call. The loop's coroutine frame holds it;
  // the steps that never suspend are plain functions taking it (GCC keeps every
  // local of a coroutine body in the frame, none overlapping another).
  struct Progress {
    explicit Progress(size_t n) : tried(n, false), not_before(n, SteadyTime{}) {}
    std::vector<int> order;
    PerCandidate<bool> tried;
    PerCandidate<SteadyTime> not_before;
    int only = -1;  // after an ambiguous failure on a deduplicating provider: it alone
    int attempts = 0;
    int backoffs = 0;
    bool failed = false;        // an attempt failed: the outcome's error holds the last failure
    bool budget_spent = false;  // the retry budget refused an attempt
    std::string blocked;        // why nothing could be admitted, per provider
    Millis retry_hint{0};       // when something may admit again
    bool all_tried() const;
  };
  // What the loop does next, decided without suspending.
  struct Next {
    enum Kind { kSend, kWait, kGiveUp } kind = kGiveUp;
    SteadyTime now{};    // kSend: when the attempt was admitted
    SteadyTime until{};  // kWait: until when
  };
  enum class Then { kAnswer, kNext, kGiveUp };
  // What choose() found.
  struct Choice {
    std::optional<Admitted> admitted;
    Millis wait{0};        // something may admit after this long (throttle, rate, backoff)
    Millis next_probe{0};  // open breakers: when one will let a probe through
    std::string blocked;   // why nothing could be admitted, per provider
  };
  Choice choose(const CapabilityRuntime& cap, const Progress& p, int skip, Traffic traffic) const;
  // The order of providers for the call; false (and `out` failed) when none.
  bool plan(const CapabilityRuntime& cap, const Call& call, const CallRouting& routing, Progress& p,
            CallOutcome& out) const;
  // Admits the next attempt into `admitted`, or says how long to wait, or that
  // nothing can be tried within the deadline.
  Next pick(const CapabilityRuntime& cap, const Call& call, Progress& p, Admitted& admitted) const;
  // A cluster's limits for an admitted attempt: one round trip to Redis (or the
  // local share). False when they refused it (the provider is then skipped).
  boost::asio::awaitable<bool> admit_cluster(const CapabilityRuntime& cap, const Call& call, Progress& p,
                                             Admitted& admitted, SteadyTime now) const;
  // Takes in the attempts' results: the outcome, or what may follow.
  Then absorb(const CapabilityRuntime& cap, const Call& call, Progress& p, std::vector<AttemptOutcome>& results,
              CallOutcome& out) const;
  // The loop ended without an answer: why, and when to try again.
  void give_up(const Call& call, const Progress& p, CallOutcome& out) const;
  // `first` (the caller's, which outlives the race) is moved into the first leg.
  boost::asio::awaitable<std::vector<AttemptOutcome>> hedged(const CapabilityRuntime& cap, const Call& call,
                                                             const Progress& p, int number, Admitted&& first,
                                                             Transport& transport) const;

  const Clock& clock_;
  Timers& timers_;
  EngineMetrics* metrics_;
};

// What may follow a failed attempt.
enum class NextStep {
  kAnywhere,          // try again, on any candidate
  kSameProviderOnly,  // ambiguous, and only this provider can recognise a repeat
  kOthersOnly,        // this provider refused our credentials; another may serve
  kStop,              // not retryable
  kOutcomeUnknown,    // ambiguous and nothing makes a repeat safe
};
NextStep next_step(const Error& e, bool idempotent, bool provider_dedupes);

// The error a caller sees when the provider may have acted and tollgate will not
// repeat the request: class outcome_unknown, never retryable, the provider's
// code and detail kept for operators.
Error outcome_unknown(const Error& cause);

}  // namespace tollgate::engine
