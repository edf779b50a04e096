// The attempt loop through its seams: a fake transport with scripted provider
// answers and simulated time. No sockets, no sleeps; every run is the same.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
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

std::string config(bool idempotent, bool dedupe, std::string hedge = "", std::string breaker = "") {
  std::string y = R"(callers:
  - name: shop
    key_sha256: 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae
    capabilities: [sms.send]
capabilities:
  sms.send:
    idempotent: )" + std::string(idempotent ? "true" : "false") + R"(
    deadline: 2s
    retry: {max_attempts: 3, base_backoff: 10ms, max_backoff: 50ms}
    providers: [alpha, beta]
)" + hedge + R"(    params:
      to: {type: string, required: true}
providers:
)";
  for (const char* name : {"alpha", "beta"}) {
    y += std::string("  ") + name + ":\n    base_url: http://" + name + ".test\n" +
         "    timeouts: {connect: 100ms, attempt: 300ms}\n" + breaker +
         "    operations:\n      sms.send:\n        dedupe: " + (dedupe ? "true" : "false") +
         "\n        request:\n          path: /send\n          body:\n            json:\n"
         "              to: \"{{params.to}}\"\n              ref: \"{{call.id}}\"\n"
         "        response:\n          success: {status: [200], field: /code, equals: 0}\n"
         "          result: {message_id: /data/id}\n          error: {code: /code}\n"
         "          errors: {\"1001\": invalid_request}\n";
  }
  return y;
}

class EngineFlow : public ::testing::Test {
 protected:
  void load(const std::string& yaml) {
    runtime_ = testing::test_runtime(yaml, registry_);
    ASSERT_TRUE(runtime_);
  }

  const CapabilityRuntime& cap() { return *runtime_->capability("sms.send"); }
  RouteState& route(const std::string& provider) {
    return *cap().candidates[static_cast<size_t>(cap().candidate_index(provider))].route;
  }

  CallOutcome run(CallRouting routing = {}) {
    Call call;
    call.id = new_call_id(1700000000000);
    call.caller = "shop";
    call.capability = "sms.send";
    call.params = boost::json::object{{"to", "+8613800000000"}};
    call.deadline = Deadline::after(time_.now(), seconds(2));
    CallOutcome out;
    bool finished = false;
    boost::asio::co_spawn(ctx_, engine_.execute(cap(), call, routing, transport_, out), [&](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
      finished = true;
    });
    time_.run(ctx_);
    EXPECT_TRUE(finished) << "the call never finished";
    EXPECT_EQ(time_.waiting(), 0u) << "something the call started is still waiting";
    return finished ? std::move(out) : CallOutcome{};
  }

  boost::asio::io_context ctx_;
  SimTime time_;
  FakeTransport transport_{time_};
  Engine engine_{time_, time_};
  StateRegistry registry_;
  std::shared_ptr<const Runtime> runtime_;
};

TEST_F(EngineFlow, FailsOverToTheNextProviderAtOnce) {
  load(config(false, true));
  transport_.script("alpha.test", {Reply::status_code(503)});
  const auto out = run();
  ASSERT_TRUE(out.ok) << out.error.message;
  EXPECT_EQ(out.provider, "beta");
  ASSERT_EQ(out.attempts.size(), 2u);
  EXPECT_EQ(out.attempts[0].outcome, "unavailable");
}

// Defect 20: after an ambiguous failure on a provider that deduplicates, only that
// provider may see the call again; the standby cannot recognise a repeat.
TEST_F(EngineFlow, AnAmbiguousFailureIsRepeatedOnlyOnTheProviderThatDedupes) {
  load(config(false, true));
  transport_.script("alpha.test", {Reply::hangs(), Reply::ok()});
  const auto out = run();
  ASSERT_TRUE(out.ok) << out.error.message;
  EXPECT_EQ(out.provider, "alpha");
  EXPECT_EQ(transport_.sent_to("beta.test"), 0);
  ASSERT_EQ(transport_.sent().size(), 2u);
  // The same call id both times: the provider can recognise the repeat.
  EXPECT_EQ(transport_.sent()[0].request.body, transport_.sent()[1].request.body);
}

