#pragma once
// Bulkhead: at most `max` calls in flight at once. One atomic counter shared by
// all workers; no lock.

#include <atomic>

namespace tollgate::policy {

class Bulkhead {
 public:
  explicit Bulkhead(int max) : max_(max) {}

  bool try_enter() {
    int n = in_flight_.load(std::memory_order_relaxed);
    while (n < max_) {
      if (in_flight_.compare_exchange_weak(n, n + 1, std::memory_order_acq_rel)) return true;
    }
    return false;
  }
  void leave() { in_flight_.fetch_sub(1, std::memory_order_acq_rel); }
  int in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  int max() const { return max_; }

 private:
  const int max_;
  std::atomic<int> in_flight_{0};
};

}  // namespace tollgate::policy
