// Queue mode against a real RabbitMQ broker (Debian's rabbitmq-server, started
// once for this binary in a scratch directory on private ports): requests in
// from a queue, results out to the caller's reply queue; redeliveries answered
// from the store, never sent twice; poison messages dead-lettered with an error
// reply; provider outages turned into jobs whose results arrive later; the
// broker restarted and tollgate SIGKILLed mid-stream without losing a request or
// sending one twice; prefetch bounding the work in flight.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <chrono>
#include <iostream>
#include <set>
#include <sstream>
#include <thread>

#include "tests/integration/config_builder.h"
#include "tests/integration/harness.h"
#include "tests/support/amqp_client.h"
#include "tests/support/servers.h"

namespace tollgate::testing {
namespace {

using namespace std::chrono;
namespace json = boost::json;

class QueueMode : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    broker_ = new RabbitServer();
    std::cout << "rabbitmq-server started in " << broker_->last_start_s() << " s" << std::endl;
  }
  static void TearDownTestSuite() {
    delete broker_;
    broker_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(broker_->ok()) << broker_->error(); }

  // A gateway whose sms.send is served by `sims` and fed by queue `queue`.
  static std::string config(const std::string& queue, const std::vector<const Sim*>& sims, int prefetch = 32,
                            const std::string& provider_extra = "") {
    ConfigSpec spec;
    int i = 0;
    for (const Sim* s : sims) {
      ProviderSpec p{"p" + std::to_string(i++), "json", s->url()};
      p.extra = provider_extra;
      spec.providers.push_back(p);
    }
    spec.capability_extra = "    async: {allow: true, fallback: true}\n";
    spec.top_extra = "queues:\n  url: " + broker_->url() +
                     "\n  reconnect: {min: 50ms, max: 1s}\n  consumers:\n    - queue: " + queue +
                     "\n      caller: tester\n      prefetch: " + std::to_string(prefetch) + "\n" +
                     "jobs:\n  base_backoff: 100ms\n  max_backoff: 500ms\n";
    return config_yaml(spec);
  }

  // Replies on `queue` until `n` distinct correlation ids arrived or `timeout` passed.
  static std::map<std::string, json::value> collect(AmqpClient& c, const std::string& queue, size_t n,
                                                    milliseconds timeout, std::map<std::string, json::value> seen = {}) {
    const auto end = steady_clock::now() + timeout;
    while (seen.size() < n && steady_clock::now() < end) {
      auto m = c.get(queue);
      if (!m) {
        std::this_thread::sleep_for(20ms);
        continue;
      }
      seen[m->correlation_id] = json::parse(m->body);
    }
    return seen;
  }

  static RabbitServer* broker_;
};

RabbitServer* QueueMode::broker_ = nullptr;

const std::string kRequest = R"({"capability": "sms.send", "params": {"to": "+8613800000000", "template": "T1"}})";

// Declares `<name>.replies` and waits until tollgate has declared `<name>.requests`.
bool ready(AmqpClient& c, const std::string& name) {
  if (!c.declare(name + ".replies")) return false;
  for (int i = 0; i < 50; ++i) {
    if (c.count(name + ".requests") >= 0) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

// Publishes `n` requests to `<name>.requests`: message ids `<name>-<i>`,
// correlation ids `<i>`; true once the broker confirmed them all.
bool publish_numbered(AmqpClient& c, const std::string& name, int n) {
  for (int i = 0; i < n; ++i) {
    if (!c.publish(name + ".requests", kRequest, name + "-" + std::to_string(i), name + ".replies", std::to_string(i))) {
      return false;
    }
  }
  return c.confirmed(120s);
}

// What a failing test needs to tell where its messages went: the queues, the
// gateway's queue metrics and whether it still runs, its log and the broker's.
std::string where_they_went(AmqpClient& c, Gateway& gw, const std::string& name, RabbitServer& broker) {
  std::string out = "\n" + name + ".requests holds " + std::to_string(c.count(name + ".requests")) + ", " + name +
                    ".requests.dead " + std::to_string(c.count(name + ".requests.dead")) + ", " + name + ".replies " +
                    std::to_string(c.count(name + ".replies")) + "\ntollgate " +
                    (gw.process().running() ? "runs" : "has exited") + "; its queue metrics:\n";
  if (gw.process().running()) {
    std::istringstream lines(metrics_of(gw));
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("tollgate_queue_", 0) == 0) out += line + "\n";
    }
  }
  return out + "its log:\n" + gw.process().logs() + "\nthe broker's log:\n" + broker.log_tail();
}