TEST_F(EngineFlow, AProviderThatKeepsHangingLeavesTheCallPinnedToIt) {
  load(config(false, true));
  transport_.set_default("alpha.test", Reply::hangs());
  const auto out = run();
  ASSERT_FALSE(out.ok);
  EXPECT_EQ(transport_.sent_to("beta.test"), 0);
  EXPECT_EQ(out.pinned_provider, "alpha");
  EXPECT_TRUE(out.retry_later);  // the runner may retry it there, with the same id
  EXPECT_TRUE(out.error.ambiguous);
}

TEST_F(EngineFlow, WithoutDedupeAnAmbiguousFailureEndsAsOutcomeUnknown) {
  load(config(false, false));
  transport_.script("alpha.test", {Reply::hangs()});
  const auto out = run();
  ASSERT_FALSE(out.ok);
  EXPECT_EQ(out.error.cls, ErrorClass::kOutcomeUnknown);
  EXPECT_FALSE(out.retry_later);
  EXPECT_EQ(transport_.sent().size(), 1u);
  EXPECT_EQ(out.error.provider_code, "read_timeout");
}

TEST_F(EngineFlow, AnIdempotentCallIsRepeatedAnywhere) {
  load(config(true, false));
  transport_.script("alpha.test", {Reply::hangs()});
  const auto out = run();
  ASSERT_TRUE(out.ok);
  EXPECT_EQ(out.provider, "beta");
}

// Defect 12: a provider whose own error code is "cancelled" is a failing provider,
// not a hedge's loser.
TEST_F(EngineFlow, AProviderCodeCalledCancelledIsAnOrdinaryFailure) {
  load(config(false, true));
  transport_.script("alpha.test", {Reply::status_code(503, R"({"code":"cancelled"})")});
  const auto out = run();
  ASSERT_TRUE(out.ok);
  ASSERT_EQ(out.attempts.size(), 2u);
  EXPECT_EQ(out.attempts[0].outcome, "unavailable");
  EXPECT_EQ(out.attempts[0].provider_code, "cancelled");
  const auto h = route("alpha").health.snapshot(time_.now());
  EXPECT_EQ(h.failures, 1u) << "the failure must count against the provider's health";
}

// Defect 9: a hedge's loser is cancelled and reaped before the call returns;
// nothing it started outlives the call.
TEST_F(EngineFlow, AHedgeReapsItsLoserBeforeReturning) {
  load(config(true, false, "    hedge: {delay: 50ms}\n"));
  transport_.script("alpha.test", {Reply::ok(milliseconds(250))});
  transport_.script("beta.test", {Reply::ok(milliseconds(20))});
  const auto out = run();
  ASSERT_TRUE(out.ok);
  EXPECT_EQ(out.provider, "beta");
  ASSERT_EQ(out.attempts.size(), 2u);
  ASSERT_EQ(transport_.sent().size(), 2u);
  EXPECT_TRUE(transport_.sent()[0].cancelled) << "the slow leg was not cancelled";
  EXPECT_EQ(transport_.sent()[1].at - transport_.sent()[0].at, milliseconds(50));
  // The loser says nothing about alpha's health.
  const auto h = route("alpha").health.snapshot(time_.now());
  EXPECT_EQ(h.failures + h.timeouts, 0u);
  EXPECT_EQ(h.in_flight, 0u);
}

TEST_F(EngineFlow, AHedgeWhoseLegsBothHangEndsByTheDeadlineWithBothReaped) {
  load(config(true, false, "    hedge: {delay: 50ms}\n"));
  transport_.set_default("alpha.test", Reply::hangs());
  transport_.set_default("beta.test", Reply::hangs());
  const SteadyTime start = time_.now();
  const auto out = run();
  ASSERT_FALSE(out.ok);
  EXPECT_LE(time_.now() - start, seconds(2)) << "ran past the caller's deadline";
  for (const auto& s : transport_.sent()) EXPECT_TRUE(s.timed_out || s.cancelled);
}

