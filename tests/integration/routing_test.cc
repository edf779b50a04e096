// Routing features callers and operators use directly: pin/exclude, caller and
// provider limits, quotas, concurrency, hedging, retry budget, strategies, and
// the admin API's disable/enable that survives a reload.
#include <gtest/gtest.h>

#include <thread>

#include "tests/integration/config_builder.h"
#include "tests/integration/harness.h"

namespace tollgate::testing {
namespace {

using namespace std::chrono;

std::string provider_of(const Response& r) { return std::string(r.json().at("provider").as_string()); }

ConfigSpec pair(const Sim& a, const Sim& b) {
  return ConfigSpec{{{"acme", "json", a.url()}, {"zeta", "json", b.url()}}};
}

TEST(Routing, CallerMayPinOrExcludeAProvider) {
  Sim a, b;
  Gateway gw(config_yaml(pair(a, b)));
  ASSERT_TRUE(gw.started()) << gw.process().stderr_text();
  EXPECT_EQ(provider_of(gw.call("/v1/sms/send", kSmsBody)), "acme");
  EXPECT_EQ(provider_of(gw.call("/v1/sms/send", kSmsBody, {{"X-Tollgate-Provider", "zeta"}})), "zeta");
  EXPECT_EQ(provider_of(gw.call("/v1/sms/send", kSmsBody, {{"X-Tollgate-Exclude", "acme"}})), "zeta");
  auto unknown = gw.call("/v1/sms/send", kSmsBody, {{"X-Tollgate-Provider", "nope"}});
  EXPECT_EQ(unknown.status, 422);
  auto none_left = gw.call("/v1/sms/send", kSmsBody, {{"X-Tollgate-Exclude", "acme, zeta"}});
  EXPECT_EQ(none_left.status, 422);
  // A pinned provider that fails is not swapped for another.
  a.behave(R"({"faults":[{"kind":"http_503"}]})");
  auto pinned = gw.call("/v1/sms/send", kSmsBody, {{"X-Tollgate-Provider", "acme"}});
  EXPECT_EQ(pinned.status, 503);
  EXPECT_EQ(b.requests(), 2);
}

TEST(Routing, CallerOverItsRateLimitGets429) {
  Sim a, b;
  ConfigSpec spec = pair(a, b);
  spec.caller_extra = "    rate_limit: {rps: 1, burst: 2}\n";
  Gateway gw(config_yaml(spec));
  ASSERT_TRUE(gw.started()) << gw.process().stderr_text();
  EXPECT_EQ(gw.call("/v1/sms/send", kSmsBody).status, 200);
  EXPECT_EQ(gw.call("/v1/sms/send", kSmsBody).status, 200);
  auto limited = gw.call("/v1/sms/send", kSmsBody);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.json().at("error").at("code").as_string(), "rate_limited");
  EXPECT_EQ(limited.header("retry-after"), "1");
  EXPECT_EQ(a.requests() + b.requests(), 2);  // the refused call reached nobody
}

TEST(Routing, ProviderRateLimitSendsTheCallToTheNextCandidate) {
  Sim a, b;
  ConfigSpec spec = pair(a, b);
  spec.providers[0].extra = "    limits: {rps: 0.5, burst: 2}\n";
  Gateway gw(config_yaml(spec));
  ASSERT_TRUE(gw.started()) << gw.process().stderr_text();
  std::vector<std::string> served;
  for (int i = 0; i < 5; ++i) {
    auto r = gw.call("/v1/sms/send", kSmsBody);
    ASSERT_EQ(r.status, 200) << r.body;  // never a 429: that is only for the caller's own limit
    served.push_back(provider_of(r));
  }
  EXPECT_EQ(served, (std::vector<std::string>{"acme", "acme", "zeta", "zeta", "zeta"}));
  EXPECT_EQ(a.requests(), 2);
}

TEST(Routing, DailyQuotaMovesTrafficOnAndShowsInAdmin) {
  Sim a, b;
  ConfigSpec spec = pair(a, b);
  spec.providers[0].extra = "    limits: {daily_quota: 3, quota_timezone: \"+08:00\"}\n";
  Gateway gw(config_yaml(spec));
  ASSERT_TRUE(gw.started()) << gw.process().stderr_text();
  for (int i = 0; i < 5; ++i) ASSERT_EQ(gw.call("/v1/sms/send", kSmsBody).status, 200);
  EXPECT_EQ(a.requests(), 3);
  EXPECT_EQ(b.requests(), 2);
  auto admin = gw.admin("GET", "/admin/providers/acme");
  const auto limits = admin.json().at("limits").as_object();
  EXPECT_EQ(limits.at("daily_quota").as_int64(), 3);
  EXPECT_EQ(limits.at("daily_used").as_int64(), 3);
}

TEST(Routing, ConcurrencyLimitIsABulkhead) {
  Sim a, b;
  a.behave(R"({"latency":{"dist":"fixed","ms":600}})");
  ConfigSpec spec = pair(a, b);
  spec.providers[0].extra = "    limits: {max_concurrent: 1}\n";
  Gateway gw(config_yaml(spec));
  ASSERT_TRUE(gw.started());
  Response first, second;
  std::thread t([&] { first = gw.call("/v1/sms/send", kSmsBody); });
  std::this_thread::sleep_for(milliseconds(150));  // the first call now holds acme's only slot
  second = gw.call("/v1/sms/send", kSmsBody);
  t.join();
  EXPECT_EQ(provider_of(first), "acme");
  EXPECT_EQ(provider_of(second), "zeta");
}

TEST(Routing, HedgedCallTakesTheFirstAnswerAndCancelsTheOther) {
  Sim a, b;
  a.behave(R"({"latency":{"dist":"fixed","ms":1500}})");
  ConfigSpec spec = pair(a, b);
  spec.idempotent = true;
  spec.capability_extra = "    hedge: {delay: 100ms}\n";
  Gateway gw(config_yaml(spec));
  ASSERT_TRUE(gw.started()) << gw.process().stderr_text();
  auto r = gw.call("/v1/sms/send", kSmsBody);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(provider_of(r), "zeta");
  const auto attempts = r.json().at("attempts").as_array();
  ASSERT_EQ(attempts.size(), 2u);
  bool cancelled = false, hedge_ok = false;
  for (const auto& at : attempts) {
    if (at.at("provider").as_string() == "acme") cancelled = at.at("outcome").as_string() == "cancelled";
    if (at.at("provider").as_string() == "zeta") {
      hedge_ok = at.at("outcome").as_string() == "ok" && at.as_object().contains("hedge");
    }
  }
  EXPECT_TRUE(cancelled) << r.body;
  EXPECT_TRUE(hedge_ok) << r.body;
  EXPECT_EQ(a.requests(), 1);
}

TEST(Routing, HedgeIsRefusedForNonIdempotentCapabilities) {
  ConfigSpec spec{{{"acme", "json", "http://127.0.0.1:9"}}};
  spec.capability_extra = "    hedge: {delay: 100ms}\n";
  Gateway gw(config_yaml(spec));
  EXPECT_FALSE(gw.started());
  EXPECT_NE(gw.process().stderr_text().find("hedge needs idempotent: true"), std::string::npos);
}

TEST(Routing, RetryBudgetCapsRetriesDuringAnOutage) {
  Sim a, b;
  a.behave(R"({"faults":[{"kind":"http_503"}]})");
  b.behave(R"({"faults":[{"kind":"http_503"}]})");
  ConfigSpec spec = pair(a, b);
  spec.capability_extra = "    retry_budget: {ratio: 0, min_per_second: 0.2, window: 10s}\n";  // 2 per 10 s
  for (auto& p : spec.providers) p.extra = "    breaker: {consecutive_failures: 0, min_calls: 1000}\n";
  Gateway gw(config_yaml(spec));
  ASSERT_TRUE(gw.started()) << gw.process().stderr_text();
  int attempts = 0;
  std::string last_message;
  for (int i = 0; i < 4; ++i) {
    auto r = gw.call("/v1/sms/send", kSmsBody);
    EXPECT_EQ(r.status, 503);
    attempts += static_cast<int>(r.json().at("attempts").as_array().size());
    last_message = std::string(r.json().at("error").at("message").as_string());
  }
  EXPECT_EQ(attempts, 4 + 2);  // one attempt per call, plus the budget's two retries
  EXPECT_EQ(a.requests() + b.requests(), 6);
  EXPECT_NE(last_message.find("retry budget exhausted"), std::string::npos) << last_message;
}

TEST(Routing, CostStrategyPicksTheCheapest) {
  Sim a, b;
  ConfigSpec spec = pair(a, b);
  spec.providers[0].extra = "    price: 0.05\n";
  spec.providers[1].extra = "    price: 0.03\n";
  spec.capability_extra = "    strategy: cost\n";
  Gateway gw(config_yaml(spec));
  ASSERT_TRUE(gw.started()) << gw.process().stderr_text();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(provider_of(gw.call("/v1/sms/send", kSmsBody)), "zeta");
  b.behave(R"({"faults":[{"kind":"http_503"}]})");
  EXPECT_EQ(provider_of(gw.call("/v1/sms/send", kSmsBody)), "acme");  // cheapest healthy
}

TEST(Routing, WeightedStrategySplitsByWeight) {
  Sim a, b;
  ConfigSpec spec = pair(a, b);
  spec.providers[0].extra = "    weight: 3\n";
  spec.providers[1].extra = "    weight: 1\n";
  spec.capability_extra = "    strategy: weighted\n";
  Gateway gw(config_yaml(spec));
  ASSERT_TRUE(gw.started());
  int acme = 0;
  for (int i = 0; i < 40; ++i) acme += provider_of(gw.call("/v1/sms/send", kSmsBody)) == "acme";
  EXPECT_EQ(acme, 30);  // smooth WRR is exact over full rounds
}

TEST(Admin, NeedsItsToken) {
  Sim a, b;
  Gateway gw(config_yaml(pair(a, b)));
  ASSERT_TRUE(gw.started());
  EXPECT_EQ(http(gw.admin_port(), "GET", "/admin/providers").status, 401);
  EXPECT_EQ(gw.admin("GET", "/admin/providers", "wrong-token-wrong-token").status, 401);
  EXPECT_EQ(gw.admin("GET", "/admin/providers").status, 200);
  EXPECT_EQ(gw.admin("GET", "/admin/providers/nope").status, 404);
  EXPECT_EQ(gw.admin("POST", "/admin/providers/nope/disable").status, 404);
  EXPECT_EQ(http(gw.admin_port(), "GET", "/healthz").status, 200);
  // The caller key is not an admin token, and the admin API is not on the caller port.
  EXPECT_EQ(gw.admin("GET", "/admin/providers", kTestKey).status, 401);
  EXPECT_EQ(http(gw.port(), "GET", "/admin/providers").status, 404);
}

TEST(Admin, DisableTakesAProviderOutAtOnceAndSurvivesReload) {
  Sim a, b;
  ConfigSpec spec = pair(a, b);
  Gateway gw(config_yaml(spec));
  ASSERT_TRUE(gw.started());
  EXPECT_EQ(provider_of(gw.call("/v1/sms/send", kSmsBody)), "acme");
  auto d = gw.admin("POST", "/admin/providers/acme/disable");
  ASSERT_EQ(d.status, 200);
  EXPECT_TRUE(d.json().at("disabled").as_bool());
  EXPECT_EQ(provider_of(gw.call("/v1/sms/send", kSmsBody)), "zeta");

  // Reload a changed config (longer deadline): acme stays disabled.
  spec.deadline = "4s";
  gw.reload(config_yaml(spec));
  bool reloaded = false;
  for (int i = 0; i < 100 && !reloaded; ++i) {
    std::this_thread::sleep_for(milliseconds(20));
    reloaded = gw.process().logs().find("config reloaded") != std::string::npos;
  }
  ASSERT_TRUE(reloaded) << gw.process().logs();
  EXPECT_TRUE(gw.admin("GET", "/admin/providers/acme").json().at("disabled").as_bool());
  EXPECT_EQ(provider_of(gw.call("/v1/sms/send", kSmsBody)), "zeta");

  ASSERT_EQ(gw.admin("POST", "/admin/providers/acme/enable").status, 200);
  EXPECT_EQ(provider_of(gw.call("/v1/sms/send", kSmsBody)), "acme");
}

TEST(Admin, BreakerStateSurvivesReload) {
  Sim a, b;
  a.behave(R"({"faults":[{"kind":"http_503"}]})");
  ConfigSpec spec = pair(a, b);
  for (auto& p : spec.providers) p.extra = "    breaker: {consecutive_failures: 2, open: 30s}\n";
  Gateway gw(config_yaml(spec));
  ASSERT_TRUE(gw.started());
  for (int i = 0; i < 3; ++i) gw.call("/v1/sms/send", kSmsBody);
  ASSERT_EQ(gw.route("acme")["breaker"].as_object()["state"].as_string(), "open");
  spec.deadline = "5s";
  gw.reload(config_yaml(spec));
  for (int i = 0; i < 100 && gw.process().logs().find("config reloaded") == std::string::npos; ++i) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_EQ(gw.route("acme")["breaker"].as_object()["state"].as_string(), "open");
  const auto before = a.requests();
  EXPECT_EQ(provider_of(gw.call("/v1/sms/send", kSmsBody)), "zeta");
  EXPECT_EQ(a.requests(), before);
}

TEST(Admin, ProvidersShowHealthBreakerAndShare) {
  Sim a, b;
  Gateway gw(config_yaml(pair(a, b)));
  ASSERT_TRUE(gw.started());
  for (int i = 0; i < 5; ++i) gw.call("/v1/sms/send", kSmsBody);
  auto r = gw.admin("GET", "/admin/providers");
  ASSERT_EQ(r.status, 200);
  const auto list = r.json().at("providers").as_array();
  ASSERT_EQ(list.size(), 2u);
  const auto& acme = list[0].as_object();
  EXPECT_EQ(acme.at("name").as_string(), "acme");
  EXPECT_EQ(acme.at("health").at("successes").as_int64(), 5);
  const auto& route = acme.at("routes").as_array().at(0).as_object();
  EXPECT_EQ(route.at("breaker").at("state").as_string(), "closed");
  EXPECT_DOUBLE_EQ(route.at("traffic_share").as_double(), 1.0);
}

}  // namespace
}  // namespace tollgate::testing
