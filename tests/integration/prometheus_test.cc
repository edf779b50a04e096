// A real Prometheus server (Debian's prometheus) scrapes a running tollgate;
// PromQL over what it stored gives the calls and the error ratio the test made,
// and every query of the Grafana dashboard (examples/grafana/tollgate.json)
// evaluates on the same data — the ones about traffic the test sent with data.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <fstream>
#include <sstream>

#include "tests/integration/config_builder.h"
#include "tests/integration/harness.h"
#include "tests/support/servers.h"

namespace tollgate::testing {
namespace {

using namespace std::chrono;
namespace json = boost::json;

std::string url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

class PrometheusServer {
 public:
  explicit PrometheusServer(int target_port) : port_(free_loopback_port()) {
    dir_.write("prometheus.yml", "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                                 "scrape_configs:\n  - job_name: tollgate\n    static_configs:\n"
                                 "      - targets: ['127.0.0.1:" + std::to_string(target_port) + "']\n");
    proc_ = std::make_unique<Process>(
        std::vector<std::string>{"/usr/bin/env", "prometheus", "--config.file=" + dir_.file("prometheus.yml"),
                                 "--storage.tsdb.path=" + dir_.file("data"),
                                 "--web.listen-address=127.0.0.1:" + std::to_string(port_)},
        dir_.file("prometheus"));
  }
  // The result of an instant query; sets `error` when Prometheus refused it.
  json::array query(const std::string& promql, std::string* error = nullptr) {
    auto r = http(port_, "GET", "/api/v1/query?query=" + url_encode(promql));
    const json::value doc = r.json();
    if (r.status != 200 || !doc.is_object() || doc.at("status") != "success") {
      if (error) *error = std::to_string(r.status) + " " + r.body;
      return {};
    }
    return doc.at("data").at("result").as_array();
  }
  // The single value of a query returning one sample; NaN when it has none.
  double value(const std::string& promql) {
    auto result = query(promql);
    if (result.size() != 1) return std::nan("");
    return std::stod(std::string(result[0].at("value").as_array()[1].as_string()));
  }
  Process& process() { return *proc_; }

 private:
  TempDir dir_;
  int port_;
  std::unique_ptr<Process> proc_;
};

TEST(Prometheus, ScrapedCallsAndErrorRatioAndEveryGrafanaQuery) {
  Sim sim;
  ProviderSpec acme{"acme", "json", sim.url()};
  acme.extra = "    price: 0.05\n    breaker: {consecutive_failures: 100}\n";
  ConfigSpec spec{{acme}};
  spec.max_attempts = 1;  // a provider failure is the caller's failure: 5 of 25
  Gateway gw(config_yaml(spec));
  ASSERT_TRUE(gw.started()) << gw.process().stderr_text();
  sim.behave(R"({"faults":[{"kind":"http_503","count":5}]})");
  int failed = 0;
  for (int i = 0; i < 25; ++i) failed += gw.call("/v1/sms/send", kSmsBody).status != 200;
  ASSERT_EQ(failed, 5);

  PrometheusServer prom(gw.admin_port());
  // Wait until Prometheus has scraped the calls, and twice more (rate() needs two samples).
  double calls = 0;
  for (int i = 0; i < 300 && calls != 25; ++i) {
    std::this_thread::sleep_for(100ms);
    calls = prom.value(R"(sum(tollgate_calls_total{capability="sms",operation="send"}))");
  }
  ASSERT_EQ(calls, 25) << "up: " << json::serialize(prom.query("up")) << "\ncalls: "
                       << json::serialize(prom.query("tollgate_calls_total")) << "\n" << prom.process().logs();
  std::this_thread::sleep_for(2500ms);
  EXPECT_DOUBLE_EQ(prom.value(R"(sum(tollgate_calls_total{outcome!="succeeded"}) / sum(tollgate_calls_total))"), 0.2);
  EXPECT_EQ(prom.value(R"(sum(tollgate_provider_attempts_total{provider="acme",outcome="failure"}))"), 5);

  // The dashboard's queries, with Grafana's $__rate_interval as a window that covers the test.
  std::ifstream in(std::string(TOLLGATE_SOURCE_DIR) + "/examples/grafana/tollgate.json");
  std::stringstream text;
  text << in.rdbuf();
  const json::value dash = json::parse(text.str());
  int queries = 0, with_data = 0;
  for (const auto& panel : dash.at("panels").as_array()) {
    const auto* targets = panel.as_object().if_contains("targets");
    if (!targets) continue;
    for (const auto& t : targets->as_array()) {
      std::string expr(t.at("expr").as_string());
      for (size_t at; (at = expr.find("$__rate_interval")) != std::string::npos;) expr.replace(at, 16, "1m");
      std::string error;
      const auto result = prom.query(expr, &error);
      EXPECT_TRUE(error.empty()) << expr << ": " << error;
      ++queries;
      with_data += !result.empty();
      // Queries about what this test did must find it.
      const bool about_this_test = expr.find("tollgate_calls_total{traffic=\"live\"}") != std::string::npos ||
                                   expr.find("outcome=\"failure\"") != std::string::npos ||
                                   expr.find("attempt_duration_seconds_bucket") != std::string::npos ||
                                   expr.find("tollgate_provider_cost_total") != std::string::npos ||
                                   expr == "tollgate_breaker_state" || expr == "tollgate_route_success_ratio";
      if (about_this_test) EXPECT_FALSE(result.empty()) << "no data for " << expr;
    }
  }
  EXPECT_GE(queries, 10);
  RecordProperty("grafana_queries_with_data", with_data);
}

}  // namespace
}  // namespace tollgate::testing
