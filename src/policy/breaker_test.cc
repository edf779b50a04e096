#include "policy/breaker.h"

#include <gtest/gtest.h>

namespace tollgate::policy {
namespace {

using namespace std::chrono;

const SteadyTime t0 = SteadyTime{} + hours(1);

// A route's health window and breaker driven together, as the engine does.
struct Route {
  explicit Route(BreakerConfig cfg, HealthConfig hcfg = {})
      : health(hcfg), breaker(cfg, hcfg.slow_call, [] { return 0.5; }) {}
  bool admit(SteadyTime now) {
    last = breaker.admit(now, health.snapshot(now, true));
    return last.admitted;
  }
  void result(SteadyTime now, Verdict v, Millis latency = Millis(10)) {
    health.record(now, v, latency, v == Verdict::kTimeout ? ErrorClass::kTimeout : ErrorClass::kUnavailable);
    breaker.on_result(now, last.probe, v, latency, health.snapshot(now, true));
    if (breaker.take_closed_event()) breaker.window_reset(health.reset_recent());
  }
  HealthWindow health;
  Breaker breaker;
  Admission last;
};

BreakerConfig cfg() {
  BreakerConfig c;
  c.min_calls = 10;
  c.failure_rate = 0.5;
  c.consecutive_failures = 0;  // off unless a test turns it on
  c.open_base = Millis(1000);
  c.open_max = Millis(8000);
  c.half_open_probes = 2;
  c.slow_start = Millis(10000);
  return c;
}

TEST(Breaker, TripsOnFailureRateAboveMinCalls) {
  Route r(cfg());
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(r.admit(t0));
    r.result(t0, Verdict::kSuccess);
  }
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(r.admit(t0));
    r.result(t0, Verdict::kFailure);
  }
  // 5 of 9 failed, but 9 < min_calls: still closed.
  EXPECT_EQ(r.breaker.state(t0), BreakerState::kClosed);
  ASSERT_TRUE(r.admit(t0));
  r.result(t0, Verdict::kFailure);  // 6 of 10
  EXPECT_EQ(r.breaker.state(t0), BreakerState::kOpen);
  EXPECT_FALSE(r.admit(t0 + Millis(100)));
  EXPECT_NE(r.breaker.info(t0).last_reason.find("failure rate"), std::string::npos);
}

TEST(Breaker, ConsecutiveFailuresTripLowTraffic) {
  auto c = cfg();
  c.consecutive_failures = 3;
  Route r(c);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(r.admit(t0 + seconds(i)));
    r.result(t0 + seconds(i), Verdict::kFailure);
  }
  EXPECT_EQ(r.breaker.state(t0 + seconds(2)), BreakerState::kOpen);
}

TEST(Breaker, NeutralAnswersDoNotTrip) {
  auto c = cfg();
  c.consecutive_failures = 3;
  Route r(c);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(r.admit(t0));
    r.result(t0, Verdict::kNeutral);  // e.g. "invalid phone number"
  }
  EXPECT_EQ(r.breaker.state(t0), BreakerState::kClosed);
}

TEST(Breaker, HungCallsInFlightTripBeforeTheyFinish) {
  auto c = cfg();
  c.slow_rate = 0.8;
  c.min_hung_calls = 0;  // this test is about the slow-call rate counting calls in flight
  Route r(c, HealthConfig{Millis(1000), 10, Millis(200)});
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(r.admit(t0 + Millis(i)));
    r.health.start(t0 + Millis(i));  // never finishes: the provider hangs
  }
  // 300 ms later nothing has finished, yet every call is already slow.
  EXPECT_FALSE(r.admit(t0 + Millis(300)));
  EXPECT_EQ(r.breaker.state(t0 + Millis(300)), BreakerState::kOpen);
  EXPECT_NE(r.breaker.info(t0 + Millis(300)).last_reason.find("still in flight"), std::string::npos);
}