TEST_F(QueueMode, ARequestIsAnsweredOnItsReplyQueueLikeTheHttpApi) {
  Sim sim;
  Gateway gw(config("basic.requests", {&sim}));
  ASSERT_TRUE(gw.started()) << gw.process().stderr_text();
  AmqpClient client(broker_->port());
  ASSERT_TRUE(ready(client, "basic"));
  ASSERT_TRUE(client.publish("basic.requests", kRequest, "m-1", "basic.replies", "c-1"));
  ASSERT_TRUE(client.confirmed()) << client.error() << "\n" << broker_->log_tail();
  auto replies = collect(client, "basic.replies", 1, 20s);
  ASSERT_EQ(replies.count("c-1"), 1u) << where_they_went(client, gw, "basic", *broker_);
  const auto& r = replies["c-1"].as_object();
  EXPECT_EQ(r.at("status"), "succeeded");
  EXPECT_EQ(r.at("provider"), "p0");
  EXPECT_FALSE(r.at("result").at("message_id").as_string().empty());
  EXPECT_EQ(r.at("attempts").as_array().size(), 1u);
  EXPECT_EQ(await_metric(gw, "tollgate_queue_requests_total", {"queue=\"basic.requests\"", "result=\"replied\""}, 1),
            1);
  EXPECT_EQ(metric_value(metrics_of(gw), "tollgate_queue_connected", {}), 1);
  const json::value overview = gw.admin("GET", "/admin/overview").json();
  EXPECT_EQ(overview.at("queues").at("connected"), true) << json::serialize(overview);
}

TEST_F(QueueMode, ARepeatedMessageIdIsAnsweredAgainWithoutASecondSend) {
  Sim sim;
  Gateway gw(config("dup.requests", {&sim}));
  ASSERT_TRUE(gw.started()) << gw.process().stderr_text();
  AmqpClient client(broker_->port());
  ASSERT_TRUE(ready(client, "dup"));
  ASSERT_TRUE(client.publish("dup.requests", kRequest, "order-7", "dup.replies", "first"));
  auto first = collect(client, "dup.replies", 1, 20s);
  ASSERT_EQ(first.count("first"), 1u);
  ASSERT_TRUE(client.publish("dup.requests", kRequest, "order-7", "dup.replies", "second"));
  auto second = collect(client, "dup.replies", 1, 20s);
  ASSERT_EQ(second.count("second"), 1u);
  EXPECT_EQ(json::serialize(first["first"]), json::serialize(second["second"])) << "the stored answer, again";
  // Clients that cannot set message_id (amqp-tools) send the key as a header.
  ASSERT_TRUE(client.publish("dup.requests", kRequest, "", "dup.replies", "",
                             {{"idempotency_key", "order-7"}, {"correlation_id", "third"}}));
  auto third = collect(client, "dup.replies", 1, 20s);
  ASSERT_EQ(third.count("third"), 1u);
  EXPECT_EQ(json::serialize(first["first"]), json::serialize(third["third"]));
  EXPECT_EQ(sim.requests(), 1) << "the provider saw the message once";
}

