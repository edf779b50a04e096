// The PostgreSQL store against a real server (started once for this binary):
// the JobStore semantics, and what several instances sharing one database need —
// one winner per idempotency key, claims that never hand a job to two
// instances, lapsed leases taken over, migrations run once, wake-ups, restarts.
#include "store/postgres/pg_store.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <boost/asio/detached.hpp>

#include <atomic>
#include <set>
#include <thread>

#include "core/blocking.h"
#include "core/random.h"
#include "store/event_store_contract.h"
#include "store/job_store_contract.h"
#include "tests/support/servers.h"

namespace tollgate::store {
namespace {

namespace asio = boost::asio;
using namespace std::chrono;

testing::PgServer& server() {
  static testing::PgServer pg;
  return pg;
}

class PgStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server().ok()) << server().error();
    url_ = server().fresh_database();
    store_ = open();
    ASSERT_TRUE(store_);
  }
  std::unique_ptr<PgStore> open() {
    auto s = PgStore::open({url_});
    EXPECT_TRUE(s) << (s ? "" : s.error().message);
    return s ? std::move(*s) : nullptr;
  }
  template <typename T>
  static T run(asio::awaitable<T> a) {
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

  std::string url_;
  std::unique_ptr<PgStore> store_;
};

TEST_F(PgStoreTest, ARecordSurvivesAnotherInstanceReadingIt) {
  auto rec = job("a1");
  rec.params_json = R"({"to":"+8613800000000","text":"it's \"quoted\" and ünïcode"})";
  ASSERT_TRUE(run(store_->insert(rec)));
  auto other = open();
  auto got = run(other->get("a1"));
  ASSERT_TRUE(got && got->has_value());
  EXPECT_EQ((*got)->params_json, rec.params_json);
  EXPECT_TRUE((*got)->async);
  EXPECT_EQ((*got)->state, CallState::kQueued);
}

TEST_F(PgStoreTest, AnIdempotencyKeyHasOneWinnerAcrossInstances) {
  auto other = open();
  std::atomic<int> inserted{0}, replayed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      auto rec = job("k" + std::to_string(t));
      rec.idempotency_key = "order-42";
      auto r = run((t % 2 ? other : store_)->insert(rec));
      ASSERT_TRUE(r) << r.error().message << ": " << r.error().detail;
      if (r->inserted) {
        ++inserted;
      } else {
        ++replayed;
        EXPECT_EQ(r->existing->idempotency_key, "order-42");
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(inserted, 1);
  EXPECT_EQ(replayed, 7);
}

TEST_F(PgStoreTest, ConcurrentClaimsNeverHandAJobToTwoInstances) {
  std::vector<CallRecord> jobs;
  for (int i = 0; i < 200; ++i) jobs.push_back(job("j" + std::to_string(1000 + i)));
  ASSERT_TRUE(run(store_->insert_many(jobs)));
  auto other = open();
  std::mutex mu;
  std::multiset<std::string> claimed;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (;;) {
        auto got = run((t % 2 ? other : store_)->claim(2000, 7, "i" + std::to_string(t), 60000, {}));
        ASSERT_TRUE(got) << got.error().message;
        if (got->empty()) return;
        std::lock_guard lock(mu);
        for (auto& j : *got) claimed.insert(j.id);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(claimed.size(), 200u);
  EXPECT_EQ(std::set<std::string>(claimed.begin(), claimed.end()).size(), 200u) << "a job was claimed twice";
}

TEST_F(PgStoreTest, ALapsedLeaseIsTakenOverFirstAndTheOldOwnerCannotWriteIt) {
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(run(store_->insert(job("q" + std::to_string(i), 100))));
  ASSERT_TRUE(run(store_->insert(job("orphan", 50))));
  auto first = run(store_->claim(200, 1, "dead", 1500, {}));
  ASSERT_TRUE(first);
  ASSERT_EQ(first->size(), 1u);
  ASSERT_EQ((*first)[0].id, "orphan");
  // "dead" never renews; its lease lapses at 1500.
  auto taken = run(store_->claim(2000, 3, "alive", 60000, {}));
  ASSERT_TRUE(taken);
  ASSERT_EQ(taken->size(), 3u);
  EXPECT_EQ((*taken)[0].id, "orphan");
  EXPECT_TRUE((*taken)[0].resumed);
  EXPECT_EQ((*taken)[0].resumed_from, "dead");
  EXPECT_EQ((*taken)[0].runs, 2);
  auto stale = (*first)[0];
  stale.state = CallState::kSucceeded;
  auto lost = run(store_->update_leased(stale, "dead"));
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().cls, ErrorClass::kConflict);
  auto mine = (*taken)[0];
  mine.state = CallState::kSucceeded;
  EXPECT_TRUE(run(store_->update_leased(mine, "alive")));
}

TEST_F(PgStoreTest, ClaimsTakeOnlyTheCapabilitiesNamed) { expect_claims_follow_the_filter(*store_); }

TEST_F(PgStoreTest, HeartbeatsKeepALeaseAlive) {
  ASSERT_TRUE(run(store_->insert(job("hb", 50))));
  ASSERT_EQ(run(store_->claim(100, 1, "me", 1000, {}))->size(), 1u);
  EXPECT_EQ(*run(store_->renew_leases({"hb", "nope"}, "me", 5000)), 1);
  EXPECT_TRUE(run(store_->claim(2000, 5, "other", 60000, {}))->empty()) << "a renewed lease was taken over";
  EXPECT_EQ(*run(store_->renew_leases({"hb"}, "someone-else", 9000)), 0);
}

TEST_F(PgStoreTest, CommittedJobsWakeEveryInstance) {
  auto other = open();
  std::atomic<int> woken{0};
  other->set_wakeup([&] { ++woken; });
  std::this_thread::sleep_for(milliseconds(300));  // the listener connects
  ASSERT_TRUE(run(store_->insert(job("w1"))));
  for (int i = 0; i < 100 && woken == 0; ++i) std::this_thread::sleep_for(milliseconds(20));
  EXPECT_GE(woken.load(), 1) << "no NOTIFY reached the other instance";
}

TEST_F(PgStoreTest, ManyAcceptsShareCommits) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) ASSERT_TRUE(run(store_->insert(job("g" + std::to_string(t * 100 + i)))));
    });
  }
  for (auto& t : threads) t.join();
  const auto s = store_->stats();
  EXPECT_EQ(s.operations, 400u);
  EXPECT_LT(s.transactions, s.operations) << "no group commit";
  auto counts = run(store_->counts());
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->queued, 400);
}

