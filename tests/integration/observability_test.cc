// Observability: /metrics (valid for promtool, values after known traffic), the
// call log (JSON lines, masked params, no secrets), trace context, /readyz, and
// config reloads through the admin API and SIGHUP, under load.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "tests/integration/config_builder.h"
#include "tests/integration/harness.h"

namespace tollgate::testing {
namespace {

using namespace std::chrono;

class Observability : public ::testing::Test {
 protected:
  void SetUp() override {
    ProviderSpec a{"acme", "json", sim_a_.url()}, b{"zeta", "form", sim_b_.url()};
    a.token = "acme-secret-token-value";
    a.extra = "    price: 0.05\n";
    b.extra = "    price: 0.03\n    forward_trace: true\n";
    spec_ = ConfigSpec{{a, b}};
    gw_ = std::make_unique<Gateway>(config_yaml(spec_));
    ASSERT_TRUE(gw_->started()) << gw_->process().stderr_text();
  }
  Sim sim_a_{{"--token", "acme-secret-token-value"}}, sim_b_;
  ConfigSpec spec_;
  std::unique_ptr<Gateway> gw_;
};

TEST_F(Observability, MetricsPassPromtoolAndCountKnownTraffic) {
  for (int i = 0; i < 3; ++i) ASSERT_EQ(gw_->call("/v1/sms/send", kSmsBody).status, 200);
  EXPECT_EQ(gw_->call("/v1/sms/send", R"({"to":"+99912345678","template":"T1"})").status, 422);
  EXPECT_EQ(gw_->call("/v1/sms/send", kSmsBody, {{"Authorization", "Bearer wrong"}}).status, 401);
  sim_a_.behave(R"({"faults":[{"kind":"http_503","count":1}]})");
  ASSERT_EQ(gw_->call("/v1/sms/send", kSmsBody).status, 200);  // fails over to zeta

  const std::string text = metrics_of(*gw_);
  TempDir dir;
  dir.write("metrics.txt", text);
  const int rc = std::system(("promtool check metrics < " + dir.file("metrics.txt") + " > " + dir.file("promtool.out") +
                              " 2>&1").c_str());
  std::ifstream pout(dir.file("promtool.out"));
  std::string promtool_said((std::istreambuf_iterator<char>(pout)), std::istreambuf_iterator<char>());
  EXPECT_EQ(rc, 0) << promtool_said;

  const std::string cap = "capability=\"sms\",operation=\"send\",caller=\"tester\"";
  EXPECT_EQ(metric_value(text, "tollgate_calls_total", {cap, "outcome=\"succeeded\"", "traffic=\"live\""}), 4);
  EXPECT_EQ(metric_value(text, "tollgate_calls_total", {cap, "outcome=\"invalid_request\""}), 1);
  EXPECT_EQ(metric_value(text, "tollgate_requests_rejected_total", {"reason=\"unauthorized\""}), 1);
  EXPECT_EQ(metric_value(text, "tollgate_provider_attempts_total",
                  {"provider=\"acme\"", "outcome=\"success\"", "error_class=\"none\""}), 3);
  EXPECT_EQ(metric_value(text, "tollgate_provider_attempts_total",
                  {"provider=\"acme\"", "outcome=\"failure\"", "error_class=\"unavailable\""}), 1);
  EXPECT_EQ(metric_value(text, "tollgate_provider_attempts_total", {"provider=\"zeta\"", "outcome=\"success\""}), 1);
  EXPECT_NEAR(metric_value(text, "tollgate_provider_cost_total", {"provider=\"acme\""}), 0.15, 1e-9);
  EXPECT_NEAR(metric_value(text, "tollgate_provider_cost_total", {"provider=\"zeta\""}), 0.03, 1e-9);
  EXPECT_EQ(metric_value(text, "tollgate_call_duration_seconds_count", {"capability=\"sms\""}), 5);
  EXPECT_EQ(metric_value(text, "tollgate_breaker_state", {"provider=\"acme\""}), 0);
  EXPECT_EQ(metric_value(text, "tollgate_jobs", {"state=\"queued\""}), 0);
  // No per-call values in any label.
  EXPECT_EQ(text.find("+8613800000000"), std::string::npos);
  EXPECT_EQ(text.find("acme-secret-token-value"), std::string::npos);
}

TEST_F(Observability, CallLogLinesAreMaskedAndCarryTheTrace) {
  const std::string trace = "4bf92f3577b34da6a3ce929d0e0e4736";
  auto r = gw_->call("/v1/sms/send", kSmsBody, {{"traceparent", "00-" + trace + "-00f067aa0ba902b7-01"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(r.header("traceparent").starts_with("00-" + trace + "-"));
  EXPECT_EQ(gw_->call("/v1/sms/send", R"({"to":"+99912345678","template":"T1"})").status, 422);
  const auto lines = call_lines(*gw_, 2);
  ASSERT_GE(lines.size(), 2u);
  const auto& ok = lines[0];
  EXPECT_EQ(ok.at("id"), r.json().at("id"));
  EXPECT_EQ(ok.at("caller").as_string(), "tester");
  EXPECT_EQ(ok.at("capability").as_string(), "sms");
  EXPECT_EQ(ok.at("operation").as_string(), "send");
  EXPECT_EQ(ok.at("outcome").as_string(), "succeeded");
  EXPECT_EQ(ok.at("trace_id").as_string(), trace);
  EXPECT_EQ(ok.at("providers").as_array().at(0).as_string(), "acme");
  EXPECT_EQ(ok.at("attempts").as_int64(), 1);
  EXPECT_TRUE(ok.contains("duration_ms"));
  EXPECT_EQ(ok.at("params").at("to").as_string(), "+86138****0000");  // sensitive: masked
  EXPECT_EQ(ok.at("params").at("template").as_string(), "T1");        // not sensitive
  const auto& bad = lines[1];
  EXPECT_EQ(bad.at("error_class").as_string(), "invalid_request");
  EXPECT_EQ(bad.at("provider_code").as_string(), "1001");
  const std::string all = gw_->process().logs();
  EXPECT_EQ(all.find("+8613800000000"), std::string::npos) << "an unmasked phone number in the logs";
  EXPECT_EQ(all.find("+99912345678"), std::string::npos);
  EXPECT_EQ(all.find("acme-secret-token-value"), std::string::npos) << "a credential in the logs";
  // The status document carries the trace id too.
  boost::json::object status;
  for (int i = 0; i < 100 && status.empty(); ++i) {
    auto s = http(gw_->port(), "GET", "/v1/requests/" + std::string(r.json().at("id").as_string()), {},
                  {{"Authorization", "Bearer test-key"}});
    if (s.status == 200) status = s.json().as_object();
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_EQ(status.at("trace_id").as_string(), trace);
}

// Each thread carries the name of its part, as top -H and ps -L show it
// (docs/operations.md "Watching it").
TEST_F(Observability, ThreadsAreNamedForThePartTheyRun) {
  ASSERT_EQ(gw_->call("/v1/sms/send", kSmsBody).status, 200);
  std::multiset<std::string> names;
  const std::string task = "/proc/" + std::to_string(gw_->process().pid()) + "/task";
  for (const auto& entry : std::filesystem::directory_iterator(task)) {
    std::ifstream comm(entry.path() / "comm");
    std::string name;
    std::getline(comm, name);
    names.insert(name);
  }
  std::string all;
  for (const auto& n : names) all += n + " ";
  // A worker's DNS look-ups run on a thread of Asio's own, started by that
  // worker and so carrying its name: worker-0 is there once or twice.
  EXPECT_GE(names.count("worker-0"), 1u) << all;
  EXPECT_LE(names.count("worker-0"), 2u) << all;
  EXPECT_EQ(names.count("store-sqlite"), 1u) << all;
  EXPECT_EQ(names.count("reloader"), 1u) << all;
  EXPECT_EQ(names.count("history"), 1u) << all;
  for (const auto& n : names) {
    EXPECT_TRUE(n == "tollgate" || n.rfind("worker-", 0) == 0 || n == "store-sqlite" || n == "reloader" ||
                n == "history")
        << "a thread without a part's name: " << n << " (all: " << all << ")";
  }
}

// A burst of calls leaves freed memory in the heap; once the gateway has gone
// quiet it is given back to the system, once per quiet spell (and only after
// requests were served: scraping the admin port is not a request).
TEST_F(Observability, FreedMemoryIsGivenBackOnceTheGatewayGoesQuiet) {
  std::this_thread::sleep_for(milliseconds(1000));  // whatever start-up did has settled
  const double before = metric_value(metrics_of(*gw_), "tollgate_heap_trims_total", {});
  for (int i = 0; i < 50; ++i) ASSERT_EQ(gw_->call("/v1/sms/send", kSmsBody).status, 200);
  EXPECT_EQ(await_metric(*gw_, "tollgate_heap_trims_total", {}, before + 1, seconds(10)), before + 1);
  std::this_thread::sleep_for(milliseconds(1500));
  EXPECT_EQ(metric_value(metrics_of(*gw_), "tollgate_heap_trims_total", {}), before + 1)
      << "trimmed again without a request in between";
  ASSERT_EQ(gw_->call("/v1/sms/send", kSmsBody).status, 200);
  EXPECT_EQ(await_metric(*gw_, "tollgate_heap_trims_total", {}, before + 2, seconds(10)), before + 2);
}

TEST_F(Observability, TraceIsForwardedOnlyToProvidersThatOptIn) {
  const std::string trace = "0af7651916cd43dd8448eb211c80319c";
  ASSERT_EQ(gw_->call("/v1/sms/send", kSmsBody, {{"traceparent", "00-" + trace + "-b7ad6b7169203331-01"}}).status, 200);
  const auto a_last = http(sim_a_.control_port(), "GET", "/_sim/last").json();
  EXPECT_FALSE(a_last.at("headers").as_object().contains("traceparent"));  // acme: not opted in
  ASSERT_EQ(gw_->call("/v1/sms/send", kSmsBody,
                      {{"traceparent", "00-" + trace + "-b7ad6b7169203331-01"}, {"X-Tollgate-Provider", "zeta"}})
                .status,
            200);
  const auto b_last = http(sim_b_.control_port(), "GET", "/_sim/last").json();
  const std::string forwarded(b_last.at("headers").at("traceparent").as_string());
  EXPECT_TRUE(forwarded.starts_with("00-" + trace + "-")) << forwarded;
  EXPECT_EQ(forwarded.find("b7ad6b7169203331"), std::string::npos);  // a child span, not the caller's
}

TEST_F(Observability, ReadyzAndReloadThroughTheAdminApi) {
  EXPECT_EQ(http(gw_->admin_port(), "GET", "/readyz").status, 200);
  // A broken file is refused with its problems; the old config keeps serving.
  std::string broken = config_yaml(spec_);
  broken.replace(broken.find("deadline: 3s"), 12, "deadline: soon");
  gw_->reload_file_only(broken);
  auto rejected = gw_->admin("POST", "/admin/config/reload");
  ASSERT_EQ(rejected.status, 422) << rejected.body;
  const auto problems = rejected.json().at("problems").as_array();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(std::string(problems[0].as_string()).find("must be a duration"), std::string::npos);
  EXPECT_EQ(gw_->call("/v1/sms/send", kSmsBody).status, 200);
  EXPECT_EQ(gw_->admin("POST", "/admin/config/reload", "wrong-token-wrong-token").status, 401);
  // A good file is applied.
  ConfigSpec next = spec_;
  next.providers[0].extra += "    weight: 7\n";
  gw_->reload_file_only(config_yaml(next));
  auto applied = gw_->admin("POST", "/admin/config/reload");
  EXPECT_EQ(applied.status, 200) << applied.body;
  EXPECT_EQ(gw_->admin("GET", "/admin/providers/acme").json().at("weight").as_double(), 7);
  const std::string text = metrics_of(*gw_);
  EXPECT_EQ(metric_value(text, "tollgate_config_reloads_total", {"result=\"rejected\""}), 1);
  EXPECT_EQ(metric_value(text, "tollgate_config_reloads_total", {"result=\"applied\""}), 1);
}

TEST_F(Observability, TenReloadsUnderLoadLoseNoCall) {
  gw_->admin("POST", "/admin/providers/zeta/disable");
  Load load(gw_->port(), 4, kSmsBody);
  for (int i = 0; i < 10; ++i) {
    ConfigSpec next = spec_;
    next.deadline = std::to_string(2 + i % 3) + "s";
    gw_->reload_file_only(config_yaml(next));
    if (i % 2) {
      gw_->process().signal(SIGHUP);
    } else {
      ASSERT_EQ(gw_->admin("POST", "/admin/config/reload").status, 200);
    }
    std::this_thread::sleep_for(milliseconds(150));
  }
  load.stop();
  const auto recs = load.records();
  ASSERT_GT(recs.size(), 50u);
  for (const auto& r : recs) ASSERT_EQ(r.status, 200) << r.error_code;
  // The manual disable survived every reload.
  EXPECT_TRUE(gw_->admin("GET", "/admin/providers/zeta").json().at("disabled").as_bool());
  EXPECT_EQ(sim_b_.requests(), 0);
  EXPECT_EQ(metric_value(metrics_of(*gw_), "tollgate_config_reloads_total", {"result=\"applied\""}), 10);
}

}  // namespace
}  // namespace tollgate::testing
