// Active health checks through their seams: the engine's live calls and the
// checker share a fake transport and simulated time.
#include "engine/health_check.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "config/loader.h"
#include "core/random.h"
#include "engine/engine.h"
#include "tests/mocks/fake_transport.h"
#include "tests/mocks/sim_time.h"
#include "tests/mocks/test_runtime.h"

namespace tollgate::engine {
namespace {

using testing::FakeTransport;
using testing::Reply;
using testing::SimTime;
using namespace std::chrono;

// alpha first (priority), beta when alpha cannot serve; alpha has a health check.
std::string config(const std::string& check) {
  std::string y = R"(callers:
  - name: shop
    key_sha256: 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae
    capabilities: [sms.send]
capabilities:
  sms.send:
    deadline: 2s
    strategy: priority
    providers: [alpha, beta]
    params:
      to: {type: string, required: true}
providers:
)";
  for (const char* name : {"alpha", "beta"}) {
    y += std::string("  ") + name + ":\n    base_url: http://" + name + ".test/api\n" +
         "    timeouts: {connect: 100ms, attempt: 300ms}\n" +
         "    breaker: {consecutive_failures: 1, open: 1s, max_open: 30s, half_open_probes: 1, slow_start: 10s}\n" +
         (std::string(name) == "alpha" ? check : "") +
         "    operations:\n      sms.send:\n"
         "        request:\n          path: /send\n          body:\n            json:\n"
         "              to: \"{{params.to}}\"\n"
         "        response:\n          success: {status: [200], field: /code, equals: 0}\n"
         "          result: {message_id: /data/id}\n";
  }
  return y;
}

const std::string kCheck =
    "    health_check: {path: \"/status?deep=1\", interval: 200ms, timeout: 100ms, healthy_after: 2, ramp_from: 0.5,\n"
    "                   headers: {X-Token: t0ken}}\n";

class HealthCheck : public ::testing::Test {
 protected:
  void load(const std::string& yaml) {
    runtime_ = testing::test_runtime(yaml, registry_);
    ASSERT_TRUE(runtime_);
  }
  const CapabilityRuntime& cap() { return *runtime_->capability("sms.send"); }
  policy::Breaker& breaker(const std::string& provider) {
    return cap().candidates[static_cast<size_t>(cap().candidate_index(provider))].route->breaker;
  }

  // One live call; the provider that served it.
  std::string call() {
    Call c;
    c.id = new_call_id(1700000000000);
    c.caller = "shop";
    c.capability = "sms.send";
    c.params = boost::json::object{{"to", "+8613800000000"}};
    c.deadline = Deadline::after(time_.now(), seconds(2));
    CallOutcome out;
    bool finished = false;
    const CallRouting routing{};  // the coroutine keeps references: they must outlive the run below
    boost::asio::co_spawn(ctx_, engine_.execute(cap(), c, routing, transport_, out), [&](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
      finished = true;
    });
    time_.run(ctx_);
    return finished && out.ok ? out.provider : "(failed)";
  }

  // One round of the checker; how many checks it sent.
  int check_round() {
    std::optional<int> sent;
    boost::asio::co_spawn(ctx_, checker_.check_due(), [&](std::exception_ptr e, int n) {
      if (e) std::rethrow_exception(e);
      sent = n;
    });
    time_.run(ctx_);
    return sent.value_or(-1);
  }

  int checks_sent() const {
    int n = 0;
    for (const auto& s : transport_.sent()) n += s.request.path == "/api/status";
    return n;
  }
  int live_sent_to_alpha() const {
    int n = 0;
    for (const auto& s : transport_.sent()) n += s.host == "alpha.test" && s.request.path == "/api/send";
    return n;
  }

