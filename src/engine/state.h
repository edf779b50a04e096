#pragma once
// Long-lived routing state: what tollgate has learned about each provider, each
// provider × operation (route), each capability and each caller. It outlives
// config snapshots: the StateRegistry hands the same objects to every Runtime
// built from a config with the same settings, so breaker state, health and manual
// disables survive a reload. An object whose settings changed is replaced (its
// disable flag and throttle carry over); calls in flight keep the old one alive.
//
// Thread-safety: every member is atomic or internally locked; the registry's map
// is guarded by a mutex taken only when a Runtime is built or by admin reads.

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cluster/shared_limits.h"
#include "config/config.h"
#include "policy/breaker.h"
#include "policy/bulkhead.h"
#include "policy/gcra.h"
#include "policy/health_window.h"
#include "policy/quota.h"
#include "policy/retry_budget.h"
#include "policy/strategy.h"
#include "shadow/recorder.h"

namespace tollgate::engine {

// Why a candidate could not take an attempt (a metric label and a retry rule).
enum class BlockKind {
  kDisabled,         // by an operator
  kThrottled,        // the provider asked for a pause
  kCircuitOpen,      // its breaker is open
  kCircuitHalfOpen,  // half-open, every probe slot taken: wait for a probe to end
  kRateLimit,
  kConcurrency,
  kDailyQuota,
  kMonthlyQuota,
  kSharedUnavailable,  // shared limits unreachable and the limit says deny
};
std::string_view to_label(BlockKind k);

// What an admitted attempt holds and must give back.
struct LimitTicket {
  bool rate = false;
  bool bulkhead = false;
  bool daily = false;
  bool monthly = false;
};

// Rate, concurrency and quota limits built from one LimitsConfig.
class Limits {
 public:
  explicit Limits(const config::LimitsConfig& cfg);

  struct Denial {
    BlockKind kind;
    std::string reason;
    Millis wait{0};  // when it may admit again; 0: not soon (quota, concurrency)
  };
  // Admits one attempt (filling `t`) or says why not.
  std::optional<Denial> try_acquire(SteadyTime now, WallTime wall, LimitTicket& t);
  // Ends an attempt: leaves the bulkhead; when the request never reached the
  // provider, gives back its rate token and quota units.
  void release(LimitTicket& t, bool delivered, WallTime wall);

  // For a fallback share: the cluster-wide count of a quota as Redis last
  // reported it. This instance's share of the period is then already used in
  // proportion (shared_used / shared_max of it), so an instance cut off from
  // Redis after the quota ran out sends nothing more, not a fresh share.
  void observe_shared_quota(BlockKind kind, WallTime wall, std::uint64_t shared_used, std::uint64_t shared_max);

  const config::LimitsConfig& config() const { return cfg_; }
  int in_flight() const { return bulkhead_ ? bulkhead_->in_flight() : 0; }
  std::uint64_t daily_used(WallTime w) const { return daily_ ? daily_->used(w) : 0; }
  std::uint64_t monthly_used(WallTime w) const { return monthly_ ? monthly_->used(w) : 0; }

 private:
  const config::LimitsConfig cfg_;
  std::unique_ptr<policy::Gcra> rate_;
  std::unique_ptr<policy::Bulkhead> bulkhead_;
  std::unique_ptr<policy::Quota> daily_;
  std::unique_ptr<policy::Quota> monthly_;
};

// The limit one instance enforces on its own while shared limits are
// unreachable: the limit divided by the expected instance count (at least 1).
config::LimitsConfig divide(const config::LimitsConfig& l, int instances);

// Shared limits of a cluster, as the engine uses them (null: none configured).
struct SharedSetup {
  cluster::SharedLimits* limits = nullptr;
  int expected_instances = 1;
  bool deny_on_loss = false;  // shared.on_shared_loss: the default for every limit
};

struct ProviderState {
  ProviderState(const config::ProviderConfig& cfg, int instances = 1);