TEST_F(PgStoreTest, SchemaMigratesOnceAndANewerSchemaIsRefused) {
  std::vector<std::thread> threads;
  std::atomic<int> opened{0};
  const std::string url = server().fresh_database();
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      if (PgStore::open({url})) ++opened;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(opened, 4);
  EXPECT_EQ(*PgStore::check(url), kPgSchemaVersion);
  const std::string db = url.substr(url.rfind('/') + 1, url.find('?') - url.rfind('/') - 1);
  ASSERT_TRUE(server().psql("UPDATE tollgate_schema SET version = 99", db));
  auto refused = PgStore::open({url});
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("newer than this tollgate"), std::string::npos) << refused.error().message;
  EXPECT_FALSE(PgStore::check(url));
}

TEST_F(PgStoreTest, WhileTheDatabaseIsDownCallsFailFastAndResumeAfter) {
  ASSERT_TRUE(run(store_->insert(job("before"))));
  server().stop();
  auto during = run(store_->insert(job("during")));
  ASSERT_FALSE(during);
  EXPECT_EQ(during.error().cls, ErrorClass::kUnavailable);
  ASSERT_TRUE(server().start());
  Result<InsertResult> after = Error::make(ErrorClass::kUnavailable, "");
  for (int i = 0; i < 100 && !after; ++i) {
    after = run(store_->insert(job("after" + std::to_string(i))));
    if (!after) std::this_thread::sleep_for(milliseconds(100));
  }
  ASSERT_TRUE(after) << after.error().message << " " << after.error().detail;
  EXPECT_TRUE(run(store_->get("before"))->has_value());
  EXPECT_GE(store_->stats().reconnects, 2u);
}

TEST_F(PgStoreTest, PurgeKeepsDeadLettersAndForgetsOldKeys) {
  auto done = job(new_call_id(1000));
  done.state = CallState::kSucceeded;
  done.idempotency_key = "old-key";
  auto dead = job(new_call_id(1000));
  dead.state = CallState::kDead;
  ASSERT_TRUE(run(store_->insert(done)));
  ASSERT_TRUE(run(store_->insert(dead)));
  ASSERT_TRUE(run(store_->purge(2000, 1'000'000'000'000)));
  EXPECT_FALSE(run(store_->get(done.id))->has_value());
  EXPECT_TRUE(run(store_->get(dead.id))->has_value());
}