TEST(Breaker, HungCallsTripEvenAfterALongHealthyHistory) {
  auto c = cfg();
  Route r(c, HealthConfig{Millis(1000), 10, Millis(200)});
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE(r.admit(t0));
    r.result(t0, Verdict::kSuccess);
  }
  // The provider hangs: three calls in flight, all past the slow threshold.
  for (int i = 0; i < 3; ++i) r.health.start(t0 + Millis(10));
  EXPECT_TRUE(r.admit(t0 + Millis(100)));  // not slow yet
  EXPECT_FALSE(r.admit(t0 + Millis(300)));
  EXPECT_NE(r.breaker.info(t0 + Millis(300)).last_reason.find("hung"), std::string::npos);
}

TEST(Breaker, LatencyDriftAgainstItsOwnBaseline) {
  auto c = cfg();
  c.drift_factor = 3;
  c.slow_rate = 2;  // off: only drift may trip
  Route r(c, HealthConfig{Millis(1000), 10, Millis(60000)});
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(r.admit(t0 + seconds(i / 10)));
    r.result(t0 + seconds(i / 10), Verdict::kSuccess, Millis(50));
  }
  const SteadyTime later = t0 + seconds(30);
  for (int i = 0; i < 9; ++i) {
    ASSERT_TRUE(r.admit(later));
    r.result(later, Verdict::kSuccess, Millis(400));
  }
  ASSERT_TRUE(r.admit(later));  // 9 slow samples: below min_calls
  r.result(later, Verdict::kSuccess, Millis(400));
  EXPECT_FALSE(r.admit(later));  // 10 samples of p90 400 ms vs baseline ~50 ms
  EXPECT_NE(r.breaker.info(later).last_reason.find("drift"), std::string::npos);
}

TEST(Breaker, OpenTimeDoublesOnEachRetripUpToTheCap) {
  auto c = cfg();
  c.consecutive_failures = 1;
  c.open_jitter = 0;
  Route r(c);
  SteadyTime now = t0;
  std::vector<long> opens;
  for (int trip = 0; trip < 5; ++trip) {
    ASSERT_TRUE(r.admit(now));
    r.result(now, Verdict::kFailure);
    ASSERT_EQ(r.breaker.state(now), BreakerState::kOpen);
    const auto open_for = r.breaker.info(now).open_for;
    opens.push_back(open_for.count());
    now += open_for;  // half-open now: the probe fails again
  }
  EXPECT_EQ(opens, (std::vector<long>{1000, 2000, 4000, 8000, 8000}));
}

TEST(Breaker, HalfOpenAdmitsBoundedProbesAndClosesOnTheirSuccess) {
  auto c = cfg();
  c.consecutive_failures = 1;
  c.open_jitter = 0;
  Route r(c);
  ASSERT_TRUE(r.admit(t0));
  r.result(t0, Verdict::kFailure);
  const SteadyTime t1 = t0 + Millis(1000);
  EXPECT_EQ(r.breaker.state(t1), BreakerState::kHalfOpen);
  Admission a = r.breaker.admit(t1, r.health.snapshot(t1));
  Admission b = r.breaker.admit(t1, r.health.snapshot(t1));
  Admission extra = r.breaker.admit(t1, r.health.snapshot(t1));
  EXPECT_TRUE(a.admitted && a.probe);
  EXPECT_TRUE(b.admitted && b.probe);
  EXPECT_FALSE(extra.admitted);  // only half_open_probes at once
  r.breaker.on_result(t1, true, Verdict::kSuccess, Millis(10), r.health.snapshot(t1));
  EXPECT_EQ(r.breaker.state(t1), BreakerState::kHalfOpen);
  r.breaker.on_result(t1, true, Verdict::kSuccess, Millis(10), r.health.snapshot(t1));
  EXPECT_EQ(r.breaker.state(t1), BreakerState::kClosed);
  EXPECT_TRUE(r.breaker.take_closed_event());
}

