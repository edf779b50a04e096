#pragma once
// Callbacks: when an async call reaches its final state and the caller gave a
// callback URL, POST the status document there, signed so the caller can trust
// it:
//   X-Tollgate-Id:        the call id
//   X-Tollgate-Timestamp: unix seconds
//   X-Tollgate-Signature: sha256=<hex HMAC-SHA256(caller's callback secret, timestamp + "." + body)>
// A 2xx answer delivers it; anything else is retried with backoff up to
// jobs.callback_max_tries, each try logged in the call's status. The URL's host
// is checked against the caller's allow-list again at delivery time.
//
// The claim loop and the deliveries run on worker 0, with worker 0's client.

#include <memory>
#include <string>

#include "engine/api.h"
#include "http/client.h"
#include "http/workers.h"
#include "jobs/metrics.h"
#include "store/job_store.h"

namespace tollgate::jobs {

// The signature header value for `body` sent at `timestamp` (unix seconds).
std::string callback_signature(std::string_view secret, std::string_view timestamp, std::string_view body);

class Callbacks {
 public:
  Callbacks(http::Workers& workers, http::Client& client, const engine::RuntimeHolder& runtime,
            store::JobStore& store, const Clock& clock, std::string instance, JobsMetrics* metrics = nullptr);
  ~Callbacks();
  void start();
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace tollgate::jobs
