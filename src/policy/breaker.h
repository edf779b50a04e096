#pragma once
// Breaker: the circuit breaker of one provider × operation.
//
//   closed ──trip──▶ open ──open time passed──▶ half-open ──probes succeed──▶ closed
//                     ▲                             │
//                     └────────probe fails──────────┘
//
// Trips (above min_calls) on failure rate, timeout rate, slow-call rate — counting
// calls still in flight past the slow threshold, so a hung provider is noticed
// without waiting for its calls to time out — on N consecutive failures (so low
// traffic trips fast too), and on latency drift (recent p90 > factor × the
// provider's own baseline p90). Each re-trip doubles the open time (with jitter, up
// to a cap). Half-open admits a bounded number of concurrent probes and closes on
// their success ratio. After closing, slow start ramps its share of traffic from
// 10% (ramp_from) to 100% over a configured time. With active health checks
// (gated_by_checks) a passing check, not the open timer, half-opens it.
//
// Pure state machine: time and the health snapshot are passed in; the jitter draw
// is injected. Thread-safe (a short mutex).

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "core/clock.h"
#include "policy/health_window.h"

namespace tollgate::policy {

struct BreakerConfig {
  int min_calls = 10;                  // no rate-based trip below this many calls in the window
  double failure_rate = 0.5;           // provider faults (timeouts included) / calls
  double timeout_rate = 0.5;
  double slow_rate = 0.8;              // (slow finished + slow in flight) / calls
  int consecutive_failures = 5;        // 0: off
  int min_hung_calls = 3;              // this many calls in flight past the slow threshold, and
                                       // at least slow_rate of all in flight: the provider hangs
  double drift_factor = 0;             // 0: off; e.g. 3 = p90 three times the baseline's
  int drift_min_samples = 50;          // baseline samples needed before drift can trip
  Millis open_base{1000};              // first open period
  Millis open_max{60000};              // cap of the doubling
  double open_jitter = 0.2;            // open time × U(1 - j, 1 + j)
  int half_open_probes = 3;            // probes admitted at once while half-open
  double probe_success_ratio = 1.0;    // fraction of probes that must succeed to close
  Millis slow_start{10000};            // ramp-up after closing; 0: none
  double ramp_from = 0.1;              // the slow start's first share (0.1 .. 1)
  // Active health checks decide when an open breaker half-opens (a passing check:
  // at once), not the open timer; open_max is then the longest it stays open
  // without a passing check (engine/health_check.h).
  bool gated_by_checks = false;
  // Delivery receipts (docs/events.md): trip when the share of sends a receipt
  // reported delivered falls below this. 0: off. Judged by events::DeliveryMonitor.
  double min_delivery_rate = 0;
  bool operator==(const BreakerConfig&) const = default;
};

enum class BreakerState { kClosed, kOpen, kHalfOpen };
std::string_view to_string(BreakerState s);

struct Admission {
  bool admitted = false;
  bool probe = false;  // a half-open probe: must report back through on_result
};

struct BreakerInfo {
  BreakerState state = BreakerState::kClosed;
  int trips = 0;                // consecutive trips without a calm closed period
  std::uint64_t total_trips = 0;
  std::string last_reason;      // why it last opened
  Millis open_for{0};           // remaining open time (state kOpen)
  double ramp = 1.0;            // slow-start share, 0.1 .. 1
  int consecutive_failures = 0;
};

class Breaker {
 public:
  // `slow_call`: the health window's slow threshold (a probe slower than it, after
  // a slow-call trip, does not count as a success).
  explicit Breaker(BreakerConfig cfg, Millis slow_call = Millis(1000), std::function<double()> unit_random = nullptr);

  // May this attempt go ahead? Evaluates trip conditions from `health` first.
  Admission admit(SteadyTime now, const HealthSnapshot& health);
  // Reports an attempt's verdict and latency. `probe` as returned by admit(). A
  // probe that succeeds but is slower than what tripped the breaker (the slow
  // threshold, or the drift limit) counts as a failed probe.
  void on_result(SteadyTime now, bool probe, Verdict v, Millis latency, const HealthSnapshot& health);
  // A probe that ended without a verdict (cancelled): frees its slot.
  void release_probe();
  // Checks trip conditions without admitting (e.g. from a monitoring tick).
  void evaluate(SteadyTime now, const HealthSnapshot& health);