  boost::asio::io_context ctx_;
  SimTime time_;
  FakeTransport transport_{time_};
  Engine engine_{time_, time_};
  StateRegistry registry_;
  std::shared_ptr<const Runtime> runtime_;
  HealthChecker checker_{time_, time_, transport_, [this] { return runtime_; }};
};

TEST_F(HealthCheck, AClosedProviderIsNeverChecked) {
  load(config(kCheck));
  EXPECT_EQ(call(), "alpha");
  EXPECT_EQ(check_round(), 0);
  time_.advance(seconds(5));
  EXPECT_EQ(check_round(), 0);
  EXPECT_EQ(checks_sent(), 0);
}

TEST_F(HealthCheck, FailingChecksKeepLiveTrafficAwayAndPassingOnesBringItBackAtOnce) {
  load(config(kCheck));
  transport_.script("alpha.test", {Reply::status_code(503)});
  EXPECT_EQ(call(), "beta");  // alpha failed once: its breaker opened
  ASSERT_EQ(breaker("alpha").state(time_.now()), policy::BreakerState::kOpen);

  // alpha is still down: the checks fail, and they are what is sent to it.
  transport_.set_default("alpha.test", Reply::status_code(503));
  EXPECT_EQ(check_round(), 1);
  const auto& check = transport_.sent().back();
  EXPECT_EQ(check.request.method, "GET");
  EXPECT_EQ(check.request.path, "/api/status");
  EXPECT_EQ(check.request.query, "deep=1");
  EXPECT_EQ(check.request.header("X-Token"), "t0ken");
  EXPECT_EQ(check_round(), 0) << "not again before its interval";
  for (int i = 0; i < 10; ++i) {  // 2 s: twice the breaker's usual open time
    time_.advance(milliseconds(200));
    EXPECT_EQ(check_round(), 1);
    EXPECT_EQ(call(), "beta");
  }
  EXPECT_EQ(breaker("alpha").state(time_.now()), policy::BreakerState::kOpen);
  EXPECT_EQ(live_sent_to_alpha(), 1) << "no live probe into a provider whose checks fail";
  EXPECT_EQ(checker_.status("alpha").failures_in_a_row, 11);
  EXPECT_EQ(checker_.status("alpha").last_error, "status 503");

  // alpha is back: two passing checks half-open the breaker, the next call probes and closes it.
  transport_.set_default("alpha.test", Reply::ok());
  time_.advance(milliseconds(200));
  EXPECT_EQ(check_round(), 1);
  EXPECT_EQ(breaker("alpha").state(time_.now()), policy::BreakerState::kOpen) << "healthy_after: 2";
  time_.advance(milliseconds(200));
  EXPECT_EQ(check_round(), 1);
  EXPECT_EQ(breaker("alpha").state(time_.now()), policy::BreakerState::kHalfOpen);
  EXPECT_EQ(call(), "alpha");
  EXPECT_EQ(breaker("alpha").state(time_.now()), policy::BreakerState::kClosed);
  EXPECT_DOUBLE_EQ(breaker("alpha").ramp(time_.now()), 0.5) << "proven: the slow start begins at ramp_from";
  time_.advance(seconds(1));
  EXPECT_EQ(check_round(), 0) << "closed again: no more checks";
}

TEST_F(HealthCheck, AHungCheckFailsAtItsTimeout) {
  load(config(kCheck));
  transport_.script("alpha.test", {Reply::status_code(503)});
  EXPECT_EQ(call(), "beta");
  transport_.set_default("alpha.test", Reply::hangs());
  const SteadyTime before = time_.now();
  EXPECT_EQ(check_round(), 1);
  EXPECT_EQ(time_.now() - before, milliseconds(100));
  EXPECT_EQ(checker_.status("alpha").failures_in_a_row, 1);
  EXPECT_EQ(breaker("alpha").state(time_.now()), policy::BreakerState::kOpen);
}

// A check hung on a hanging provider does not hold back the next one, and its
// late failure does not undo what a newer check found.
TEST_F(HealthCheck, AHungCheckDoesNotHoldBackTheNextOne) {
  load(config("    health_check: {path: /status, interval: 100ms, timeout: 300ms}\n"));
  transport_.script("alpha.test", {Reply::status_code(503)});
  EXPECT_EQ(call(), "beta");
  transport_.script("alpha.test", {Reply::hangs()});
  transport_.set_default("alpha.test", Reply::ok());
  const SteadyTime t0 = time_.now();
  auto round = [&](SteadyTime until) {
    boost::asio::co_spawn(ctx_, checker_.check_due(), [](std::exception_ptr e, int) {
      if (e) std::rethrow_exception(e);
    });
    time_.run(ctx_, until);
  };
  round(t0 + milliseconds(50));  // the first check hangs
  EXPECT_EQ(checks_sent(), 1);
  time_.advance(milliseconds(100));
  round(t0 + milliseconds(150));  // the second one answers while the first still hangs
  EXPECT_EQ(checks_sent(), 2);
  EXPECT_EQ(breaker("alpha").state(time_.now()), policy::BreakerState::kHalfOpen);
  time_.run(ctx_);  // the first one times out now
  EXPECT_EQ(time_.now(), t0 + milliseconds(300));
  EXPECT_EQ(checker_.status("alpha").failures_in_a_row, 0) << "an older verdict than the newest is dropped";
  EXPECT_EQ(checker_.status("alpha").passes_in_a_row, 1);
  EXPECT_EQ(breaker("alpha").state(time_.now()), policy::BreakerState::kHalfOpen);
}

TEST_F(HealthCheck, WithoutAHealthCheckTheOpenTimerStillDecides) {
  load(config(""));
  transport_.script("alpha.test", {Reply::status_code(503)});
  EXPECT_EQ(call(), "beta");
  EXPECT_EQ(check_round(), 0);
  time_.advance(milliseconds(1300));  // past open 1s (with its jitter)
  EXPECT_EQ(breaker("alpha").state(time_.now()), policy::BreakerState::kHalfOpen);
  EXPECT_EQ(call(), "alpha");
  EXPECT_DOUBLE_EQ(breaker("alpha").ramp(time_.now()), 0.1);
}

}  // namespace
}  // namespace tollgate::engine
