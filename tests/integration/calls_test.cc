// End-to-end calls through tollgate to tollgate-sim over real loopback HTTP:
// success through each dialect, retries, failover, deadlines, error mapping.
#include <gtest/gtest.h>

#include <thread>

#include "tests/integration/config_builder.h"
#include "tests/integration/harness.h"

namespace tollgate::testing {
namespace {

using namespace std::chrono;

TEST(Calls, SucceedsThroughJsonDialect) {
  Sim sim;
  Gateway gw(config_yaml({{{"acme", "json", sim.url()}}}));
  ASSERT_TRUE(gw.started()) << gw.process().stderr_text();
  auto r = gw.call("/v1/sms/send", kSmsBody);
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = r.json().as_object();
  EXPECT_EQ(j["status"].as_string(), "succeeded");
  EXPECT_EQ(j["provider"].as_string(), "acme");
  EXPECT_TRUE(j["result"].as_object()["message_id"].as_string().starts_with("biz-"));
  EXPECT_EQ(j["attempts"].as_array().size(), 1u);
  EXPECT_EQ(j["id"].as_string().size(), 26u);
  EXPECT_EQ(r.header("x-request-id"), j["id"].as_string());
  // What reached the provider carried the call id as its dedupe reference.
  EXPECT_EQ(sim.ref_count(std::string(j["id"].as_string())), 1);
  EXPECT_EQ(sim.outcome("ok"), 1);
}

TEST(Calls, SucceedsThroughFormDialect) {
  Sim sim;
  Gateway gw(config_yaml({{{"zeta", "form", sim.url()}}}));
  ASSERT_TRUE(gw.started()) << gw.process().stderr_text();
  auto r = gw.call("/v1/sms/send", kSmsBody);
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = r.json().as_object();
  EXPECT_EQ(j["provider"].as_string(), "zeta");
  EXPECT_TRUE(j["result"].as_object()["message_id"].as_string().starts_with("SM"));
  EXPECT_EQ(sim.stats()["by_dialect"].as_object()["form"].as_int64(), 1);
}

TEST(Calls, WrongSignatureIsAClearUnauthorizedError) {
  Sim sim;
  ProviderSpec p{"zeta", "form", sim.url()};
  p.secret = "not-the-secret";
  Gateway gw(config_yaml({{p}}));
  ASSERT_TRUE(gw.started());
  auto r = gw.call("/v1/sms/send", kSmsBody);
  EXPECT_EQ(r.status, 502) << r.body;  // tollgate's credentials, not the caller's
  auto e = r.json().as_object()["error"].as_object();
  EXPECT_EQ(e["code"].as_string(), "unauthorized");
  EXPECT_EQ(e["provider_code"].as_string(), "signature_mismatch");
  EXPECT_NE(std::string(e["message"].as_string()).find("credentials"), std::string::npos);
  EXPECT_FALSE(e["retryable"].as_bool());
  EXPECT_EQ(sim.outcome("auth_failed"), 1);  // refused, and not retried
  EXPECT_EQ(sim.requests(), 1);
}

TEST(Calls, WrongBearerTokenIsRejectedByTheJsonDialect) {
  Sim sim;
  ProviderSpec p{"acme", "json", sim.url()};
  p.token = "stale-token";
  Gateway gw(config_yaml({{p}}));
  ASSERT_TRUE(gw.started());
  auto r = gw.call("/v1/sms/send", kSmsBody);
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(r.json().at("error").at("provider_code").as_string(), "4010");
}

TEST(Calls, RetriesA503ThenSucceedsOnTheSameCall) {
  Sim sim;
  sim.behave(R"({"faults":[{"kind":"http_503","count":1}]})");
  Gateway gw(config_yaml({{{"acme", "json", sim.url()}}}));
  ASSERT_TRUE(gw.started());
  auto r = gw.call("/v1/sms/send", kSmsBody);
  ASSERT_EQ(r.status, 200) << r.body;
  auto attempts = r.json().at("attempts").as_array();
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(attempts[0].at("outcome").as_string(), "unavailable");
  EXPECT_EQ(attempts[0].at("provider_code").as_string(), "503");
  EXPECT_EQ(attempts[1].at("outcome").as_string(), "ok");
  EXPECT_EQ(sim.requests(), 2);
}

TEST(Calls, FailsOverToTheNextProvider) {
  Sim a, b;
  a.behave(R"({"faults":[{"kind":"http_503"}]})");
  Gateway gw(config_yaml({{{"acme", "json", a.url()}, {"zeta", "form", b.url()}}}));
  ASSERT_TRUE(gw.started());
  for (int i = 0; i < 5; ++i) {
    auto r = gw.call("/v1/sms/send", kSmsBody);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json().at("provider").as_string(), "zeta");
  }
  EXPECT_EQ(b.outcome("ok"), 5);
}

TEST(Calls, NonIdempotentCallIsNotRetriedAfterAReadTimeout) {
  Sim sim;
  sim.behave(R"({"faults":[{"kind":"hang"}]})");
  ProviderSpec p{"acme", "json", sim.url()};
  p.dedupe = false;  // nothing lets the provider recognise a repeat
  p.attempt_timeout = "300ms";
  Gateway gw(config_yaml({{p}}));
  ASSERT_TRUE(gw.started());
  auto r = gw.call("/v1/sms/send", kSmsBody);
  // The provider may have sent it: the caller is told so, and told not to repeat it.
  ASSERT_EQ(r.status, 502) << r.body;
  EXPECT_EQ(r.json().at("error").at("code").as_string(), "outcome_unknown");
  EXPECT_FALSE(r.json().at("error").at("retryable").as_bool());
  EXPECT_EQ(r.json().at("error").at("provider_code").as_string(), "read_timeout");
  EXPECT_EQ(r.json().at("attempts").as_array().size(), 1u);
  EXPECT_EQ(sim.requests(), 1);  // the provider saw it exactly once
}

TEST(Calls, DedupeDeclaredByTheAdapterMakesTheRetrySafe) {
  Sim sim;
  sim.behave(R"({"faults":[{"kind":"hang","count":1}]})");
  ProviderSpec p{"acme", "json", sim.url()};
  p.attempt_timeout = "300ms";
  Gateway gw(config_yaml({{p}}));
  ASSERT_TRUE(gw.started());
  auto r = gw.call("/v1/sms/send", kSmsBody);
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string id(r.json().at("id").as_string());
  EXPECT_EQ(sim.ref_count(id), 2);  // the same reference twice: the provider can dedupe
}

TEST(Calls, IdempotentCapabilityIsRetriedAfterAReadTimeout) {
  Sim sim;
  sim.behave(R"({"faults":[{"kind":"hang","count":1}]})");
  ProviderSpec p{"acme", "json", sim.url()};
  p.dedupe = false;
  p.attempt_timeout = "300ms";
  ConfigSpec spec{{p}};
  spec.idempotent = true;
  Gateway gw(config_yaml(spec));
  ASSERT_TRUE(gw.started());
  auto r = gw.call("/v1/sms/send", kSmsBody);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(sim.requests(), 2);
}

TEST(Calls, AnswersByTheCallersDeadline) {
  Sim sim;
  sim.behave(R"({"latency":{"dist":"fixed","ms":3000}})");
  ProviderSpec p{"acme", "json", sim.url()};
  p.attempt_timeout = "5s";
  Gateway gw(config_yaml({{p}}));
  ASSERT_TRUE(gw.started());
  auto r = gw.call("/v1/sms/send", kSmsBody, {{"X-Timeout-Ms", "300"}});
  // The provider would have answered at 3 s: the one attempt was cut at the
  // caller's 300 ms deadline (not at the 5 s attempt timeout) and not repeated.
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_EQ(r.json().at("error").at("code").as_string(), "outcome_unknown");
  const auto attempts = r.json().at("attempts").as_array();
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0].at("provider_code").as_string(), "read_timeout");
  EXPECT_EQ(sim.requests(), 1);
}

