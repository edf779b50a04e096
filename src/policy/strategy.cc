#include "policy/strategy.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace tollgate::policy {
namespace {

// Stable order of indices by key ascending.
template <typename Key>
std::vector<int> sorted_by(size_t n, Key key) {
  std::vector<int> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return key(a) < key(b); });
  return idx;
}

// Picks index i with probability w[i] / sum(w); -1 when all weights are 0.
int weighted_pick(std::span<const double> w, double u) {
  const double total = std::accumulate(w.begin(), w.end(), 0.0);
  if (total <= 0) return -1;
  double x = u * total;
  for (size_t i = 0; i < w.size(); ++i) {
    if (x < w[i]) return static_cast<int>(i);
    x -= w[i];
  }
  return static_cast<int>(w.size()) - 1;
}

// First `first`, then the rest by weight descending.
std::vector<int> first_then_by_weight(int first, std::span<const double> w) {
  std::vector<int> out = sorted_by(w.size(), [&](int i) { return -w[i]; });
  if (first >= 0) {
    out.erase(std::find(out.begin(), out.end(), first));
    out.insert(out.begin(), first);
  }
  return out;
}

}  // namespace

std::optional<StrategyKind> parse_strategy(std::string_view s) {
  if (s == "priority") return StrategyKind::kPriority;
  if (s == "weighted") return StrategyKind::kWeighted;
  if (s == "cost") return StrategyKind::kCost;
  if (s == "latency") return StrategyKind::kLatency;
  if (s == "adaptive") return StrategyKind::kAdaptive;
  return std::nullopt;
}

std::string_view to_string(StrategyKind k) {
  switch (k) {
    case StrategyKind::kPriority: return "priority";
    case StrategyKind::kWeighted: return "weighted";
    case StrategyKind::kCost: return "cost";
    case StrategyKind::kLatency: return "latency";
    case StrategyKind::kAdaptive: return "adaptive";
  }
  return "priority";
}

Selector::Selector(StrategyKind kind, AdaptiveWeights weights) : kind_(kind), weights_(weights) {}

int Selector::pick_swrr(std::span<const double> effective) {
  std::lock_guard lock(mu_);
  if (swrr_current_.size() != effective.size()) swrr_current_.assign(effective.size(), 0.0);
  double total = 0;
  int best = -1;
  for (size_t i = 0; i < effective.size(); ++i) {
    swrr_current_[i] += effective[i];
    total += effective[i];
    if (effective[i] > 0 && (best < 0 || swrr_current_[i] > swrr_current_[static_cast<size_t>(best)])) {
      best = static_cast<int>(i);
    }
  }
  if (best >= 0) swrr_current_[static_cast<size_t>(best)] -= total;
  return best;
}

std::vector<double> Selector::scores(std::span<const CandidateInfo> c) const {
  // Relative to the best candidate: 1 for the fastest (cheapest), less for the
  // others. The latency floor keeps sub-millisecond noise from mattering.
  constexpr double kLatencyFloorMs = 20;
  double min_lat = -1, min_price = -1;
  for (const auto& x : c) {
    if (min_lat < 0 || x.ewma_ms < min_lat) min_lat = x.ewma_ms;
    if (x.price > 0 && (min_price < 0 || x.price < min_price)) min_price = x.price;
  }
  std::vector<double> out;
  out.reserve(c.size());
  for (const auto& x : c) {
    const double lat = (kLatencyFloorMs + std::max(0.0, min_lat)) / (kLatencyFloorMs + x.ewma_ms);
    const double price = x.price > 0 && min_price > 0 ? min_price / x.price : 1.0;
    const double total = weights_.success + weights_.latency + weights_.price;
    const double base =
        total > 0 ? (weights_.success * x.success_rate + weights_.latency * lat + weights_.price * price) / total : 1.0;
    // Squared: losing messages costs more than a failed call (which fails over);
    // with the ⁴ below, a provider delivering half of what it accepts keeps
    // well under 1% of the share it would otherwise have.
    const double d = std::clamp(x.delivery, 0.0, 1.0);
    out.push_back(base * d * d);
  }
  return out;
}

std::vector<int> Selector::order(std::span<const CandidateInfo> c, const std::function<double()>& unit_random) {
  const size_t n = c.size();
  std::vector<int> out;
  switch (kind_) {
    case StrategyKind::kPriority:
      out = sorted_by(n, [](int i) { return i; });
      break;
    case StrategyKind::kCost:
      out = sorted_by(n, [&](int i) { return c[i].price; });
      break;
    case StrategyKind::kLatency: {
      out = sorted_by(n, [&](int i) { return c[i].ewma_ms; });
      if (n >= 2) {
        // Power of two choices: two distinct random candidates, the faster first.
        const int a = static_cast<int>(unit_random() * n) % static_cast<int>(n);
        int b = static_cast<int>(unit_random() * (n - 1)) % static_cast<int>(n - 1);
        if (b >= a) ++b;
        const int first = c[a].ewma_ms <= c[b].ewma_ms ? a : b;
        out.erase(std::find(out.begin(), out.end(), first));
        out.insert(out.begin(), first);
      }
      break;
    }
    case StrategyKind::kWeighted: {
      std::vector<double> eff(n);
      for (size_t i = 0; i < n; ++i) {
        eff[i] = std::max(0.0, c[i].weight) * c[i].success_rate * c[i].success_rate * c[i].ramp;
      }
      return first_then_by_weight(pick_swrr(eff), eff);
    }
    case StrategyKind::kAdaptive: {
      const auto s = scores(c);
      std::vector<double> w(n);
      for (size_t i = 0; i < n; ++i) w[i] = std::pow(std::max(0.0, s[i]), 4) * c[i].ramp;
      return first_then_by_weight(weighted_pick(w, unit_random()), w);
    }
  }
  // Order-based strategies: a recovering provider gives up its place with
  // probability 1 - ramp.
  for (size_t pos = 0; pos + 1 < out.size(); ++pos) {
    const double ramp = c[static_cast<size_t>(out[pos])].ramp;
    if (ramp < 1.0 && unit_random() >= ramp) {
      std::swap(out[pos], out[pos + 1]);
      ++pos;
    }
  }
  return out;
}

}  // namespace tollgate::policy
