#pragma once
// History: what the dashboard shows of the last 15 minutes, kept in memory by
// this instance. Fed by sample() once a second with the overview (views.h) —
// each route's health window, breaker, share and price as they stand — it keeps
//  - per capability × provider, one point per step (5 s; the newest point is
//    replaced by every sample until its step ends, so the charts show now):
//    the window's calls and successes, p50/p95 latency, errors by class,
//    traffic share and cost per successful call (price / success rate);
//  - a timeline of breaker transitions and throttling periods, found by
//    comparing each sample with the one before, and of manual disables and
//    enables, recorded by the admin API with their reason as they happen.
// A transition shorter than the sampling period (1 s) can be missed by the
// timeline; the breaker's trip count in the overview still shows it.
// Thread-safe: sample() runs on a thread of its own, json() on the workers.

#include <boost/json/object.hpp>

#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "core/clock.h"

namespace tollgate::admin {

class History {
 public:
  static constexpr std::chrono::seconds kStep{5};
  static constexpr std::chrono::minutes kSpan{15};
  static constexpr size_t kMaxTimeline = 500;

  struct Event {
    WallTime at;
    std::string kind;  // breaker | throttled | disabled | enabled
    std::string provider;
    std::string capability;  // breaker events
    std::string state;       // breaker: closed/open/half_open; throttled: start/end
    std::string reason;
  };

  // One sample: the overview object of views.h (capabilities[].routes[]).
  void sample(const boost::json::object& overview, WallTime now);
  // A manual disable or enable (admin API), with the operator's reason.
  void record(Event e);
  // {step_s, series: [{capability, provider, points: [...]}], timeline: [...]}
  boost::json::object json() const;

 private:
  struct Point {
    std::int64_t t = 0;  // unix seconds at the start of its step
    std::int64_t calls = 0, successes = 0;
    double share = 0, p50 = 0, p95 = 0, cost_per_success = -1;  // -1: no success to divide by
    boost::json::object errors;
  };
  struct RouteState {
    std::string breaker = "closed";
    bool throttled = false;
  };
  using Key = std::pair<std::string, std::string>;  // capability, provider

  void trim(WallTime now);

  mutable std::mutex mu_;
  std::map<Key, std::deque<Point>> series_;
  std::map<Key, RouteState> last_;
  std::map<std::string, bool> throttled_;  // per provider (a provider-wide state)
  std::deque<Event> timeline_;
};

}  // namespace tollgate::admin