TEST(Calls, ProviderErrorCodesMapToClasses) {
  Sim sim;
  Gateway gw(config_yaml({{{"acme", "json", sim.url()}}}));
  ASSERT_TRUE(gw.started());
  auto invalid = gw.call("/v1/sms/send", R"({"to":"+99912345678","template":"T1"})");
  EXPECT_EQ(invalid.status, 422);
  EXPECT_EQ(invalid.json().at("error").at("code").as_string(), "invalid_request");
  EXPECT_EQ(invalid.json().at("error").at("provider_code").as_string(), "1001");
  auto rejected = gw.call("/v1/sms/send", R"({"to":"+8613800000000","template":"REJECT-1"})");
  EXPECT_EQ(rejected.status, 422);
  EXPECT_EQ(rejected.json().at("error").at("code").as_string(), "rejected");
  // Neither is retried: both are the caller's problem, not the provider's.
  EXPECT_EQ(sim.requests(), 2);
}

TEST(Calls, GarbageAnswerIsUnavailableAndNeverSuccess) {
  Sim sim;
  sim.behave(R"({"faults":[{"kind":"malformed"}]})");
  ProviderSpec p{"acme", "json", sim.url()};
  p.dedupe = false;
  Gateway gw(config_yaml({{p}}));
  ASSERT_TRUE(gw.started());
  auto r = gw.call("/v1/sms/send", kSmsBody);
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_EQ(r.json().at("error").at("code").as_string(), "outcome_unknown");
  EXPECT_EQ(r.json().at("error").at("provider_code").as_string(), "malformed_response");
  EXPECT_EQ(sim.requests(), 1);  // ambiguous: it may have sent the SMS
}