TEST(Breaker, ProbeFailureReopensForLonger) {
  auto c = cfg();
  c.consecutive_failures = 1;
  c.open_jitter = 0;
  Route r(c);
  ASSERT_TRUE(r.admit(t0));
  r.result(t0, Verdict::kFailure);
  const SteadyTime t1 = t0 + Millis(1000);
  ASSERT_TRUE(r.admit(t1));
  ASSERT_TRUE(r.last.probe);
  r.result(t1, Verdict::kTimeout);
  EXPECT_EQ(r.breaker.state(t1), BreakerState::kOpen);
  EXPECT_EQ(r.breaker.info(t1).open_for, Millis(2000));
}

TEST(Breaker, SlowStartRampsTheShareBackUp) {
  auto c = cfg();
  c.consecutive_failures = 1;
  c.open_jitter = 0;
  c.half_open_probes = 1;
  Route r(c);
  EXPECT_DOUBLE_EQ(r.breaker.ramp(t0), 1.0);  // never tripped
  ASSERT_TRUE(r.admit(t0));
  r.result(t0, Verdict::kFailure);
  const SteadyTime t1 = t0 + Millis(1000);
  ASSERT_TRUE(r.admit(t1));
  r.result(t1, Verdict::kSuccess);
  ASSERT_EQ(r.breaker.state(t1), BreakerState::kClosed);
  EXPECT_DOUBLE_EQ(r.breaker.ramp(t1), 0.1);
  EXPECT_NEAR(r.breaker.ramp(t1 + seconds(5)), 0.55, 1e-9);  // linear from 10% to 100% over 10 s
  EXPECT_DOUBLE_EQ(r.breaker.ramp(t1 + seconds(20)), 1.0);
}

// Gated by active health checks: a failing check keeps it open past its usual
// open time (no live probe into a dead provider), a passing one half-opens it at
// once, and open_max bounds the wait when no check ever passes.
TEST(Breaker, HealthChecksDecideWhenAGatedBreakerHalfOpens) {
  auto c = cfg();
  c.consecutive_failures = 1;
  c.open_jitter = 0;
  c.half_open_probes = 1;
  c.gated_by_checks = true;
  c.ramp_from = 0.5;
  Route r(c);
  ASSERT_TRUE(r.admit(t0));
  r.result(t0, Verdict::kFailure);
  auto opened = r.breaker.take_opened_event();
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->open_for, Millis(1000)) << "other instances hear the usual schedule";
  // Past the usual open time, failing checks: still open, nothing admitted.
  EXPECT_FALSE(r.breaker.on_health_check(t0 + Millis(1500), false));
  EXPECT_EQ(r.breaker.state(t0 + Millis(1500)), BreakerState::kOpen);
  EXPECT_FALSE(r.admit(t0 + Millis(1500)));
  // A passing check half-opens it now, and the live probe closes it.
  const SteadyTime t1 = t0 + Millis(1600);
  EXPECT_TRUE(r.breaker.on_health_check(t1, true));
  EXPECT_EQ(r.breaker.state(t1), BreakerState::kHalfOpen);
  EXPECT_FALSE(r.breaker.on_health_check(t1, true)) << "only an open breaker is moved";
  ASSERT_TRUE(r.admit(t1));
  ASSERT_TRUE(r.last.probe);
  r.result(t1, Verdict::kSuccess);
  ASSERT_EQ(r.breaker.state(t1), BreakerState::kClosed);
  // Proven by checks and a probe: the slow start begins at ramp_from.
  EXPECT_DOUBLE_EQ(r.breaker.ramp(t1), 0.5);
  EXPECT_NEAR(r.breaker.ramp(t1 + seconds(6)), 0.8, 1e-9);  // linear from 50% to 100% over 10 s
  // Without a passing check it half-opens after open_max, the longest wait.
  const SteadyTime t2 = t1 + seconds(30);
  ASSERT_TRUE(r.admit(t2));
  r.result(t2, Verdict::kFailure);
  EXPECT_EQ(r.breaker.state(t2 + Millis(7999)), BreakerState::kOpen);
  EXPECT_EQ(r.breaker.state(t2 + Millis(8000)), BreakerState::kHalfOpen);
}

