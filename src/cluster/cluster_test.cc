// Shared limits and cluster events against a real Redis (started once for this
// binary): two SharedLimits stand for two instances.
#include "cluster/cluster.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "core/blocking.h"
#include "core/random.h"
#include "tests/support/servers.h"

namespace tollgate::cluster {
namespace {

namespace asio = boost::asio;
using namespace std::chrono;

testing::RedisServer& server() {
  static testing::RedisServer redis;
  return redis;
}

template <typename T>
T run(asio::awaitable<T> a) {
  return run_blocking(std::move(a));  // core/blocking.h: why not a local context
}

ClusterOptions options(const std::string& instance) {
  ClusterOptions o;
  o.redis.port = static_cast<std::uint16_t>(server().port());
  o.redis.timeout = Millis(200);
  o.prefix = "t" + new_nonce().substr(0, 6) + ":";
  o.instance = instance;
  return o;
}

void wait_connected(Cluster& c) {
  for (int i = 0; i < 200 && !c.connected(); ++i) std::this_thread::sleep_for(milliseconds(10));
  ASSERT_TRUE(c.connected());
}

SharedLimit rate(double rps, int burst) {
  SharedLimit l;
  l.kind = SharedLimit::Kind::kRate;
  l.key = "rate:acme";
  l.interval_us = static_cast<std::int64_t>(1e6 / rps);
  l.tolerance_us = l.interval_us * (burst - 1);
  return l;
}

TEST(SharedLimits, ARateLimitHoldsAcrossInstances) {
  ASSERT_TRUE(server().ok());
  auto o = options("a");
  Cluster a(o);
  o.instance = "b";
  Cluster b(o);  // the same prefix: the same gateway
  wait_connected(a);
  wait_connected(b);
  // 20 per second with a burst of 5: within one tight loop, 5 pass in all.
  int granted = 0;
  for (int i = 0; i < 20; ++i) {
    auto g = run((i % 2 ? a : b).limits().acquire({rate(20, 5)}, Millis(1000)));
    ASSERT_TRUE(g) << g.error().message << " " << g.error().detail;
    granted += g->granted;
    if (!g->granted) {
      EXPECT_GT(g->wait.count(), 0);
    }
  }
  EXPECT_GE(granted, 5);
  EXPECT_LE(granted, 6);  // one more if an emission interval passed during the loop
}

TEST(SharedLimits, AllLimitsOfAnAdmissionAreTakenTogetherOrNotAtAll) {
  ASSERT_TRUE(server().ok());
  Cluster a(options("a"));
  wait_connected(a);
  SharedLimit slots;
  slots.kind = SharedLimit::Kind::kConcurrency;
  slots.key = "slots:acme";
  slots.max = 2;
  SharedLimit quota;
  quota.kind = SharedLimit::Kind::kQuota;
  quota.key = "quota:acme:day:2026-11-30";
  quota.max = 3;
  quota.ttl_s = 3600;
  std::vector<Grant> held;
  for (int i = 0; i < 2; ++i) {
    auto g = run(a.limits().acquire({slots, quota}, Millis(5000)));
    ASSERT_TRUE(g && g->granted);
    EXPECT_EQ(g->quota_used, (std::vector<std::int64_t>{-1, i + 1})) << "the quota's count after the grant";
    held.push_back(*g);
  }
  auto full = run(a.limits().acquire({quota, slots}, Millis(5000)));
  ASSERT_TRUE(full);
  EXPECT_FALSE(full->granted);
  EXPECT_EQ(full->denied_by, 1) << "the concurrency limit said no";
  EXPECT_EQ(full->quota_used, (std::vector<std::int64_t>{2, -1})) << "read, not taken";
  // Released without reaching the provider: the slot and the quota unit come back.
  a.limits().release(held[0], /*delivered=*/false);
  a.limits().release(held[1], /*delivered=*/true);
  std::this_thread::sleep_for(milliseconds(100));
  auto again = run(a.limits().acquire({slots, quota}, Millis(5000)));
  ASSERT_TRUE(again && again->granted);  // quota: 2 used of 3
  ASSERT_TRUE(run(a.limits().acquire({quota}, Millis(5000)))->granted);  // 3 of 3
  auto quota_out = run(a.limits().acquire({quota}, Millis(5000)));
  ASSERT_TRUE(quota_out);
  EXPECT_FALSE(quota_out->granted) << "the quota was 3";
  EXPECT_EQ(quota_out->quota_used, std::vector<std::int64_t>{3});
}

TEST(SharedLimits, TheSlotsOfADeadInstanceFreeThemselves) {
  ASSERT_TRUE(server().ok());
  Cluster a(options("a"));
  wait_connected(a);
  SharedLimit slots;
  slots.kind = SharedLimit::Kind::kConcurrency;
  slots.key = "slots:zeta";
  slots.max = 1;
  ASSERT_TRUE(run(a.limits().acquire({slots}, Millis(200)))->granted);  // never released
  EXPECT_FALSE(run(a.limits().acquire({slots}, Millis(200)))->granted);
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_TRUE(run(a.limits().acquire({slots}, Millis(200)))->granted);
}

TEST(SharedLimits, WithRedisGoneAdmissionsFailFastThenRecover) {
  testing::RedisServer own;  // this test kills it
  ASSERT_TRUE(own.ok());
  auto o = options("a");
  o.redis.port = static_cast<std::uint16_t>(own.port());
  Cluster a(o);
  wait_connected(a);
  ASSERT_TRUE(run(a.limits().acquire({rate(1000, 10)}, Millis(1000)))->granted);
  own.kill_hard();
  for (int i = 0; i < 5; ++i) {
    auto g = run(a.limits().acquire({rate(1000, 10)}, Millis(1000)));
    ASSERT_FALSE(g);
    EXPECT_EQ(g.error().cls, ErrorClass::kUnavailable);
  }
  EXPECT_FALSE(a.limits().healthy()) << "the breaker did not open";
  // While open, admissions do not even try Redis (so none waits out a timeout):
  // at most the one probe a second gets through.
  const auto tried_before = a.limits().failures();
  for (int i = 0; i < 100; ++i) (void)run(a.limits().acquire({rate(1000, 10)}, Millis(1000)));
  EXPECT_LE(a.limits().failures() - tried_before, 2u) << "admissions went to Redis while its breaker was open";
  ASSERT_TRUE(own.start());
  bool recovered = false;
  for (int i = 0; i < 100 && !recovered; ++i) {
    auto g = run(a.limits().acquire({rate(1000, 10)}, Millis(1000)));
    recovered = g && g->granted;
    if (!recovered) std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_TRUE(recovered);
  EXPECT_TRUE(a.limits().healthy());
}

TEST(ClusterEvents, AnotherInstanceHearsABreakerOpenAndDisablesPersist) {
  ASSERT_TRUE(server().ok());
  auto o = options("a");
  Cluster a(o);
  o.instance = "b";
  Cluster b(o);
  wait_connected(a);
  wait_connected(b);
  std::atomic<int> heard{0};
  std::string provider;
  std::mutex mu;
  b.on_event([&](const ClusterEvent& e) {
    if (e.kind != ClusterEvent::Kind::kBreakerOpen) return;
    std::lock_guard lock(mu);
    provider = e.provider + "/" + e.capability + "/" + std::to_string(e.open_for.count()) + "/" + e.from;
    ++heard;
  });
  std::this_thread::sleep_for(milliseconds(200));  // subscribed
  a.publish(ClusterEvent{ClusterEvent::Kind::kBreakerOpen, "acme", "sms.send", Millis(2000)});
  for (int i = 0; i < 100 && heard == 0; ++i) std::this_thread::sleep_for(milliseconds(10));
  ASSERT_EQ(heard, 1);
  EXPECT_EQ(provider, "acme/sms.send/2000/a");
  ASSERT_TRUE(run(a.set_disabled("zeta", true)));
  auto disabled = run(b.disabled_providers());
  ASSERT_TRUE(disabled);
  EXPECT_EQ(*disabled, std::vector<std::string>{"zeta"});
  Result<std::vector<InstanceInfo>> instances = std::vector<InstanceInfo>{};
  for (int i = 0; i < 100 && instances && instances->size() < 2; ++i) {
    instances = run(a.instances());
    std::this_thread::sleep_for(milliseconds(20));
  }
  ASSERT_TRUE(instances);
  EXPECT_EQ(instances->size(), 2u);
}

}  // namespace
}  // namespace tollgate::cluster
