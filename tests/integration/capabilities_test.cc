// Beyond SMS: the example configurations examples/login.yaml, payment.yaml and
// identity.yaml, unmodified, against tollgate-sim's login, wxpay, idv and Tencent
// FaceID dialects: single-use codes never repeated blindly, hedged payment queries,
// refunds retried after a timeout that pay once, answers whose signature does not
// verify never taken for a success, and identity mismatches that are answers, not
// provider faults.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "tests/integration/config_builder.h"
#include "tests/integration/harness.h"

namespace tollgate::testing {
namespace {

using namespace std::chrono;
using json_value = boost::json::value;


// A gateway config that includes the given example files.
std::string config_including(const std::vector<std::string>& files) {
  std::string y = "server:\n  listen: 127.0.0.1:0\n  workers: 2\nadmin:\n  listen: 127.0.0.1:0\n  token: " +
                  std::string(kAdminToken) + "\ninclude:\n";
  for (const auto& f : files) y += "  - " + example(f) + "\n";
  y += "callers:\n  - name: tester\n    key_sha256: " + std::string(kTestKeyHash) +
       "\n    capabilities: [\"login.*\", \"payment.*\", \"identity.*\"]\n";
  return y;
}

// What the gateway logged so far: call lines reach stdout in batches, at the
// latest a second after the call (app/logging.cc), so this waits that long first.
std::string all_logs(Gateway& gw) {
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  return gw.process().stdout_text() + gw.process().stderr_text();
}

// --- login.exchange_code ---------------------------------------------------------------

TEST(Login, ExchangesACodeOnceAndNeverRepeatsItBlindly) {
  Sim main({"--secret", kAppSecret}), standby({"--secret", kAppSecret});
  Gateway gw(config_including({"login.yaml"}), login_env(main, standby));
  ASSERT_TRUE(gw.started()) << gw.process().stderr_text();

  auto ok = gw.call("/v1/login/exchange_code", R"({"code":"081Kq4Ga1"})");
  ASSERT_EQ(ok.status, 200) << ok.body;
  const json_value doc = ok.json();
  EXPECT_FALSE(doc.at("result").at("user_id").as_string().empty());
  EXPECT_FALSE(doc.at("result").at("access_token").as_string().empty());

  // The same code again: the provider says it was used; a clear invalid_request.
  auto used = gw.call("/v1/login/exchange_code", R"({"code":"081Kq4Ga1"})");
  EXPECT_EQ(used.status, 422) << used.body;
  EXPECT_EQ(used.json().at("error").at("code"), "invalid_request");
  EXPECT_EQ(used.json().at("error").at("provider_code"), "40163");

  // The provider uses the code but its answer is lost: the attempt times out, and
  // neither the main domain nor the standby is asked again in this call.
  main.behave(R"({"faults":[{"kind":"answer_lost","count":1}]})");
  auto lost = gw.call("/v1/login/exchange_code", R"({"code":"0a1B2c3D"})");
  EXPECT_EQ(lost.status, 502) << lost.body;
  EXPECT_EQ(lost.json().at("error").at("code"), "outcome_unknown");
  EXPECT_EQ(main.ref_count("0a1B2c3D"), 1);
  EXPECT_EQ(standby.requests(), 0);
  // The caller's own retry learns the code is spent, instead of a second login.
  auto again = gw.call("/v1/login/exchange_code", R"({"code":"0a1B2c3D"})");
  EXPECT_EQ(again.status, 422) << again.body;
  EXPECT_EQ(again.json().at("error").at("provider_code"), "40163");
  EXPECT_EQ(main.ref_count("0a1B2c3D"), 2);

  // The app secret travels in the query string, and never into a log; nor does a code.
  const std::string logs = all_logs(gw);
  EXPECT_EQ(logs.find(kAppSecret), std::string::npos);
  EXPECT_EQ(logs.find("081Kq4Ga1"), std::string::npos);
  EXPECT_NE(logs.find("\"login\""), std::string::npos) << "the calls were logged";
  // Access tokens are not kept for GET /v1/requests/{id}.
  auto status = http(gw.port(), "GET", "/v1/requests/" + std::string(doc.at("id").as_string()), {},
                     {{"Authorization", std::string("Bearer ") + kTestKey}});
  EXPECT_EQ(status.status, 404) << status.body;
}

TEST(Login, ABusyAnswerFailsOverToTheStandbyDomain) {
  Sim main({"--secret", kAppSecret}), standby({"--secret", kAppSecret});
  Gateway gw(config_including({"login.yaml"}), login_env(main, standby));
  ASSERT_TRUE(gw.started()) << gw.process().stderr_text();
  // "System busy" is an explicit refusal: the code was not used, another try is safe.
  main.behave(R"({"faults":[{"kind":"error_code","count":1}]})");
  auto r = gw.call("/v1/login/exchange_code", R"({"code":"busy-then-ok"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json().at("provider"), "wechat_login_standby");
  EXPECT_EQ(r.json().at("attempts").at(0).at("provider_code"), "-1");
}

// --- payment.query and payment.refund ----------------------------------------------------

TEST(Payment, QueryIsHedgedAcrossBothDomainsAndTheFirstAnswerWins) {
  PayKeys keys;
  Sim main(keys.sim_args()), standby(keys.sim_args());
  main.behave(R"({"latency":{"dist":"fixed","ms":800}})");
  Gateway gw(config_including({"payment.yaml"}), keys.env(main, standby));
  ASSERT_TRUE(gw.started()) << gw.process().stderr_text();
  auto r = gw.call("/v1/payment/query", R"({"order_no":"T20261126001"})");
  ASSERT_EQ(r.status, 200) << r.body;
  const json_value doc = r.json();
  EXPECT_EQ(doc.at("provider"), "wxpay_standby");
  EXPECT_EQ(doc.at("result").at("status"), "paid");
  EXPECT_EQ(doc.at("result").at("amount").as_int64(), 10000);
  const auto& attempts = doc.at("attempts").as_array();
  ASSERT_EQ(attempts.size(), 2u) << r.body;
  EXPECT_EQ(attempts[0].at("provider"), "wxpay");
  EXPECT_EQ(attempts[0].at("outcome"), "cancelled");
  EXPECT_EQ(attempts[1].at("hedge"), true);
  // The answer did not wait for the slow domain: its leg was abandoned, not answered.
  EXPECT_EQ(main.outcome("ok"), 0);
  EXPECT_EQ(main.requests(), 1);
  EXPECT_EQ(standby.requests(), 1);
}

TEST(Payment, ARefundRetriedAfterATimeoutPaysOnce) {
  PayKeys keys;
  Sim channel(keys.sim_args());
  // Both domains reach the same channel, as api and api2 do.
  Gateway gw(config_including({"payment.yaml"}), keys.env(channel, channel));
  ASSERT_TRUE(gw.started()) << gw.process().stderr_text();
  // The channel makes the refund, then its answer is lost.
  channel.behave(R"({"faults":[{"kind":"answer_lost","count":1}]})");
  auto r = gw.call("/v1/payment/refund",
                   R"({"order_no":"T20261126002","refund_no":"RF-7001","amount":2500,"total":10000,"reason":"damaged"})");
  ASSERT_EQ(r.status, 200) << r.body;
  const json_value doc = r.json();
  const auto& attempts = doc.at("attempts").as_array();
  ASSERT_EQ(attempts.size(), 2u) << r.body;
  EXPECT_EQ(attempts[0].at("outcome"), "timeout");
  // Two requests with the same refund number, one refund.
  EXPECT_EQ(channel.ref_count("RF-7001"), 2);
  const auto delivered = http(channel.control_port(), "GET", "/_sim/delivered").json().at("delivered").as_array();
  EXPECT_EQ(delivered.size(), 1u);
  EXPECT_EQ(channel.outcome("deduplicated"), 1);
  EXPECT_EQ(doc.at("result").at("amount").as_int64(), 2500);

  // A second refund number for the rest is a second refund; more than paid is refused.
  auto rest = gw.call("/v1/payment/refund", R"({"order_no":"T20261126002","refund_no":"RF-7002","amount":7500,"total":10000})");
  EXPECT_EQ(rest.status, 200) << rest.body;
  auto too_much = gw.call("/v1/payment/refund", R"({"order_no":"T20261126002","refund_no":"RF-7003","amount":1,"total":10000})");
  EXPECT_EQ(too_much.status, 422) << too_much.body;
  EXPECT_EQ(too_much.json().at("error").at("provider_code"), "INVALID_REQUEST");
  auto query = gw.call("/v1/payment/query", R"({"order_no":"T20261126002"})");
  EXPECT_EQ(query.json().at("result").at("status"), "refunded") << query.body;
}

TEST(Payment, AnAnswerWithABadSignatureIsNeverASuccess) {
  PayKeys keys;
  Sim main(keys.sim_args()), standby(keys.sim_args());
  Gateway gw(config_including({"payment.yaml"}), keys.env(main, standby));
  ASSERT_TRUE(gw.started()) << gw.process().stderr_text();

  // One tampered answer: that attempt fails, the query is asked again elsewhere.
  main.behave(R"({"faults":[{"kind":"tamper","count":1}]})");
  auto once = gw.call("/v1/payment/query", R"({"order_no":"T1"})");
  ASSERT_EQ(once.status, 200) << once.body;
  const json_value doc = once.json();
  EXPECT_EQ(doc.at("attempts").at(0).at("outcome"), "unavailable");
  EXPECT_EQ(doc.at("attempts").at(0).at("provider_code"), "bad_signature");
  EXPECT_EQ(doc.at("provider"), "wxpay_standby");

  // Every answer tampered: the caller gets an error, never the forged success.
  main.behave(R"({"faults":[{"kind":"tamper"}]})");
  standby.behave(R"({"faults":[{"kind":"tamper"}]})");
  auto forged = gw.call("/v1/payment/query", R"({"order_no":"T2"})");
  EXPECT_EQ(forged.status, 503) << forged.body;
  EXPECT_EQ(forged.json().at("error").at("code"), "unavailable");
  EXPECT_FALSE(forged.json().as_object().contains("result"));
  auto refund = gw.call("/v1/payment/refund", R"({"order_no":"T2","refund_no":"RF-9","amount":1,"total":10000})");
  EXPECT_NE(refund.status, 200) << refund.body;
  EXPECT_GE(main.outcome("tamper") + standby.outcome("tamper"), 2);
}

TEST(Payment, AWrongPlatformKeyRejectsEveryAnswer) {
  PayKeys keys, other;
  Sim main(keys.sim_args()), standby(keys.sim_args());
  auto env = keys.env(main, standby);
  env["WXPAY_PLATFORM_PUBLIC_KEY_FILE"] = other.dir.file("platform.pub");
  Gateway gw(config_including({"payment.yaml"}), env);
  ASSERT_TRUE(gw.started()) << gw.process().stderr_text();
  auto r = gw.call("/v1/payment/query", R"({"order_no":"T3"})");
  EXPECT_EQ(r.status, 503) << r.body;
  const json_value doc = r.json();
  ASSERT_FALSE(doc.at("attempts").as_array().empty());
  for (const auto& a : doc.at("attempts").as_array()) EXPECT_EQ(a.at("provider_code"), "bad_signature");
}

// --- identity.verify ---------------------------------------------------------------------

TEST(Identity, AMismatchIsAnAnswerAndLeavesTheProviderHealthy) {
  Sim sim;
  Gateway gw(config_including({"identity.yaml"}), identity_env(sim));
  ASSERT_TRUE(gw.started()) << gw.process().stderr_text();
  auto match = gw.call("/v1/identity/verify", R"({"name":"张三","id_number":"110101199003074477"})");
  ASSERT_EQ(match.status, 200) << match.body;
  EXPECT_EQ(match.json().at("result").at("verdict"), "match");
  for (int i = 0; i < 20; ++i) {
    auto r = gw.call("/v1/identity/verify", R"({"name":"李四","id_number":"110101199003074477"})");
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_EQ(r.json().at("result").at("verdict"), "mismatch");
  }
  auto unknown = gw.call("/v1/identity/verify", R"({"name":"赵六","id_number":"11010519491231002X"})");
  EXPECT_EQ(unknown.json().at("result").at("verdict"), "not_found") << unknown.body;

  auto admin = gw.admin("GET", "/admin/providers/idv_checker");
  const json_value view = admin.json();
  const auto& health = view.at("health");
  EXPECT_EQ(health.at("failures").as_int64(), 0) << admin.body;
  EXPECT_EQ(health.at("successes").as_int64(), 22) << admin.body;
  EXPECT_EQ(view.at("routes").at(0).at("breaker").at("state"), "closed");

  // The same verdicts from the second vendor (Tencent FaceID, TC3-signed).
  auto tencent = gw.call("/v1/identity/verify", R"({"name":"李四","id_number":"110101199003074477"})",
                         {{"X-Tollgate-Provider", "tencent_faceid"}});
  ASSERT_EQ(tencent.status, 200) << tencent.body;
  EXPECT_EQ(tencent.json().at("result").at("verdict"), "mismatch");

  // The ID number and the name never appear in the clear in any log.
  const std::string logs = all_logs(gw);
  EXPECT_EQ(logs.find("110101199003074477"), std::string::npos);
  EXPECT_EQ(logs.find("李四"), std::string::npos);
  EXPECT_NE(logs.find("\"identity\""), std::string::npos) << "the calls were logged (masked)";
}

TEST(Identity, BadNumbersAndFacePhotosAreHandledWhereTheyCanBe) {
  Sim sim;
  Gateway gw(config_including({"identity.yaml"}), identity_env(sim));
  ASSERT_TRUE(gw.started()) << gw.process().stderr_text();
  // A wrong check character is refused before any provider is asked, without echoing it.
  auto bad = gw.call("/v1/identity/verify", R"({"name":"张三","id_number":"110101199003074478"})");
  EXPECT_EQ(bad.status, 422) << bad.body;
  EXPECT_EQ(bad.body.find("110101199003074478"), std::string::npos);
  EXPECT_EQ(sim.requests(), 0);
  // With a face photo, only the vendor that can check faces is asked.
  auto face = gw.call("/v1/identity/verify",
                      R"({"name":"张三","id_number":"110101199003074477","photo_ref":"s3://faces/zs-mismatch"})");
  ASSERT_EQ(face.status, 200) << face.body;
  EXPECT_EQ(face.json().at("provider"), "idv_checker");
  EXPECT_EQ(face.json().at("result").at("verdict"), "mismatch");
  auto pinned = gw.call("/v1/identity/verify",
                        R"({"name":"张三","id_number":"110101199003074477","photo_ref":"s3://faces/zs.jpg"})",
                        {{"X-Tollgate-Provider", "tencent_faceid"}});
  EXPECT_EQ(pinned.status, 422) << pinned.body;
  EXPECT_NE(pinned.body.find("can honour param 'photo_ref'"), std::string::npos) << pinned.body;
  // When the first vendor is down, the second answers.
  sim.behave(R"({"faults":[{"kind":"error_code","count":1}]})");
  auto failover = gw.call("/v1/identity/verify", R"({"name":"王五","id_number":"440305199211305674"})");
  ASSERT_EQ(failover.status, 200) << failover.body;
  EXPECT_EQ(failover.json().at("provider"), "tencent_faceid");
  EXPECT_EQ(failover.json().at("result").at("verdict"), "match");
}

}  // namespace
}  // namespace tollgate::testing