// Probes sent into a hang hold every slot of a half-open breaker until their
// timeout; a passing health check frees the slots, and the stale probes' late
// failures do not reopen what the new probes closed.
TEST(Breaker, APassingCheckFreesProbeSlotsHeldByProbesSentIntoAHang) {
  auto c = cfg();
  c.consecutive_failures = 1;
  c.open_jitter = 0;
  c.half_open_probes = 1;
  c.gated_by_checks = true;
  Route r(c);
  ASSERT_TRUE(r.admit(t0));
  r.result(t0, Verdict::kFailure);
  const SteadyTime t1 = t0 + Millis(100);
  ASSERT_TRUE(r.breaker.on_health_check(t1, true));
  Admission stuck = r.breaker.admit(t1, r.health.snapshot(t1));
  ASSERT_TRUE(stuck.admitted && stuck.probe);  // sent into a hang
  const SteadyTime t2 = t1 + Millis(500);
  EXPECT_FALSE(r.breaker.admit(t2, r.health.snapshot(t2)).admitted) << "its slot is held";
  EXPECT_TRUE(r.breaker.on_health_check(t2, true));
  Admission fresh = r.breaker.admit(t2, r.health.snapshot(t2));
  ASSERT_TRUE(fresh.admitted && fresh.probe);
  r.breaker.on_result(t2 + Millis(10), true, Verdict::kSuccess, Millis(10), r.health.snapshot(t2));
  ASSERT_EQ(r.breaker.state(t2 + Millis(10)), BreakerState::kClosed);
  // The stuck probe times out 1.5 s after it was sent: ignored.
  const SteadyTime t3 = t1 + Millis(1500);
  r.breaker.on_result(t3, true, Verdict::kTimeout, Millis(1500), r.health.snapshot(t3));
  EXPECT_EQ(r.breaker.state(t3), BreakerState::kClosed);
  // Without a check in between, a stale probe would have held the slot to the end.
  EXPECT_FALSE(r.breaker.on_health_check(t3, true)) << "closed: nothing to do";
}

TEST(Breaker, ForcedProbeLetsOneCallThroughAnOpenBreaker) {
  auto c = cfg();
  c.consecutive_failures = 1;
  Route r(c);
  ASSERT_TRUE(r.admit(t0));
  r.result(t0, Verdict::kFailure);
  const auto p = r.breaker.force_probe(t0 + Millis(10));
  EXPECT_TRUE(p.admitted && p.probe);
  EXPECT_FALSE(r.breaker.force_probe(t0 + Millis(10)).admitted);  // one at a time
  r.breaker.on_result(t0 + Millis(12), true, Verdict::kFailure, Millis(2), r.health.snapshot(t0));
  // A fast failure does not let the next call straight through: probes are spaced.
  EXPECT_FALSE(r.breaker.force_probe(t0 + Millis(20)).admitted);
  const auto again = r.breaker.force_probe(t0 + Millis(10) + Millis(250));
  ASSERT_TRUE(again.admitted && again.probe);
  r.breaker.on_result(t0 + Millis(270), true, Verdict::kSuccess, Millis(10), r.health.snapshot(t0));
  EXPECT_EQ(r.breaker.state(t0 + Millis(270)), BreakerState::kHalfOpen);
}

TEST(Breaker, ASlowProbeAfterALatencyTripDoesNotClose) {
  auto c = cfg();
  c.slow_rate = 0.5;
  c.open_jitter = 0;
  c.half_open_probes = 1;
  Route r(c, HealthConfig{Millis(1000), 10, Millis(200)});
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(r.admit(t0));
    r.result(t0, Verdict::kSuccess, Millis(900));  // all answer, all slow
  }
  EXPECT_FALSE(r.admit(t0));
  ASSERT_EQ(r.breaker.state(t0), BreakerState::kOpen);
  const SteadyTime t1 = t0 + Millis(1000);
  ASSERT_TRUE(r.admit(t1));
  ASSERT_TRUE(r.last.probe);
  r.result(t1, Verdict::kSuccess, Millis(900));  // still as slow
  EXPECT_EQ(r.breaker.state(t1), BreakerState::kOpen);
  EXPECT_NE(r.breaker.info(t1).last_reason.find("too slow"), std::string::npos);
  const SteadyTime t2 = t1 + Millis(2000);
  ASSERT_TRUE(r.admit(t2));
  r.result(t2, Verdict::kSuccess, Millis(50));  // fast again
  EXPECT_EQ(r.breaker.state(t2), BreakerState::kClosed);
}


