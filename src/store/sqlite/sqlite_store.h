#pragma once
// SqliteStore: the embedded JobStore, one SQLite file in WAL mode.
//
// One thread owns the database connection. Every operation is queued to it; the
// thread takes everything queued, runs it inside one transaction (each operation
// in its own savepoint, so one failure does not undo the others), commits — one
// fsync for the whole batch with sync: full (group commit) — and only then
// completes each waiting coroutine on its own executor. So a 202 is sent only
// after its record is on disk, and thousands of accepts share one fsync. Records
// nobody waits for (plain synchronous calls) are batched for up to 5 ms and, when
// a batch holds only them, committed without fsync (WAL: safe against a crash of
// the process, not against power loss).
//
// Thread-safety: all public methods may be called from any thread.

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "store/event_store.h"
#include "store/job_store.h"

namespace tollgate::store {

struct SqliteOptions {
  std::string path;          // the database file (created if missing)
  bool sync_full = true;     // full: fsync on every commit (power-loss safe); normal: crash safe only
  int max_batch = 4096;      // operations per transaction at most
};

class SqliteStore final : public JobStore, public EventStore {
 public:
  static Result<std::unique_ptr<SqliteStore>> open(SqliteOptions options);
  ~SqliteStore() override;

  boost::asio::awaitable<Result<InsertResult>> insert(CallRecord rec) override;
  boost::asio::awaitable<Result<std::vector<InsertResult>>> insert_many(std::vector<CallRecord> recs) override;
  boost::asio::awaitable<Result<void>> update(CallRecord rec) override;
  void record(CallRecord rec) override;
  boost::asio::awaitable<Result<std::optional<CallRecord>>> get(std::string id) override;
  boost::asio::awaitable<Result<std::vector<CallRecord>>> claim(std::int64_t now_ms, int limit, std::string owner,
                                                                 std::int64_t lease_until_ms, ClaimFilter filter) override;
  boost::asio::awaitable<Result<std::vector<CallRecord>>> claim_callbacks(std::int64_t now_ms, int limit,
                                                                           std::string owner,
                                                                           std::int64_t lease_until_ms) override;
  boost::asio::awaitable<Result<int>> renew_leases(std::vector<std::string> ids, std::string owner,
                                                   std::int64_t lease_until_ms) override;
  boost::asio::awaitable<Result<void>> update_leased(CallRecord rec, std::string owner) override;
  void set_wakeup(std::function<void()> wakeup) override;
  boost::asio::awaitable<Result<std::vector<CallRecord>>> list(CallState state, int limit) override;
  boost::asio::awaitable<Result<int>> replay(std::string id, std::int64_t now_ms) override;
  boost::asio::awaitable<Result<StateCounts>> counts() override;
  boost::asio::awaitable<Result<int>> fail_orphaned_sync_calls(std::string owner, std::int64_t now_ms) override;
  void save_recordings(std::vector<std::pair<std::string, std::string>> items) override;
  boost::asio::awaitable<Result<std::vector<std::pair<std::string, std::string>>>> load_recordings() override;
  boost::asio::awaitable<Result<void>> purge(std::int64_t keys_before_ms, std::int64_t records_before_ms) override;

  void record_send(SendRecord send) override;
  boost::asio::awaitable<Result<std::vector<EventInsert>>> insert_events(std::vector<EventRecord> events,
                                                                          int max_held) override;
  boost::asio::awaitable<Result<std::vector<EventRecord>>> events_for_call(std::string call_id) override;
  boost::asio::awaitable<Result<std::vector<EventRecord>>> claim_event_forwards(std::int64_t now_ms, int limit,
                                                                               std::int64_t lease_until_ms) override;
  boost::asio::awaitable<Result<void>> update_event_forward(EventRecord event) override;
  boost::asio::awaitable<Result<int>> sweep_events(std::int64_t now_ms) override;
  boost::asio::awaitable<Result<std::vector<DeliveryCount>>> delivery_counts(std::int64_t from_ms,
                                                                             std::int64_t to_ms) override;
  boost::asio::awaitable<Result<std::int64_t>> held_events() override;

  // Operations committed so far and transactions used (group commit ratio).
  struct Stats {
    std::uint64_t operations = 0;
    std::uint64_t transactions = 0;
  };
  Stats stats() const;

  class Db;     // the connection and its prepared statements (writer thread only)
  struct OpBase;

 private:
  explicit SqliteStore(SqliteOptions options);
  void enqueue(std::unique_ptr<OpBase> op);
  void run();

  template <typename T, typename Fn>
  boost::asio::awaitable<Result<T>> submit(Fn fn, bool wakes_runner = false, bool one_statement = false);

  SqliteOptions options_;
  std::unique_ptr<Db> db_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<OpBase>> queue_;
  int urgent_queued_ = 0;
  bool stopping_ = false;
  bool full_sync_now_ = true;  // writer thread only: the connection's synchronous mode
  std::function<void()> wakeup_;  // set before use; called on the writer thread
  Stats stats_;
  std::thread thread_;
};

}  // namespace tollgate::store
