#pragma once
// Deadline: the instant by which a caller must have its answer. Flows from the
// inbound request into every provider attempt and retry. A plain value.

#include <algorithm>

#include "core/clock.h"

namespace tollgate {

class Deadline {
 public:
  Deadline() = default;
  explicit Deadline(SteadyTime at) : at_(at) {}
  static Deadline after(SteadyTime now, Millis budget) { return Deadline(now + budget); }

  SteadyTime at() const { return at_; }
  Millis remaining(SteadyTime now) const {
    return std::max(Millis(0), std::chrono::duration_cast<Millis>(at_ - now));
  }
  bool expired(SteadyTime now) const { return now >= at_; }

 private:
  SteadyTime at_{};
};

}  // namespace tollgate