// Defect 14: the breaker closes in on_result; the window is reset a moment later.
// Another worker's admission in between (with a snapshot full of the failures
// that opened it) must not trip it again.
TEST(Breaker, AClosedBreakerIgnoresTheWindowUntilItIsReset) {
  Route r(cfg());
  SteadyTime t = t0;
  while (r.admit(t)) r.result(t, Verdict::kFailure);
  ASSERT_EQ(r.breaker.state(t), BreakerState::kOpen);
  t += seconds(2);
  const HealthSnapshot stale = r.health.snapshot(t, true);  // taken by "another worker"
  ASSERT_GE(stale.failure_rate(), 0.5);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(r.breaker.admit(t, stale).probe);
  }
  r.breaker.on_result(t, true, Verdict::kSuccess, Millis(5), stale);
  r.breaker.on_result(t, true, Verdict::kSuccess, Millis(5), stale);
  ASSERT_EQ(r.breaker.state(t), BreakerState::kClosed);
  // Between the close and the owner's reset: the stale snapshot does not trip it.
  EXPECT_TRUE(r.breaker.admit(t, stale).admitted);
  EXPECT_EQ(r.breaker.state(t), BreakerState::kClosed);
  ASSERT_TRUE(r.breaker.take_closed_event());
  r.breaker.window_reset(r.health.reset_recent());
  // After the reset, a snapshot of the old generation is still not judged...
  EXPECT_TRUE(r.breaker.admit(t, stale).admitted);
  EXPECT_EQ(r.breaker.state(t), BreakerState::kClosed);
  // ...but new failures are.
  for (int i = 0; i < 12; ++i) {
    r.health.record(t, Verdict::kFailure, Millis(5), ErrorClass::kUnavailable);
  }
  EXPECT_FALSE(r.breaker.admit(t, r.health.snapshot(t, true)).admitted);
  EXPECT_EQ(r.breaker.state(t), BreakerState::kOpen);
}

// Defect 21: a half-open provider that gets no traffic asks to be probed, once at
// a time, and says why it refuses when its probe slots are taken.
TEST(Breaker, AnIdleHalfOpenBreakerAsksForAProbe) {
  Route r(cfg());
  SteadyTime t = t0;
  while (r.admit(t)) r.result(t, Verdict::kFailure);
  ASSERT_EQ(r.breaker.state(t), BreakerState::kOpen);
  EXPECT_FALSE(r.breaker.probe_due(t));
  EXPECT_EQ(r.breaker.refusal(t), "circuit open");
  t += seconds(2);
  EXPECT_TRUE(r.breaker.probe_due(t));  // half-open, nobody has probed it
  ASSERT_TRUE(r.admit(t));
  EXPECT_TRUE(r.last.probe);
  EXPECT_FALSE(r.breaker.probe_due(t));  // a probe is in flight
  ASSERT_TRUE(r.admit(t));
  EXPECT_FALSE(r.admit(t));  // both probe slots taken
  EXPECT_EQ(r.breaker.refusal(t), "circuit half-open (2 probes in flight)");
  r.breaker.release_probe();
  r.breaker.release_probe();
  EXPECT_FALSE(r.breaker.probe_due(t + milliseconds(100)));  // spaced out
  EXPECT_TRUE(r.breaker.probe_due(t + milliseconds(300)));
}

}  // namespace
}  // namespace tollgate::policy
