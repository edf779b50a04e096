// Debug and stress traffic: never reaches a provider, is answered the way the
// real provider behaved on live traffic (latency and outcome mix), stays out of
// live health, breakers and quotas, and what was recorded survives restarts and
// moves between gateways by export/import.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <thread>

#include "tests/integration/config_builder.h"
#include "tests/integration/harness.h"
#include "tests/support/ks.h"

namespace tollgate::testing {
namespace {

using namespace std::chrono;
namespace json = boost::json;

const std::map<std::string, std::string> kDebug = {{"X-Tollgate-Traffic", "debug"}};
const std::map<std::string, std::string> kStress = {{"X-Tollgate-Traffic", "stress"}};
// Until enough is recorded, stress answers use this: obviously not the sim's latency.
const char* kQuickShadow = "    shadow: {latency: {dist: fixed, latency: 1ms}}\n";

// Runs `threads` callers until `n` calls finished and returns what they saw.
std::vector<CallRecord> run_calls(Gateway& gw, size_t n, int threads, std::map<std::string, std::string> headers = {}) {
  Load load(gw.port(), threads, kSmsBody, std::move(headers), milliseconds(0));
  EXPECT_TRUE(load.wait_for(n, seconds(60))) << "load did not finish " << n << " calls";
  load.stop();
  return load.records();
}

// The first attempt's duration of every call.
std::vector<double> first_attempt_ms(const std::vector<CallRecord>& records) {
  std::vector<double> out;
  for (const auto& r : records) {
    if (!r.attempts.empty()) out.push_back(static_cast<double>(r.attempts[0].at("duration_ms").to_number<std::int64_t>()));
  }
  return out;
}

double share_failed(const std::vector<CallRecord>& records) {
  const auto failed = std::count_if(records.begin(), records.end(), [](const CallRecord& r) { return r.status != 200; });
  return static_cast<double>(failed) / static_cast<double>(records.size());
}

Response admin_post(Gateway& gw, const std::string& path, const std::string& body) {
  return http(gw.admin_port(), "POST", path, body, {{"Authorization", std::string("Bearer ") + kAdminToken}});
}

// The exported recording of one provider for sms.send.
json::object recording_of(Gateway& gw, const std::string& provider) {
  auto r = gw.admin("GET", "/admin/recordings");
  EXPECT_EQ(r.status, 200) << r.body;
  const json::value doc = r.json();
  for (const auto& item : doc.at("recordings").as_array()) {
    if (item.at("provider") == provider.c_str() && item.at("capability") == "sms.send") return item.as_object();
  }
  ADD_FAILURE() << "no recording for " << provider << " in " << r.body;
  return {};
}

// An import document giving each provider a recording of `n` answers of about
// 2 ms with the given outcome ("success", "unavailable", ...).
std::string seeded_recordings(Gateway& gw, const std::vector<std::pair<std::string, std::string>>& outcomes, int n) {
  json::value doc = gw.admin("GET", "/admin/recordings").json();
  json::array keep;
  for (auto& item : doc.at("recordings").as_array()) {
    for (const auto& [provider, outcome] : outcomes) {
      if (item.at("provider") != provider.c_str()) continue;
      auto& rec = item.at("recording").as_object();
      rec["latency"].as_object()["counts"].as_array()[21] = n;  // (1.73 ms, 1.99 ms]
      rec["outcomes"] = json::object{{outcome, n}};
      keep.push_back(item);
    }
  }
  return json::serialize(json::object{{"recordings", std::move(keep)}});
}

TEST(TestTraffic, DebugAndStressCallsNeverReachAProviderUnderLoad) {
  Sim a, b;
  ConfigSpec spec{{{"acme", "json", a.url()}, {"zeta", "form", b.url()}}};
  spec.providers[0].extra = kQuickShadow;
  spec.providers[1].extra = kQuickShadow;
  Gateway gw(config_yaml(spec));
  ASSERT_TRUE(gw.started()) << gw.process().stderr_text();

  std::vector<CallRecord> debug, stress;
  {
    Load d(gw.port(), 4, kSmsBody, kDebug, milliseconds(0));
    Load s(gw.port(), 4, kSmsBody, kStress, milliseconds(0));
    ASSERT_TRUE(d.wait_for(1000, seconds(60)));
    ASSERT_TRUE(s.wait_for(1000, seconds(60)));
    d.stop();
    s.stop();
    debug = d.records();
    stress = s.records();
  }
  for (const auto& r : debug) {
    ASSERT_EQ(r.status, 200);
    ASSERT_EQ(r.traffic, "debug");
  }
  for (const auto& r : stress) {
    ASSERT_EQ(r.status, 200);
    ASSERT_EQ(r.traffic, "stress");
  }
  for (Sim* sim : {&a, &b}) {
    const auto stats = sim->stats();
    EXPECT_EQ(stats.at("requests").as_int64(), 0) << stats;
    EXPECT_EQ(stats.at("connections").as_int64(), 0) << stats;
  }

  // The answers say what they are; result fields are marked, never a real id.
  auto d = gw.call("/v1/sms/send", kSmsBody, kDebug);
  ASSERT_EQ(d.status, 200) << d.body;
  const std::string id(d.json().at("id").as_string());
  EXPECT_EQ(d.json().at("result").at("message_id").as_string(), "debug-" + id);
  auto s = gw.call("/v1/sms/send", kSmsBody, kStress);
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_EQ(s.json().at("result").at("message_id").as_string(), "stress-" + std::string(s.json().at("id").as_string()));

  // The same gateway does reach the sim for a live call (the counters work).
  ASSERT_EQ(gw.call("/v1/sms/send", kSmsBody).status, 200);
  EXPECT_EQ(a.requests(), 1);

  // Metrics and the call log carry the traffic class.
  const std::string text = metrics_of(gw);
  EXPECT_GE(metric_value(text, "tollgate_calls_total", {"outcome=\"succeeded\"", "traffic=\"debug\""}), 1001);
  EXPECT_GE(metric_value(text, "tollgate_calls_total", {"outcome=\"succeeded\"", "traffic=\"stress\""}), 1001);
  EXPECT_EQ(metric_value(text, "tollgate_calls_total", {"outcome=\"succeeded\"", "traffic=\"live\""}), 1);
  EXPECT_GE(metric_value(text, "tollgate_provider_attempts_total", {"provider=\"acme\"", "traffic=\"stress\""}), 1);
  bool logged_stress = false;
  for (const auto& line : call_lines(gw, 2000)) logged_stress |= line.at("traffic") == "stress";
  EXPECT_TRUE(logged_stress);
}

TEST(TestTraffic, StressAnswersFollowTheRecordedLatencyAndOutcomeMix) {
  Sim a;
  a.behave(R"({"latency":{"dist":"lognormal","median_ms":30,"p99_ms":200},"faults":[{"kind":"http_503","rate":0.2}]})");
  ConfigSpec spec{{{"acme", "json", a.url()}}};
  spec.providers[0].attempt_timeout = "3s";
  // 20% failures are this provider's normal: no breaker trips while recording.
  spec.providers[0].extra = std::string(kQuickShadow) + "    breaker: {consecutive_failures: 0, failure_rate: 0.9}\n";
  spec.max_attempts = 1;
  spec.deadline = "5s";
  Gateway gw(config_yaml(spec));
  ASSERT_TRUE(gw.started()) << gw.process().stderr_text();

  const auto live = run_calls(gw, 2000, 16);
  const auto sent = a.requests();
  EXPECT_EQ(sent, static_cast<std::int64_t>(live.size()));
  EXPECT_EQ(recording_of(gw, "acme").at("samples").as_int64(), sent);
  const auto stress = run_calls(gw, 2000, 16, kStress);
  EXPECT_EQ(a.requests(), sent) << "stress calls reached the provider";

  const auto live_ms = first_attempt_ms(live);
  const auto stress_ms = first_attempt_ms(stress);
  ASSERT_GE(live_ms.size(), 2000u);
  ASSERT_GE(stress_ms.size(), 2000u);
  const double d = ks_statistic(live_ms, stress_ms);
  const double critical = ks_critical(1.95, live_ms.size(), stress_ms.size());  // alpha = 0.001
  std::printf("KS: D = %.4f, critical value %.4f (alpha 0.001, n = %zu, m = %zu)\n", d, critical, live_ms.size(),
              stress_ms.size());
  EXPECT_LT(d, critical) << "stress latencies do not follow the recorded ones";

  // Outcome mix: the sim fails 20%; the shadow must fail like the recording did.
  // Tolerance 0.05 is about four standard deviations of the difference of two
  // shares of 2000 calls each at p = 0.2.
  const double live_failed = share_failed(live);
  const double stress_failed = share_failed(stress);
  std::printf("failed: live %.3f, stress %.3f\n", live_failed, stress_failed);
  EXPECT_NEAR(live_failed, 0.2, 0.05);
  EXPECT_NEAR(stress_failed, live_failed, 0.05);
  for (const auto& r : stress) {
    if (r.status == 200) continue;
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(r.error_code, "unavailable");
    EXPECT_EQ(r.traffic, "stress");
  }
}

TEST(TestTraffic, StressFailuresFailOverButLeaveLiveHealthAndBreakersAlone) {
  Sim a, b;
  ConfigSpec spec{{{"acme", "json", a.url()}, {"zeta", "json", b.url()}}};
  spec.providers[0].extra = kQuickShadow;
  spec.providers[1].extra = kQuickShadow;
  Gateway gw(config_yaml(spec));
  ASSERT_TRUE(gw.started()) << gw.process().stderr_text();
  // acme's shadow always fails; zeta's always succeeds.
  auto imported = admin_post(gw, "/admin/recordings",
                             seeded_recordings(gw, {{"acme", "unavailable"}, {"zeta", "success"}}, 1000));
  ASSERT_EQ(imported.status, 200) << imported.body;
  EXPECT_EQ(imported.json().at("imported").as_int64(), 2);

  const auto stress = run_calls(gw, 300, 4, kStress);
  for (const auto& r : stress) {
    // Shadow failures drive the same failover as real ones.
    ASSERT_EQ(r.status, 200);
    ASSERT_EQ(r.provider, "zeta");
    ASSERT_EQ(r.attempts.size(), 2u);
    EXPECT_EQ(r.attempts[0].at("provider"), "acme");
    EXPECT_EQ(r.attempts[0].at("outcome"), "unavailable");
  }
  const auto route = gw.route("acme");
  EXPECT_EQ(route.at("breaker").at("state"), "closed") << route;
  EXPECT_EQ(route.at("breaker").at("total_trips").as_int64(), 0);
  EXPECT_EQ(route.at("health").at("calls").as_int64(), 0);
  EXPECT_EQ(a.requests() + b.requests(), 0);
  // Live traffic still goes to acme first.
  auto live = gw.call("/v1/sms/send", kSmsBody);
  ASSERT_EQ(live.status, 200);
  EXPECT_EQ(live.json().at("provider"), "acme");
}

TEST(TestTraffic, RecordHealthLetsStressTripTheBreakerWhenConfigured) {
  Sim a, b;
  ConfigSpec spec{{{"acme", "json", a.url()}, {"zeta", "json", b.url()}}};
  spec.providers[0].extra = kQuickShadow;
  spec.providers[1].extra = kQuickShadow;
  spec.server_extra = "test_traffic: {record_health: true}\n";
  Gateway gw(config_yaml(spec));
  ASSERT_TRUE(gw.started()) << gw.process().stderr_text();
  ASSERT_EQ(admin_post(gw, "/admin/recordings", seeded_recordings(gw, {{"acme", "unavailable"}}, 1000)).status, 200);
  run_calls(gw, 100, 2, kStress);
  EXPECT_GE(gw.route("acme").at("breaker").at("total_trips").as_int64(), 1) << gw.route("acme");
}

TEST(TestTraffic, ExportImportRoundTripGivesTheSameDistribution) {
  Sim a;
  a.behave(R"({"latency":{"dist":"lognormal","median_ms":20,"p99_ms":90}})");
  ConfigSpec spec{{{"acme", "json", a.url()}}};
  spec.providers[0].extra = kQuickShadow;
  spec.max_attempts = 1;
  Gateway production(config_yaml(spec));
  ASSERT_TRUE(production.started()) << production.process().stderr_text();
  const auto live = run_calls(production, 500, 8);
  const auto exported = production.admin("GET", "/admin/recordings");
  ASSERT_EQ(exported.status, 200);

  Gateway testing(config_yaml(spec));
  ASSERT_TRUE(testing.started()) << testing.process().stderr_text();
  // Bad documents change nothing.
  EXPECT_EQ(admin_post(testing, "/admin/recordings", "{not json").status, 400);
  auto unknown = admin_post(testing, "/admin/recordings",
                            R"({"recordings":[{"provider":"nope","capability":"sms.send","recording":{}}]})");
  EXPECT_EQ(unknown.status, 422);
  EXPECT_NE(unknown.body.find("nope"), std::string::npos) << unknown.body;
  EXPECT_EQ(recording_of(testing, "acme").at("samples").as_int64(), 0);

  auto imported = admin_post(testing, "/admin/recordings", exported.body);
  ASSERT_EQ(imported.status, 200) << imported.body;
  EXPECT_EQ(recording_of(testing, "acme").at("recording"), recording_of(production, "acme").at("recording"));

  const auto stress = run_calls(testing, 500, 8, kStress);
  const auto live_ms = first_attempt_ms(live);
  const auto stress_ms = first_attempt_ms(stress);
  const double d = ks_statistic(live_ms, stress_ms);
  EXPECT_LT(d, ks_critical(1.95, live_ms.size(), stress_ms.size())) << "KS D=" << d;  // alpha = 0.001
  EXPECT_EQ(a.requests(), static_cast<std::int64_t>(live.size()));
}

TEST(TestTraffic, RecordingsSurviveARestartAndACrash) {
  Sim a;
  a.behave(R"({"latency":{"dist":"fixed","ms":40}})");
  ConfigSpec spec{{{"acme", "json", a.url()}}};
  spec.providers[0].extra = kQuickShadow;
  spec.server_extra = "test_traffic: {snapshot_every: 200ms, min_samples: 20}\n";
  Gateway gw(config_yaml(spec));
  ASSERT_TRUE(gw.started()) << gw.process().stderr_text();
  for (int i = 0; i < 30; ++i) ASSERT_EQ(gw.call("/v1/sms/send", kSmsBody).status, 200);

  // A crash after a snapshot loses nothing recorded before it.
  std::this_thread::sleep_for(milliseconds(600));
  gw.crash();
  ASSERT_TRUE(gw.restart()) << gw.process().stderr_text();
  EXPECT_EQ(recording_of(gw, "acme").at("samples").as_int64(), 30);
  auto s = gw.call("/v1/sms/send", kSmsBody, kStress);
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_GE(s.json().at("attempts").at(0).at("duration_ms").as_int64(), 30) << "answered by the fallback, not the recording";

  // A graceful stop saves what was recorded since the last snapshot.
  for (int i = 0; i < 10; ++i) ASSERT_EQ(gw.call("/v1/sms/send", kSmsBody).status, 200);
  gw.process().signal(SIGTERM);
  ASSERT_TRUE(gw.process().wait(seconds(15)));
  ASSERT_TRUE(gw.restart()) << gw.process().stderr_text();
  EXPECT_EQ(recording_of(gw, "acme").at("samples").as_int64(), 40);
}

TEST(TestTraffic, CallerRulesHeaderErrorsAndQuotas) {
  Sim a;
  ConfigSpec spec{{{"acme", "json", a.url()}}};
  spec.providers[0].extra = std::string(kQuickShadow) + "    limits: {daily_quota: 2}\n";
  spec.caller_extra = "    traffic: [debug, stress]\n";  // a test environment: debug by default, never live
  spec.capability_extra = "    async: {allow: true}\n";
  Gateway gw(config_yaml(spec));
  ASSERT_TRUE(gw.started()) << gw.process().stderr_text();

  auto by_default = gw.call("/v1/sms/send", kSmsBody);
  ASSERT_EQ(by_default.status, 200) << by_default.body;
  EXPECT_EQ(by_default.json().at("traffic"), "debug");
  auto live = gw.call("/v1/sms/send", kSmsBody, {{"X-Tollgate-Traffic", "live"}});
  EXPECT_EQ(live.status, 403) << live.body;
  auto bogus = gw.call("/v1/sms/send", kSmsBody, {{"X-Tollgate-Traffic", "loud"}});
  EXPECT_EQ(bogus.status, 400) << bogus.body;
  EXPECT_EQ(bogus.json().at("error").at("code"), "bad_request");
  auto async = gw.call("/v1/sms/send", kSmsBody, {{"X-Tollgate-Traffic", "stress"}, {"Prefer", "respond-async"}});
  EXPECT_EQ(async.status, 422) << async.body;

  // Test traffic never uses up a provider's quota.
  for (int i = 0; i < 10; ++i) ASSERT_EQ(gw.call("/v1/sms/send", kSmsBody, kStress).status, 200);
  const auto limits = gw.admin("GET", "/admin/providers/acme").json().at("limits").as_object();
  EXPECT_EQ(limits.at("daily_used").as_int64(), 0);
  EXPECT_EQ(a.requests(), 0);
}

}  // namespace
}  // namespace tollgate::testing
