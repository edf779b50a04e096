#pragma once
// Internal to the PostgreSQL store: the versioned schema. Migrations run at open
// under an advisory lock, so several instances starting at once migrate once; a
// schema newer than this binary is refused (an older binary must not write
// rows it does not understand).

#include "core/result.h"
#include "store/postgres/pg_conn.h"
#include "store/postgres/pg_store.h"

namespace tollgate::store::pg {

// The schema version in the database (0: no tollgate tables yet).
Result<int> read_version(Connection& c);
// Brings the schema to kPgSchemaVersion; returns the version now in place.
Result<int> migrate(Connection& c);

}  // namespace tollgate::store::pg
