#pragma once
// Giving freed heap memory back to the system after a burst of calls. glibc
// keeps what calls free in its heaps, resident (in RSS), where a later burst
// reuses it; between bursts an idle gateway would hold the peak's memory. Once
// requests have been served and then none for a quiet period, one trim returns
// the free pages (malloc_trim). Under steady traffic it never runs: trimming
// locks each heap while it walks it.

#include <chrono>
#include <cstdint>

#include "core/clock.h"

namespace tollgate {

class HeapTrimPolicy {
 public:
  explicit HeapTrimPolicy(Millis quiet) : quiet_(quiet) {}
  // Called now and then with the number of requests served so far (never
  // decreasing). True once per quiet spell that follows served requests.
  bool due(std::uint64_t served, SteadyTime now);

 private:
  const Millis quiet_;
  std::uint64_t seen_ = 0;          // served at the last call
  SteadyTime changed_at_{};         // when `served` was last seen to move
  std::uint64_t trimmed_after_ = 0; // served when the last trim was due
};

// Returns the heaps' free pages to the system; the resident set before and
// after, in KiB (0 where /proc cannot be read).
struct HeapTrimResult {
  std::uint64_t rss_before_kib = 0;
  std::uint64_t rss_after_kib = 0;
  std::chrono::microseconds took{0};  // the trim alone
};
HeapTrimResult trim_heap();

}  // namespace tollgate
