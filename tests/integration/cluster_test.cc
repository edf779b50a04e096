// Several instances, one gateway: three tollgate processes sharing a real
// PostgreSQL store and a real Redis (each started once for this binary, each
// test on a fresh database and key prefix), asserting what callers saw and what
// each simulated provider received.
#include <gtest/gtest.h>

#include <signal.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "tests/integration/config_builder.h"
#include "tests/integration/harness.h"
#include "tests/support/servers.h"

namespace tollgate::testing {
namespace {

using namespace std::chrono;

PgServer& pg() {
  static PgServer server;
  return server;
}
RedisServer& redis() {
  static RedisServer server;
  return server;
}

struct ClusterSpec {
  std::string acme_extra;  // YAML under providers.acme (4 spaces)
  std::string capability_extra;
  std::string jobs_extra;
  std::string shared_extra;
  std::string redis_url;   // default: the binary's Redis
  std::string top_extra;   // top-level YAML sections (inbound:)
  bool message_id = false; // acme's response.message_id (events)
};

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(pg().ok()) << pg().error();
    ASSERT_TRUE(redis().ok());
    db_ = pg().fresh_database();
    prefix_ = "c" + std::to_string(++counter_) + "-" + std::to_string(::getpid()) + ":";
  }

  std::string config(const ClusterSpec& c) {
    ProviderSpec acme{"acme", "json", a_.url()}, zeta{"zeta", "json", b_.url()};
    acme.extra = c.acme_extra;
    acme.message_id = c.message_id;
    ConfigSpec spec{{acme, zeta}};
    spec.capability_extra = c.capability_extra;
    spec.top_extra = c.top_extra;
    return config_yaml(spec) + "store:\n  driver: postgres\n  url: " + db_ + "\nshared:\n  redis: {url: " +
           (c.redis_url.empty() ? redis().url() : c.redis_url) + ", timeout: 100ms}\n  prefix: \"" + prefix_ +
           "\"\n  expected_instances: 3\n" + c.shared_extra + "jobs:\n  poll_interval: 50ms\n  base_backoff: 100ms\n" +
           "  max_backoff: 400ms\n" + c.jobs_extra;
  }

  void start(const ClusterSpec& c, int n = 3) {
    const std::string yaml = config(c);
    for (int i = 0; i < n; ++i) {
      gw_.push_back(std::make_unique<Gateway>(yaml));
      ASSERT_TRUE(gw_.back()->started()) << gw_.back()->process().stderr_text();
    }
  }

  // Every instance driven at once by `callers` back-to-back callers until each
  // has finished `per_instance` calls (or `timeout` passed: finished is false).
  struct Driven {
    bool finished = true;
    double elapsed_s = 0;  // of the first instance's load
    std::vector<CallRecord> records;
  };
  Driven drive_all(int callers, size_t per_instance, seconds timeout) {
    std::vector<std::unique_ptr<Load>> loads;
    for (auto& g : gw_) {
      loads.push_back(std::make_unique<Load>(g->port(), callers, kSmsBody, std::map<std::string, std::string>{},
                                             milliseconds(0)));
    }
    Driven d;
    for (auto& l : loads) d.finished = l->wait_for(per_instance, timeout) && d.finished;
    d.elapsed_s = loads[0]->elapsed_s();
    for (auto& l : loads) {
      l->stop();
      auto r = l->records();
      d.records.insert(d.records.end(), r.begin(), r.end());
    }
    return d;
  }

  std::string route_state(Gateway& gw, const std::string& provider) {
    auto r = gw.route(provider);
    return std::string(r["breaker"].as_object()["state"].as_string());
  }

  Sim a_, b_;
  std::vector<std::unique_ptr<Gateway>> gw_;
  std::string db_, prefix_;
  static inline int counter_ = 0;
};

struct Tally {
  int calls = 0, ok = 0, other = 0;
};

Tally tally(const std::vector<CallRecord>& recs) {
  Tally t;
  for (const auto& r : recs) {
    ++t.calls;
    (r.status == 200 ? t.ok : t.other) += 1;
  }
  return t;
}

