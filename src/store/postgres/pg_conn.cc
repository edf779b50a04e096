#include "store/postgres/pg_conn.h"

#include <cstdlib>
#include <regex>

namespace tollgate::store::pg {

const char* const kColumns =
    "id, caller, capability, state, async, params, body_hash, idem_key, routing, callback_url, trace_id, "
    "created_ms, updated_ms, not_before_ms, runs, provider, result, error, attempts, lease_owner, lease_until_ms, "
    "callback_state, callback_tries, callback_next_ms, callback_log";

Params& Params::add(std::string v) {
  values_.emplace_back(std::move(v));
  return *this;
}
Params& Params::add(std::int64_t v) {
  values_.emplace_back(std::to_string(v));
  return *this;
}
Params& Params::add_null() {
  values_.emplace_back(std::nullopt);
  return *this;
}
std::vector<const char*> Params::pointers() const {
  std::vector<const char*> out;
  out.reserve(values_.size());
  for (const auto& v : values_) out.push_back(v ? v->c_str() : nullptr);
  return out;
}

Result<std::unique_ptr<Connection>> Connection::open(const std::string& url) {
  PGconn* c = PQconnectdb(url.c_str());
  auto conn = std::unique_ptr<Connection>(new Connection(c));
  if (!c || PQstatus(c) != CONNECTION_OK) {
    return Error::make(ErrorClass::kUnavailable,
                       "cannot connect to PostgreSQL at " + redact_url(url) + ": " + conn->last_error());
  }
  return conn;
}

Connection::~Connection() {
  if (conn_) PQfinish(conn_);
}

std::string Connection::last_error() const {
  if (!conn_) return "out of memory";
  std::string e = PQerrorMessage(conn_);
  while (!e.empty() && (e.back() == '\n' || e.back() == ' ')) e.pop_back();
  return e;
}

Result<PgResult> Connection::exec(const Statement& s, std::string_view what) {
  const auto ptrs = s.params.pointers();
  PgResult r(PQexecParams(conn_, s.sql.c_str(), s.params.size(), nullptr, ptrs.data(), nullptr, nullptr, 0));
  const auto st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    std::string msg = r ? PQresultErrorMessage(r.get()) : last_error();
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    // TG001: a bound tollgate's own SQL enforces (raised by tollgate_check_held).
    if (const char* state = r ? PQresultErrorField(r.get(), PG_DIAG_SQLSTATE) : nullptr;
        state && std::string_view(state) == "TG001") {
      const char* primary = PQresultErrorField(r.get(), PG_DIAG_MESSAGE_PRIMARY);
      return Error::make(ErrorClass::kUnavailable, primary ? primary : "a bound was exceeded");
    }
    return Error::make(ok() ? ErrorClass::kInternal : ErrorClass::kUnavailable, std::string(what) + ": " + msg);
  }
  return r;
}

const char* Connection::prepared(const Statement& s) {
  if (s.params.size() == 0) return nullptr;
  if (auto it = prepared_.find(s.sql); it != prepared_.end()) return it->second.c_str();
  if (prepared_.size() >= kMaxPrepared) return nullptr;
  std::string name = "tg" + std::to_string(prepared_.size());
  PgResult r(PQprepare(conn_, name.c_str(), s.sql.c_str(), s.params.size(), nullptr));
  if (!r || PQresultStatus(r.get()) != PGRES_COMMAND_OK) return nullptr;
  return prepared_.emplace(s.sql, std::move(name)).first->second.c_str();
}

