#pragma once
// Runtime: everything a call needs from one config snapshot, resolved once: the
// caller table by key hash, each capability's candidate providers, each
// provider's adapter and outbound endpoint. Immutable; shared by all workers
// through a shared_ptr and swapped whole on reload, so a call in flight keeps
// the snapshot it started with.

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "config/loader.h"
#include "engine/state.h"
#include "core/transport.h"
#include "provider/adapter.h"

namespace tollgate::engine {

struct ProviderRuntime {
  const provider::Provider* adapter = nullptr;
  std::shared_ptr<const TransportEndpoint> endpoint;
  std::shared_ptr<ProviderState> state;
  const std::string& name() const { return adapter->name(); }
  const config::ProviderConfig& config() const { return adapter->config(); }
};

struct CandidateRuntime {
  const ProviderRuntime* provider = nullptr;
  const provider::Operation* operation = nullptr;
  std::shared_ptr<RouteState> route;
};

struct CapabilityRuntime {
  const config::CapabilityConfig* config = nullptr;
  std::vector<CandidateRuntime> candidates;  // in configured order
  std::shared_ptr<CapabilityState> state;
  const config::TestTrafficConfig* test_traffic = nullptr;
  StateRegistry* registry = nullptr;  // outlives every Runtime (trip reports)
  SharedSetup shared;                 // a cluster's shared limits, when configured
  int candidate_index(std::string_view provider) const;
};

struct CallerRuntime {
  const config::CallerConfig* config = nullptr;
  std::shared_ptr<CallerState> state;
};

class Runtime {
 public:
  // Builds adapters and endpoints (through `endpoints`, which may read files and
  // build TLS contexts: never call this on a worker); on problems returns null
  // and appends them. `workers` divides each provider's connection cap between
  // workers. Routing state comes from `registry`, so it survives reloads.
  static std::shared_ptr<const Runtime> build(std::shared_ptr<const config::Config> cfg, int workers,
                                              StateRegistry& registry, const EndpointFactory& endpoints,
                                              std::vector<config::Problem>& problems);

  const config::Config& config() const { return catalog_->config(); }
  const CallerRuntime* caller_by_key(std::string_view api_key) const;
  const CallerRuntime* caller_by_name(std::string_view name) const;
  const CapabilityRuntime* capability(std::string_view name) const;
  const ProviderRuntime* provider(std::string_view name) const;
  const std::unordered_map<std::string, ProviderRuntime>& providers() const { return providers_; }
  const std::unordered_map<std::string, CapabilityRuntime>& capabilities() const { return capabilities_; }

 private:
  std::shared_ptr<const provider::Catalog> catalog_;
  std::unordered_map<std::string, CallerRuntime> callers_by_hash_;
  std::unordered_map<std::string, ProviderRuntime> providers_;
  std::unordered_map<std::string, CapabilityRuntime> capabilities_;
};

// The current runtime snapshot; readers get a shared_ptr that keeps it alive for
// the whole call. Swapped whole on reload.
//
// A mutex, not std::atomic<std::shared_ptr>: libstdc++ 12's atomic shared_ptr
// releases its internal lock with a relaxed store after a load, so a reader's
// copy and the next writer's store are not ordered (ThreadSanitizer reports it).
// The critical section is one reference-count increment.
class RuntimeHolder {
 public:
  explicit RuntimeHolder(std::shared_ptr<const Runtime> rt) : rt_(std::move(rt)) {}
  std::shared_ptr<const Runtime> get() const {
    std::lock_guard lock(mu_);
    return rt_;
  }
  void set(std::shared_ptr<const Runtime> rt) {
    std::lock_guard lock(mu_);
    rt_.swap(rt);
  }  // the old snapshot, if this was its last reference, is freed here, outside the lock

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Runtime> rt_;
};

// Loads a config file and builds its runtime, collecting every problem.
struct Loaded {
  std::shared_ptr<const Runtime> runtime;
  std::vector<config::Problem> problems;
};
Loaded load_runtime(const std::string& path, int workers, StateRegistry& registry, const EndpointFactory& endpoints);

}  // namespace tollgate::engine
