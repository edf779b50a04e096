#pragma once
// PgStore: the JobStore on PostgreSQL, shared by every tollgate instance of a
// cluster (store.driver: postgres). Same semantics as the SQLite store, across
// instances: a 202 only after commit; an Idempotency-Key unique per caller
// (a repeat on another instance gets the replay or 409, never a second send);
// jobs claimed with FOR UPDATE SKIP LOCKED, lapsed leases first; leases renewed
// by heartbeats; LISTEN/NOTIFY as a wake-up, polling as the fallback.
//
// Threads: one writer thread owns a libpq connection. Operations from any
// worker are queued; the thread takes everything queued (up to max_batch) and
// sends it in one pipeline inside one transaction — a round trip and a commit
// for the whole batch (group commit) — then completes each waiting coroutine on
// its own executor. If anything in the batch fails, the transaction is rolled
// back and each operation is run again on its own, so one bad operation cannot
// fail the others. A listener thread holds a second connection that LISTENs
// for `tollgate_jobs`.
//
// Database down or restarted: operations fail at once with `unavailable`
// (callers that need the store get a retryable 503) while the thread reconnects
// with backoff; records nobody waits for (plain synchronous calls) are dropped
// and counted. An operation whose COMMIT was sent when the connection broke is
// reported failed though it may have committed: never the reverse.
//
// All public methods may be called from any thread.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "store/event_store.h"
#include "store/job_store.h"

namespace tollgate::store {

struct PgOptions {
  std::string url;          // postgresql://user:password@host:port/db (secrets via ${ENV:...})
  int max_batch = 256;      // operations per transaction at most
  bool migrate = true;      // apply schema migrations at open (false: check-config)
};

// The schema version this binary reads and writes.
inline constexpr int kPgSchemaVersion = 3;

class PgStore final : public JobStore, public EventStore {
 public:
  // Connects, takes the migration lock, migrates (or checks) the schema, starts
  // the threads. Fails when the database is unreachable or its schema is newer
  // than this binary.
  static Result<std::unique_ptr<PgStore>> open(PgOptions options);
  // Connects and reads the schema version only: for check-config.
  static Result<int> check(const std::string& url);
  // The URL with its password replaced, safe to log.
  static std::string redact(const std::string& url);
  ~PgStore() override;

  boost::asio::awaitable<Result<InsertResult>> insert(CallRecord rec) override;
  boost::asio::awaitable<Result<std::vector<InsertResult>>> insert_many(std::vector<CallRecord> recs) override;
  boost::asio::awaitable<Result<void>> update(CallRecord rec) override;
  void record(CallRecord rec) override;
  boost::asio::awaitable<Result<std::optional<CallRecord>>> get(std::string id) override;
  boost::asio::awaitable<Result<std::vector<CallRecord>>> claim(std::int64_t now_ms, int limit, std::string owner,
                                                                 std::int64_t lease_until_ms, ClaimFilter filter) override;
  boost::asio::awaitable<Result<int>> renew_leases(std::vector<std::string> ids, std::string owner,
                                                   std::int64_t lease_until_ms) override;
  boost::asio::awaitable<Result<void>> update_leased(CallRecord rec, std::string owner) override;
  void set_wakeup(std::function<void()> wakeup) override;
  boost::asio::awaitable<Result<std::vector<CallRecord>>> claim_callbacks(std::int64_t now_ms, int limit,
                                                                           std::string owner,
                                                                           std::int64_t lease_until_ms) override;
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

  struct Stats {
    std::uint64_t operations = 0;
    std::uint64_t transactions = 0;
    std::uint64_t dropped_records = 0;  // fire-and-forget records lost while disconnected
    std::uint64_t reconnects = 0;
    bool connected = false;
  };
  Stats stats() const;

  struct OpBase;

 private:
  explicit PgStore(PgOptions options);
  void enqueue(std::unique_ptr<OpBase> op);
  void run();
  void listen();
  template <typename T, typename Op>
  boost::asio::awaitable<Result<T>> submit(Op op);

  PgOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<OpBase>> queue_;
  int urgent_queued_ = 0;  // operations in queue_ someone waits for
  bool stopping_ = false;
  std::atomic<bool> connected_{false};
  std::function<void()> wakeup_;
  Stats stats_;
  std::thread writer_;
  std::thread listener_;
};

}  // namespace tollgate::store