bool Connection::pipeline(const std::vector<Statement>& statements, std::vector<PgResult>& results) {
  results.clear();
  results.resize(statements.size());
  // Prepared before the pipeline starts (one round trip per new text, once per
  // connection): PQprepare is not allowed inside it.
  std::vector<const char*> names;
  names.reserve(statements.size());
  for (const auto& s : statements) names.push_back(prepared(s));
  if (PQenterPipelineMode(conn_) != 1) return false;
  bool sent = true;
  for (size_t i = 0; i < statements.size() && sent; ++i) {
    const auto& s = statements[i];
    const auto ptrs = s.params.pointers();
    sent = names[i] ? PQsendQueryPrepared(conn_, names[i], s.params.size(), ptrs.data(), nullptr, nullptr, 0) == 1
                    : PQsendQueryParams(conn_, s.sql.c_str(), s.params.size(), nullptr, ptrs.data(), nullptr,
                                        nullptr, 0) == 1;
  }
  if (!sent || PQpipelineSync(conn_) != 1) {
    PQexitPipelineMode(conn_);
    return false;
  }
  for (size_t i = 0; i < statements.size(); ++i) {
    PGresult* r = PQgetResult(conn_);
    if (!r) return false;  // the connection broke
    if (PQresultStatus(r) == PGRES_PIPELINE_ABORTED) {
      PQclear(r);
    } else {
      results[i].reset(r);
    }
    while (PGresult* extra = PQgetResult(conn_)) PQclear(extra);  // the NULL that ends each query
  }
  PgResult sync(PQgetResult(conn_));
  if (!sync || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC) return false;
  return PQexitPipelineMode(conn_) == 1;
}

Params record_params(const CallRecord& r) {
  Params p;
  p.add(r.id).add(r.caller).add(r.capability).add(static_cast<std::int64_t>(r.state));
  p.add(std::string(r.async ? "true" : "false")).add(r.params_json).add(r.body_hash);
  if (r.idempotency_key.empty()) {
    p.add_null();
  } else {
    p.add(r.idempotency_key);
  }
  p.add(r.routing_json).add(r.callback_url).add(r.trace_id).add(r.created_ms).add(r.updated_ms);
  p.add(r.not_before_ms).add(static_cast<std::int64_t>(r.runs)).add(r.provider).add(r.result_json);
  p.add(r.error_json).add(r.attempts_json).add(r.lease_owner).add(r.lease_until_ms);
  p.add(static_cast<std::int64_t>(r.callback_state)).add(static_cast<std::int64_t>(r.callback_tries));
  p.add(r.callback_next_ms).add(r.callback_log_json);
  return p;
}

namespace {
std::string text(const PGresult* res, int row, int col) {
  if (PQgetisnull(res, row, col)) return {};
  return std::string(PQgetvalue(res, row, col), static_cast<size_t>(PQgetlength(res, row, col)));
}
std::int64_t integer(const PGresult* res, int row, int col) {
  return PQgetisnull(res, row, col) ? 0 : std::strtoll(PQgetvalue(res, row, col), nullptr, 10);
}
}  // namespace

CallRecord read_record(const PGresult* res, int row, int c) {
  CallRecord r;
  r.id = text(res, row, c + 0);
  r.caller = text(res, row, c + 1);
  r.capability = text(res, row, c + 2);
  r.state = static_cast<CallState>(integer(res, row, c + 3));
  r.async = text(res, row, c + 4) == "t";
  r.params_json = text(res, row, c + 5);
  r.body_hash = text(res, row, c + 6);
  r.idempotency_key = text(res, row, c + 7);
  r.routing_json = text(res, row, c + 8);
  r.callback_url = text(res, row, c + 9);
  r.trace_id = text(res, row, c + 10);
  r.created_ms = integer(res, row, c + 11);
  r.updated_ms = integer(res, row, c + 12);
  r.not_before_ms = integer(res, row, c + 13);
  r.runs = static_cast<int>(integer(res, row, c + 14));
  r.provider = text(res, row, c + 15);
  r.result_json = text(res, row, c + 16);
  r.error_json = text(res, row, c + 17);
  r.attempts_json = text(res, row, c + 18);
  r.lease_owner = text(res, row, c + 19);
  r.lease_until_ms = integer(res, row, c + 20);
  r.callback_state = static_cast<CallbackState>(integer(res, row, c + 21));
  r.callback_tries = static_cast<int>(integer(res, row, c + 22));
  r.callback_next_ms = integer(res, row, c + 23);
  r.callback_log_json = text(res, row, c + 24);
  return r;
}

std::string redact_url(std::string_view url) {
  std::string s(url);
  // postgresql://user:secret@host → postgresql://user:****@host
  static const std::regex userinfo(R"(^([a-z]+://[^:/@]*):[^@/]*@)");
  s = std::regex_replace(s, userinfo, "$1:****@");
  // ...?password=secret&... (and key=value connection strings)
  static const std::regex param(R"((password=)[^&\s]*)");
  return std::regex_replace(s, param, "$1****");
}

}  // namespace tollgate::store::pg
