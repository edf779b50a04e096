#include "store/postgres/schema.h"

namespace tollgate::store::pg {

namespace {

// Any fixed number: the key of the advisory lock instances take while migrating.
constexpr const char* kMigrationLock = "7316281";

// Migration N brings the schema from version N-1 to N. Append, never edit.
const char* const kMigrations[] = {
    // 1: the calls table, its indexes, recordings.
    R"sql(
CREATE TABLE calls (
  id TEXT PRIMARY KEY,
  caller TEXT NOT NULL,
  capability TEXT NOT NULL,
  state SMALLINT NOT NULL,
  async BOOLEAN NOT NULL,
  params TEXT NOT NULL,
  body_hash TEXT NOT NULL,
  idem_key TEXT,
  routing TEXT NOT NULL,
  callback_url TEXT NOT NULL,
  trace_id TEXT NOT NULL,
  created_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL,
  not_before_ms BIGINT NOT NULL,
  runs INTEGER NOT NULL,
  provider TEXT NOT NULL,
  result TEXT NOT NULL,
  error TEXT NOT NULL,
  attempts TEXT NOT NULL,
  lease_owner TEXT NOT NULL,
  lease_until_ms BIGINT NOT NULL,
  callback_state SMALLINT NOT NULL,
  callback_tries INTEGER NOT NULL,
  callback_next_ms BIGINT NOT NULL,
  callback_log TEXT NOT NULL
) WITH (fillfactor = 80, autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.05);
CREATE UNIQUE INDEX calls_idem ON calls (caller, idem_key) WHERE idem_key IS NOT NULL;
CREATE INDEX calls_due ON calls (not_before_ms) WHERE async AND state = 0;
CREATE INDEX calls_leased ON calls (lease_until_ms) WHERE state = 1;
CREATE INDEX calls_callbacks ON calls (callback_next_ms) WHERE callback_state = 1;
CREATE INDEX calls_dead ON calls (not_before_ms) WHERE async AND state = 4;
CREATE TABLE recordings (key TEXT PRIMARY KEY, data TEXT NOT NULL);
)sql",
    // 2: providers' events (docs/events.md): the sends they refer to, the events.
    R"sql(
CREATE TABLE sends (
  provider TEXT NOT NULL,
  message_id TEXT NOT NULL,
  call_id TEXT NOT NULL,
  capability TEXT NOT NULL,
  caller TEXT NOT NULL,
  callback_url TEXT NOT NULL,
  sent_ms BIGINT NOT NULL,
  delivery SMALLINT NOT NULL,
  PRIMARY KEY (provider, message_id)
) WITH (fillfactor = 80, autovacuum_vacuum_scale_factor = 0.02);
CREATE INDEX sends_time ON sends (sent_ms);
CREATE TABLE events (
  id TEXT PRIMARY KEY,
  provider TEXT NOT NULL,
  message_id TEXT NOT NULL,
  dedupe_key TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  delivery SMALLINT NOT NULL,
  doc TEXT NOT NULL,
  received_ms BIGINT NOT NULL,
  state SMALLINT NOT NULL,
  hold_until_ms BIGINT NOT NULL,
  call_id TEXT NOT NULL,
  capability TEXT NOT NULL,
  caller TEXT NOT NULL,
  callback_url TEXT NOT NULL,
  forward SMALLINT NOT NULL,
  forward_tries INTEGER NOT NULL,
  forward_next_ms BIGINT NOT NULL,
  forward_log TEXT NOT NULL
) WITH (fillfactor = 80, autovacuum_vacuum_scale_factor = 0.02);
CREATE INDEX events_call ON events (call_id, received_ms) WHERE call_id <> '';
CREATE INDEX events_held ON events (provider, message_id) WHERE state = 0;
CREATE INDEX events_forward ON events (forward_next_ms) WHERE forward = 1;
CREATE INDEX events_received ON events (received_ms);
CREATE FUNCTION tollgate_check_held(bound BIGINT) RETURNS INTEGER LANGUAGE plpgsql AS $fn$
BEGIN
  IF (SELECT count(*) FROM events WHERE state = 0) > bound THEN
    RAISE EXCEPTION 'too many events are waiting for their calls (%)', bound USING ERRCODE = 'TG001';
  END IF;
  RETURN 0;
END
$fn$;
)sql",
    // 3: each capability's due jobs in order, for claims that hold some back.
    R"sql(
CREATE INDEX calls_due_capability ON calls (capability, not_before_ms) WHERE async AND state = 0;
)sql",
};

constexpr int kLatest = static_cast<int>(sizeof(kMigrations) / sizeof(kMigrations[0]));
static_assert(kLatest == kPgSchemaVersion, "a migration per schema version");

}  // namespace

Result<int> read_version(Connection& c) {
  auto exists = c.exec("SELECT to_regclass('tollgate_schema') IS NOT NULL", "reading the schema version");
  if (!exists) return exists.error();
  if (std::string_view(PQgetvalue(exists->get(), 0, 0)) != "t") return 0;
  auto v = c.exec("SELECT version FROM tollgate_schema", "reading the schema version");
  if (!v) return v.error();
  if (PQntuples(v->get()) == 0) return 0;
  return std::atoi(PQgetvalue(v->get(), 0, 0));
}

Result<int> migrate(Connection& c) {
  // One instance migrates; the others wait on the lock, then find it done.
  if (auto l = c.exec(std::string("SELECT pg_advisory_lock(") + kMigrationLock + ")", "taking the migration lock"); !l) {
    return l.error();
  }
  auto unlock = [&] { (void)c.exec(std::string("SELECT pg_advisory_unlock(") + kMigrationLock + ")", "unlock"); };
  auto version = read_version(c);
  if (!version) {
    unlock();
    return version;
  }
  if (*version > kLatest) {
    unlock();
    return Error::make(ErrorClass::kInternal, "the database schema is version " + std::to_string(*version) +
                                                  ", newer than this tollgate (" + std::to_string(kLatest) +
                                                  "): upgrade tollgate, or point it at another database");
  }
  for (int next = *version + 1; next <= kLatest; ++next) {
    std::string sql = "BEGIN;\n";
    if (next == 1) sql += "CREATE TABLE tollgate_schema (version INTEGER NOT NULL);\nINSERT INTO tollgate_schema VALUES (0);\n";
    sql += kMigrations[next - 1];
    sql += "\nUPDATE tollgate_schema SET version = " + std::to_string(next) + ";\nCOMMIT;";
    // A multi-statement script: the simple query protocol.
    PgResult r(PQexec(c.raw(), sql.c_str()));
    if (!r || PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
      const std::string why = r ? PQresultErrorMessage(r.get()) : c.last_error();
      PgResult rollback(PQexec(c.raw(), "ROLLBACK"));
      unlock();
      return Error::make(ErrorClass::kInternal, "schema migration " + std::to_string(next) + " failed: " + why);
    }
  }
  unlock();
  return kLatest;
}

}  // namespace tollgate::store::pg
