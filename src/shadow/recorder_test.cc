#include "shadow/recorder.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <random>

#include "policy/latency_model.h"
#include "shadow/shadow.h"
#include "tests/support/ks.h"

namespace tollgate::shadow {
namespace {

using namespace std::chrono;
const SteadyTime t0 = SteadyTime{} + hours(5);

// Seeded draws for the statistical checks: each holds at its stated confidence, so
// with fresh draws every run one run in a few thousand would fail at random (one
// did, in CI); with these the checks are the same every run.
struct Draws {
  std::mt19937_64 rng{20261207};
  double operator()() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng); }
};

TEST(Recorder, SampledLatenciesFollowTheRecordedDistribution) {
  Recorder r;
  Draws draw;
  const policy::LatencyModel truth{policy::LatencyModel::Kind::kLogNormal, 40, 300};
  std::vector<double> recorded;
  for (int i = 0; i < 4000; ++i) {
    const Micros l = truth.sample(draw(), draw());
    recorded.push_back(static_cast<double>(l.count()));
    r.record(t0, l, true, ErrorClass::kInternal);
  }
  std::vector<double> sampled;
  for (int i = 0; i < 4000; ++i) {
    auto s = r.sample(t0, 1, draw(), draw(), draw());
    ASSERT_TRUE(s);
    sampled.push_back(static_cast<double>(s->delay.count()));
  }
  // KS critical value at alpha = 0.01 for n = m = 4000: 1.63 * sqrt(2/4000) = 0.036.
  EXPECT_LT(tollgate::testing::ks_statistic(recorded, sampled), tollgate::testing::ks_critical(1.63, 4000, 4000));
}

TEST(Recorder, OutcomeMixIsReproduced) {
  Recorder r;
  Draws draw;
  for (int i = 0; i < 1000; ++i) {
    const bool ok = i % 10 < 7;
    r.record(t0, Millis(20), ok, i % 10 == 9 ? ErrorClass::kTimeout : ErrorClass::kUnavailable);
  }
  int ok = 0, timeouts = 0, unavailable = 0;
  for (int i = 0; i < 10000; ++i) {
    auto s = r.sample(t0, 1, draw(), draw(), draw());
    ok += s->ok;
    timeouts += !s->ok && s->cls == ErrorClass::kTimeout;
    unavailable += !s->ok && s->cls == ErrorClass::kUnavailable;
  }
  EXPECT_NEAR(ok / 10000.0, 0.7, 0.02);
  EXPECT_NEAR(timeouts / 10000.0, 0.1, 0.015);
  EXPECT_NEAR(unavailable / 10000.0, 0.2, 0.02);
}

TEST(Recorder, SlidingHorizonForgetsButImportsStay) {
  Recorder r(Millis(60000), 6);
  r.record(t0, Millis(10), true, ErrorClass::kInternal);
  EXPECT_EQ(r.snapshot(t0 + seconds(30)).samples(), 1u);
  EXPECT_EQ(r.snapshot(t0 + seconds(90)).samples(), 0u);
  EXPECT_FALSE(r.sample(t0 + seconds(90), 1, 0.5, 0.5, 0.5));
  Recording seed;
  seed.latency.add(milliseconds(50), 10);
  seed.outcomes[0] = 10;
  r.import(seed);
  EXPECT_EQ(r.snapshot(t0 + hours(3)).samples(), 10u);
}

TEST(Recorder, RestoredLiveDataAgesOutButRestoredSeedsStay) {
  Recorder before(Millis(60000), 6);
  for (int i = 0; i < 7; ++i) before.record(t0, Millis(10), true, ErrorClass::kInternal);
  Recording seed;
  seed.latency.add(milliseconds(50), 3);
  seed.outcomes[0] = 3;
  Recorder after(Millis(60000), 6);
  after.restore(t0 + hours(1), before.live(t0), seed);
  EXPECT_EQ(after.live(t0 + hours(1)).samples(), 7u);
  EXPECT_EQ(after.seeded().samples(), 3u);
  EXPECT_EQ(after.snapshot(t0 + hours(1)).samples(), 10u);
  // A horizon later only the seed is left.
  EXPECT_EQ(after.snapshot(t0 + hours(1) + seconds(70)).samples(), 3u);
}

TEST(Recorder, JsonRoundTripAndValidation) {
  Recorder r;
  for (int i = 1; i <= 500; ++i) r.record(t0, Millis(i), i % 5 != 0, ErrorClass::kRateLimited);
  const auto json = to_json(r.snapshot(t0));
  auto back = from_json(json);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(boost::json::serialize(to_json(*back)), boost::json::serialize(json));
  EXPECT_EQ(back->outcomes[0], 400u);
  EXPECT_EQ(back->outcomes[static_cast<size_t>(outcome_index(false, ErrorClass::kRateLimited))], 100u);
  EXPECT_FALSE(from_json(boost::json::parse(R"({"latency":{"counts":[1]},"outcomes":{}})")));
  auto bad_outcome = json;
  bad_outcome["outcomes"].as_object()["exploded"] = 3;
  EXPECT_FALSE(from_json(bad_outcome));
}

TEST(Shadow, DebugIsImmediateSuccessAndStressUsesTheFallbackUntilRecorded) {
  Recorder empty;
  const policy::LatencyModel fixed{policy::LatencyModel::Kind::kFixed, 75, 0};
  auto d = decide(Traffic::kDebug, empty, fixed, 50, t0);
  EXPECT_EQ(d.delay, Millis(0));
  EXPECT_TRUE(d.ok);
  auto s = decide(Traffic::kStress, empty, fixed, 50, t0);
  EXPECT_EQ(s.delay, Millis(75));
  EXPECT_FALSE(s.recorded);
  const auto result = synthesize_result(Traffic::kStress, {"message_id"}, "01ABC");
  EXPECT_EQ(result.at("message_id").as_string(), "stress-01ABC");
}

}  // namespace
}  // namespace tollgate::shadow
