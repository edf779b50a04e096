#include "store/sqlite/sqlite_store.h"

#include <boost/asio/async_result.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/process.h"
#include "store/sqlite/db.h"

namespace tollgate::store {

namespace asio = boost::asio;

namespace {
// How long a fire-and-forget record may wait for company before it is committed.
constexpr auto kRecordDelay = std::chrono::milliseconds(5);
}  // namespace

// One queued operation: runs on the store thread inside the batch's transaction,
// completes (on its caller's executor) after the commit.
struct SqliteStore::OpBase {
  virtual ~OpBase() = default;
  // False when the operation failed (its savepoint is rolled back).
  virtual bool execute(Db& db) = 0;
  virtual void complete(const Error* commit_error) = 0;
  // Someone waits for it: commit soon, and durably.
  virtual bool urgent() const { return true; }
  // It may have made jobs due: wake the runner after the commit.
  bool wakes_runner = false;
  // It writes with one statement at most: a statement that fails undoes its
  // own changes, so the operation needs no savepoint of its own.
  bool one_statement = false;
};

namespace {

template <typename T, typename Fn, typename Handler>
struct Op final : SqliteStore::OpBase {
  Op(Fn f, Handler h) : fn(std::move(f)), handler(std::move(h)) {}
  bool execute(SqliteStore::Db& db) override {
    result.emplace(fn(db));
    return result->ok();
  }
  void complete(const Error* commit_error) override {
    Result<T> r = commit_error ? Result<T>(*commit_error) : std::move(*result);
    auto ex = asio::get_associated_executor(handler);
    asio::post(ex, [h = std::move(handler), r = std::move(r)]() mutable { std::move(h)(std::move(r)); });
  }
  Fn fn;
  Handler handler;
  std::optional<Result<T>> result;
};

// Fire-and-forget: nobody waits.
template <typename Fn>
struct DetachedOp final : SqliteStore::OpBase {
  explicit DetachedOp(Fn f) : fn(std::move(f)) {}
  bool execute(SqliteStore::Db& db) override { return fn(db).ok(); }
  void complete(const Error*) override {}
  bool urgent() const override { return false; }
  Fn fn;
};

}  // namespace

template <typename T, typename Fn>
asio::awaitable<Result<T>> SqliteStore::submit(Fn fn, bool wakes_runner, bool one_statement) {
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(Result<T>)>(
      [this, fn = std::move(fn), wakes_runner, one_statement](auto handler) mutable {
        auto op = std::make_unique<Op<T, Fn, decltype(handler)>>(std::move(fn), std::move(handler));
        op->wakes_runner = wakes_runner;
        op->one_statement = one_statement;
        enqueue(std::move(op));
      },
      asio::use_awaitable);
}

SqliteStore::SqliteStore(SqliteOptions options) : options_(std::move(options)) {}

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(SqliteOptions options) {
  auto store = std::unique_ptr<SqliteStore>(new SqliteStore(options));
  auto db = Db::open(options);
  if (!db) return db.error();
  store->db_ = std::move(db.value());
  store->thread_ = std::thread([s = store.get()] {
    set_thread_name("store-sqlite");
    s->run();
  });
  return store;
}

SqliteStore::~SqliteStore() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SqliteStore::enqueue(std::unique_ptr<OpBase> op) {
  bool wake;
  {
    std::lock_guard lock(mu_);
    // Records nobody waits for ride along with the next commit, at most
    // kRecordDelay later: the first one queued wakes the writer to start that
    // wait (an idle writer would otherwise sleep until someone waits on an
    // operation); then only a waiter, or a full batch, wakes it early.
    if (op->urgent()) ++urgent_queued_;
    queue_.push_back(std::move(op));
    wake = urgent_queued_ > 0 || queue_.size() == 1 || static_cast<int>(queue_.size()) >= options_.max_batch;
  }
  if (wake) cv_.notify_one();
}

void SqliteStore::run() {
  std::vector<std::unique_ptr<OpBase>> batch;
  for (;;) {
    bool durable = false;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) return;
      if (urgent_queued_ == 0 && !stopping_) {
        cv_.wait_for(lock, kRecordDelay, [&] {
          return stopping_ || urgent_queued_ > 0 || static_cast<int>(queue_.size()) >= options_.max_batch;
        });
      }
      while (!queue_.empty() && static_cast<int>(batch.size()) < options_.max_batch) {
        if (queue_.front()->urgent()) {
          --urgent_queued_;
          durable = true;
        }
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    // Group commit: everything queued shares one transaction and one fsync. A
    // batch of fire-and-forget records only needs crash safety (no fsync).
    const bool want_full = durable && options_.sync_full;
    if (want_full != full_sync_now_) {
      db_->exec(want_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
      full_sync_now_ = want_full;
    }
    std::optional<Error> failed;
    if (!db_->exec("BEGIN IMMEDIATE")) failed = db_->error("begin failed");
    if (!failed) {
      for (auto& op : batch) {
        if (op->one_statement) {
          op->execute(*db_);
        } else {
          db_->begin_op();
          db_->end_op(op->execute(*db_));
        }
      }
      if (!db_->exec("COMMIT")) {
        failed = db_->error("commit failed");
        db_->exec("ROLLBACK");
      }
    }
    {
      // Counted before anyone is told: a caller that saw its result sees it counted.
      std::lock_guard lock(mu_);
      stats_.operations += batch.size();
      ++stats_.transactions;
    }
    bool wake = false;
    for (auto& op : batch) {
      wake = wake || op->wakes_runner;
      op->complete(failed ? &*failed : nullptr);
    }
    batch.clear();
    if (wake && !failed) {
      std::function<void()> wakeup;
      {
        std::lock_guard lock(mu_);
        wakeup = wakeup_;
      }
      if (wakeup) wakeup();
    }
  }
}

SqliteStore::Stats SqliteStore::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

asio::awaitable<Result<InsertResult>> SqliteStore::insert(CallRecord rec) {
  const bool queued = rec.async && rec.state == CallState::kQueued;
  return submit<InsertResult>([rec = std::move(rec)](Db& db) { return db.insert(rec); }, queued,
                              /*one_statement=*/true);
}

asio::awaitable<Result<std::vector<InsertResult>>> SqliteStore::insert_many(std::vector<CallRecord> recs) {
  return submit<std::vector<InsertResult>>([recs = std::move(recs)](Db& db) -> Result<std::vector<InsertResult>> {
    std::vector<InsertResult> out;
    out.reserve(recs.size());
    for (const auto& r : recs) {
      auto one = db.insert(r);
      if (!one) return one.error();
      out.push_back(std::move(one.value()));
    }
    return out;
  }, /*wakes_runner=*/true);
}

asio::awaitable<Result<void>> SqliteStore::update(CallRecord rec) {
  return submit<void>([rec = std::move(rec)](Db& db) { return db.upsert(rec, true); }, false,
                      /*one_statement=*/true);
}

void SqliteStore::record(CallRecord rec) {
  auto fn = [rec = std::move(rec)](Db& db) { return db.upsert(rec, false); };
  auto op = std::make_unique<DetachedOp<decltype(fn)>>(std::move(fn));
  op->one_statement = true;
  enqueue(std::move(op));
}

asio::awaitable<Result<std::optional<CallRecord>>> SqliteStore::get(std::string id) {
  return submit<std::optional<CallRecord>>([id = std::move(id)](Db& db) { return db.get(id); });
}

asio::awaitable<Result<std::vector<CallRecord>>> SqliteStore::claim(std::int64_t now_ms, int limit, std::string owner,
                                                                    std::int64_t lease_until_ms, ClaimFilter filter) {
  return submit<std::vector<CallRecord>>([=, owner = std::move(owner), filter = std::move(filter)](Db& db) {
    return db.claim(now_ms, limit, owner, lease_until_ms, filter);
  });
}

asio::awaitable<Result<std::vector<CallRecord>>> SqliteStore::claim_callbacks(std::int64_t now_ms, int limit,
                                                                              std::string owner,
                                                                              std::int64_t lease_until_ms) {
  return submit<std::vector<CallRecord>>([=, owner = std::move(owner)](Db& db) {
    return db.claim_callbacks(now_ms, limit, owner, lease_until_ms);
  });
}

asio::awaitable<Result<int>> SqliteStore::renew_leases(std::vector<std::string> ids, std::string owner,
                                                       std::int64_t lease_until_ms) {
  return submit<int>([ids = std::move(ids), owner = std::move(owner), lease_until_ms](Db& db) {
    return db.renew_leases(ids, owner, lease_until_ms);
  });
}

asio::awaitable<Result<void>> SqliteStore::update_leased(CallRecord rec, std::string owner) {
  return submit<void>([rec = std::move(rec), owner = std::move(owner)](Db& db) { return db.update_leased(rec, owner); });
}

void SqliteStore::set_wakeup(std::function<void()> wakeup) {
  std::lock_guard lock(mu_);
  wakeup_ = std::move(wakeup);
}

asio::awaitable<Result<std::vector<CallRecord>>> SqliteStore::list(CallState state, int limit) {
  return submit<std::vector<CallRecord>>([=](Db& db) { return db.list(state, limit); });
}

asio::awaitable<Result<int>> SqliteStore::replay(std::string id, std::int64_t now_ms) {
  return submit<int>([id = std::move(id), now_ms](Db& db) { return db.replay(id, now_ms); });
}

asio::awaitable<Result<StateCounts>> SqliteStore::counts() {
  return submit<StateCounts>([](Db& db) { return db.counts(); });
}

asio::awaitable<Result<int>> SqliteStore::fail_orphaned_sync_calls(std::string owner, std::int64_t now_ms) {
  return submit<int>([owner = std::move(owner), now_ms](Db& db) { return db.fail_orphans(owner, now_ms); });
}

void SqliteStore::save_recordings(std::vector<std::pair<std::string, std::string>> items) {
  auto fn = [items = std::move(items)](Db& db) { return db.save_recordings(items); };
  enqueue(std::make_unique<DetachedOp<decltype(fn)>>(std::move(fn)));
}

asio::awaitable<Result<std::vector<std::pair<std::string, std::string>>>> SqliteStore::load_recordings() {
  return submit<std::vector<std::pair<std::string, std::string>>>([](Db& db) { return db.load_recordings(); });
}

asio::awaitable<Result<void>> SqliteStore::purge(std::int64_t keys_before_ms, std::int64_t records_before_ms) {
  return submit<void>([=](Db& db) { return db.purge(keys_before_ms, records_before_ms); });
}

void SqliteStore::record_send(SendRecord send) {
  auto fn = [send = std::move(send)](Db& db) { return db.record_send(send); };
  enqueue(std::make_unique<DetachedOp<decltype(fn)>>(std::move(fn)));
}

asio::awaitable<Result<std::vector<EventInsert>>> SqliteStore::insert_events(std::vector<EventRecord> events,
                                                                             int max_held) {
  return submit<std::vector<EventInsert>>(
      [events = std::move(events), max_held](Db& db) mutable { return db.insert_events(events, max_held); });
}

asio::awaitable<Result<std::vector<EventRecord>>> SqliteStore::events_for_call(std::string call_id) {
  return submit<std::vector<EventRecord>>([id = std::move(call_id)](Db& db) { return db.events_for_call(id); });
}

asio::awaitable<Result<std::vector<EventRecord>>> SqliteStore::claim_event_forwards(std::int64_t now_ms, int limit,
                                                                                  std::int64_t lease_until_ms) {
  return submit<std::vector<EventRecord>>(
      [=](Db& db) { return db.claim_event_forwards(now_ms, limit, lease_until_ms); });
}

asio::awaitable<Result<void>> SqliteStore::update_event_forward(EventRecord event) {
  return submit<void>([e = std::move(event)](Db& db) { return db.update_event_forward(e); });
}

asio::awaitable<Result<int>> SqliteStore::sweep_events(std::int64_t now_ms) {
  return submit<int>([now_ms](Db& db) { return db.sweep_events(now_ms); });
}

asio::awaitable<Result<std::vector<DeliveryCount>>> SqliteStore::delivery_counts(std::int64_t from_ms,
                                                                                std::int64_t to_ms) {
  return submit<std::vector<DeliveryCount>>([=](Db& db) { return db.delivery_counts(from_ms, to_ms); });
}

asio::awaitable<Result<std::int64_t>> SqliteStore::held_events() {
  return submit<std::int64_t>([](Db& db) { return db.held_events(); });
}

}  // namespace tollgate::store
