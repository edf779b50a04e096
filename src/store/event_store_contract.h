#pragma once
// The EventStore contract, as typed tests every implementation instantiates
// (sqlite/sqlite_store_test.cc, postgres/pg_store_test.cc). `Env` provides
// set_up(), tear_down() and events(): a fresh, empty store.

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "core/blocking.h"
#include "store/event_store.h"

namespace tollgate::store {

template <typename Env>
class EventStoreContract : public ::testing::Test {
 protected:
  void SetUp() override { env_.set_up(); }
  void TearDown() override { env_.tear_down(); }
  EventStore& store() { return env_.events(); }

  template <typename T>
  T run(boost::asio::awaitable<T> a) {
    return run_blocking(std::move(a));  // core/blocking.h: why not a local context
  }
  // record_send() does not wait; any later awaited operation commits after it.
  void barrier() { ASSERT_TRUE(run(store().held_events())); }

  static SendRecord send(const std::string& mid, const std::string& call, std::int64_t at = 1000,
                         const std::string& callback = "https://hooks.example.com/e") {
    return SendRecord{"twilio", mid, call, "sms.send", "shop", callback, at};
  }
  static EventRecord event(const std::string& id, const std::string& mid, const std::string& kind,
                           std::int64_t at = 2000) {
    EventRecord e;
    e.id = id;
    e.provider = "twilio";
    e.message_id = mid;
    e.kind = kind;
    e.dedupe_key = "twilio|" + mid + "|" + kind;
    e.delivery = kind == "delivered"     ? DeliveryOutcome::kDelivered
                 : kind == "undelivered" ? DeliveryOutcome::kUndelivered
                                         : DeliveryOutcome::kNone;
    e.doc_json = R"({"kind":")" + kind + R"("})";
    e.received_ms = at;
    e.hold_until_ms = at + 60000;
    return e;
  }

  Env env_;
};

TYPED_TEST_SUITE_P(EventStoreContract);

TYPED_TEST_P(EventStoreContract, ARepeatedEventIsStoredAndForwardedOnce) {
  this->store().record_send(this->send("SM1", "call-1"));
  auto first = this->run(this->store().insert_events({this->event("evt_1", "SM1", "delivered")}, 100));
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_EQ(first->size(), 1u);
  EXPECT_TRUE((*first)[0].inserted);
  EXPECT_TRUE((*first)[0].attached);
  auto again = this->run(this->store().insert_events({this->event("evt_2", "SM1", "delivered")}, 100));
  ASSERT_TRUE(again);
  EXPECT_FALSE((*again)[0].inserted);
  EXPECT_EQ((*again)[0].id, "evt_1");

  auto evs = this->run(this->store().events_for_call("call-1"));
  ASSERT_TRUE(evs);
  ASSERT_EQ(evs->size(), 1u);
  EXPECT_EQ((*evs)[0].id, "evt_1");
  EXPECT_EQ((*evs)[0].forward, ForwardState::kPending);

  auto due = this->run(this->store().claim_event_forwards(5000, 10, 9000));
  ASSERT_TRUE(due);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].callback_url, "https://hooks.example.com/e");
  EXPECT_EQ((*due)[0].caller, "shop");
  // Leased: not due again before the lease ends, whoever asks.
  auto none = this->run(this->store().claim_event_forwards(5000, 10, 9000));
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  EventRecord done = (*due)[0];
  done.forward = ForwardState::kDelivered;
  done.forward_tries = 1;
  ASSERT_TRUE(this->run(this->store().update_event_forward(done)));
  auto later = this->run(this->store().claim_event_forwards(100000, 10, 200000));
  ASSERT_TRUE(later);
  EXPECT_TRUE(later->empty());
}

TYPED_TEST_P(EventStoreContract, AnEventBeforeItsAnswerIsHeldThenAttached) {
  auto ins = this->run(this->store().insert_events({this->event("evt_1", "SM9", "delivered")}, 100));
  ASSERT_TRUE(ins);
  EXPECT_TRUE((*ins)[0].inserted);
  EXPECT_FALSE((*ins)[0].attached);
  EXPECT_EQ(*this->run(this->store().held_events()), 1);
  auto none = this->run(this->store().claim_event_forwards(5000, 10, 9000));
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());

  this->store().record_send(this->send("SM9", "call-9", 1500));
  this->barrier();
  EXPECT_EQ(*this->run(this->store().held_events()), 0);
  auto evs = this->run(this->store().events_for_call("call-9"));
  ASSERT_TRUE(evs);
  ASSERT_EQ(evs->size(), 1u);
  EXPECT_EQ((*evs)[0].state, EventState::kAttached);
  auto due = this->run(this->store().claim_event_forwards(5000, 10, 9000));
  ASSERT_TRUE(due);
  EXPECT_EQ(due->size(), 1u);
  // And the held receipt counts for the send's delivery.
  auto counts = this->run(this->store().delivery_counts(0, 10000));
  ASSERT_TRUE(counts);
  ASSERT_EQ(counts->size(), 1u);
  EXPECT_EQ((*counts)[0].sent, 1);
  EXPECT_EQ((*counts)[0].delivered, 1);
}

