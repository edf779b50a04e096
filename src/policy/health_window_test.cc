#include "policy/health_window.h"

#include <gtest/gtest.h>

#include <map>

namespace tollgate::policy {
namespace {

using namespace std::chrono;

const SteadyTime t0 = SteadyTime{} + hours(1);

TEST(HealthWindow, CountsOnlyWhatSaysSomethingAboutTheProvider) {
  HealthWindow w;
  w.record(t0, Verdict::kSuccess, Millis(20));
  w.record(t0, Verdict::kFailure, Millis(5), ErrorClass::kUnavailable);
  w.record(t0, Verdict::kTimeout, Millis(1000), ErrorClass::kTimeout);
  w.record(t0, Verdict::kThrottled, Millis(1), ErrorClass::kRateLimited);
  w.record(t0, Verdict::kNeutral, Millis(1), ErrorClass::kInvalidRequest);  // "invalid number"
  const auto s = w.snapshot(t0);
  EXPECT_EQ(s.successes, 1u);
  EXPECT_EQ(s.failures, 1u);
  EXPECT_EQ(s.timeouts, 1u);
  EXPECT_EQ(s.throttled, 1u);
  EXPECT_EQ(s.calls(), 3u);
  EXPECT_EQ(s.by_class[static_cast<int>(ErrorClass::kUnavailable)], 1u);
  EXPECT_EQ(s.by_class[static_cast<int>(ErrorClass::kInvalidRequest)], 0u);
  EXPECT_NEAR(s.failure_rate(), 2.0 / 3, 1e-9);
  EXPECT_NEAR(s.timeout_rate(), 1.0 / 3, 1e-9);
}

TEST(HealthWindow, OldBucketsFallOutOfTheWindow) {
  HealthWindow w;  // 10 x 1 s
  for (int i = 0; i < 5; ++i) w.record(t0, Verdict::kFailure, Millis(1), ErrorClass::kUnavailable);
  EXPECT_EQ(w.snapshot(t0 + seconds(9)).failures, 5u);
  EXPECT_EQ(w.snapshot(t0 + seconds(11)).failures, 0u);
  w.record(t0 + seconds(11), Verdict::kSuccess, Millis(1));
  EXPECT_EQ(w.snapshot(t0 + seconds(11)).successes, 1u);
}

TEST(HealthWindow, CallsInFlightPastTheSlowThresholdCountAsSlowAlready) {
  HealthWindow w(HealthConfig{Millis(1000), 10, Millis(500)});
  const auto a = w.start(t0);
  const auto b = w.start(t0 + Millis(400));
  auto s = w.snapshot(t0 + Millis(600));
  EXPECT_EQ(s.in_flight, 2u);
  EXPECT_EQ(s.in_flight_slow, 1u);  // a is 600 ms old; b only 200 ms
  EXPECT_EQ(s.oldest_in_flight, Millis(600));
  EXPECT_DOUBLE_EQ(s.slow_rate(), 1.0);
  w.finish(a, t0 + Millis(700), Verdict::kSuccess);
  w.finish(b, t0 + Millis(700), Verdict::kSuccess);
  s = w.snapshot(t0 + Millis(700));
  EXPECT_EQ(s.in_flight, 0u);
  EXPECT_EQ(s.slow, 1u);  // a finished slow
  EXPECT_EQ(s.successes, 2u);
}

// The slow calls in flight are counted as the calls start and finish, not by a
// walk over all of them per snapshot (thousands wait when a provider's
// connections are all busy). Checked against a plain count over a random mix of
// starts, finishes (slow and not, oldest first or not) and snapshots at times
// that mostly move forward and sometimes step back.
TEST(HealthWindow, SlowCallsInFlightAreCountedExactlyWhateverTheOrder) {
  HealthWindow w(HealthConfig{Millis(1000), 10, Millis(500)});
  std::map<std::uint64_t, SteadyTime> open;  // the reference: token -> start
  std::uint64_t seed = 42;
  auto next = [&](std::uint64_t n) { seed = seed * 6364136223846793005ULL + 1442695040888963407ULL; return (seed >> 33) % n; };
  SteadyTime now = t0;
  for (int step = 0; step < 20000; ++step) {
    switch (next(6)) {
      case 0: case 1:
        now += Millis(next(40));
        open.emplace(w.start(now), now);
        break;
      case 2: case 3:
        if (!open.empty()) {
          auto it = open.begin();
          std::advance(it, static_cast<long>(next(open.size())));
          w.finish(it->first, now, Verdict::kSuccess);
          open.erase(it);
        }
        break;
      default: {
        // Mostly the present; one snapshot in five up to 300 ms in the past.
        const SteadyTime at = next(5) == 0 ? now - Millis(next(300)) : now;
        std::uint64_t slow = 0;
        Millis oldest{0};
        for (const auto& [token, started] : open) {
          const auto age = duration_cast<Millis>(at - started);
          if (age > Millis(500)) ++slow;
          oldest = std::max(oldest, age);
        }
        const auto s = w.snapshot(at);
        ASSERT_EQ(s.in_flight, open.size()) << "step " << step;
        ASSERT_EQ(s.in_flight_slow, slow) << "step " << step;
        ASSERT_EQ(s.oldest_in_flight, oldest) << "step " << step;
      }
    }
  }
}

// One call hangs while thousands start and finish behind it, in bursts of up
// to 300 at once, with resets now and then: the calls in flight are kept from
// the oldest running one to the newest, finished ones among them, so this is
// where that bookkeeping grows, shrinks back and must still count exactly.
// Finishing a call twice, or one never started, changes nothing.
TEST(HealthWindow, ACallHangingBehindThousandsThatFinishIsCountedExactly) {
  HealthWindow w(HealthConfig{Millis(1000), 10, Millis(500)});
  std::map<std::uint64_t, SteadyTime> open;  // the reference: token -> start
  std::uint64_t counted_from = 0;            // tokens below it started before the last reset
  std::uint64_t seed = 7;
  auto next = [&](std::uint64_t n) { seed = seed * 6364136223846793005ULL + 1442695040888963407ULL; return (seed >> 33) % n; };
  SteadyTime now = t0;
  auto check = [&](SteadyTime at, int step) {
    std::uint64_t slow = 0;
    Millis oldest{0};
    for (const auto& [token, started] : open) {
      const auto age = duration_cast<Millis>(at - started);
      if (token >= counted_from && age > Millis(500)) ++slow;
      oldest = std::max(oldest, age);
    }
    const auto s = w.snapshot(at);
    ASSERT_EQ(s.in_flight, open.size()) << "step " << step;
    ASSERT_EQ(s.in_flight_slow, slow) << "step " << step;
    ASSERT_EQ(s.oldest_in_flight, oldest) << "step " << step;
  };
  const auto stuck = w.start(now);
  open.emplace(stuck, now);
  std::uint64_t finished_token = 0;
  for (int step = 0; step < 3000; ++step) {
    const auto burst = 1 + next(300);
    for (std::uint64_t i = 0; i < burst; ++i) {
      now += Millis(next(3));
      open.emplace(w.start(now), now);
    }
    check(now, step);
    // Finish all but the stuck one (and a straggler now and then), in random order.
    while (open.size() > 1 + next(3)) {
      auto it = std::next(open.begin(), static_cast<long>(1 + next(open.size() - 1)));
      finished_token = it->first;
      w.finish(it->first, now, Verdict::kSuccess);
      open.erase(it);
      if (next(50) == 0) check(now - Millis(next(400)), step);
    }
    w.finish(finished_token, now, Verdict::kSuccess);  // twice: ignored
    w.finish(1u << 30, now, Verdict::kSuccess);        // never started: ignored
    if (next(200) == 0) {
      w.reset_recent();
      counted_from = open.rbegin()->first + 1;
    }
    check(now, step);
    check(now - Millis(next(300)), step);
  }
  w.finish(stuck, now, Verdict::kTimeout, ErrorClass::kTimeout);
  open.erase(stuck);
  check(now, -1);
}

// After a reset (a breaker closing once recovery was proven), calls that were
// already in flight (probes stuck in a hang) are no evidence: not slow while they
// hang on, not recorded when they time out. Calls started after it are.
TEST(HealthWindow, CallsInFlightAtAResetAreNoLongerEvidence) {
  HealthWindow w(HealthConfig{Millis(1000), 10, Millis(500)});
  const auto stuck1 = w.start(t0);
  const auto stuck2 = w.start(t0 + Millis(100));
  EXPECT_EQ(w.snapshot(t0 + Millis(700)).in_flight_slow, 2u);
  w.reset_recent();
  const auto fresh = w.start(t0 + Millis(800));
  auto s = w.snapshot(t0 + Millis(1400));
  EXPECT_EQ(s.in_flight, 3u);       // still in flight, and shown as such
  EXPECT_EQ(s.in_flight_slow, 1u);  // only the call started after the reset
  w.finish(stuck1, t0 + Millis(1500), Verdict::kTimeout, ErrorClass::kTimeout);
  w.finish(stuck2, t0 + Millis(1600), Verdict::kTimeout, ErrorClass::kTimeout);
  s = w.snapshot(t0 + Millis(1600));
  EXPECT_EQ(s.timeouts, 0u) << "timeouts of calls sent before the reset reached the new window";
  EXPECT_EQ(s.in_flight, 1u);
  EXPECT_EQ(s.in_flight_slow, 1u);
  w.finish(fresh, t0 + Millis(1700), Verdict::kTimeout, ErrorClass::kTimeout);
  s = w.snapshot(t0 + Millis(1700));
  EXPECT_EQ(s.timeouts, 1u);
  EXPECT_EQ(s.in_flight_slow, 0u);
}

TEST(HealthWindow, BaselineOutlivesTheRecentWindowAndResetKeepsIt) {
  HealthWindow w;
  for (int i = 0; i < 100; ++i) w.record(t0, Verdict::kSuccess, Millis(50));
  auto s = w.snapshot(t0 + seconds(30), true);
  EXPECT_EQ(s.latency.total(), 0u);   // recent: gone after 10 s
  EXPECT_EQ(s.baseline.total(), 100u);  // baseline: 5 min
  w.record(t0 + seconds(30), Verdict::kSuccess, Millis(50));
  w.reset_recent();
  s = w.snapshot(t0 + seconds(30), true);
  EXPECT_EQ(s.successes, 0u);
  EXPECT_EQ(s.baseline.total(), 101u);
}

TEST(HealthWindow, EwmaFollowsLatency) {
  HealthWindow w;
  w.record(t0, Verdict::kSuccess, Millis(100));
  EXPECT_NEAR(w.snapshot(t0).ewma_ms, 100, 1);
  for (int i = 0; i < 50; ++i) w.record(t0, Verdict::kSuccess, Millis(10));
  EXPECT_NEAR(w.snapshot(t0).ewma_ms, 10, 1);
}

TEST(HealthWindow, VerdictForClasses) {
  EXPECT_EQ(verdict_for(true, ErrorClass::kInternal), Verdict::kSuccess);
  EXPECT_EQ(verdict_for(false, ErrorClass::kTimeout), Verdict::kTimeout);
  EXPECT_EQ(verdict_for(false, ErrorClass::kRateLimited), Verdict::kThrottled);
  EXPECT_EQ(verdict_for(false, ErrorClass::kUnavailable), Verdict::kFailure);
  EXPECT_EQ(verdict_for(false, ErrorClass::kInvalidRequest), Verdict::kNeutral);
  EXPECT_EQ(verdict_for(false, ErrorClass::kRejected), Verdict::kNeutral);
}

}  // namespace
}  // namespace tollgate::policy
