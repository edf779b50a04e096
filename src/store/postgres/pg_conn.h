#pragma once
// Internal to the PostgreSQL store: a libpq connection, results that free
// themselves, and the mapping between CallRecord and the `calls` table. Used
// only on the thread that owns the connection.

#include <libpq-fe.h>

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "store/job_store.h"

namespace tollgate::store::pg {

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

// Text parameters of one statement (NULL where a value is absent).
class Params {
 public:
  Params& add(std::string v);
  Params& add(std::int64_t v);
  Params& add_null();
  int size() const { return static_cast<int>(values_.size()); }
  std::vector<const char*> pointers() const;

 private:
  std::vector<std::optional<std::string>> values_;
};

// One SQL statement with its parameters.
struct Statement {
  std::string sql;
  Params params;
};

class Connection {
 public:
  // Connects (blocking, bounded by connect_timeout in the URL or 5 s).
  static Result<std::unique_ptr<Connection>> open(const std::string& url);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool ok() const { return PQstatus(conn_) == CONNECTION_OK; }
  PGconn* raw() { return conn_; }
  // The server's last error, never the connection string.
  std::string last_error() const;

  // Runs one statement (no pipeline). Errors carry `what` and the server's text.
  Result<PgResult> exec(const Statement& s, std::string_view what);
  Result<PgResult> exec(std::string sql, std::string_view what) { return exec(Statement{std::move(sql), {}}, what); }

  // Pipeline mode: send every statement, then sync, then read one result per
  // statement. `results[i]` is null when statement i did not run (an earlier one
  // failed: the transaction is then rolled back at the sync). False when the
  // connection broke.
  // Statements with parameters run as prepared statements of this connection
  // (parsed and planned once, not per row; up to kMaxPrepared distinct texts).
  bool pipeline(const std::vector<Statement>& statements, std::vector<PgResult>& results);

  static constexpr size_t kMaxPrepared = 64;

 private:
  explicit Connection(PGconn* c) : conn_(c) {}
  // The name `s` is prepared under on this connection, preparing it first if
  // needed; null to send it unprepared (no parameters, cache full, or the
  // server refused to prepare it: it then fails, with its error, when run).
  const char* prepared(const Statement& s);

  PGconn* conn_;
  std::unordered_map<std::string, std::string> prepared_;  // SQL text -> statement name
};

// The `calls` columns, in the order read_record expects.
extern const char* const kColumns;
// Parameters $1..$25 for a record, in kColumns' order.
Params record_params(const CallRecord& r);
CallRecord read_record(const PGresult* res, int row, int first_col = 0);

// A URL safe to log: the password (in user:password@ or password=) replaced.
std::string redact_url(std::string_view url);

}  // namespace tollgate::store::pg
