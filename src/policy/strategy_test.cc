#include "policy/strategy.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace tollgate::policy {
namespace {

std::function<double()> rng(unsigned seed) {
  auto gen = std::make_shared<std::mt19937>(seed);
  return [gen] { return std::uniform_real_distribution<double>(0, 1)(*gen); };
}

std::map<int, int> first_choices(Selector& s, const std::vector<CandidateInfo>& c, int n) {
  std::map<int, int> out;
  auto r = rng(7);
  for (int i = 0; i < n; ++i) ++out[s.order(c, r).front()];
  return out;
}

TEST(Strategy, PriorityKeepsConfiguredOrder) {
  Selector s(StrategyKind::kPriority);
  EXPECT_EQ(s.order(std::vector<CandidateInfo>(3), rng(1)), (std::vector<int>{0, 1, 2}));
}

TEST(Strategy, CostPutsTheCheapestFirst) {
  Selector s(StrategyKind::kCost);
  std::vector<CandidateInfo> c(3);
  c[0].price = 0.05;
  c[1].price = 0.03;
  c[2].price = 0.04;
  EXPECT_EQ(s.order(c, rng(1)), (std::vector<int>{1, 2, 0}));
}

TEST(Strategy, SmoothWeightedRoundRobinSequence) {
  Selector s(StrategyKind::kWeighted);
  std::vector<CandidateInfo> c(3);
  c[0].weight = 5;
  c[1].weight = 1;
  c[2].weight = 1;
  std::string seq;
  for (int i = 0; i < 7; ++i) seq += static_cast<char>('a' + s.order(c, rng(1)).front());
  EXPECT_EQ(seq, "aabacaa");  // nginx's smooth sequence for 5:1:1
}

TEST(Strategy, WeightedShareFallsWithErrors) {
  Selector s(StrategyKind::kWeighted);
  std::vector<CandidateInfo> c(2);
  auto even = first_choices(s, c, 1000);
  EXPECT_EQ(even[0], 500);
  c[1].success_rate = 0.7;  // 30% errors
  auto skewed = first_choices(s, c, 1000);
  EXPECT_LT(skewed[1], 400);
  EXPECT_GT(skewed[1], 250);
}

// A provider whose only call so far failed keeps a share under weighted (it
// got none: weighed at 0² it never had another call to show it was fine).
TEST(Strategy, AProviderWhoseFirstCallFailedStillGetsAShare) {
  Selector s(StrategyKind::kWeighted);
  std::vector<CandidateInfo> c(2);
  c[0].success_rate = weighed_success_rate(0, 1);
  c[1].success_rate = weighed_success_rate(5, 5);
  auto picks = first_choices(s, c, 1000);
  EXPECT_GT(picks[0], 250) << "0 of 1 is not evidence of a dead provider";
  // A long run of failures still weighs it down.
  c[0].success_rate = weighed_success_rate(0, 20);
  EXPECT_LT(first_choices(s, c, 1000)[0], 30);
  EXPECT_NEAR(weighed_success_rate(70, 100), 0.71, 0.01);
}

TEST(Strategy, LatencyPrefersTheFasterOfTwo) {
  Selector s(StrategyKind::kLatency);
  std::vector<CandidateInfo> c(2);
  c[0].ewma_ms = 200;
  c[1].ewma_ms = 20;
  auto picks = first_choices(s, c, 200);
  EXPECT_EQ(picks[1], 200);
}

TEST(Strategy, AdaptiveShiftsTrafficAwayFromErrors) {
  Selector s(StrategyKind::kAdaptive, AdaptiveWeights{0.6, 0.2, 0.2});
  std::vector<CandidateInfo> c(2);
  c[0].ewma_ms = c[1].ewma_ms = 50;
  c[0].price = c[1].price = 0.04;
  auto even = first_choices(s, c, 2000);
  EXPECT_NEAR(even[1], 1000, 100);
  c[1].success_rate = 0.7;
  auto skewed = first_choices(s, c, 2000);
  EXPECT_LT(skewed[1], 700);
  // Price matters too: equal health, one much cheaper.
  c[1].success_rate = 1;
  c[0].price = 0.08;
  c[1].price = 0.02;
  auto cheap = first_choices(s, c, 2000);
  EXPECT_GT(cheap[1], 1200);
}

TEST(Strategy, AdaptiveMovesTrafficFromAProviderThatAnswersOkButDoesNotDeliver) {
  Selector s(StrategyKind::kAdaptive);
  std::vector<CandidateInfo> c(2);
  c[0].ewma_ms = c[1].ewma_ms = 50;
  c[0].delivery = 0.5;  // every send answered "OK", half never delivered
  auto picks = first_choices(s, c, 2000);
  EXPECT_GT(picks[1], 1960);  // score × 0.25 -> weight 1/256 of the other's
  EXPECT_GT(picks[0], 0);     // but not none: its rate is measured on what it still gets
  c[0].delivery = 0.9;
  auto some = first_choices(s, c, 2000);
  EXPECT_NEAR(some[0], 2000 * 0.43 / 1.43, 100);  // 0.81⁴ ≈ 0.43 of the other's weight
  c[0].delivery = 1;
  auto back = first_choices(s, c, 2000);
  EXPECT_NEAR(back[0], 1000, 100);
}

TEST(Strategy, AdaptiveIgnoresSubMillisecondNoiseButNotRealSlowness) {
  Selector s(StrategyKind::kAdaptive);
  std::vector<CandidateInfo> c(2);
  c[0].ewma_ms = 0.4;  // failing fast looks "faster" by a hair
  c[1].ewma_ms = 1.1;
  auto even = first_choices(s, c, 2000);
  EXPECT_NEAR(even[0], 1000, 120);
  c[0].ewma_ms = 500;  // really slow
  c[1].ewma_ms = 50;
  auto slow = first_choices(s, c, 2000);
  EXPECT_LT(slow[0], 800);
}

TEST(Strategy, SlowStartDemotesARecoveringProvider) {
  Selector s(StrategyKind::kPriority);
  std::vector<CandidateInfo> c(2);
  c[0].ramp = 0.25;
  auto picks = first_choices(s, c, 4000);
  EXPECT_NEAR(picks[0], 1000, 150);
}

TEST(Strategy, Names) {
  for (auto k : {StrategyKind::kPriority, StrategyKind::kWeighted, StrategyKind::kCost, StrategyKind::kLatency,
                 StrategyKind::kAdaptive}) {
    EXPECT_EQ(parse_strategy(to_string(k)), k);
  }
  EXPECT_FALSE(parse_strategy("random"));
}

}  // namespace
}  // namespace tollgate::policy
