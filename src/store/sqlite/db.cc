#include "store/sqlite/db.h"

#include "core/json_text.h"
#include "core/random.h"

namespace tollgate::store {

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS calls (
  id TEXT PRIMARY KEY,
  caller TEXT NOT NULL,
  capability TEXT NOT NULL,
  state INTEGER NOT NULL,
  async INTEGER NOT NULL,
  params TEXT NOT NULL,
  body_hash TEXT NOT NULL,
  idem_key TEXT,
  routing TEXT NOT NULL,
  callback_url TEXT NOT NULL,
  trace_id TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  not_before_ms INTEGER NOT NULL,
  runs INTEGER NOT NULL,
  provider TEXT NOT NULL,
  result TEXT NOT NULL,
  error TEXT NOT NULL,
  attempts TEXT NOT NULL,
  lease_owner TEXT NOT NULL,
  lease_until_ms INTEGER NOT NULL,
  callback_state INTEGER NOT NULL,
  callback_tries INTEGER NOT NULL,
  callback_next_ms INTEGER NOT NULL,
  callback_log TEXT NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS calls_idem ON calls(caller, idem_key) WHERE idem_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS calls_jobs ON calls(state, not_before_ms) WHERE async = 1;
CREATE INDEX IF NOT EXISTS calls_due_by_capability ON calls(capability, not_before_ms) WHERE async = 1 AND state = 0;
CREATE INDEX IF NOT EXISTS calls_callbacks ON calls(callback_next_ms) WHERE callback_state = 1;
CREATE TABLE IF NOT EXISTS recordings (key TEXT PRIMARY KEY, data TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sends (
  provider TEXT NOT NULL,
  message_id TEXT NOT NULL,
  call_id TEXT NOT NULL,
  capability TEXT NOT NULL,
  caller TEXT NOT NULL,
  callback_url TEXT NOT NULL,
  sent_ms INTEGER NOT NULL,
  delivery INTEGER NOT NULL,
  PRIMARY KEY (provider, message_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sends_time ON sends(sent_ms);
CREATE TABLE IF NOT EXISTS events (
  id TEXT PRIMARY KEY,
  provider TEXT NOT NULL,
  message_id TEXT NOT NULL,
  dedupe_key TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  delivery INTEGER NOT NULL,
  doc TEXT NOT NULL,
  received_ms INTEGER NOT NULL,
  state INTEGER NOT NULL,
  hold_until_ms INTEGER NOT NULL,
  call_id TEXT NOT NULL,
  capability TEXT NOT NULL,
  caller TEXT NOT NULL,
  callback_url TEXT NOT NULL,
  forward INTEGER NOT NULL,
  forward_tries INTEGER NOT NULL,
  forward_next_ms INTEGER NOT NULL,
  forward_log TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS events_call ON events(call_id, received_ms) WHERE call_id != '';
CREATE INDEX IF NOT EXISTS events_held ON events(provider, message_id) WHERE state = 0;
CREATE INDEX IF NOT EXISTS events_forward ON events(forward_next_ms) WHERE forward = 1;
)sql";

constexpr const char* kCols =
    "id, caller, capability, state, async, params, body_hash, idem_key, routing, callback_url, trace_id, "
    "created_ms, updated_ms, not_before_ms, runs, provider, result, error, attempts, lease_owner, lease_until_ms, "
    "callback_state, callback_tries, callback_next_ms, callback_log";
constexpr const char* kPlaceholders = "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, "
                                      "?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25";

std::string sql(const char* a, const char* b = "", const char* c = "", const char* d = "") {
  return std::string(a) + b + c + d;
}

}  // namespace

Stmt::Stmt(sqlite3* db, const char* q) {
  if (sqlite3_prepare_v3(db, q, -1, SQLITE_PREPARE_PERSISTENT, &s_, nullptr) != SQLITE_OK) s_ = nullptr;
}
Stmt::~Stmt() { sqlite3_finalize(s_); }
Stmt& Stmt::bind(int i, std::string_view v) {
  sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::bind_view(int i, std::string_view v) {
  sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  return *this;
}
Stmt& Stmt::bind(int i, std::int64_t v) {
  sqlite3_bind_int64(s_, i, v);
  return *this;
}
Stmt& Stmt::bind_null(int i) {
  sqlite3_bind_null(s_, i);
  return *this;
}
int Stmt::step() { return sqlite3_step(s_); }
void Stmt::reset() {
  sqlite3_reset(s_);
  sqlite3_clear_bindings(s_);
}
std::string Stmt::text(int col) const {
  const auto* p = sqlite3_column_text(s_, col);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(s_, col)))
           : std::string();
}

Result<std::unique_ptr<SqliteStore::Db>> SqliteStore::Db::open(const SqliteOptions& o) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(o.path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  auto db = std::unique_ptr<Db>(new Db(raw));
  if (rc != SQLITE_OK) return db->error("cannot open store '" + o.path + "'");
  sqlite3_busy_timeout(raw, 5000);
  const std::string pragmas = std::string("PRAGMA journal_mode=WAL; PRAGMA synchronous=") +
                              (o.sync_full ? "FULL" : "NORMAL") + "; PRAGMA temp_store=MEMORY;";
  if (!db->exec(pragmas.c_str()) || !db->exec(kSchema)) return db->error("cannot initialise store '" + o.path + "'");
  auto prep = [&](std::unique_ptr<Stmt>& slot, const std::string& q) {
    slot = std::make_unique<Stmt>(raw, q.c_str());
    return slot->raw() != nullptr;
  };
  const std::string cols = kCols;
  bool ok = prep(db->insert_, sql("INSERT INTO calls (", kCols, ") VALUES (", kPlaceholders) + ") ON CONFLICT DO NOTHING") &&
            prep(db->upsert_, sql("INSERT OR REPLACE INTO calls (", kCols, ") VALUES (", kPlaceholders) + ")") &&
            prep(db->update_, "UPDATE calls SET caller=?2, capability=?3, state=?4, async=?5, params=?6, body_hash=?7, "
                              "idem_key=?8, routing=?9, callback_url=?10, trace_id=?11, created_ms=?12, updated_ms=?13, "
                              "not_before_ms=?14, runs=?15, provider=?16, result=?17, error=?18, attempts=?19, "
                              "lease_owner=?20, lease_until_ms=?21, callback_state=?22, callback_tries=?23, "
                              "callback_next_ms=?24, callback_log=?25 WHERE id=?1") &&
            prep(db->get_, "SELECT " + cols + " FROM calls WHERE id=?1") &&
            prep(db->by_key_, "SELECT " + cols + " FROM calls WHERE caller=?1 AND idem_key=?2") &&
            prep(db->due_, "SELECT " + cols + " FROM calls WHERE async=1 AND state=0 AND not_before_ms<=?1 "
                                              "ORDER BY not_before_ms LIMIT ?2") &&
            prep(db->due_of_, "SELECT " + cols + " FROM calls WHERE async=1 AND state=0 AND capability=?3 "
                                                 "AND not_before_ms<=?1 ORDER BY not_before_ms LIMIT ?2") &&
            // ?3: NULL (any capability) or a JSON array of the capabilities to take.
            prep(db->expired_, "SELECT " + cols + " FROM calls WHERE async=1 AND state=1 AND lease_until_ms<?1 "
                                                  "AND (?3 IS NULL OR capability IN (SELECT value FROM json_each(?3))) "
                                                  "LIMIT ?2") &&
            prep(db->lease_, "UPDATE calls SET state=1, lease_owner=?2, lease_until_ms=?3, runs=runs+1, updated_ms=?4 "
                             "WHERE id=?1") &&
            prep(db->due_callbacks_, "SELECT " + cols + " FROM calls WHERE callback_state=1 AND callback_next_ms<=?1 "
                                                        "AND (lease_owner='' OR lease_until_ms<?1 OR state!=1) "
                                                        "ORDER BY callback_next_ms LIMIT ?2") &&
            prep(db->lease_callback_, "UPDATE calls SET callback_next_ms=?2 WHERE id=?1") &&
            prep(db->list_, "SELECT " + cols + " FROM calls WHERE async=1 AND state=?1 ORDER BY not_before_ms DESC "
                                               "LIMIT ?2") &&
            prep(db->replay_one_, "UPDATE calls SET state=0, not_before_ms=?2, updated_ms=?2, runs=0, lease_owner='', "
                                  "lease_until_ms=0 WHERE id=?1 AND state=4") &&
            prep(db->replay_all_, "UPDATE calls SET state=0, not_before_ms=?1, updated_ms=?1, runs=0, lease_owner='', "
                                  "lease_until_ms=0 WHERE async=1 AND state=4") &&
            prep(db->count_, "SELECT COUNT(*) FROM calls WHERE async=1 AND state=?1") &&
            prep(db->savepoint_, "SAVEPOINT op") && prep(db->release_, "RELEASE op") &&
            prep(db->rollback_to_, "ROLLBACK TO op");
  if (!ok) return db->error("cannot prepare store statements");
  return db;
}

SqliteStore::Db::~Db() {
  for (auto* s : {&insert_, &upsert_, &update_, &get_, &by_key_, &due_, &due_of_, &expired_, &lease_, &due_callbacks_,
                  &lease_callback_, &list_, &replay_one_, &replay_all_, &count_, &savepoint_, &release_,
                  &rollback_to_}) {
    s->reset();
  }
  cache_.clear();
  sqlite3_close(db_);
}

Stmt& SqliteStore::Db::prepared(std::string_view sql) {
  auto it = cache_.find(sql);  // by view: no string built per use
  if (it == cache_.end()) {
    std::string key(sql);
    auto stmt = std::make_unique<Stmt>(db_, key.c_str());
    it = cache_.emplace(std::move(key), std::move(stmt)).first;
  }
  return *it->second;
}

Error SqliteStore::Db::error(std::string_view what) const {
  return Error::make(ErrorClass::kInternal,
                     std::string(what) + ": " + (db_ ? sqlite3_errmsg(db_) : "out of memory"));
}

bool SqliteStore::Db::exec(const char* q) { return sqlite3_exec(db_, q, nullptr, nullptr, nullptr) == SQLITE_OK; }

void SqliteStore::Db::bind_record(Stmt& s, const CallRecord& r) {
  // `r` outlives the statement's step and reset: its text is bound, not copied.
  s.bind_view(1, r.id).bind_view(2, r.caller).bind_view(3, r.capability).bind(4, static_cast<std::int64_t>(r.state));
  s.bind(5, static_cast<std::int64_t>(r.async)).bind_view(6, r.params_json).bind_view(7, r.body_hash);
  if (r.idempotency_key.empty()) {
    s.bind_null(8);
  } else {
    s.bind_view(8, r.idempotency_key);
  }
  s.bind_view(9, r.routing_json).bind_view(10, r.callback_url).bind_view(11, r.trace_id).bind(12, r.created_ms);
  s.bind(13, r.updated_ms).bind(14, r.not_before_ms).bind(15, static_cast<std::int64_t>(r.runs));
  s.bind_view(16, r.provider).bind_view(17, r.result_json).bind_view(18, r.error_json).bind_view(19, r.attempts_json);
  s.bind_view(20, r.lease_owner).bind(21, r.lease_until_ms).bind(22, static_cast<std::int64_t>(r.callback_state));
  s.bind(23, static_cast<std::int64_t>(r.callback_tries)).bind(24, r.callback_next_ms).bind_view(25, r.callback_log_json);
}

CallRecord SqliteStore::Db::read_record(Stmt& s) {
  CallRecord r;
  r.id = s.text(0);
  r.caller = s.text(1);
  r.capability = s.text(2);
  r.state = static_cast<CallState>(s.integer(3));
  r.async = s.integer(4) != 0;
  r.params_json = s.text(5);
  r.body_hash = s.text(6);
  r.idempotency_key = s.text(7);
  r.routing_json = s.text(8);
  r.callback_url = s.text(9);
  r.trace_id = s.text(10);
  r.created_ms = s.integer(11);
  r.updated_ms = s.integer(12);
  r.not_before_ms = s.integer(13);
  r.runs = static_cast<int>(s.integer(14));
  r.provider = s.text(15);
  r.result_json = s.text(16);
  r.error_json = s.text(17);
  r.attempts_json = s.text(18);
  r.lease_owner = s.text(19);
  r.lease_until_ms = s.integer(20);
  r.callback_state = static_cast<CallbackState>(s.integer(21));
  r.callback_tries = static_cast<int>(s.integer(22));
  r.callback_next_ms = s.integer(23);
  r.callback_log_json = s.text(24);
  return r;
}

Result<std::vector<CallRecord>> SqliteStore::Db::select_many(Stmt& s) {
  std::vector<CallRecord> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_record(s));
  s.reset();
  if (rc != SQLITE_DONE) return error("query failed");
  return out;
}

Result<InsertResult> SqliteStore::Db::insert(const CallRecord& r) {
  bind_record(*insert_, r);
  const int rc = insert_->step();
  insert_->reset();
  if (rc != SQLITE_DONE) return error("insert failed");
  if (sqlite3_changes(db_) == 1) return InsertResult{true, std::nullopt};
  // Nothing inserted: the caller's idempotency key is taken (ids never collide).
  by_key_->bind(1, r.caller).bind(2, r.idempotency_key);
  auto found = select_many(*by_key_);
  if (!found) return found.error();
  if (found->empty()) return error("insert conflicted but no record holds the key");
  return InsertResult{false, std::move(found->front())};
}

Result<void> SqliteStore::Db::upsert(const CallRecord& r, bool must_exist) {
  Stmt& s = must_exist ? *update_ : *upsert_;
  bind_record(s, r);
  const int rc = s.step();
  s.reset();
  if (rc != SQLITE_DONE) return error("write failed");
  if (must_exist && sqlite3_changes(db_) != 1) {
    return Error::make(ErrorClass::kNotFound, "no record " + r.id);
  }
  return ok();
}

Result<std::optional<CallRecord>> SqliteStore::Db::get(const std::string& id) {
  get_->bind(1, id);
  auto found = select_many(*get_);
  if (!found) return found.error();
  if (found->empty()) return std::optional<CallRecord>();
  return std::optional<CallRecord>(std::move(found->front()));
}

Result<std::vector<CallRecord>> SqliteStore::Db::claim(std::int64_t now, int limit, const std::string& owner,
                                                       std::int64_t until, const ClaimFilter& filter) {
  // Lapsed leases first: those jobs were cut off by a crash and have waited long enough.
  expired_->bind(1, now).bind(2, static_cast<std::int64_t>(limit));
  std::string among;  // a JSON array of the names, bound below
  if (filter.among.empty()) {
    expired_->bind_null(3);
  } else {
    for (const auto& c : filter.among) {
      among += among.empty() ? "[\"" : ",\"";
      json_escape_to(among, c);
      among += '"';
    }
    among += ']';
    expired_->bind_view(3, among);
  }
  auto jobs = select_many(*expired_);
  if (!jobs) return jobs;
  for (auto& j : *jobs) {
    j.resumed = true;
    j.resumed_from = j.lease_owner;
  }
  const auto left = static_cast<std::int64_t>(limit - static_cast<int>(jobs->size()));
  if (left > 0 && filter.among.empty()) {
    due_->bind(1, now).bind(2, left);
    auto due = select_many(*due_);
    if (!due) return due;
    for (auto& j : *due) jobs->push_back(std::move(j));
  } else if (left > 0) {
    // Each capability's oldest due jobs, through its own index range; then the
    // oldest of them all.
    std::vector<CallRecord> due;
    for (const auto& c : filter.among) {
      due_of_->bind(1, now).bind(2, left).bind_view(3, c);
      auto some = select_many(*due_of_);
      if (!some) return some;
      for (auto& j : *some) due.push_back(std::move(j));
    }
    std::stable_sort(due.begin(), due.end(),
                     [](const CallRecord& a, const CallRecord& b) { return a.not_before_ms < b.not_before_ms; });
    if (static_cast<std::int64_t>(due.size()) > left) due.resize(static_cast<size_t>(left));
    for (auto& j : due) jobs->push_back(std::move(j));
  }
  for (auto& j : *jobs) {
    lease_->bind(1, j.id).bind(2, owner).bind(3, until).bind(4, now);
    const int rc = lease_->step();
    lease_->reset();
    if (rc != SQLITE_DONE) return error("claim failed");
    j.state = CallState::kRunning;
    j.lease_owner = owner;
    j.lease_until_ms = until;
    j.updated_ms = now;
    ++j.runs;
  }
  return jobs;
}

Result<std::vector<CallRecord>> SqliteStore::Db::claim_callbacks(std::int64_t now, int limit,
                                                                 const std::string& owner, std::int64_t until) {
  (void)owner;
  due_callbacks_->bind(1, now).bind(2, static_cast<std::int64_t>(limit));
  auto due = select_many(*due_callbacks_);
  if (!due) return due;
  // Push the next try out by the lease, so no other claimant takes it meanwhile.
  for (auto& r : *due) {
    lease_callback_->bind(1, r.id).bind(2, until);
    const int rc = lease_callback_->step();
    lease_callback_->reset();
    if (rc != SQLITE_DONE) return error("callback claim failed");
    r.callback_next_ms = until;
  }
  return due;
}

Result<int> SqliteStore::Db::renew_leases(const std::vector<std::string>& ids, const std::string& owner,
                                          std::int64_t until) {
  Use s(*this, "UPDATE calls SET lease_until_ms=?3 WHERE id=?1 AND lease_owner=?2 AND state=1");
  int held = 0;
  for (const auto& id : ids) {
    s.bind(1, id).bind(2, owner).bind(3, until);
    const int rc = s.step();
    s.reset();
    if (rc != SQLITE_DONE) return error("lease renewal failed");
    held += sqlite3_changes(db_);
  }
  return held;
}

Result<void> SqliteStore::Db::update_leased(const CallRecord& r, const std::string& owner) {
  Use check(*this, "SELECT 1 FROM calls WHERE id=?1 AND lease_owner=?2 AND state=1");
  check.bind(1, r.id).bind(2, owner);
  const int rc = check.step();
  if (rc != SQLITE_ROW) {
    if (rc != SQLITE_DONE) return error("lease check failed");
    return Error::make(ErrorClass::kConflict, "job " + r.id + " is no longer leased to " + owner);
  }
  check.reset();
  return upsert(r, true);
}

Result<std::vector<CallRecord>> SqliteStore::Db::list(CallState state, int limit) {
  list_->bind(1, static_cast<std::int64_t>(state)).bind(2, static_cast<std::int64_t>(limit));
  return select_many(*list_);
}

Result<int> SqliteStore::Db::replay(const std::string& id, std::int64_t now) {
  Stmt& s = id.empty() ? *replay_all_ : *replay_one_;
  if (id.empty()) {
    s.bind(1, now);
  } else {
    s.bind(1, id).bind(2, now);
  }
  const int rc = s.step();
  s.reset();
  if (rc != SQLITE_DONE) return error("replay failed");
  return sqlite3_changes(db_);
}

Result<StateCounts> SqliteStore::Db::counts() {
  StateCounts c;
  auto count = [&](CallState st) -> Result<std::int64_t> {
    count_->bind(1, static_cast<std::int64_t>(st));
    const int rc = count_->step();
    const std::int64_t n = rc == SQLITE_ROW ? count_->integer(0) : 0;
    count_->reset();
    if (rc != SQLITE_ROW) return error("count failed");
    return n;
  };
  for (auto [st, slot] : {std::pair{CallState::kQueued, &c.queued}, std::pair{CallState::kRunning, &c.running},
                          std::pair{CallState::kDead, &c.dead}}) {
    auto n = count(st);
    if (!n) return n.error();
    *slot = *n;
  }
  Use pending(*this, "SELECT COUNT(*) FROM calls WHERE callback_state=1");
  if (pending.step() == SQLITE_ROW) c.callbacks_pending = pending.integer(0);
  return c;
}

Result<int> SqliteStore::Db::fail_orphans(const std::string& owner, std::int64_t now) {
  // As the PostgreSQL store: the provider may have acted, so outcome_unknown.
  Use s(*this, "UPDATE calls SET state=3, updated_ms=?2, error='{\"code\":\"outcome_unknown\",\"message\":\"tollgate "
              "stopped while the call was in progress; its outcome is unknown\",\"retryable\":false}' "
              "WHERE async=0 AND state=1 AND lease_owner!=?1");
  s.bind(1, owner).bind(2, now);
  if (s.step() != SQLITE_DONE) return error("recovery failed");
  return sqlite3_changes(db_);
}

Result<void> SqliteStore::Db::save_recordings(const std::vector<std::pair<std::string, std::string>>& items) {
  Use s(*this, "INSERT OR REPLACE INTO recordings (key, data) VALUES (?1, ?2)");
  for (const auto& [key, data] : items) {
    s.bind(1, key).bind(2, data);
    const int rc = s.step();
    s.reset();
    if (rc != SQLITE_DONE) return error("saving recordings failed");
  }
  return ok();
}

Result<std::vector<std::pair<std::string, std::string>>> SqliteStore::Db::load_recordings() {
  Use s(*this, "SELECT key, data FROM recordings");
  std::vector<std::pair<std::string, std::string>> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.emplace_back(s.text(0), s.text(1));
  if (rc != SQLITE_DONE) return error("loading recordings failed");
  return out;
}

Result<void> SqliteStore::Db::purge(std::int64_t keys_before, std::int64_t records_before) {
  Use keys(*this, "UPDATE calls SET idem_key=NULL WHERE idem_key IS NOT NULL AND created_ms<?1");
  keys.bind(1, keys_before);
  if (keys.step() != SQLITE_DONE) return error("purge failed");
  // Ids begin with their creation time (ULID-like, sortable), so the primary key
  // finds old records without an index of its own.
  Use old(*this, "DELETE FROM calls WHERE id<?1 AND state IN (2,3) AND callback_state!=1");
  old.bind(1, call_id_floor(static_cast<std::uint64_t>(std::max<std::int64_t>(0, records_before))));
  if (old.step() != SQLITE_DONE) return error("purge failed");
  Use sends(*this, "DELETE FROM sends WHERE sent_ms<?1");
  sends.bind(1, records_before);
  if (sends.step() != SQLITE_DONE) return error("purge failed");
  Use events(*this, "DELETE FROM events WHERE received_ms<?1 AND forward!=1");
  events.bind(1, records_before);
  if (events.step() != SQLITE_DONE) return error("purge failed");
  return ok();
}

}  // namespace tollgate::store