  const std::string name;
  const policy::HealthConfig health_cfg;
  const config::LimitsConfig limits_cfg;
  std::atomic<bool> disabled{false};             // by an operator, through the admin API
  std::atomic<std::int64_t> throttled_until{0};  // steady ns: the provider asked for a pause
  policy::HealthWindow health;                   // all its operations together
  Limits limits;
  Limits fallback_limits;                        // with shared limits, while Redis is unreachable
  Limits shadow_limits;                          // stress traffic's own rate/concurrency (no quotas)

  bool throttled(SteadyTime now) const;
  Millis throttle_left(SteadyTime now) const;
  void throttle_until(SteadyTime t);
};

struct RouteState {
  RouteState(const config::ProviderConfig& p, const config::OperationConfig& op, Millis horizon, int instances = 1);

  const std::string provider;
  const std::string capability;
  const policy::HealthConfig health_cfg;
  const policy::BreakerConfig breaker_cfg;
  const config::LimitsConfig limits_cfg;
  policy::HealthWindow health;
  policy::Breaker breaker;
  Limits limits;                                 // per-operation limits
  Limits fallback_limits;                        // with shared limits, while Redis is unreachable
  std::atomic<std::int64_t> last_full_check{0};  // steady ns of the last drift evaluation
  // Share of recent sends a receipt reported delivered (events::DeliveryMonitor);
  // negative while unknown (no receipts configured, or too few sends due).
  std::atomic<double> delivery_rate{-1};
  const Millis horizon;
  shadow::Recorder recorder;                     // live latency and outcomes, for stress answers
};

struct CapabilityState {
  explicit CapabilityState(const config::CapabilityConfig& cfg);

  const policy::StrategyKind strategy;
  const policy::AdaptiveWeights adaptive;
  const policy::RetryBudgetConfig budget_cfg;
  policy::Selector selector;
  policy::RetryBudget budget;
};

struct CallerState {
  explicit CallerState(const config::CallerConfig& cfg, int instances = 1);
  const double rps;
  const int burst;
  std::unique_ptr<policy::Gcra> rate;           // null: no limit
  std::unique_ptr<policy::Gcra> fallback_rate;  // rps ÷ instances, while Redis is unreachable
};

class StateRegistry {
 public:
  std::shared_ptr<ProviderState> provider(const config::ProviderConfig& cfg);
  std::shared_ptr<RouteState> route(const config::ProviderConfig& p, const config::OperationConfig& op,
                                    Millis horizon);
  // Every route ever built (for recordings' export and snapshots).
  std::vector<std::shared_ptr<RouteState>> routes() const;
  std::shared_ptr<CapabilityState> capability(const config::CapabilityConfig& cfg);
  std::shared_ptr<CallerState> caller(const config::CallerConfig& cfg);

  // Takes a provider out of (or back into) rotation at once; remembered across
  // reloads. False when no provider of that name was ever configured.
  bool set_disabled(const std::string& name, bool disabled);
  bool disabled(const std::string& name) const;
  std::vector<std::string> provider_names() const;

  // Shared limits (set once at start, before the first Runtime is built).
  void set_shared(SharedSetup shared);
  const SharedSetup& shared() const { return shared_; }
  // Another instance opened this route's breaker (cluster events).
  void open_remotely(const std::string& provider, const std::string& capability, SteadyTime now, Millis open_for,
                     const std::string& reason);
  // Called when a breaker trips here on its own judgement (to tell the cluster).
  using TripListener = std::function<void(const RouteState& route, const policy::Breaker::OpenedEvent& e)>;
  void set_trip_listener(TripListener listener);
  // Reports a breaker's opened event, if it has one, to the listener.
  void report_trip(RouteState& route);

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<ProviderState>> providers_;
  std::map<std::pair<std::string, std::string>, std::shared_ptr<RouteState>> routes_;
  std::map<std::string, std::shared_ptr<CapabilityState>> capabilities_;
  std::map<std::string, std::shared_ptr<CallerState>> callers_;
  std::set<std::string> disabled_;
  SharedSetup shared_;
  TripListener trip_listener_;
};

}  // namespace tollgate::engine
