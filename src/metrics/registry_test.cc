#include "metrics/registry.h"

#include <gtest/gtest.h>

#include <thread>

namespace tollgate::metrics {
namespace {

TEST(Metrics, CountersByLabelsRenderInTextFormat) {
  Registry r;
  auto& calls = r.counter("tollgate_calls_total", "Calls.", {"capability", "outcome"});
  calls.with({"sms.send", "ok"}).inc();
  calls.with({"sms.send", "ok"}).inc(2);
  calls.with({"sms.send", "timeout"}).inc();
  const std::string out = r.render();
  EXPECT_NE(out.find("# HELP tollgate_calls_total Calls.\n# TYPE tollgate_calls_total counter\n"), std::string::npos);
  EXPECT_NE(out.find("tollgate_calls_total{capability=\"sms.send\",outcome=\"ok\"} 3\n"), std::string::npos) << out;
  EXPECT_NE(out.find("tollgate_calls_total{capability=\"sms.send\",outcome=\"timeout\"} 1\n"), std::string::npos);
}

TEST(Metrics, HistogramBucketsAreCumulative) {
  Registry r;
  auto& h = r.histogram("tollgate_call_duration_seconds", "Call latency.", {"capability"}, {0.1, 1});
  auto& c = h.with({"sms.send"});
  c.observe(0.05);
  c.observe(0.5);
  c.observe(5);
  const std::string out = r.render();
  EXPECT_NE(out.find("tollgate_call_duration_seconds_bucket{capability=\"sms.send\",le=\"0.1\"} 1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("le=\"1\"} 2\n"), std::string::npos);
  EXPECT_NE(out.find("le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(out.find("tollgate_call_duration_seconds_count{capability=\"sms.send\"} 3\n"), std::string::npos);
  EXPECT_NE(out.find("tollgate_call_duration_seconds_sum{capability=\"sms.send\"} 5.55\n"), std::string::npos);
}

TEST(Metrics, LabelValuesAreEscapedAndCollectorsAdded) {
  Registry r;
  r.gauge("g", "A gauge.", {"name"}).with({"a\"b\\c\nd"}).set(1.5);
  r.add_collector([](SampleWriter& w) {
    w.family("tollgate_breaker_state", "Breaker state.", Type::kGauge);
    w.sample("tollgate_breaker_state", {{"provider", "acme"}}, 2);
  });
  const std::string out = r.render();
  EXPECT_NE(out.find("g{name=\"a\\\"b\\\\c\\nd\"} 1.5\n"), std::string::npos) << out;
  EXPECT_NE(out.find("tollgate_breaker_state{provider=\"acme\"} 2\n"), std::string::npos);
}

TEST(Metrics, ConcurrentIncrementsAllCount) {
  Registry r;
  auto& f = r.counter("c_total", "C.", {"k"});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&f, t] {
      for (int i = 0; i < 10000; ++i) f.with({t % 2 ? "odd" : "even"}).inc();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_DOUBLE_EQ(f.with({"odd"}).value() + f.with({"even"}).value(), 40000);
}

}  // namespace
}  // namespace tollgate::metrics