// A reset after the request was sent is ambiguous: acme deduplicates, so only
// acme may see the call again (the standby cannot recognise a repeat); a refused
// connection never reached anyone, so it fails over freely.
TEST(Calls, ResetIsRetriedOnlyWhereItDedupesAndRefusedIsUnavailable) {
  Sim sim;
  sim.behave(R"({"faults":[{"kind":"reset"}]})");
  Gateway gw(config_yaml({{{"acme", "json", sim.url()}, {"dead", "json", "http://127.0.0.1:1"}}}));
  ASSERT_TRUE(gw.started());
  auto r = gw.call("/v1/sms/send", kSmsBody);
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_EQ(r.json().at("error").at("code").as_string(), "outcome_unknown");
  auto attempts = r.json().at("attempts").as_array();
  ASSERT_EQ(attempts.size(), 3u);
  for (const auto& a : attempts) {
    EXPECT_EQ(a.at("provider").as_string(), "acme");
    EXPECT_EQ(a.at("provider_code").as_string(), "connection_lost");
  }
  auto refused = gw.call("/v1/sms/send", kSmsBody, {{"X-Tollgate-Exclude", "acme"}});
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_EQ(refused.json().at("error").at("code").as_string(), "unavailable");
  EXPECT_TRUE(refused.json().at("error").at("retryable").as_bool());
  EXPECT_EQ(refused.json().at("attempts").at(0).at("provider_code").as_string(), "connect_failed");
}

TEST(Calls, ThrottledProviderIsRetriedAfterRetryAfter) {
  Sim sim;
  sim.behave(R"({"faults":[{"kind":"http_429","count":1,"retry_after_s":1}]})");
  Gateway gw(config_yaml({{{"acme", "json", sim.url()}}}));
  ASSERT_TRUE(gw.started());
  const auto start = steady_clock::now();
  auto r = gw.call("/v1/sms/send", kSmsBody);
  EXPECT_EQ(r.status, 200) << r.body;
  // The second attempt honoured the provider's Retry-After.
  EXPECT_GE(duration_cast<milliseconds>(steady_clock::now() - start).count(), 1000);
  // With a deadline shorter than Retry-After the caller gets a clear 503 instead.
  sim.behave(R"({"faults":[{"kind":"http_429","count":1,"retry_after_s":5}]})");
  auto quick = gw.call("/v1/sms/send", kSmsBody, {{"X-Timeout-Ms", "1000"}});
  EXPECT_EQ(quick.status, 503) << quick.body;
  EXPECT_EQ(quick.json().at("error").at("code").as_string(), "unavailable");
  EXPECT_EQ(quick.header("retry-after"), "5");
}

TEST(Calls, SlowBodyIsCutAtTheAttemptDeadline) {
  Sim sim;
  // The answer's body arrives 8 bytes every 100 ms: about a second for all of it.
  sim.behave(R"({"faults":[{"kind":"slow_body","interval_ms":100,"count":1}]})");
  ProviderSpec p{"acme", "json", sim.url()};
  p.attempt_timeout = "300ms";
  Gateway gw(config_yaml({{p}}));
  ASSERT_TRUE(gw.started());
  auto r = gw.call("/v1/sms/send", kSmsBody);
  ASSERT_EQ(r.status, 200) << r.body;  // dedupe: true, so the retry is safe
  auto attempts = r.json().at("attempts").as_array();
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(attempts[0].at("provider_code").as_string(), "read_timeout");
}

TEST(Calls, ReusesKeepAliveConnectionsToTheProvider) {
  Sim sim;
  Gateway gw(config_yaml({{{"acme", "json", sim.url()}}}));
  ASSERT_TRUE(gw.started());
  Connection c(gw.port());
  for (int i = 0; i < 20; ++i) {
    auto r = c.request("POST", "/v1/sms/send", kSmsBody, {{"Authorization", "Bearer test-key"}});
    ASSERT_EQ(r.status, 200) << r.body;
  }
  // 20 calls on one caller connection: tollgate kept one pooled connection open.
  EXPECT_EQ(sim.stats()["connections"].as_int64(), 1);
}

}  // namespace
}  // namespace tollgate::testing
