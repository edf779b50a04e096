#include "core/heap_trim.h"

#include <malloc.h>

#include <fstream>
#include <string>

namespace tollgate {
namespace {

std::uint64_t rss_kib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6));
  }
  return 0;
}

}  // namespace

bool HeapTrimPolicy::due(std::uint64_t served, SteadyTime now) {
  if (served != seen_) {
    seen_ = served;
    changed_at_ = now;
    return false;
  }
  if (served == trimmed_after_ || now - changed_at_ < quiet_) return false;
  trimmed_after_ = served;
  return true;
}

HeapTrimResult trim_heap() {
  HeapTrimResult r;
  r.rss_before_kib = rss_kib();
  const auto start = std::chrono::steady_clock::now();
  malloc_trim(0);
  r.took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
  r.rss_after_kib = rss_kib();
  return r;
}

}  // namespace tollgate