  BreakerState state(SteadyTime now) const;
  // Slow-start share of traffic, 0.1 .. 1 (1 when closed for long enough).
  double ramp(SteadyTime now) const;
  BreakerInfo info(SteadyTime now) const;
  // When an open breaker will next admit a probe (now if not open).
  SteadyTime next_probe_at(SteadyTime now) const;
  // Forces a probe through an open breaker (the least-bad provider when every
  // breaker is open): one at a time, and at most one per quarter of the base open
  // period (at least 50 ms apart) — a probe-sized share, not a stream.
  Admission force_probe(SteadyTime now);
  // How far apart forced probes go: a quarter of the base open period, >= 50 ms.
  Millis forced_probe_spacing() const;
  // Why admit() says no, for messages: "circuit open" or, half-open with every
  // probe slot taken, "circuit half-open (probes in flight)".
  std::string refusal(SteadyTime now) const;

  // Set by the breaker when it closes, so the owner can reset its health window.
  bool take_closed_event();
  // Set when this breaker tripped on its own judgement (not opened remotely):
  // how long it is open and why, so the owner can tell the other instances.
  struct OpenedEvent {
    Millis open_for{0};
    std::string reason;
  };
  std::optional<OpenedEvent> take_opened_event();
  // Another instance found the provider sick: stop sending it new calls for
  // `open_for` (a closed or half-open breaker opens; an open one stays as it
  // is). It then half-opens and this instance judges it on its own probes. Does
  // not count as a trip of this breaker (no doubling of its own open time).
  void open_remotely(SteadyTime now, Millis open_for, std::string reason);
  // A judgement made outside the health window (the delivery rate) trips the
  // breaker as its own trip would: open time doubling, an opened event for the
  // cluster. Does nothing while open.
  void trip(SteadyTime now, std::string reason);
  // The owner reset the health window after a close; `generation` is what
  // reset_recent() returned. Until then — and for any snapshot of an older
  // generation afterwards — the window's counts are not judged: they hold the
  // failures that opened the breaker, and another thread's admission between the
  // close and the reset must not trip it again at once.
  void window_reset(std::uint64_t generation);

  // An active health check's verdict (engine/health_check.h). Healthy: an open
  // breaker half-opens now, so live probes can confirm it; a half-open one whose
  // every probe slot is held (probes sent into a hang) forgets those probes — their
  // results, when they come, are ignored — so new ones can go. Unhealthy: nothing
  // changes (a gated breaker stays open until a check passes, at most open_max).
  // True when it half-opened the breaker or freed its probe slots.
  bool on_health_check(SteadyTime now, bool healthy);

  // Half-open with no probe in flight and none admitted for a while: the provider
  // gets no traffic to prove itself with (a standby under the priority strategy).
  // The planner then tries it first for one call, as a probe.
  bool probe_due(SteadyTime now) const;

 private:
  void trip_locked(SteadyTime now, std::string reason);
  void close_locked(SteadyTime now);
  bool should_trip_locked(const HealthSnapshot& h, std::string& reason, Millis& ceiling) const;
  void refresh_locked(SteadyTime now);

  const BreakerConfig cfg_;
  const Millis slow_call_;
  std::function<double()> unit_random_;
  Millis probe_ceiling_{0};  // probes slower than this fail (set by latency trips)
  mutable std::mutex mu_;
  BreakerState state_ = BreakerState::kClosed;
  SteadyTime open_until_{};
  SteadyTime closed_at_{};
  bool ever_tripped_ = false;
  int trips_ = 0;
  std::uint64_t total_trips_ = 0;
  int consecutive_failures_ = 0;
  int probes_in_flight_ = 0;
  int probe_successes_ = 0;
  int probe_failures_ = 0;
  SteadyTime last_forced_probe_{};
  SteadyTime last_probe_{};         // the last probe admitted (half-open or forced)
  SteadyTime probes_forgotten_at_{};  // probes started before this no longer count (on_health_check)
  bool awaiting_reset_ = false;     // closed, the owner has not reset the window yet
  std::uint64_t min_generation_ = 0;
  std::string last_reason_;
  bool closed_event_ = false;
  std::optional<OpenedEvent> opened_event_;
};

}  // namespace tollgate::policy
