// The caller-facing API's answers to bad input, and the server's limits.
#include <gtest/gtest.h>

#include <thread>

#include "tests/integration/config_builder.h"
#include "tests/integration/harness.h"

namespace tollgate::testing {
namespace {

using namespace std::chrono;

class Api : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    sim_ = new Sim();
    ConfigSpec spec{{{"acme", "json", sim_->url()}}};
    spec.server_extra = "  max_body_bytes: 2048\n  request_timeout: 700ms\n";
    gw_ = new Gateway(config_yaml(spec));
    ASSERT_TRUE(gw_->started()) << gw_->process().stderr_text();
  }
  static void TearDownTestSuite() {
    delete gw_;
    delete sim_;
  }
  static std::string error_code(const Response& r) {
    return std::string(r.json().at("error").at("code").as_string());
  }
  static Sim* sim_;
  static Gateway* gw_;
};
Sim* Api::sim_ = nullptr;
Gateway* Api::gw_ = nullptr;

TEST_F(Api, HealthzAnswers) {
  auto r = http(gw_->port(), "GET", "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.json().at("status").as_string(), "ok");
}

TEST_F(Api, MalformedJsonIs400) {
  const auto before = sim_->requests();
  auto r = gw_->call("/v1/sms/send", R"({"to": "+8613800000000", )");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_code(r), "bad_request");
  auto arr = gw_->call("/v1/sms/send", R"(["+8613800000000"])");
  EXPECT_EQ(arr.status, 400);
  EXPECT_EQ(sim_->requests(), before);  // nothing reached the provider
}

TEST_F(Api, MissingOrMistypedParamIs422) {
  const auto before = sim_->requests();
  auto missing = gw_->call("/v1/sms/send", R"({"template":"T1"})");
  EXPECT_EQ(missing.status, 422);
  EXPECT_EQ(error_code(missing), "invalid_request");
  EXPECT_NE(std::string(missing.json().at("error").at("message").as_string()).find("'to'"), std::string::npos);
  auto mistyped = gw_->call("/v1/sms/send", R"({"to":8613800000000,"template":"T1"})");
  EXPECT_EQ(mistyped.status, 422);
  auto not_e164 = gw_->call("/v1/sms/send", R"({"to":"138-0000-0000","template":"T1"})");
  EXPECT_EQ(not_e164.status, 422);
  auto unknown = gw_->call("/v1/sms/send", R"({"to":"+8613800000000","template":"T1","cc":"x"})");
  EXPECT_EQ(unknown.status, 422);
  EXPECT_EQ(sim_->requests(), before);
}

TEST_F(Api, UnknownCapabilityIs404) {
  auto r = gw_->call("/v1/fax/send", "{}");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(error_code(r), "not_found");
  EXPECT_EQ(http(gw_->port(), "GET", "/nowhere").status, 404);
}

TEST_F(Api, BadOrMissingKeyIs401) {
  auto bad = gw_->call("/v1/sms/send", kSmsBody, {{"Authorization", "Bearer wrong"}});
  EXPECT_EQ(bad.status, 401);
  EXPECT_EQ(error_code(bad), "unauthorized");
  auto none = http(gw_->port(), "POST", "/v1/sms/send", kSmsBody);
  EXPECT_EQ(none.status, 401);
}

TEST_F(Api, WrongMethodIs405) {
  auto r = http(gw_->port(), "GET", "/v1/sms/send", "", {{"Authorization", "Bearer test-key"}});
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header("allow"), "POST");
}

TEST_F(Api, BadDeadlineHeaderIs400) {
  auto r = gw_->call("/v1/sms/send", kSmsBody, {{"X-Timeout-Ms", "soon"}});
  EXPECT_EQ(r.status, 400);
}

TEST_F(Api, OversizedBodyIs413) {
  const auto before = sim_->requests();
  std::string big = R"({"to":"+8613800000000","template":"T1","params":{"pad":")" + std::string(4096, 'x') + "\"}}";
  auto r = gw_->call("/v1/sms/send", big);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(error_code(r), "too_large");
  EXPECT_EQ(sim_->requests(), before);
}

TEST_F(Api, OversizedHeaderIs431) {
  auto r = gw_->call("/v1/sms/send", kSmsBody, {{"X-Padding", std::string(16 * 1024, 'p')}});
  EXPECT_EQ(r.status, 431);
}

TEST_F(Api, SlowClientIsCutOffWhileOthersAreServed) {
  // A client that sends its request head a byte every 100 ms would need about
  // 7 s to finish it; the server's request_timeout is 700 ms.
  Connection slow(gw_->port());
  ASSERT_TRUE(slow.ok());
  const std::string head = "POST /v1/sms/send HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer test-key\r\n";
  std::string answer;
  std::atomic<bool> finished_sending{false};
  std::thread dribble([&] {
    for (char ch : head) {
      const std::string got = slow.read_some(milliseconds(0));
      if (got != "<timeout>") {  // the server answered or closed: stop
        answer = got;
        return;
      }
      if (!slow.send_raw(std::string(1, ch))) return;
      std::this_thread::sleep_for(milliseconds(100));
    }
    finished_sending = true;
  });
  // Meanwhile everyone else is served normally.
  for (int i = 0; i < 5; ++i) {
    auto r = gw_->call("/v1/sms/send", kSmsBody);
    EXPECT_EQ(r.status, 200) << r.body;
  }
  dribble.join();
  EXPECT_FALSE(finished_sending);  // cut off long before the head was complete
  EXPECT_EQ(answer, "");           // the server closed the connection
}

TEST_F(Api, KeepAliveServesManyRequestsOnOneConnection) {
  Connection c(gw_->port());
  for (int i = 0; i < 10; ++i) {
    auto r = c.request("GET", "/healthz");
    ASSERT_EQ(r.status, 200);
  }
}

TEST(ApiAccess, CallerWithoutTheCapabilityIs403) {
  Sim sim;
  std::string yaml = config_yaml({{{"acme", "json", sim.url()}}});
  // Add a capability the test caller may not use.
  const std::string extra_cap =
      "  sms.bulk:\n    providers: [acme]\n    params: {to: {type: string}}\n";
  yaml.insert(yaml.find("providers:\n  acme"), extra_cap);
  yaml.insert(yaml.find("      sms.send:\n        dedupe"),
              "      sms.bulk:\n        request: {path: /json/v1/sms/send}\n");
  Gateway gw(yaml);
  ASSERT_TRUE(gw.started()) << gw.process().stderr_text();
  auto r = gw.call("/v1/sms/bulk", R"({"to":"+8613800000000"})");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.json().at("error").at("code").as_string(), "forbidden");
}

}  // namespace
}  // namespace tollgate::testing
