#pragma once
// The planner: which provider a call tries next. It orders the capability's
// candidates by the capability's strategy (fed with each route's recent health,
// latency, price and slow-start ramp), honours per-call pin/exclude, and admits
// an attempt only when the provider is enabled, not throttled, its breaker lets
// the call through, and its limits (rate, concurrency, quotas) have room.
// Half-open probes skip the limits, so probes are never starved.
//
// Stateless: all state lives in the routes' shared state objects.

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/result.h"
#include "engine/runtime.h"

namespace tollgate::engine {

// Per-call routing overrides (request headers X-Tollgate-Provider / X-Tollgate-Exclude).
struct CallRouting {
  std::string pin;                   // only this provider
  std::vector<std::string> exclude;  // never these
};

// The stored form of per-call routing ("" when there is none), and back.
std::string routing_json(const CallRouting& r);
CallRouting parse_routing_json(std::string_view text);

// An attempt the planner let through; its tickets must be released when it ends.
struct Admitted {
  int index = -1;  // into CapabilityRuntime::candidates
  bool probe = false;
  bool shadow = false;  // a debug/stress attempt: its ticket is on the shadow limits
  LimitTicket provider_ticket;
  LimitTicket route_ticket;
  // With a cluster's shared limits: admit() leaves the limits to admit_shared(),
  // which takes them on Redis (grant) or, Redis away, on the local fallback.
  bool needs_shared = false;
  cluster::Grant grant;
  bool fallback = false;  // the tickets above are on the fallback limits
};

struct Blocked {
  BlockKind kind = BlockKind::kCircuitOpen;
  std::string reason;
  Millis wait{0};          // when this candidate may admit again; 0: not soon
};

// The order in which this call should try the candidates. invalid_request when the
// pin names no candidate or the exclusions leave none.
// `params`: the call's params; candidates that cannot honour one of them are left out.
// A live call goes first to a half-open candidate whose breaker asks for a probe
// (Breaker::probe_due): a standby that gets no traffic under its strategy is
// still proven healthy before the next failover needs it.
Result<std::vector<int>> plan_order(const CapabilityRuntime& cap, const CallRouting& routing,
                                    const boost::json::object& params, SteadyTime now,
                                    Traffic traffic = Traffic::kLive);

// Tries to admit an attempt on candidate `index` now. Debug and stress attempts
// only read the breaker (they never probe, trip or take a live slot) and use the
// provider's shadow rate/concurrency limits when test_traffic says so; never quotas.
std::variant<Admitted, Blocked> admit(const CapabilityRuntime& cap, int index, SteadyTime now, WallTime wall,
                                      Traffic traffic = Traffic::kLive);

// With a cluster's shared limits, after admit(): takes every limit of the
// provider and its operation on Redis in one round trip. Redis away: the local
// fallback (limit ÷ expected instances), or a refusal where a limit says deny.
// Blocked when a limit says no (the admission then holds nothing).
boost::asio::awaitable<std::optional<Blocked>> admit_shared(const CapabilityRuntime& cap, Admitted& a,
                                                            SteadyTime now, WallTime wall, Millis slot_ttl);

// Lets one probe through an open breaker (when every candidate's breaker is open,
// the least-bad provider still gets a probe-sized share).
std::optional<Admitted> force_probe(const CapabilityRuntime& cap, int index, SteadyTime now);

// Among `indices` (all blocked by open breakers), the least bad: the best recent
// success rate, then the soonest probe.
int least_bad(const CapabilityRuntime& cap, const std::vector<int>& indices, SteadyTime now);

// Ends an admitted attempt's hold on limits and, for a probe without a verdict,
// its probe slot.
void release(const CapabilityRuntime& cap, Admitted& a, bool delivered, WallTime wall);

}  // namespace tollgate::engine
