#pragma once
// Wires a cluster (shared: in the config) into this process: shared limits for
// the engine and the caller API, breaker trips told to the other instances and
// theirs applied here, operator disables kept in step with the cluster's set
// (at start, on every event, and after every reconnect).

#include <memory>
#include <string>

#include "cluster/cluster.h"
#include "config/config.h"
#include "engine/state.h"

namespace tollgate::app {

// Null when the config has no shared: section. Fails when shared.redis.url is
// malformed (an unreachable Redis is not an error: the fallback applies).
Result<std::unique_ptr<cluster::Cluster>> start_cluster(const config::Config& cfg, engine::StateRegistry& registry,
                                                        const std::string& instance, const std::string& version);

}  // namespace tollgate::app
