#pragma once
// Internal to the SQLite store: the connection, schema and prepared statements.
// Used only on the store's own thread.

#include <sqlite3.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/event_store.h"
#include "store/job_store.h"
#include "store/sqlite/sqlite_store.h"

namespace tollgate::store {

// A prepared statement, reset and cleared after each use.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int i, std::string_view v);  // copies the bytes
  // Binds the bytes without copying them: they must stay alive and unchanged
  // until reset() (which clears every binding).
  Stmt& bind_view(int i, std::string_view v);
  Stmt& bind(int i, std::int64_t v);
  Stmt& bind_null(int i);
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step();
  void reset();
  sqlite3_stmt* raw() { return s_; }
  std::string text(int col) const;
  std::int64_t integer(int col) const { return sqlite3_column_int64(s_, col); }

 private:
  sqlite3_stmt* s_ = nullptr;
};

class SqliteStore::Db {
 public:
  static Result<std::unique_ptr<Db>> open(const SqliteOptions& o);
  ~Db();

  // A statement prepared once per connection and kept, for the length of one
  // use: reset, its bindings cleared, when the use ends however it ends.
  // sqlite3_prepare parses and plans, with several allocations — more than the
  // step that runs it — and some of these run per call (a send recorded for
  // every call when provider events are configured), per event or per job.
  class Use {
   public:
    Use(Db& db, std::string_view sql) : s_(db.prepared(sql)) {}
    ~Use() { s_.reset(); }
    Use(const Use&) = delete;
    Use& operator=(const Use&) = delete;
    operator Stmt&() { return s_; }
    Stmt& bind(int i, std::string_view v) { return s_.bind(i, v); }
    Stmt& bind(int i, std::int64_t v) { return s_.bind(i, v); }
    Stmt& bind_null(int i) { return s_.bind_null(i); }
    int step() { return s_.step(); }
    void reset() { s_.reset(); }
    std::string text(int col) const { return s_.text(col); }
    std::int64_t integer(int col) const { return s_.integer(col); }

   private:
    Stmt& s_;
  };

  sqlite3* handle() { return db_; }
  Error error(std::string_view what) const;
  bool exec(const char* sql);
  // One operation of a group commit: SAVEPOINT op, then RELEASE op, or ROLLBACK
  // TO op and RELEASE op when it failed (prepared once: sqlite3_exec would parse
  // them again for every operation).
  bool begin_op() { return exec_prepared(*savepoint_); }
  void end_op(bool ok) {
    if (!ok) exec_prepared(*rollback_to_);
    exec_prepared(*release_);
  }

  Result<InsertResult> insert(const CallRecord& r);
  Result<void> upsert(const CallRecord& r, bool must_exist);
  Result<std::optional<CallRecord>> get(const std::string& id);
  Result<std::vector<CallRecord>> claim(std::int64_t now, int limit, const std::string& owner, std::int64_t until,
                                        const ClaimFilter& filter);
  Result<std::vector<CallRecord>> claim_callbacks(std::int64_t now, int limit, const std::string& owner,
                                                  std::int64_t until);
  Result<int> renew_leases(const std::vector<std::string>& ids, const std::string& owner, std::int64_t until);
  Result<void> update_leased(const CallRecord& r, const std::string& owner);
  Result<std::vector<CallRecord>> list(CallState state, int limit);
  Result<int> replay(const std::string& id, std::int64_t now);
  Result<StateCounts> counts();
  Result<int> fail_orphans(const std::string& owner, std::int64_t now);
  Result<void> purge(std::int64_t keys_before, std::int64_t records_before);
  Result<void> save_recordings(const std::vector<std::pair<std::string, std::string>>& items);
  Result<std::vector<std::pair<std::string, std::string>>> load_recordings();

  // Events (events_db.cc).
  Result<void> record_send(const SendRecord& s);
  Result<std::vector<EventInsert>> insert_events(std::vector<EventRecord>& events, int max_held);
  Result<std::vector<EventRecord>> events_for_call(const std::string& call_id);
  Result<std::vector<EventRecord>> claim_event_forwards(std::int64_t now, int limit, std::int64_t until);
  Result<void> update_event_forward(const EventRecord& e);
  Result<int> sweep_events(std::int64_t now);
  Result<std::vector<DeliveryCount>> delivery_counts(std::int64_t from, std::int64_t to);
  Result<std::int64_t> held_events();
  Result<void> attach_held(const SendRecord& s);

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  static bool exec_prepared(Stmt& s) {
    const int rc = s.step();
    s.reset();
    return rc == SQLITE_DONE || rc == SQLITE_ROW;
  }
  void bind_record(Stmt& s, const CallRecord& r);
  static CallRecord read_record(Stmt& s);
  Result<std::vector<CallRecord>> select_many(Stmt& s);

  Stmt& prepared(std::string_view sql);

  sqlite3* db_;
  struct SqlHash {
    using is_transparent = void;
    size_t operator()(std::string_view sql) const { return std::hash<std::string_view>{}(sql); }
  };
  // Use's statements, by their SQL (looked up by view).
  std::unordered_map<std::string, std::unique_ptr<Stmt>, SqlHash, std::equal_to<>> cache_;
  std::unique_ptr<Stmt> insert_, upsert_, update_, get_, by_key_, due_, due_of_, expired_, lease_, due_callbacks_,
      lease_callback_, list_, replay_one_, replay_all_, count_, savepoint_, release_, rollback_to_;
};

}  // namespace tollgate::store