// Provider limit 50/s (no burst), three instances offered far more: the
// provider sees at most 50 in any second, the rest is served by the next one.
TEST_F(ClusterTest, AProvidersRateLimitHoldsAcrossInstances) {
  ASSERT_NO_FATAL_FAILURE(start(ClusterSpec{.acme_extra = "    limits: {rps: 50, burst: 1}\n"}));
  const auto run = drive_all(3, 600, seconds(60));
  ASSERT_TRUE(run.finished);
  const double elapsed = run.elapsed_s;
  const auto t = tally(run.records);
  EXPECT_EQ(t.ok, t.calls) << "callers saw errors";
  const auto stats = a_.stats();
  const auto peak = stats.at("max_in_any_second").as_int64();
  EXPECT_LE(peak, 52) << "acme received " << peak << " requests within one second (limit 50/s)";
  // Not starved either: most of its allowance was used.
  EXPECT_GE(static_cast<double>(a_.requests()), 0.5 * 50 * elapsed) << "acme was barely used in " << elapsed << " s";
  EXPECT_GT(b_.requests(), a_.requests()) << "the overflow did not go to zeta";
}

// Quota 1,000 for the day, three instances each driven by four concurrent
// callers until 1,500 calls: exactly 1,000 reach acme, the rest go to zeta.
// (on_shared_loss: deny, so that one Redis answer later than its timeout on a
// busy machine refuses acme for that call rather than spending a local share:
// the local fallback has a test of its own below.)
TEST_F(ClusterTest, ADailyQuotaIsSharedAcrossInstances) {
  ASSERT_NO_FATAL_FAILURE(start(ClusterSpec{.acme_extra = "    limits: {daily_quota: 1000, on_shared_loss: deny}\n"}));
  const auto run = drive_all(4, 500, seconds(120));
  ASSERT_TRUE(run.finished);
  const auto t = tally(run.records);
  EXPECT_EQ(t.ok, t.calls) << "callers saw errors";
  EXPECT_EQ(a_.requests(), 1000) << "the quota was 1,000 for the whole cluster";
  EXPECT_EQ(a_.requests() + b_.requests(), t.calls);
  Response view;
  for (int i = 0; i < 100; ++i) {  // until every instance's heartbeat has landed
    view = http(gw_[1]->admin_port(), "GET", "/admin/cluster", {}, {{"Authorization", "Bearer admin-token-for-tests"}});
    if (view.status == 200 && view.json().at("instances").as_array().size() == 3) break;
    std::this_thread::sleep_for(milliseconds(50));
  }
  ASSERT_EQ(view.status, 200) << view.body;
  const auto doc = view.json();
  EXPECT_EQ(doc.at("instances").as_array().size(), 3u) << view.body;
  ASSERT_EQ(doc.at("quotas").as_array().size(), 1u) << view.body;
  EXPECT_EQ(doc.at("quotas").at(0).at("used").as_int64(), 1000);
}

TEST_F(ClusterTest, TheSameIdempotencyKeyOnTwoInstancesSendsOnce) {
  a_.behave(R"({"latency":{"dist":"fixed","ms":400}})");
  ASSERT_NO_FATAL_FAILURE(start(ClusterSpec{}, 2));
  Response r1, r2;
  std::thread t1([&] { r1 = gw_[0]->call("/v1/sms/send", kSmsBody, {{"Idempotency-Key", "order-77"}}); });
  std::thread t2([&] { r2 = gw_[1]->call("/v1/sms/send", kSmsBody, {{"Idempotency-Key", "order-77"}}); });
  t1.join();
  t2.join();
  EXPECT_EQ(a_.requests() + b_.requests(), 1) << r1.body << "\n" << r2.body;
  const bool one_ok = r1.status == 200 || r2.status == 200;
  EXPECT_TRUE(one_ok);
  for (const auto* r : {&r1, &r2}) EXPECT_TRUE(r->status == 200 || r->status == 409) << r->body;
  // Afterwards, either instance replays the one answer.
  auto again = gw_[1]->call("/v1/sms/send", kSmsBody, {{"Idempotency-Key", "order-77"}});
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.header("idempotent-replayed"), "true");
  EXPECT_EQ(a_.requests() + b_.requests(), 1);
}

