#pragma once
// Opening the configured JobStore (store.driver): the embedded SQLite file in
// the state directory by default, or the PostgreSQL database a cluster shares.
// Runs at start-up on the main thread (it may block: connecting, migrating).

#include <memory>
#include <string>

#include "config/config.h"
#include "core/result.h"
#include "store/job_store.h"

namespace tollgate::app {

Result<std::unique_ptr<store::JobStore>> open_store(const config::StoreConfig& cfg);

// For check-config: whether the store can be used as configured (the database
// reachable, its schema not newer than this binary). A message, or empty.
std::string check_store(const config::StoreConfig& cfg);

// What the store is, for the start-up log line (never a password).
std::string describe_store(const config::StoreConfig& cfg);

}  // namespace tollgate::app
