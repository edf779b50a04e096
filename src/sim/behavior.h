#pragma once
// The simulator's runtime behaviour: a latency distribution and a list of faults,
// changeable at any time through the control endpoint. Shared by all workers and
// guarded by a mutex (the simulator is a test tool; its hot path is not ours).

#include <boost/json/fwd.hpp>

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "policy/latency_model.h"

namespace tollgate::sim {

using Latency = policy::LatencyModel;

enum class FaultKind {
  kHttp500,
  kHttp503,
  kHttp429,    // with Retry-After
  kErrorCode,  // the dialect's own "internal error" answer
  kThrottle,   // the dialect's own throttling answer
  kInvalid,    // the dialect's own "invalid number" answer
  kHang,       // accept, never answer
  kReset,      // TCP reset
  kClose,      // close without answering
  kMalformed,  // 200 with a body that is not the dialect's JSON
  kSlowBody,   // normal answer, body dribbled out
  kVendorError,  // the dialect's own error envelope around `code` (e.g. isv.BUSINESS_LIMIT_CONTROL)
  kAnswerLost,   // the request is carried out (codes used, refunds made), then no answer ever comes
  kTamper,       // the normal answer with its body altered after signing (a forged or corrupted answer)
};

std::string_view fault_name(FaultKind k);

struct Fault {
  FaultKind kind;
  double rate = 1.0;              // probability per request
  std::optional<long> remaining;  // applies to this many requests, then disappears
  int retry_after_s = 1;          // kHttp429 / kThrottle
  int interval_ms = 200;          // kSlowBody: pause between 8-byte chunks
  std::string code;               // kVendorError: the vendor's error code
};

struct Decision {
  Micros delay{0};
  std::optional<Fault> fault;
};

class Behavior {
 public:
  // Replaces the behaviour from its JSON form (docs/sim.md). Nothing changes on error.
  Result<void> set(const boost::json::value& spec);
  void reset();
  std::string to_json() const;

  // Draws this request's latency and fault.
  Decision decide();

 private:
  mutable std::mutex mu_;
  Latency latency_;
  std::vector<Fault> faults_;
};


}  // namespace tollgate::sim
