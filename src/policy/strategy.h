#pragma once
// Selector: orders a capability's candidate providers for one call, by the
// capability's strategy:
//   priority  configured order (ordered fallback);
//   weighted  smooth weighted round robin (nginx's), on weight × success² × ramp,
//             so a provider that fails part of the time gets a smaller share;
//   cost      cheapest first;
//   latency   power of two choices on the latency EWMA;
//   adaptive  a score of success rate, latency and price relative to the best
//             candidate (weights in config), times the square of the delivery
//             rate where receipts report one; traffic split in proportion to
//             score⁴ × ramp (so a provider delivering half its messages keeps
//             1/256 of the share it would otherwise have, one delivering 90%
//             about 43%).
// Slow start (`ramp` < 1) lowers a recovering provider's weight, or, for the
// order-based strategies, demotes it one place with probability 1 - ramp.
// Pure apart from the smooth-WRR state, which a short mutex guards.

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace tollgate::policy {

enum class StrategyKind { kPriority, kWeighted, kCost, kLatency, kAdaptive };
std::optional<StrategyKind> parse_strategy(std::string_view s);
std::string_view to_string(StrategyKind k);

// The success rate strategies weigh a candidate by: successes over calls in
// its health window, with kPriorSuccesses successes assumed on top. A provider
// whose first call or two failed is not weighed at 0 — which would leave it
// without traffic, and so without the calls that could show it recovered,
// until its window emptied — while a long run of failures still weighs it down
// (0 of 20: 0.13; 70 of 100: 0.71). The breaker, not this, takes a dead
// provider out.
inline constexpr double kPriorSuccesses = 3;
inline double weighed_success_rate(std::uint64_t successes, std::uint64_t calls) {
  return (static_cast<double>(successes) + kPriorSuccesses) / (static_cast<double>(calls) + kPriorSuccesses);
}

struct CandidateInfo {
  double weight = 1;        // configured weight (weighted)
  double price = 0;         // per call (cost, adaptive)
  double ewma_ms = 0;       // latency EWMA; 0: unknown yet
  double success_rate = 1;  // recent, 0..1
  double ramp = 1;          // slow-start share, 0.1..1
  double delivery = 1;      // share of sends delivered (receipts), 0..1; 1 when unknown
};

struct AdaptiveWeights {
  double success = 0.6;
  double latency = 0.2;
  double price = 0.2;
  bool operator==(const AdaptiveWeights&) const = default;
};

class Selector {
 public:
  explicit Selector(StrategyKind kind, AdaptiveWeights weights = {});

  // Candidate indices in the order to try them.
  std::vector<int> order(std::span<const CandidateInfo> c, const std::function<double()>& unit_random);
  StrategyKind kind() const { return kind_; }

  // The adaptive score of each candidate (for the admin view).
  std::vector<double> scores(std::span<const CandidateInfo> c) const;

 private:
  int pick_swrr(std::span<const double> effective);

  const StrategyKind kind_;
  const AdaptiveWeights weights_;
  std::mutex mu_;
  std::vector<double> swrr_current_;
};

}  // namespace tollgate::policy
