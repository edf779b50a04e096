#pragma once
// Engine: the call pipeline after admission — the attempt loop that tries the
// capability's candidate providers inside the caller's deadline, with retries
// only for retryable classes, exponential backoff with full jitter, and no blind
// retry of a non-idempotent operation after an ambiguous failure.
// Stateless apart from the injected clock; each call runs on the worker thread
// that received it, using that worker's http::Client.

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <string>
#include <vector>

#include "core/call.h"
#include "core/clock.h"
#include "core/error.h"
#include "engine/runtime.h"
#include "http/client.h"

namespace tollgate::engine {

struct AttemptRecord {
  std::string provider;
  std::string outcome;        // "ok" or an error class name
  std::string provider_code;  // the provider's code, or a transport code
  Millis duration{0};
};

struct CallOutcome {
  bool ok = false;
  std::string provider;        // who served it (success)
  boost::json::object result;  // unified result fields (success)
  Error error;                 // why it failed (failure)
  std::vector<AttemptRecord> attempts;
};

class Engine {
 public:
  explicit Engine(const Clock& clock) : clock_(clock) {}

  boost::asio::awaitable<CallOutcome> execute(const CapabilityRuntime& cap, const Call& call,
                                              http::Client& client) const;

 private:
  const Clock& clock_;
};

// Whether a failed attempt may be tried again (here or on another provider).
bool may_retry(const Error& e, bool idempotent, bool provider_dedupes);

}  // namespace tollgate::engine