// SIGKILL one instance while jobs run everywhere: every accepted call finishes
// through the others, each sent at most once per provider, none by both.
TEST_F(ClusterTest, JobsOfAKilledInstanceFinishOnTheOthers) {
  a_.behave(R"({"latency":{"dist":"uniform","min_ms":20,"max_ms":120}})");
  ASSERT_NO_FATAL_FAILURE(start(ClusterSpec{.capability_extra = "    async: {allow: true, fallback: true}\n",
                                            .jobs_extra = "  lease: 4s\n  concurrency: 16\n  drain_rps: 500\n"}));
  std::mutex mu;
  std::set<std::string> accepted;
  std::atomic<bool> stop{false};
  std::vector<std::thread> senders;
  for (int t = 0; t < 3; ++t) {
    senders.emplace_back([&, t] {
      for (int i = 0; !stop; ++i) {
        Gateway& g = *gw_[static_cast<size_t>((t + i) % 3)];
        if (!g.process().running()) continue;
        auto r = http(g.port(), "POST", "/v1/sms/send", kSmsBody,
                      {{"Authorization", "Bearer test-key"}, {"Prefer", "respond-async"}}, seconds(2));
        if (r.status == 202) {
          std::lock_guard lock(mu);
          accepted.insert(std::string(r.json().at("id").as_string()));
        }
      }
    });
  }
  auto accepted_so_far = [&] {
    std::lock_guard lock(mu);
    return accepted.size();
  };
  while (accepted_so_far() < 150) std::this_thread::sleep_for(milliseconds(20));
  gw_[0]->crash();
  while (accepted_so_far() < 300) std::this_thread::sleep_for(milliseconds(20));
  stop = true;
  for (auto& t : senders) t.join();
  for (const auto& id : accepted) {
    std::string state;
    for (int i = 0; i < 600 && state != "succeeded" && state != "failed"; ++i) {
      auto s = http(gw_[1 + (i % 2)]->port(), "GET", "/v1/requests/" + id, {}, {{"Authorization", "Bearer test-key"}});
      if (s.status == 200) state = std::string(s.json().at("state").as_string());
      if (state != "succeeded" && state != "failed") std::this_thread::sleep_for(milliseconds(20));
    }
    ASSERT_EQ(state, "succeeded") << id;
  }
  auto delivered = [](Sim& s) {
    std::set<std::string> out;
    const auto doc = http(s.control_port(), "GET", "/_sim/delivered").json();
    for (const auto& v : doc.at("delivered").as_array()) out.insert(std::string(v.as_string()));
    return out;
  };
  const auto by_a = delivered(a_), by_b = delivered(b_);
  for (const auto& id : by_a) EXPECT_EQ(by_b.count(id), 0u) << id << " was delivered by both providers";
  for (const auto& id : accepted) EXPECT_EQ(by_a.count(id) + by_b.count(id), 1u) << id;
  EXPECT_EQ(static_cast<std::int64_t>(by_a.size()), a_.stats().at("delivered").as_int64())
      << "acme delivered some call twice";
}

// One instance finds acme dead: the others stop sending it new calls before they
// have tried it themselves.
TEST_F(ClusterTest, AProviderOneInstanceFindsDeadIsLeftByTheOthers) {
  a_.behave(R"({"faults":[{"kind":"http_503"}]})");
  ASSERT_NO_FATAL_FAILURE(start(ClusterSpec{.acme_extra = "    breaker: {min_calls: 5, consecutive_failures: 3, open: 5s}\n"}));
  for (int i = 0; i < 10 && route_state(*gw_[0], "acme") == "closed"; ++i) {
    EXPECT_EQ(gw_[0]->call("/v1/sms/send", kSmsBody).status, 200);
  }
  ASSERT_EQ(route_state(*gw_[0], "acme"), "open");
  const auto acme_before = a_.requests();
  for (size_t g = 1; g < 3; ++g) {
    std::string state;
    for (int i = 0; i < 100 && state != "open"; ++i) {
      state = route_state(*gw_[g], "acme");
      if (state != "open") std::this_thread::sleep_for(milliseconds(10));
    }
    EXPECT_EQ(state, "open") << "instance " << g << " did not hear of acme's breaker";
    for (int i = 0; i < 5; ++i) {
      auto r = gw_[g]->call("/v1/sms/send", kSmsBody);
      EXPECT_EQ(r.status, 200);
      EXPECT_EQ(r.json().at("provider").as_string(), "zeta");
    }
  }
  EXPECT_EQ(a_.requests(), acme_before) << "the others kept sending to acme";
}

