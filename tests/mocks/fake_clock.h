#pragma once
// FakeClock: a Clock that only moves when told to, so policies and the engine can
// be tested without sleeping. Thread-safe.

#include <atomic>

#include "core/clock.h"

namespace tollgate::testing {

class FakeClock final : public Clock {
 public:
  FakeClock() : steady_(SteadyTime{} + std::chrono::hours(1)), wall_(WallTime{} + std::chrono::seconds(1700000000)) {}
  SteadyTime now() const override { return steady_.load(); }
  WallTime wall() const override { return wall_.load(); }
  void advance(std::chrono::nanoseconds d) {
    steady_.store(steady_.load() + d);
    wall_.store(wall_.load() + std::chrono::duration_cast<WallTime::duration>(d));
  }
  void set_wall(WallTime t) { wall_.store(t); }

 private:
  std::atomic<SteadyTime> steady_;
  std::atomic<WallTime> wall_;
};

}  // namespace tollgate::testing
