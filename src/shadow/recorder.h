#pragma once
// Recorder: what a provider × operation did on live traffic — its latency
// distribution (a log histogram) and outcome mix (success, timeout, each error
// class) over a sliding horizon — so stress traffic can be answered the way the
// real provider would. Imported recordings (seeded from another environment)
// stay until replaced; live recording adds on top.
//
// Pure: time and random draws are passed in. Thread-safe (a short mutex).

#include <boost/json/object.hpp>

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/error.h"
#include "core/result.h"
#include "policy/log_histogram.h"

namespace tollgate::shadow {

// Outcome index: 0 = success, 1 + ErrorClass for failures.
inline constexpr int kOutcomes = 1 + kErrorClassCount;
inline int outcome_index(bool ok, ErrorClass cls) { return ok ? 0 : 1 + static_cast<int>(cls); }

struct Recording {
  policy::LogHistogram latency;
  std::array<std::uint64_t, kOutcomes> outcomes{};
  std::uint64_t samples() const;
  void merge(const Recording& other);
};

struct Sample {
  Micros delay{0};
  bool ok = true;
  ErrorClass cls = ErrorClass::kInternal;
};

class Recorder {
 public:
  // horizon split into `buckets` time buckets (default 1 h in 12).
  explicit Recorder(Millis horizon = Millis(3'600'000), int buckets = 12);

  void record(SteadyTime now, Micros latency, bool ok, ErrorClass cls);
  // Everything within the horizon plus what was imported.
  Recording snapshot(SteadyTime now) const;
  // The two parts of a snapshot: recorded within the horizon, and imported.
  Recording live(SteadyTime now) const;
  Recording seeded() const;
  // Draws a delay and an outcome from the snapshot; nullopt with fewer than
  // `min_samples` recorded. u1, u2, u3: uniform draws in [0, 1).
  std::optional<Sample> sample(SteadyTime now, std::uint64_t min_samples, double u1, double u2, double u3) const;

  // Replaces the imported part (seeding) and forgets live buckets.
  void import(const Recording& r);
  // After a restart: the saved imported part back as imported, the saved live
  // part as if recorded at `now` (so it ages out with the horizon).
  void restore(SteadyTime now, const Recording& live, const Recording& seeded);

 private:
  struct Bucket {
    std::int64_t epoch = -1;
    Recording data;
  };
  std::int64_t epoch_of(SteadyTime t) const;
  Recording live_locked(SteadyTime now) const;

  const Millis width_;
  mutable std::mutex mu_;
  std::vector<Bucket> ring_;
  Recording imported_;
};

// Draws a latency from a histogram: a bucket by count, then a log-uniform point in it.
Micros sample_latency(const policy::LogHistogram& h, double u_bucket, double u_within);

// JSON form used by export/import and the store:
// {"latency":{"first_us":100,"growth":1.15,"counts":[...]},"outcomes":{"success":n,"unavailable":m,...}}
boost::json::object to_json(const Recording& r);
Result<Recording> from_json(const boost::json::value& v);

}  // namespace tollgate::shadow
