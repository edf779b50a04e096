#include "core/clock.h"

namespace tollgate {

const SystemClock& SystemClock::instance() {
  static const SystemClock clock;
  return clock;
}

}  // namespace tollgate
