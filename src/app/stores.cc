#include "app/stores.h"

#include "core/process.h"
#include "store/postgres/pg_store.h"
#include "store/sqlite/sqlite_store.h"

namespace tollgate::app {

namespace {

Result<std::string> sqlite_path(const config::StoreConfig& cfg) {
  if (!cfg.path.empty()) return cfg.path;
  const std::string dir = default_state_dir();
  if (!make_dirs(dir)) {
    return Error::make(ErrorClass::kInternal, "cannot create the state directory " + dir + " (set store.path)");
  }
  return dir + "/tollgate.db";
}

}  // namespace

Result<std::unique_ptr<store::JobStore>> open_store(const config::StoreConfig& cfg) {
  if (cfg.driver == config::StoreConfig::Driver::kPostgres) {
    auto pg = store::PgStore::open({cfg.url});
    if (!pg) return pg.error();
    return std::unique_ptr<store::JobStore>(std::move(*pg));
  }
  auto path = sqlite_path(cfg);
  if (!path) return path.error();
  auto sqlite = store::SqliteStore::open({*path, cfg.sync_full});
  if (!sqlite) return sqlite.error();
  return std::unique_ptr<store::JobStore>(std::move(*sqlite));
}

std::string check_store(const config::StoreConfig& cfg) {
  if (cfg.driver != config::StoreConfig::Driver::kPostgres) return {};
  auto version = store::PgStore::check(cfg.url);
  if (!version) return version.error().message;
  if (*version < store::kPgSchemaVersion) {
    // Not a problem: the first instance to start migrates it.
    return {};
  }
  return {};
}

std::string describe_store(const config::StoreConfig& cfg) {
  if (cfg.driver == config::StoreConfig::Driver::kPostgres) return "postgres " + store::PgStore::redact(cfg.url);
  auto path = sqlite_path(cfg);
  return "sqlite " + (path ? *path : cfg.path);
}

}  // namespace tollgate::app
