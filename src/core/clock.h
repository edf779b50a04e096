#pragma once
// Clock: the one way tollgate code learns the time. Policies never read the clock
// themselves; they take `now` or a Clock& so tests drive them with a fake clock.
// Implementations must be safe to call from any thread.

#include <chrono>

namespace tollgate {

using SteadyTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;
using Millis = std::chrono::milliseconds;
using Micros = std::chrono::microseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time, for deadlines, windows and timers.
  virtual SteadyTime now() const = 0;
  // Wall-clock time, for timestamps that leave the process (signatures, logs).
  virtual WallTime wall() const = 0;
};

class SystemClock final : public Clock {
 public:
  SteadyTime now() const override { return std::chrono::steady_clock::now(); }
  WallTime wall() const override { return std::chrono::system_clock::now(); }
  // The process-wide instance.
  static const SystemClock& instance();
};

}  // namespace tollgate