// The events contract on a fresh database.
struct PgEnv {
  std::unique_ptr<PgStore> store;
  void set_up() {
    ASSERT_TRUE(server().ok()) << server().error();
    auto s = PgStore::open({server().fresh_database()});
    ASSERT_TRUE(s) << s.error().message;
    store = std::move(*s);
  }
  void tear_down() { store.reset(); }
  EventStore& events() { return *store; }
};
INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, EventStoreContract, PgEnv);

// One operation of a group commit fails: the others of its batch still commit
// and every waiter hears back. (The pipeline's aborted transaction used to
// swallow the whole batch: no answer at all for anyone in it.)
TEST_F(PgStoreTest, OneFailingOperationInABatchDoesNotTakeTheOthersDown) {
  EventRecord e;
  e.id = "evt_1";
  e.provider = "p";
  e.message_id = "unknown";
  e.dedupe_key = "k1";
  e.kind = "delivered";
  e.doc_json = "{}";
  e.hold_until_ms = 1000;
  std::optional<Result<std::vector<EventInsert>>> refused;
  std::vector<std::optional<Result<InsertResult>>> inserted(5);
  run_blocking_all([&](asio::io_context& ctx) {
    asio::co_spawn(ctx, [&]() -> asio::awaitable<void> {
      std::vector<EventRecord> batch(1, e);  // (GCC 12: no braced list inside co_await)
      refused = co_await store_->insert_events(std::move(batch), 0);
    }, asio::detached);
    for (int i = 0; i < 5; ++i) {
      asio::co_spawn(ctx, [&, i]() -> asio::awaitable<void> {
        inserted[static_cast<size_t>(i)] = co_await store_->insert(job("b" + std::to_string(i)));
      }, asio::detached);
    }
  });
  ASSERT_TRUE(refused.has_value());
  ASSERT_FALSE(*refused);
  EXPECT_EQ(refused->error().cls, ErrorClass::kUnavailable);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(inserted[static_cast<size_t>(i)].has_value());
    ASSERT_TRUE(*inserted[static_cast<size_t>(i)]) << inserted[static_cast<size_t>(i)]->error().message;
    EXPECT_TRUE(run(store_->get("b" + std::to_string(i)))->has_value());
  }
  EXPECT_EQ(*run(store_->held_events()), 0);
}

// Two instances: a send recorded by one and its early event by the other, at
// once, each seeing the other missing — the sweep attaches them.
TEST_F(PgStoreTest, ASendAndItsEventStoredByTwoInstancesAreJoinedByTheSweep) {
  auto other = open();
  EventRecord e;
  e.id = "evt_x";
  e.provider = "twilio";
  e.message_id = "SMx";
  e.dedupe_key = "k-x";
  e.kind = "delivered";
  e.delivery = DeliveryOutcome::kDelivered;
  e.doc_json = "{}";
  e.received_ms = 2000;
  e.hold_until_ms = 60000;
  // Simulate the crossing: the event lands held, then the send row appears by a
  // path that does not attach (as a concurrent transaction would have).
  ASSERT_TRUE(run(other->insert_events({e}, 100)));
  const std::string db = url_.substr(url_.rfind('/') + 1, url_.find('?') - url_.rfind('/') - 1);
  ASSERT_TRUE(server().psql("INSERT INTO sends VALUES ('twilio', 'SMx', 'call-x', 'sms.send', 'shop', '', 1000, 0)",
                            db));
  EXPECT_EQ(*run(store_->held_events()), 1);
  auto swept = run(store_->sweep_events(3000));
  ASSERT_TRUE(swept);
  EXPECT_EQ(*swept, 0);  // attached, not expired
  EXPECT_EQ(*run(store_->held_events()), 0);
  auto evs = run(store_->events_for_call("call-x"));
  ASSERT_TRUE(evs);
  ASSERT_EQ(evs->size(), 1u);
  auto counts = run(store_->delivery_counts(0, 5000));
  ASSERT_TRUE(counts);
  ASSERT_EQ(counts->size(), 1u);
  EXPECT_EQ((*counts)[0].delivered, 1);
}

}  // namespace
}  // namespace tollgate::store
