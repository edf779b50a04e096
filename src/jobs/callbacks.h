#pragma once
// Callbacks: when an async call reaches its final state and the caller gave a
// callback URL, POST the status document there, signed so the caller can trust
// it:
//   X-Tollgate-Id:        the call id
//   X-Tollgate-Timestamp: unix seconds
//   X-Tollgate-Signature: sha256=<hex HMAC-SHA256(caller's callback secret, timestamp + "." + body)>
// A 2xx answer delivers it; anything else is retried with backoff up to
// jobs.callback_max_tries, each try logged in the call's status. The URL is
// parsed again (core/url.h) and checked against the caller's allow-list at
// delivery time, and every address its host resolves to is checked before
// connecting (config::CallbackConfig::allows_address): a name admitted by a
// wildcard never reaches a loopback, private or link-local address.
//
// Providers' events (docs/events.md) go the same way to the callback URL of the
// call they belong to, as {"event": {...}} with X-Tollgate-Event-Id.
//
// The claim loops and the deliveries run on worker 0, with worker 0's client.

#include <memory>
#include <string>

#include "core/timers.h"
#include "core/transport.h"
#include "engine/runtime.h"
#include "http/workers.h"
#include "jobs/metrics.h"
#include "store/event_store.h"
#include "store/job_store.h"

namespace tollgate::jobs {

// The signature header value for `body` sent at `timestamp` (unix seconds).
std::string callback_signature(std::string_view secret, std::string_view timestamp, std::string_view body);

// A door that delivers final statuses itself (queue mode): a job whose callback
// URL has the sink's scheme is handed to it instead of being POSTed. `deliver`
// runs on worker 0 and returns whether the status is delivered (for a queue:
// confirmed by the broker), with a line for the callback log.
class ReplySink {
 public:
  struct Outcome {
    bool delivered = false;
    std::string outcome;
  };
  virtual ~ReplySink() = default;
  virtual std::string_view scheme() const = 0;  // e.g. "amqp:"
  virtual boost::asio::awaitable<Outcome> deliver(std::string url, std::string body) = 0;
};

class Callbacks {
 public:
  // `transport` belongs to worker 0; `endpoints` builds a connection target per
  // callback origin.
  Callbacks(http::Workers& workers, Transport& transport, EndpointFactory endpoints,
            const engine::RuntimeHolder& runtime, store::JobStore& store, const Clock& clock, Timers& timers,
            std::string instance, JobsMetrics* metrics = nullptr);
  ~Callbacks();
  // Also forwards providers' events to the callbacks of their calls (null: no
  // events). Before start().
  void set_events(store::EventStore* events);
  // Where callback URLs of `sink->scheme()` go (null: none). Before start().
  void set_reply_sink(ReplySink* sink);
  void start();
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace tollgate::jobs