TEST_F(QueueMode, PoisonMessagesGetAnErrorReplyAndGoToTheDeadLetterQueue) {
  Sim sim;
  Gateway gw(config("poison.requests", {&sim}));
  ASSERT_TRUE(gw.started()) << gw.process().stderr_text();
  AmqpClient client(broker_->port());
  ASSERT_TRUE(ready(client, "poison"));
  ASSERT_TRUE(client.publish("poison.requests", "{not json", "p-1", "poison.replies", "bad-json"));
  ASSERT_TRUE(client.publish("poison.requests", R"({"capability": "nope.never", "params": {}})", "p-2",
                             "poison.replies", "unknown"));
  ASSERT_TRUE(client.publish("poison.requests", R"({"capability": "sms.send", "params": {"to": "12345"}})", "p-3",
                             "poison.replies", "invalid"));
  ASSERT_TRUE(client.publish("poison.requests", "[]"));  // no reply_to: dead-lettered all the same
  ASSERT_TRUE(client.confirmed()) << client.error() << "\n" << broker_->log_tail();
  auto replies = collect(client, "poison.replies", 3, 20s);
  ASSERT_EQ(replies.size(), 3u) << where_they_went(client, gw, "poison", *broker_);
  EXPECT_EQ(replies["bad-json"].at("error").at("code"), "invalid_request");
  EXPECT_EQ(replies["unknown"].at("error").at("code"), "not_found");
  EXPECT_EQ(replies["invalid"].at("error").at("code"), "invalid_request");
  long dead = 0;
  for (int i = 0; i < 100 && dead < 4; ++i) {
    dead = client.count("poison.requests.dead");
    if (dead < 4) std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(dead, 4) << "every poison message is in the dead-letter queue";
  EXPECT_EQ(client.count("poison.requests"), 0) << "and none is requeued";
  EXPECT_EQ(sim.requests(), 0);
  EXPECT_EQ(await_metric(gw, "tollgate_queue_requests_total",
                         {"queue=\"poison.requests\"", "result=\"dead_lettered\""}, 4), 4);
}

TEST_F(QueueMode, WithTheProviderDownRequestsBecomeJobsAndTheirResultsArriveAfterRecovery) {
  Sim sim;
  sim.behave(R"({"faults":[{"kind":"http_503"}]})");
  Gateway gw(config("down.requests", {&sim}, 32, "    breaker: {consecutive_failures: 3, open: 500ms}\n"));
  ASSERT_TRUE(gw.started()) << gw.process().stderr_text();
  AmqpClient client(broker_->port());
  ASSERT_TRUE(ready(client, "down"));
  ASSERT_TRUE(publish_numbered(client, "down", 10)) << client.error();
  // Accepted as jobs: acked, no result yet.
  const double accepted =
      await_metric(gw, "tollgate_queue_requests_total", {"queue=\"down.requests\"", "result=\"accepted\""}, 10);
  ASSERT_EQ(accepted, 10) << where_they_went(client, gw, "down", *broker_);
  EXPECT_EQ(client.count("down.replies"), 0);
  sim.reset();
  auto replies = collect(client, "down.replies", 10, 60s);
  std::string got;
  for (const auto& [cid, doc] : replies) got += cid + " " + json::serialize(doc) + "\n";
  ASSERT_EQ(replies.size(), 10u) << got << gw.process().stderr_text();
  for (const auto& [cid, doc] : replies) {
    EXPECT_EQ(doc.at("state"), "succeeded") << cid << ": " << json::serialize(doc);
    EXPECT_EQ(doc.at("async"), true);
  }
}

TEST_F(QueueMode, PrefetchBoundsTheWorkInFlightWhileTheProviderIsSlow) {
  Sim sim;
  sim.behave(R"({"latency": {"dist": "fixed", "ms": 150}})");
  Gateway gw(config("slow.requests", {&sim}, 4));
  ASSERT_TRUE(gw.started()) << gw.process().stderr_text();
  AmqpClient client(broker_->port());
  ASSERT_TRUE(ready(client, "slow"));
  ASSERT_TRUE(publish_numbered(client, "slow", 40)) << client.error();
  double most = 0;
  size_t got = 0;
  std::map<std::string, json::value> replies;
  const auto end = steady_clock::now() + 60s;
  while (got < 40 && steady_clock::now() < end) {
    most = std::max(most, metric_value(metrics_of(gw), "tollgate_queue_in_flight", {"queue=\"slow.requests\""}));
    replies = collect(client, "slow.replies", 40, 10ms, std::move(replies));
    got = replies.size();
  }
  EXPECT_EQ(got, 40u) << where_they_went(client, gw, "slow", *broker_);
  EXPECT_LE(most, 4) << "never more requests in flight than the prefetch";
  EXPECT_GE(most, 2) << "and the prefetch is used";
}

// The broker restarted while 10,000 requests flow: every request answered, none
// sent to the provider twice (the sim counts repeated dedupe refs).
TEST_F(QueueMode, TenThousandRequestsThroughABrokerRestart) {
  constexpr int kN = 10000;
  Sim sim;
  Gateway gw(config("bulk.requests", {&sim}, 64));
  ASSERT_TRUE(gw.started()) << gw.process().stderr_text();
  AmqpClient client(broker_->port());
  ASSERT_TRUE(ready(client, "bulk"));
  ASSERT_TRUE(publish_numbered(client, "bulk", kN)) << client.error() << "\n" << broker_->log_tail();
  auto replies = collect(client, "bulk.replies", kN / 3, 120s);
  ASSERT_GE(replies.size(), size_t{kN / 3}) << where_they_went(client, gw, "bulk", *broker_);
  broker_->stop();
  ASSERT_TRUE(broker_->start()) << broker_->error();
  std::cout << "rabbitmq-server restarted in " << broker_->last_start_s() << " s" << std::endl;
  AmqpClient again(broker_->port());
  replies = collect(again, "bulk.replies", kN, 300s, std::move(replies));
  EXPECT_EQ(replies.size(), size_t{kN}) << where_they_went(again, gw, "bulk", *broker_);
  for (const auto& [cid, doc] : replies) {
    if (!doc.as_object().contains("status") || doc.at("status") != "succeeded") {
      ADD_FAILURE() << cid << ": " << json::serialize(doc);
      break;
    }
  }
  EXPECT_EQ(sim.stats().at("refs_repeated").as_int64(), 0) << "no request reached the provider twice";
  EXPECT_EQ(sim.requests(), kN);
}

// tollgate killed (SIGKILL) mid-stream: after the restart every request is
// answered, and none reached the provider twice.
TEST_F(QueueMode, EveryRequestIsAnsweredAfterACrash) {
  constexpr int kN = 2000;
  Sim sim;
  Gateway gw(config("crash.requests", {&sim}, 64));
  ASSERT_TRUE(gw.started()) << gw.process().stderr_text();
  AmqpClient client(broker_->port());
  ASSERT_TRUE(ready(client, "crash"));
  ASSERT_TRUE(publish_numbered(client, "crash", kN)) << client.error();
  auto replies = collect(client, "crash.replies", kN / 4, 120s);
  gw.crash();
  ASSERT_TRUE(gw.restart());
  replies = collect(client, "crash.replies", kN, 300s, std::move(replies));
  EXPECT_EQ(replies.size(), size_t{kN}) << where_they_went(client, gw, "crash", *broker_);
  int unknown = 0;
  for (const auto& [cid, doc] : replies) {
    const auto* err = doc.as_object().if_contains("error");
    if (err && err->at("code") == "outcome_unknown") {
      ++unknown;  // cut off mid-send by the kill: said so, not repeated
    } else if (const auto* st = doc.as_object().if_contains("status"); !st || *st != "succeeded") {
      ADD_FAILURE() << cid << ": " << json::serialize(doc);
    }
  }
  std::cout << unknown << " of " << kN << " answered outcome_unknown (in flight at the kill)" << std::endl;
  EXPECT_EQ(sim.stats().at("refs_repeated").as_int64(), 0) << "no request reached the provider twice";
  EXPECT_LE(sim.requests(), kN);
}

}  // namespace
}  // namespace tollgate::testing
