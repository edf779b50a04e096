// History through its seam: overview objects as views.h builds them, at chosen times.
#include "admin/history.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace tollgate::admin {
namespace {

namespace json = boost::json;
using namespace std::chrono;

const WallTime kStart = WallTime(seconds(1'800'000'000));  // a multiple of the 5 s step

json::object route(const std::string& provider, const std::string& breaker, std::int64_t calls, std::int64_t ok,
                   double price = 0.05, std::int64_t throttled_ms = 0, const std::string& reason = "") {
  return json::object{{"provider", provider},
                      {"price", price},
                      {"traffic_share", calls ? 0.5 : 0.0},
                      {"throttled_for_ms", throttled_ms},
                      {"breaker", {{"state", breaker}, {"reason", reason}}},
                      {"health",
                       {{"calls", calls},
                        {"successes", ok},
                        {"errors", json::object{{"unavailable", calls - ok}}},
                        {"latency_ms", {{"p50", 12.5}, {"p95", 80.0}}}}}};
}

json::object overview(std::initializer_list<std::pair<std::string, json::array>> caps) {
  json::array out;
  for (const auto& [name, routes] : caps) out.push_back(json::object{{"name", name}, {"routes", routes}});
  return json::object{{"capabilities", std::move(out)}};
}

const json::array& points_of(const json::object& h, const std::string& cap, const std::string& provider) {
  for (const auto& s : h.at("series").as_array()) {
    if (s.at("capability") == json::value(cap) && s.at("provider") == json::value(provider)) {
      return s.at("points").as_array();
    }
  }
  static const json::array none;
  ADD_FAILURE() << "no series for " << cap << " / " << provider;
  return none;
}

TEST(History, OnePointPerStepTheNewestShowingNow) {
  History h;
  h.sample(overview({{"sms.send", {route("acme", "closed", 10, 10)}}}), kStart);
  h.sample(overview({{"sms.send", {route("acme", "closed", 20, 15)}}}), kStart + seconds(3));
  auto doc = h.json();
  ASSERT_EQ(points_of(doc, "sms.send", "acme").size(), 1u) << "two samples in one step are one point";
  const auto& p = points_of(doc, "sms.send", "acme")[0].as_object();
  EXPECT_EQ(p.at("calls").as_int64(), 20) << "the newest sample replaces the step's point";
  EXPECT_EQ(p.at("successes").as_int64(), 15);
  EXPECT_DOUBLE_EQ(p.at("cost_per_success").as_double(), 0.05 * 20 / 15);
  EXPECT_DOUBLE_EQ(p.at("p95_ms").as_double(), 80.0);
  EXPECT_EQ(p.at("errors").at("unavailable").as_int64(), 5);
  h.sample(overview({{"sms.send", {route("acme", "closed", 20, 0)}}}), kStart + seconds(5));
  doc = h.json();
  ASSERT_EQ(points_of(doc, "sms.send", "acme").size(), 2u);
  EXPECT_FALSE(points_of(doc, "sms.send", "acme")[1].as_object().contains("cost_per_success"))
      << "no success, no cost per success";
}

TEST(History, KeepsFifteenMinutes) {
  History h;
  for (int i = 0; i <= 20 * 60; i += 5) {
    h.sample(overview({{"sms.send", {route("acme", "closed", 1, 1)}}}), kStart + seconds(i));
  }
  const auto doc = h.json();
  const auto& pts = points_of(doc, "sms.send", "acme");
  EXPECT_EQ(pts.size(), 15u * 60 / 5 + 1);
  EXPECT_EQ(pts.front().at("t").as_int64(), 1'800'000'000 + 5 * 60);
}

TEST(History, TheTimelineHasBreakerTransitionsWithTheirReason) {
  History h;
  h.sample(overview({{"sms.send", {route("acme", "closed", 5, 5), route("zeta", "closed", 5, 5)}}}), kStart);
  h.sample(overview({{"sms.send", {route("acme", "open", 5, 0, 0.05, 0, "5 failures in a row"),
                                   route("zeta", "closed", 5, 5)}}}),
           kStart + seconds(1));
  h.sample(overview({{"sms.send", {route("acme", "open", 5, 0, 0.05, 0, "5 failures in a row")}}}),
           kStart + seconds(2));
  h.sample(overview({{"sms.send", {route("acme", "half_open", 5, 0)}}}), kStart + seconds(3));
  h.sample(overview({{"sms.send", {route("acme", "closed", 5, 5)}}}), kStart + seconds(4));
  const auto doc = h.json();
  const auto& t = doc.at("timeline").as_array();
  ASSERT_EQ(t.size(), 3u) << json::serialize(t);
  EXPECT_EQ(t[0].at("kind"), "breaker");
  EXPECT_EQ(t[0].at("provider"), "acme");
  EXPECT_EQ(t[0].at("capability"), "sms.send");
  EXPECT_EQ(t[0].at("state"), "open");
  EXPECT_EQ(t[0].at("reason"), "5 failures in a row");
  EXPECT_EQ(t[1].at("state"), "half_open");
  EXPECT_EQ(t[2].at("state"), "closed");
  EXPECT_FALSE(t[2].as_object().contains("reason"));
}

TEST(History, ThrottlingIsOnePeriodPerProviderWhateverItServes) {
  History h;
  auto both = [](std::int64_t ms) {
    return overview({{"sms.send", {route("acme", "closed", 1, 1, 0.05, ms)}},
                     {"sms.query", {route("acme", "closed", 1, 1, 0.05, ms)}}});
  };
  h.sample(both(0), kStart);
  h.sample(both(2000), kStart + seconds(1));
  h.sample(both(1000), kStart + seconds(2));
  h.sample(both(0), kStart + seconds(3));
  const auto t = h.json().at("timeline").as_array();
  ASSERT_EQ(t.size(), 2u) << json::serialize(t);
  EXPECT_EQ(t[0].at("kind"), "throttled");
  EXPECT_EQ(t[0].at("state"), "start");
  EXPECT_EQ(t[1].at("state"), "end");
}

TEST(History, ManualEventsKeepTheirReason) {
  History h;
  h.record({kStart, "disabled", "acme", "", "", "vendor maintenance 02:00-03:00"});
  const auto t = h.json().at("timeline").as_array();
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].at("kind"), "disabled");
  EXPECT_EQ(t[0].at("reason"), "vendor maintenance 02:00-03:00");
  EXPECT_EQ(t[0].at("t"), "2027-01-15T08:00:00.000Z");
}

}  // namespace
}  // namespace tollgate::admin