// Defect 21: a half-open standby that gets no traffic under the priority
// strategy is probed by the next call, so it is proven before a failover needs it.
TEST_F(EngineFlow, AnIdleHalfOpenStandbyIsProbedFirst) {
  load(config(false, true, "",
              "    breaker: {min_calls: 5, consecutive_failures: 3, open: 1s, half_open_probes: 2}\n"));
  // Trip beta's breaker.
  auto& beta = route("beta");
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(beta.breaker.admit(time_.now(), beta.health.snapshot(time_.now())).admitted);
    beta.breaker.on_result(time_.now(), false, policy::Verdict::kFailure, Millis(5), beta.health.snapshot(time_.now()));
  }
  ASSERT_EQ(beta.breaker.state(time_.now()), policy::BreakerState::kOpen);
  time_.advance(seconds(2));  // past its open period: half-open, and idle
  const auto out = run();
  ASSERT_TRUE(out.ok);
  EXPECT_EQ(out.provider, "beta");
  ASSERT_EQ(out.attempts.size(), 1u);
  EXPECT_TRUE(out.attempts[0].probe);
  // Probed while nobody else is: the next call goes back to alpha.
  const auto next = run();
  EXPECT_EQ(next.provider, "alpha");
}

TEST_F(EngineFlow, AHalfOpenProviderWithItsProbeSlotsTakenSaysSo) {
  load(config(false, true, "",
              "    breaker: {min_calls: 5, consecutive_failures: 3, open: 1s, half_open_probes: 1}\n"));
  auto& alpha = route("alpha");
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(alpha.breaker.admit(time_.now(), alpha.health.snapshot(time_.now())).admitted);
    alpha.breaker.on_result(time_.now(), false, policy::Verdict::kFailure, Millis(5),
                            alpha.health.snapshot(time_.now()));
  }
  time_.advance(seconds(2));
  // Take alpha's only probe slot.
  ASSERT_TRUE(alpha.breaker.admit(time_.now(), alpha.health.snapshot(time_.now())).probe);
  const auto out = run(CallRouting{"alpha", {}});
  ASSERT_FALSE(out.ok);
  EXPECT_NE(out.error.message.find("alpha: circuit half-open (1 probes in flight)"), std::string::npos)
      << out.error.message;
  EXPECT_EQ(transport_.sent().size(), 0u);
}

// The async runner holds a capability's jobs back while every provider of it is
// out: only while every breaker is open, and no longer once one half-opens.
TEST_F(EngineFlow, AnOutageIsEveryProvidersBreakerOpenWithTheirForcedProbeSpacing) {
  // Open for 2 s ± 20% (1.6–2.4 s).
  load(config(false, true, "", "    breaker: {min_calls: 5, consecutive_failures: 3, open: 2s}\n"));
  auto trip = [&](const std::string& name) {
    auto& r = route(name);
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(r.breaker.admit(time_.now(), r.health.snapshot(time_.now())).admitted);
      r.breaker.on_result(time_.now(), false, policy::Verdict::kFailure, Millis(5), r.health.snapshot(time_.now()));
    }
    ASSERT_EQ(r.breaker.state(time_.now()), policy::BreakerState::kOpen);
  };
  EXPECT_FALSE(engine_.outage(cap()).has_value());
  trip("alpha");
  EXPECT_FALSE(engine_.outage(cap()).has_value()) << "beta still serves";
  time_.advance(milliseconds(1500));
  trip("beta");  // alpha half-opens 0.1–0.9 s from now, beta 1.6–2.4 s from now
  ASSERT_TRUE(engine_.outage(cap()).has_value());
  EXPECT_EQ(*engine_.outage(cap()), Millis(500));  // a quarter of the base open period
  time_.advance(milliseconds(1000));
  ASSERT_EQ(route("beta").breaker.state(time_.now()), policy::BreakerState::kOpen);
  EXPECT_FALSE(engine_.outage(cap()).has_value()) << "alpha is half-open: its probes may go";
}

TEST_F(EngineFlow, RefusedConnectionsFailOverAndRetryWithinTheBudget) {
  load(config(false, false));
  transport_.set_default("alpha.test", Reply::fails("connect_failed"));
  transport_.set_default("beta.test", Reply::fails("connect_failed"));
  const auto out = run();
  ASSERT_FALSE(out.ok);
  EXPECT_EQ(out.error.cls, ErrorClass::kUnavailable);
  EXPECT_FALSE(out.error.ambiguous);
  EXPECT_TRUE(out.retry_later);
  EXPECT_EQ(out.attempts.size(), 3u);
}

}  // namespace
}  // namespace tollgate::engine
