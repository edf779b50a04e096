#include "store/sqlite/sqlite_store.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <filesystem>
#include <thread>

#include "core/blocking.h"
#include "core/random.h"
#include "store/event_store_contract.h"
#include "store/job_store_contract.h"

namespace tollgate::store {
namespace {

namespace asio = boost::asio;

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("tollgate-store-" + std::to_string(::getpid()) + "-" +
                                                      ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    reopen();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void reopen() {
    store_.reset();
    auto s = SqliteStore::open({(dir_ / "t.db").string(), true});
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(s.value());
  }
  template <typename T>
  T run(asio::awaitable<T> a) {
    return run_blocking(std::move(a));  // core/blocking.h: why not a local context
  }
  static CallRecord job(const std::string& id, std::int64_t due = 1000) {
    CallRecord r;
    r.id = id;
    r.caller = "shop";
    r.capability = "sms.send";
    r.async = true;
    r.params_json = R"({"to":"+8613800000000"})";
    r.body_hash = "h-" + id;
    r.created_ms = r.updated_ms = 500;
    r.not_before_ms = due;
    return r;
  }

  std::filesystem::path dir_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(SqliteStoreTest, InsertedRecordSurvivesReopen) {
  auto ins = run(store_->insert(job("a")));
  ASSERT_TRUE(ins) << ins.error().message;
  EXPECT_TRUE(ins->inserted);
  reopen();
  auto got = run(store_->get("a"));
  ASSERT_TRUE(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->params_json, R"({"to":"+8613800000000"})");
  EXPECT_EQ((*got)->state, CallState::kQueued);
  EXPECT_TRUE((*got)->async);
  EXPECT_FALSE(run(store_->get("missing"))->has_value());
}

TEST_F(SqliteStoreTest, IdempotencyKeyReturnsTheFirstRecord) {
  auto a = job("a");
  a.idempotency_key = "k1";
  ASSERT_TRUE(run(store_->insert(a))->inserted);
  auto b = job("b");
  b.idempotency_key = "k1";
  auto second = run(store_->insert(b));
  ASSERT_TRUE(second);
  EXPECT_FALSE(second->inserted);
  ASSERT_TRUE(second->existing);
  EXPECT_EQ(second->existing->id, "a");
  EXPECT_FALSE(run(store_->get("b"))->has_value());
  // The same key for another caller is another key.
  auto c = job("c");
  c.caller = "other";
  c.idempotency_key = "k1";
  EXPECT_TRUE(run(store_->insert(c))->inserted);
}

TEST_F(SqliteStoreTest, ClaimTakesDueJobsWithALease) {
  ASSERT_TRUE(run(store_->insert(job("due", 1000))));
  ASSERT_TRUE(run(store_->insert(job("later", 5000))));
  auto claimed = run(store_->claim(2000, 10, "node-1", 32000, {}));
  ASSERT_TRUE(claimed);
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ(claimed->front().id, "due");
  EXPECT_EQ(claimed->front().state, CallState::kRunning);
  EXPECT_EQ(claimed->front().runs, 1);
  // Leased: nobody else gets it while the lease holds...
  EXPECT_TRUE(run(store_->claim(3000, 10, "node-2", 33000, {}))->empty());
  // ...but after it expires (the process died), it is taken up again.
  auto again = run(store_->claim(40000, 10, "node-2", 70000, {}));
  ASSERT_EQ(again->size(), 2u);  // "later" is due now too
  for (const auto& j : *again) {
    EXPECT_EQ(j.lease_owner, "node-2");
    if (j.id == "due") {
      EXPECT_EQ(j.runs, 2);
      EXPECT_TRUE(j.resumed);  // taken over from a run that never finished
    } else {
      EXPECT_FALSE(j.resumed);
    }
  }
}

TEST_F(SqliteStoreTest, ClaimsTakeOnlyTheCapabilitiesNamed) { expect_claims_follow_the_filter(*store_); }

// Defect 22: a job cut off by a crash is claimable within a poll of its lease
// lapsing, however many queued jobs are due before it.
TEST_F(SqliteStoreTest, ALapsedLeaseIsClaimedBeforeTheBacklog) {
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(run(store_->insert(job("q" + std::to_string(i), 100))));
  CallRecord orphan = job("orphan", 100);
  orphan.state = CallState::kRunning;
  orphan.lease_owner = "host/1/dead";
  orphan.lease_until_ms = 1500;
  ASSERT_TRUE(run(store_->insert(orphan)));
  auto claimed = run(store_->claim(2000, 4, "host/2/alive", 32000, {}));
  ASSERT_TRUE(claimed);
  ASSERT_EQ(claimed->size(), 4u);
  EXPECT_EQ((*claimed)[0].id, "orphan");
  EXPECT_TRUE((*claimed)[0].resumed);
  EXPECT_EQ((*claimed)[0].resumed_from, "host/1/dead");
  EXPECT_EQ((*claimed)[0].lease_owner, "host/2/alive");
  for (size_t i = 1; i < claimed->size(); ++i) EXPECT_FALSE((*claimed)[i].resumed);
}

TEST_F(SqliteStoreTest, UpdateAndDeadLetterReplay) {
  ASSERT_TRUE(run(store_->insert(job("a"))));
  auto rec = job("a");
  rec.state = CallState::kDead;
  rec.error_json = R"({"code":"unavailable"})";
  ASSERT_TRUE(run(store_->update(rec)));
  auto dead = run(store_->list(CallState::kDead, 10));
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ(run(store_->counts())->dead, 1);
  EXPECT_EQ(*run(store_->replay("a", 9000)), 1);
  auto back = run(store_->get("a"));
  EXPECT_EQ((*back)->state, CallState::kQueued);
  EXPECT_EQ((*back)->not_before_ms, 9000);
  EXPECT_EQ(*run(store_->replay("a", 9000)), 0);  // not dead any more
  auto missing = run(store_->update(job("nope")));
  EXPECT_FALSE(missing);
}

TEST_F(SqliteStoreTest, ConcurrentInsertsShareCommits) {
  int done = 0;
  run_blocking_all([&](asio::io_context& ctx) {
    for (int i = 0; i < 2000; ++i) {
      asio::co_spawn(ctx, store_->insert(job("j" + std::to_string(i))),
                     [&](std::exception_ptr, Result<InsertResult> r) { done += r && r->inserted ? 1 : 0; });
    }
  });
  EXPECT_EQ(done, 2000);
  const auto st = store_->stats();
  EXPECT_EQ(st.operations, 2000u);
  EXPECT_LT(st.transactions, 2000u);  // group commit: fewer fsyncs than accepts
  EXPECT_EQ(run(store_->counts())->queued, 2000);
}

// Operations share a transaction (group commit); one that fails is rolled back
// to its own savepoint and reports its error, and the rest of its batch commits.
TEST_F(SqliteStoreTest, AFailedOperationIsUndoneAloneAndItsBatchStillCommits) {
  int inserted = 0, update_failed = 0;
  run_blocking_all([&](asio::io_context& ctx) {
    for (int i = 0; i < 600; ++i) {
      if (i % 10 == 5) {  // no such record: this update fails inside the batch
        asio::co_spawn(ctx, store_->update(job("missing" + std::to_string(i))),
                       [&](std::exception_ptr, Result<void> r) { update_failed += r ? 0 : 1; });
      } else {
        asio::co_spawn(ctx, store_->insert(job("j" + std::to_string(i))),
                       [&](std::exception_ptr, Result<InsertResult> r) { inserted += r && r->inserted ? 1 : 0; });
      }
    }
  });
  EXPECT_EQ(update_failed, 60);
  EXPECT_EQ(inserted, 540);
  EXPECT_LT(store_->stats().transactions, 600u) << "the failures must have shared batches with the inserts";
  EXPECT_EQ(run(store_->counts())->queued, 540);
  EXPECT_FALSE(run(store_->get("missing5")).value().has_value());
  reopen();  // committed, not just visible
  EXPECT_EQ(run(store_->counts())->queued, 540);
}

// Single-row writes (records, inserts, updates) run without a savepoint of
// their own: a statement that fails part-way must still undo only itself. Here
// updates collide with another record's idempotency key (a unique index) while
// inserts and fire-and-forget records share their batches.
TEST_F(SqliteStoreTest, AStatementThatFailsInsideABatchUndoesOnlyItself) {
  auto a = job("a"), b = job("b");
  a.idempotency_key = "key-a";
  b.idempotency_key = "key-b";
  ASSERT_TRUE(run(store_->insert(a)));
  ASSERT_TRUE(run(store_->insert(b)));
  int inserted = 0, collided = 0;
  run_blocking_all([&](asio::io_context& ctx) {
    for (int i = 0; i < 600; ++i) {
      if (i % 10 == 3) {
        auto bad = b;
        bad.idempotency_key = "key-a";  // taken by a
        bad.params_json = "changed";
        asio::co_spawn(ctx, store_->update(bad), [&](std::exception_ptr, Result<void> r) { collided += r ? 0 : 1; });
      } else if (i % 10 == 6) {
        auto rec = job("r" + std::to_string(i));
        rec.async = false;
        rec.state = CallState::kSucceeded;
        store_->record(rec);
      } else {
        asio::co_spawn(ctx, store_->insert(job("j" + std::to_string(i))),
                       [&](std::exception_ptr, Result<InsertResult> r) { inserted += r && r->inserted ? 1 : 0; });
      }
    }
  });
  EXPECT_EQ(collided, 60);
  EXPECT_EQ(inserted, 480);
  EXPECT_LT(store_->stats().transactions, 600u) << "the failures must have shared batches with the rest";
  reopen();  // committed, not just visible
  EXPECT_EQ(run(store_->counts())->queued, 482);
  const auto still_b = run(store_->get("b")).value();
  ASSERT_TRUE(still_b.has_value());
  EXPECT_EQ(still_b->idempotency_key, "key-b");
  EXPECT_EQ(still_b->params_json, job("b").params_json);
  for (int i = 6; i < 600; i += 10) {
    const auto rec = run(store_->get("r" + std::to_string(i))).value();
    ASSERT_TRUE(rec.has_value()) << i;
    EXPECT_EQ(rec->state, CallState::kSucceeded);
  }
}

// A fire-and-forget record waits a few milliseconds for company, not for the
// next operation someone waits on: alone, at idle, it is still committed.
TEST_F(SqliteStoreTest, ALoneRecordIsCommittedWithoutAnythingElseArriving) {
  ASSERT_TRUE(run(store_->counts()));  // the writer has run, and goes back to waiting
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const auto before = store_->stats().transactions;
  auto rec = job("lone");
  rec.async = false;
  rec.state = CallState::kSucceeded;
  store_->record(rec);
  for (int i = 0; i < 400 && store_->stats().transactions == before; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(store_->stats().transactions, before + 1);
  EXPECT_EQ(store_->stats().operations, 2u);
}

TEST_F(SqliteStoreTest, OrphanedSyncCallsAreMarkedFailed) {
  auto r = job("s");
  r.async = false;
  r.state = CallState::kRunning;
  r.lease_owner = "old-process";
  store_->record(r);
  auto mine = job("m");
  mine.async = false;
  mine.state = CallState::kRunning;
  mine.lease_owner = "me";
  store_->record(mine);
  EXPECT_EQ(*run(store_->fail_orphaned_sync_calls("me", 7000)), 1);
  EXPECT_EQ((*run(store_->get("s")))->state, CallState::kFailed);
  EXPECT_EQ((*run(store_->get("m")))->state, CallState::kRunning);
}

TEST_F(SqliteStoreTest, PurgeForgetsOldKeysAndRecordsButNotDeadLetters) {
  // Real call ids: they carry their creation time, which purge relies on.
  const std::string old_id = new_call_id(100), dead_id = new_call_id(100);
  auto a = job(old_id);
  a.idempotency_key = "k";
  a.state = CallState::kSucceeded;
  a.created_ms = a.updated_ms = 100;
  store_->record(a);
  auto d = job(dead_id);
  d.state = CallState::kDead;
  d.updated_ms = 100;
  store_->record(d);
  ASSERT_TRUE(run(store_->purge(200, 50)));
  auto b = job("b");
  b.idempotency_key = "k";
  EXPECT_TRUE(run(store_->insert(b))->inserted);  // the key was forgotten
  ASSERT_TRUE(run(store_->purge(200, 200)));
  EXPECT_FALSE(run(store_->get(old_id))->has_value());
  EXPECT_TRUE(run(store_->get(dead_id))->has_value());
  ASSERT_TRUE(run(store_->purge(200, 50)));  // created after 50: kept
  EXPECT_TRUE(run(store_->get(b.id))->has_value());
}

// The events contract on a fresh SQLite file.
struct SqliteEnv {
  std::filesystem::path dir;
  std::unique_ptr<SqliteStore> store;
  void set_up() {
    dir = std::filesystem::temp_directory_path() /
          ("tollgate-events-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    auto s = SqliteStore::open({(dir / "t.db").string(), true});
    ASSERT_TRUE(s) << s.error().message;
    store = std::move(s.value());
  }
  void tear_down() {
    store.reset();
    std::filesystem::remove_all(dir);
  }
  EventStore& events() { return *store; }
};
INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, EventStoreContract, SqliteEnv);

}  // namespace
}  // namespace tollgate::store
