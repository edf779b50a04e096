#pragma once
// Call: one request from an internal caller to a capability, as the engine carries
// it through validation, planning and attempts. Owned by the coroutine handling
// the call; never shared between threads while in flight.

#include <boost/json/object.hpp>

#include <string>

#include "core/deadline.h"

namespace tollgate {

struct Call {
  std::string id;          // tollgate's id for the call (also the provider dedupe id)
  std::string caller;      // caller name from config
  std::string capability;  // "sms.send"
  boost::json::object params;
  Deadline deadline;
  WallTime received_at{};
};

}  // namespace tollgate
