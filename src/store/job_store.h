#pragma once
// JobStore: where calls are recorded — durably for async calls (a 202 is sent only
// after the record is committed) and for calls with an Idempotency-Key, and
// eventually for plain synchronous calls (so GET /v1/requests/{id} can answer for
// any call). The async runner claims due jobs from it with a lease.
//
// The interface is SQL-free: records carry JSON text for params, result, error and
// attempts. Implementations run their blocking library on threads they own and
// complete each awaitable on the awaiting coroutine's executor; every method may
// be called from any worker thread.

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace tollgate::store {

enum class CallState { kQueued, kRunning, kSucceeded, kFailed, kDead };
std::string_view to_string(CallState s);
std::optional<CallState> parse_call_state(std::string_view s);
bool is_terminal(CallState s);

enum class CallbackState { kNone, kPending, kDelivered, kFailed };
std::string_view to_string(CallbackState s);

struct CallRecord {
  std::string id;
  std::string caller;
  std::string capability;
  CallState state = CallState::kQueued;
  bool async = false;             // accepted with 202 (a job)
  std::string params_json;        // the params as received
  std::string body_hash;          // SHA-256 of the request body: idempotency comparisons
  std::string idempotency_key;    // caller-scoped; empty: none
  std::string routing_json;       // per-call pin/exclude, "" when none
  std::string callback_url;       // async only
  std::string trace_id;
  std::int64_t created_ms = 0;    // unix milliseconds
  std::int64_t updated_ms = 0;
  std::int64_t not_before_ms = 0; // a queued job is due from this time
  int runs = 0;                   // job runs started
  std::string provider;           // who served it, or the last provider tried
  std::string result_json;        // on success
  std::string error_json;         // on failure: {"code","message",...}
  std::string attempts_json = "[]";  // every provider attempt, over all runs
  std::string lease_owner;        // the process running it
  std::int64_t lease_until_ms = 0;
  // Not stored: set by claim() when the job was taken over from a run that never
  // finished (its process died with the lease held).
  bool resumed = false;
  std::string resumed_from;  // with resumed: the lease owner that never finished
  CallbackState callback_state = CallbackState::kNone;
  int callback_tries = 0;
  std::int64_t callback_next_ms = 0;
  std::string callback_log_json = "[]";  // [{at, status|error}]
};

struct InsertResult {
  bool inserted = false;
  // When the caller's idempotency key was already used: the record it names.
  std::optional<CallRecord> existing;
};

struct StateCounts {
  std::int64_t queued = 0, running = 0, succeeded = 0, failed = 0, dead = 0;
  std::int64_t callbacks_pending = 0;
};

// Which capabilities' jobs a claim may take: any (`among` empty), or only those
// named. While every provider of a capability is out, the runner claims the
// other capabilities' jobs, and one of its own at a time as a probe
// (docs/async.md). With names, each one's due jobs are read through an index of
// their own, so a held backlog is never read past.
struct ClaimFilter {
  std::vector<std::string> among;
  bool allows(const std::string& capability) const;
};

class JobStore {
 public:
  virtual ~JobStore() = default;

  // Durably inserts a new record (completes after the commit). With an
  // idempotency key already used by the same caller, inserts nothing and returns
  // the existing record instead.
  virtual boost::asio::awaitable<Result<InsertResult>> insert(CallRecord rec) = 0;
  // insert() for many records in one operation (a :batch request): one result each.
  virtual boost::asio::awaitable<Result<std::vector<InsertResult>>> insert_many(std::vector<CallRecord> recs) = 0;
  // Durably replaces the record with the same id.
  virtual boost::asio::awaitable<Result<void>> update(CallRecord rec) = 0;
  // Inserts or replaces without waiting (committed with the next batch): the
  // outcome of a plain synchronous call, kept for status queries.
  virtual void record(CallRecord rec) = 0;

  virtual boost::asio::awaitable<Result<std::optional<CallRecord>>> get(std::string id) = 0;

  // Claims up to `limit` due jobs: running with an expired lease (its process
  // died) first — a job cut off by a crash is taken over within a poll of its
  // lease lapsing, whatever the backlog — then queued ones with not_before <= now,
  // oldest due first; only jobs of the capabilities `filter` lets through.
  // Claimed jobs become running, leased to `owner` until `lease_until_ms`, their
  // run count incremented.
  virtual boost::asio::awaitable<Result<std::vector<CallRecord>>> claim(std::int64_t now_ms, int limit,
                                                                         std::string owner,
                                                                         std::int64_t lease_until_ms,
                                                                         ClaimFilter filter) = 0;
  // Heartbeat: extends the leases of jobs `owner` is still running. Returns how
  // many it still holds (fewer than asked: another process took some over).
  virtual boost::asio::awaitable<Result<int>> renew_leases(std::vector<std::string> ids, std::string owner,
                                                           std::int64_t lease_until_ms) = 0;
  // Replaces a running job's record only while `owner` still holds its lease, so
  // a process that stalled past its lease cannot overwrite the run of the one
  // that took the job over. kConflict when the lease is no longer ours.
  virtual boost::asio::awaitable<Result<void>> update_leased(CallRecord rec, std::string owner) = 0;
  // Called (from any thread) after a commit that made jobs due, so the runner
  // claims them without waiting for its next poll. Default: never called.
  virtual void set_wakeup(std::function<void()> wakeup) { (void)wakeup; }

  // Claims up to `limit` records whose callback is due (pending, next try <= now,
  // no live lease).
  virtual boost::asio::awaitable<Result<std::vector<CallRecord>>> claim_callbacks(std::int64_t now_ms, int limit,
                                                                                   std::string owner,
                                                                                   std::int64_t lease_until_ms) = 0;

  // Jobs in a state (newest first), for the admin API.
  virtual boost::asio::awaitable<Result<std::vector<CallRecord>>> list(CallState state, int limit) = 0;
  // Dead letters back to the queue: one by id, or all when id is empty. Returns how many.
  virtual boost::asio::awaitable<Result<int>> replay(std::string id, std::int64_t now_ms) = 0;
  virtual boost::asio::awaitable<Result<StateCounts>> counts() = 0;

  // Recordings of providers' behaviour (shadow answers): key -> JSON text. Saving
  // does not wait (committed with the next batch); loading is for start-up.
  virtual void save_recordings(std::vector<std::pair<std::string, std::string>> items) = 0;
  virtual boost::asio::awaitable<Result<std::vector<std::pair<std::string, std::string>>>> load_recordings() = 0;

  // Startup: synchronous calls left running by a previous process (whose outcome
  // is unknown) are marked failed, except those of `owner`.
  virtual boost::asio::awaitable<Result<int>> fail_orphaned_sync_calls(std::string owner, std::int64_t now_ms) = 0;
  // Forgets idempotency keys of calls created before `keys_before_ms`, and
  // succeeded or failed calls created before `records_before_ms` (dead letters
  // stay until replayed).
  virtual boost::asio::awaitable<Result<void>> purge(std::int64_t keys_before_ms, std::int64_t records_before_ms) = 0;
};

}  // namespace tollgate::store