TEST_F(ClusterTest, ADisableOnOneInstanceAppliesToAllAndSurvivesARestart) {
  ASSERT_NO_FATAL_FAILURE(start(ClusterSpec{}));
  auto r = http(gw_[0]->admin_port(), "POST", "/admin/providers/acme/disable", {},
                {{"Authorization", "Bearer admin-token-for-tests"}});
  ASSERT_EQ(r.status, 200) << r.body;
  for (size_t g = 1; g < 3; ++g) {
    bool disabled = false;
    for (int i = 0; i < 100 && !disabled; ++i) {
      disabled = gw_[g]->route("acme").empty() ? false
                                                : http(gw_[g]->admin_port(), "GET", "/admin/providers/acme", {},
                                                       {{"Authorization", "Bearer admin-token-for-tests"}})
                                                      .json()
                                                      .at("disabled")
                                                      .as_bool();
      if (!disabled) std::this_thread::sleep_for(milliseconds(10));
    }
    EXPECT_TRUE(disabled) << "instance " << g;
  }
  ASSERT_TRUE(gw_[2]->restart());
  for (int i = 0; i < 5; ++i) {
    auto c = gw_[2]->call("/v1/sms/send", kSmsBody);
    EXPECT_EQ(c.status, 200);
    EXPECT_EQ(c.json().at("provider").as_string(), "zeta") << "a restarted instance forgot the disable";
  }
  EXPECT_EQ(a_.requests(), 0);
}

