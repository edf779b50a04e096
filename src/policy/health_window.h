#pragma once
// HealthWindow: what a provider (or provider × operation) has done lately — a ring
// of time buckets (default 10 × 1 s) counting successes, provider faults by error
// class, timeouts, slow calls and throttling answers, with a latency histogram per
// bucket; the calls in flight with their start times; a longer, coarser ring
// (default 10 × 30 s) of latencies as the provider's own baseline; and an EWMA of
// latency for latency-aware routing.
//
// Only outcomes that say something about the provider belong here: the engine
// records a caller's invalid params or a provider's "invalid number" answer as
// kNeutral, which only ends the call's in-flight entry.
//
// Pure state: time is passed in. Thread-safe (one short mutex, never held across I/O).

#include <array>
#include <cstdint>
#include <optional>
#include <mutex>
#include <vector>

#include "core/clock.h"
#include "core/error.h"
#include "policy/log_histogram.h"

namespace tollgate::policy {

struct HealthConfig {
  Millis bucket{1000};          // width of a bucket of the recent window
  int buckets = 10;             // recent window = bucket × buckets
  Millis slow_call{1000};       // a call slower than this is slow
  Millis baseline_bucket{30000};
  int baseline_buckets = 10;    // baseline window = 5 minutes by default
  double ewma_alpha = 0.2;      // weight of the newest sample in the latency EWMA
  bool operator==(const HealthConfig&) const = default;
};

enum class Verdict {
  kSuccess,      // the provider did its job
  kFailure,      // a provider fault (unavailable, unauthorized, ...), not a timeout
  kTimeout,      // the provider did not answer in time
  kThrottled,    // the provider asked us to slow down (429 and friends)
  kNeutral,      // says nothing about the provider (the caller's invalid params)
};

// Classifies an attempt's result for health purposes.
Verdict verdict_for(bool ok, ErrorClass cls);

struct HealthSnapshot {
  std::uint64_t successes = 0;
  std::uint64_t failures = 0;    // provider faults other than timeouts
  std::uint64_t timeouts = 0;
  std::uint64_t throttled = 0;
  std::uint64_t slow = 0;        // finished calls slower than slow_call
  std::array<std::uint64_t, kErrorClassCount> by_class{};
  std::uint64_t in_flight = 0;
  std::uint64_t in_flight_slow = 0;  // still running and already past slow_call
  Millis oldest_in_flight{0};
  LogHistogram latency;          // recent window (only when asked for)
  LogHistogram baseline;         // the longer window (only when asked for)
  double ewma_ms = 0;
  // Which reset_recent() era the counts belong to (0 until the first reset).
  std::uint64_t generation = 0;

  // Calls that finished with a verdict about health (not counting throttling).
  std::uint64_t calls() const { return successes + failures + timeouts; }
  // Any provider fault, timeouts included.
  double failure_rate() const { return calls() ? double(failures + timeouts) / calls() : 0.0; }
  double timeout_rate() const { return calls() ? double(timeouts) / calls() : 0.0; }
  double slow_rate() const {
    const auto n = calls() + in_flight_slow;
    return n ? double(slow + in_flight_slow) / n : 0.0;
  }
  double success_rate() const { return calls() ? double(successes) / calls() : 1.0; }
};

class HealthWindow {
 public:
  explicit HealthWindow(HealthConfig cfg = {});

  // A call starts; returns a token for finish().
  std::uint64_t start(SteadyTime now);
  // The call with `token` ended.
  void finish(std::uint64_t token, SteadyTime now, Verdict v, ErrorClass cls = ErrorClass::kInternal);
  // Records a finished call that was never start()ed (tests, imports).
  void record(SteadyTime now, Verdict v, Millis latency, ErrorClass cls = ErrorClass::kInternal);