TYPED_TEST_P(EventStoreContract, AHeldEventForAnUnknownIdExpires) {
  auto e = this->event("evt_1", "SM-unknown", "delivered", 2000);
  e.hold_until_ms = 3000;
  ASSERT_TRUE(this->run(this->store().insert_events({e}, 100)));
  auto early = this->run(this->store().sweep_events(2500));
  ASSERT_TRUE(early);
  EXPECT_EQ(*early, 0);
  EXPECT_EQ(*this->run(this->store().held_events()), 1);
  auto swept = this->run(this->store().sweep_events(3500));
  ASSERT_TRUE(swept);
  EXPECT_EQ(*swept, 1);
  EXPECT_EQ(*this->run(this->store().held_events()), 0);
  // A send naming it afterwards does not bring it back.
  this->store().record_send(this->send("SM-unknown", "call-late", 4000));
  this->barrier();
  auto evs = this->run(this->store().events_for_call("call-late"));
  ASSERT_TRUE(evs);
  EXPECT_TRUE(evs->empty());
}

TYPED_TEST_P(EventStoreContract, TooManyHeldEventsRefusesTheWholeRequestAndStoresNothing) {
  ASSERT_TRUE(this->run(this->store().insert_events({this->event("evt_1", "SM1", "delivered")}, 2)));
  auto over = this->run(this->store().insert_events(
      {this->event("evt_2", "SM2", "delivered"), this->event("evt_3", "SM3", "delivered")}, 2));
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().cls, ErrorClass::kUnavailable);
  EXPECT_EQ(*this->run(this->store().held_events()), 1);
  // Nothing of the refused request was kept: a retry is not taken for a repeat.
  auto retry = this->run(this->store().insert_events({this->event("evt_4", "SM2", "delivered")}, 5));
  ASSERT_TRUE(retry);
  EXPECT_TRUE((*retry)[0].inserted);
}

TYPED_TEST_P(EventStoreContract, DeliveryCountsCoverSendsInTheWindowWithTheirLatestReceipt) {
  for (int i = 0; i < 6; ++i) {
    this->store().record_send(this->send("SM" + std::to_string(i), "call-" + std::to_string(i), 1000 + i));
  }
  this->store().record_send(this->send("SM-old", "call-old", 10));
  this->barrier();
  std::vector<EventRecord> evs = {this->event("e0", "SM0", "delivered"), this->event("e1", "SM1", "delivered"),
                                  this->event("e2", "SM2", "undelivered"), this->event("e3", "SM3", "sent"),
                                  this->event("eo", "SM-old", "undelivered")};
  ASSERT_TRUE(this->run(this->store().insert_events(evs, 100)));
  auto counts = this->run(this->store().delivery_counts(500, 2000));
  ASSERT_TRUE(counts);
  ASSERT_EQ(counts->size(), 1u);
  EXPECT_EQ((*counts)[0].provider, "twilio");
  EXPECT_EQ((*counts)[0].capability, "sms.send");
  EXPECT_EQ((*counts)[0].sent, 6);
  EXPECT_EQ((*counts)[0].delivered, 2);
  EXPECT_EQ((*counts)[0].undelivered, 1);
}

TYPED_TEST_P(EventStoreContract, ABatchWithTheSameEventTwiceStoresItOnce) {
  this->store().record_send(this->send("SM1", "call-1", 1000, ""));
  auto ins = this->run(this->store().insert_events(
      {this->event("evt_a", "SM1", "delivered"), this->event("evt_b", "SM1", "delivered")}, 100));
  ASSERT_TRUE(ins);
  ASSERT_EQ(ins->size(), 2u);
  EXPECT_TRUE((*ins)[0].inserted);
  EXPECT_FALSE((*ins)[1].inserted);
  auto evs = this->run(this->store().events_for_call("call-1"));
  ASSERT_TRUE(evs);
  ASSERT_EQ(evs->size(), 1u);
  // No callback URL: nothing to forward.
  EXPECT_EQ((*evs)[0].forward, ForwardState::kNone);
}

REGISTER_TYPED_TEST_SUITE_P(EventStoreContract, ARepeatedEventIsStoredAndForwardedOnce,
                            AnEventBeforeItsAnswerIsHeldThenAttached, AHeldEventForAnUnknownIdExpires,
                            TooManyHeldEventsRefusesTheWholeRequestAndStoresNothing,
                            DeliveryCountsCoverSendsInTheWindowWithTheirLatestReceipt,
                            ABatchWithTheSameEventTwiceStoresItOnce);

}  // namespace tollgate::store