// Redis away: calls go on under each instance's share of the limit; shared
// limits resume when it is back.
TEST_F(ClusterTest, WithRedisGoneLimitsFallBackToLocalSharesAndRecover) {
  RedisServer own;  // this test kills it
  ASSERT_TRUE(own.ok());
  ClusterSpec spec{.acme_extra = "    limits: {rps: 30, burst: 1}\n"};
  spec.redis_url = own.url();
  ASSERT_NO_FATAL_FAILURE(start(spec));
  auto up = [&](Gateway& g) { return metric_value(metrics_of(g), "tollgate_shared_limits_up", {}); };
  for (int i = 0; i < 50 && up(*gw_[0]) != 1; ++i) std::this_thread::sleep_for(milliseconds(20));
  ASSERT_EQ(up(*gw_[0]), 1);
  own.kill_hard();
  Load load(gw_[0]->port(), 3, kSmsBody, {}, milliseconds(0));
  ASSERT_TRUE(load.wait_for(300, seconds(60)));
  load.stop();
  const auto t = tally(load.records());
  EXPECT_EQ(t.ok, t.calls) << "callers saw errors while Redis was away";
  EXPECT_EQ(up(*gw_[0]), 0);
  // One instance alone enforced 30 / 3 = 10 per second on acme.
  EXPECT_LE(a_.stats().at("max_in_any_second").as_int64(), 11);
  ASSERT_TRUE(own.start());
  double back = 0;
  for (int i = 0; i < 200 && back != 1; ++i) {
    (void)gw_[0]->call("/v1/sms/send", kSmsBody);
    back = up(*gw_[0]);
    if (back != 1) std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_EQ(back, 1) << "shared limits did not resume";
}

// A shared quota used up, then Redis gone: each instance's local share is
// what the cluster left of it (nothing), not a fresh third of the quota.
TEST_F(ClusterTest, AQuotaUsedUpStaysUsedUpWhenRedisGoes) {
  RedisServer own;  // this test kills it
  ASSERT_TRUE(own.ok());
  ClusterSpec spec{.acme_extra = "    limits: {daily_quota: 30}\n"};
  spec.redis_url = own.url();
  ASSERT_NO_FATAL_FAILURE(start(spec));
  for (int i = 0; i < 45; ++i) EXPECT_EQ(gw_[static_cast<size_t>(i % 3)]->call("/v1/sms/send", kSmsBody).status, 200);
  ASSERT_EQ(a_.requests(), 30);
  own.kill_hard();
  for (int i = 0; i < 45; ++i) EXPECT_EQ(gw_[static_cast<size_t>(i % 3)]->call("/v1/sms/send", kSmsBody).status, 200);
  EXPECT_EQ(a_.requests(), 30) << "an instance cut off from Redis sent beyond the used-up quota";
  EXPECT_EQ(b_.requests(), 60);
  EXPECT_EQ(metric_value(metrics_of(*gw_[0]), "tollgate_shared_limits_up", {}), 0) << "Redis was not noticed gone";
}

// PostgreSQL restarted under async load: accepts pause (clear 503s), nothing
// accepted is lost, accepts resume.
TEST_F(ClusterTest, APostgresRestartLosesNothingAccepted) {
  ASSERT_NO_FATAL_FAILURE(
      start(ClusterSpec{.capability_extra = "    async: {allow: true, fallback: true}\n", .jobs_extra = "  lease: 4s\n"}, 2));
  std::mutex mu;
  std::set<std::string> accepted;
  std::atomic<int> unavailable{0}, other{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> senders;
  for (int t = 0; t < 2; ++t) {
    senders.emplace_back([&, t] {
      while (!stop) {
        auto r = http(gw_[static_cast<size_t>(t)]->port(), "POST", "/v1/sms/send", kSmsBody,
                      {{"Authorization", "Bearer test-key"}, {"Prefer", "respond-async"}}, seconds(5));
        std::lock_guard lock(mu);
        if (r.status == 202) {
          accepted.insert(std::string(r.json().at("id").as_string()));
        } else if (r.status == 503) {
          ++unavailable;
          EXPECT_TRUE(r.json().at("error").at("retryable").as_bool());
        } else {
          ++other;
        }
      }
    });
  }
  auto accepted_so_far = [&] {
    std::lock_guard lock(mu);
    return accepted.size();
  };
  while (accepted_so_far() < 50) std::this_thread::sleep_for(milliseconds(10));
  pg().stop();
  std::this_thread::sleep_for(milliseconds(500));
  ASSERT_TRUE(pg().start());
  const auto after_restart = accepted_so_far();
  for (int i = 0; i < 500 && accepted_so_far() < after_restart + 50; ++i) std::this_thread::sleep_for(milliseconds(20));
  stop = true;
  for (auto& t : senders) t.join();
  EXPECT_GE(accepted.size(), after_restart + 50) << "accepts did not resume";
  EXPECT_EQ(other, 0);
  for (const auto& id : accepted) {
    std::string state;
    for (int i = 0; i < 500 && state != "succeeded"; ++i) {
      auto s = http(gw_[1]->port(), "GET", "/v1/requests/" + id, {}, {{"Authorization", "Bearer test-key"}});
      if (s.status == 200) state = std::string(s.json().at("state").as_string());
      if (state != "succeeded") std::this_thread::sleep_for(milliseconds(20));
    }
    ASSERT_EQ(state, "succeeded") << id << " was accepted and then lost";
  }
}

// A receipt may reach any instance: it lands in the shared store and joins its
// call, whichever instance made it; every instance computes the same rate.
TEST_F(ClusterTest, AReceiptArrivingAtAnotherInstanceJoinsItsCall) {
  ClusterSpec c;
  c.message_id = true;
  c.acme_extra =
      "    events:\n      verify: {type: token, secret: cluster-events-token-0123}\n"
      "      map:\n        message_id: /biz_id\n        kind: {field: /status, map: {DELIVERED: delivered, UNDELIVERED: undelivered}}\n";
  c.top_extra = "inbound:\n  listen: 127.0.0.1:0\n  receipt_due: 200ms\n  delivery_window: 60s\n"
                "  min_delivery_samples: 5\n  delivery_interval: 100ms\n";
  ASSERT_NO_FATAL_FAILURE(start(c, 2));
  a_.events(R"({"json": {"url": "http://127.0.0.1:)" + std::to_string(gw_[1]->inbound_port()) +
            R"(/events/acme/status/cluster-events-token-0123", "delay_ms": 10}})");
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) {
    auto r = gw_[0]->call("/v1/sms/send", kSmsBody);
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_EQ(r.json().at("provider"), "acme");
    ids.push_back(std::string(r.json().at("id").as_string()));
  }
  for (const auto& id : ids) {
    bool seen = false;
    for (int i = 0; i < 200 && !seen; ++i) {
      auto st = http(gw_[0]->port(), "GET", "/v1/requests/" + id, {}, {{"Authorization", std::string("Bearer ") + kTestKey}});
      seen = st.status == 200 && st.json().as_object().contains("events") && st.json().at("events").as_array().size() == 1;
      if (!seen) std::this_thread::sleep_for(milliseconds(20));
    }
    EXPECT_TRUE(seen) << id;
  }
  // Both instances see the same, shared delivery rate.
  for (auto& g : gw_) {
    double rate = -1;
    for (int i = 0; i < 200 && rate < 0; ++i) {
      rate = metric_value(metrics_of(*g), "tollgate_delivery_rate", {"provider=\"acme\""});
      if (rate < 0) std::this_thread::sleep_for(milliseconds(20));
    }
    EXPECT_DOUBLE_EQ(rate, 1.0);
  }
}

}  // namespace
}  // namespace tollgate::testing