  // Counts, in-flight ages and EWMA; with_latency also merges the histograms
  // (recent and baseline), which costs more — for drift checks and reports.
  HealthSnapshot snapshot(SteadyTime now, bool with_latency = false) const;
  // Forgets the recent window (not the baseline): after a breaker closes, old
  // failures must not trip it again. Calls in flight at the reset stay counted in
  // `in_flight` but are no longer evidence: they never count as slow, and when
  // they end their verdict is not recorded (sent into an outage that has since
  // been proven over, e.g. probes stuck in a hang, they would trip the breaker
  // again as soon as it closed). Returns the new generation; snapshots taken
  // before the reset carry an older one.
  std::uint64_t reset_recent();
  const HealthConfig& config() const { return cfg_; }

 private:
  struct Bucket {
    std::int64_t epoch = -1;
    std::uint64_t successes = 0, failures = 0, timeouts = 0, throttled = 0, slow = 0;
    std::array<std::uint64_t, kErrorClassCount> by_class{};
    LogHistogram latency;
  };
  struct BaselineBucket {
    std::int64_t epoch = -1;
    LogHistogram latency;
  };
  void add_locked(SteadyTime now, Verdict v, Millis latency, ErrorClass cls);
  Bucket& bucket_locked(SteadyTime now);

  const HealthConfig cfg_;
  mutable std::mutex mu_;
  std::vector<Bucket> recent_;
  std::vector<BaselineBucket> baseline_;
  // Calls in flight, by token: a ring of slots in token order (tokens are
  // handed out one after another), each with its start time and whether the
  // call still runs. A finished call leaves its slot until every older one has
  // finished too. Start times never go back (a start stamped earlier than the
  // one before it, from another thread's clock read, takes the later time), so
  // they are in order across all slots, finished ones included: the calls past
  // slow_call are a prefix, counted incrementally (running tokens below
  // slow_before_ are counted in slow_in_flight_), so a snapshot costs only the
  // boundary's move, never a walk over every waiting call. Starting and
  // finishing a call allocate nothing: the ring grows to the most calls ever
  // spanned at once, from the oldest running to the newest, and shrinks back.
  // That span is the cost: 16 bytes per call started since the oldest one still
  // running (one call hanging for a 10 s attempt timeout at 10k calls/s: 1.6 MB
  // until it ends).
  class InFlight {
   public:
    std::uint64_t begin() const { return base_; }  // the oldest running call's token
    std::uint64_t end() const { return base_ + size_; }
    std::size_t running() const { return running_; }
    bool empty() const { return running_ == 0; }
    SteadyTime start(std::uint64_t token) const { return slot(token).start; }
    bool is_running(std::uint64_t token) const { return slot(token).running; }
    void push(SteadyTime start);  // the call with token end()
    // The call's start time, if it was running; it is not any more.
    std::optional<SteadyTime> finish(std::uint64_t token);

   private:
    struct Slot {
      SteadyTime start;
      bool running;
    };
    const Slot& slot(std::uint64_t token) const { return ring_[(head_ + (token - base_)) & (ring_.size() - 1)]; }
    Slot& slot(std::uint64_t token) { return ring_[(head_ + (token - base_)) & (ring_.size() - 1)]; }
    void resize(std::size_t capacity);

    std::vector<Slot> ring_;  // a power of two slots, or none
    std::size_t head_ = 0;    // the slot of token base_
    std::size_t size_ = 0;
    std::size_t running_ = 0;
    std::uint64_t base_ = 1;  // HealthWindow's first token
  };
  InFlight in_flight_;
  SteadyTime last_start_{};
  mutable std::uint64_t slow_before_ = 1;
  std::uint64_t reset_before_ = 0;  // calls with lower tokens started before the last reset
  mutable std::uint64_t slow_in_flight_ = 0;
  std::uint64_t next_token_ = 1;
  double ewma_ms_ = 0;
  bool ewma_set_ = false;
  std::uint64_t generation_ = 0;
};

}  // namespace tollgate::policy
