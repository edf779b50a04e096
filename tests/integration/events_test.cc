// Provider events over real HTTP: tollgate-sim sends receipts the way each vendor
// does (signed, batched, repeated, early), tollgate verifies, stores, ties them
// to their calls and forwards them to callers' callbacks; then the
// silent-failure gameday — a vendor that answers every send "OK" but delivers
// half of them loses its traffic. Assertions wait on counters and events, never
// on elapsed time.
#include <gtest/gtest.h>

#include <iostream>
#include <set>

#include "core/crypto.h"
#include "core/encoding.h"
#include "tests/integration/config_builder.h"
#include "tests/integration/harness.h"

namespace tollgate::testing {
namespace {

using namespace std::chrono;
namespace json = boost::json;

constexpr const char* kEventsToken = "json-events-token-0123456789";
constexpr const char* kCallbackSecret = "cb-secret-for-events";

// Polls `done` every 20 ms until it holds or `limit` passes.
template <typename F>
bool eventually(F done, milliseconds limit = seconds(20)) {
  const auto end = steady_clock::now() + limit;
  while (steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return done();
}

std::string json_events(const std::string& extra = "") {
  return "    events:\n      kinds: [status]\n      verify: {type: token, secret: \"" + std::string(kEventsToken) +
         "\", allowed_sources: [127.0.0.0/8]}\n"
         "      map:\n        message_id: /biz_id\n"
         "        kind: {field: /status, map: {DELIVERED: delivered, UNDELIVERED: undelivered, SENT: sent}}\n"
         "        at: /at\n        code: /error_code\n" + extra;
}

std::string inbound(const std::string& extra = "") {
  return "inbound:\n  listen: 127.0.0.1:0\n  hold: 30s\n  receipt_due: 500ms\n  delivery_window: 60s\n"
         "  min_delivery_samples: 50\n  delivery_interval: 100ms\n" + extra;
}

ProviderSpec json_provider(const std::string& name, const Sim& sim) {
  ProviderSpec p{name, "json", sim.url()};
  p.message_id = true;
  p.extra = json_events();
  return p;
}

std::string sim_target(const Gateway& gw, const std::string& provider, double undelivered = 0,
                       const std::string& extra = "") {
  return R"({"json": {"url": "http://127.0.0.1:)" + std::to_string(gw.inbound_port()) + "/events/" + provider +
         "/status/" + kEventsToken + R"(", "delay_ms": 20, "undelivered": )" + std::to_string(undelivered) + extra +
         "}}";
}

double metric(Gateway& gw, const std::string& name, const std::vector<std::string>& labels) {
  return metric_value(metrics_of(gw), name, labels);
}

json::object request_status(Gateway& gw, const std::string& id) {
  auto r = http(gw.port(), "GET", "/v1/requests/" + id, {}, {{"Authorization", std::string("Bearer ") + kTestKey}});
  if (r.status != 200) return {};
  return json::parse(r.body).as_object();
}

size_t events_of(Gateway& gw, const std::string& id) {
  auto s = request_status(gw, id);
  const auto* e = s.if_contains("events");
  return e && e->is_array() ? e->get_array().size() : 0;
}

TEST(Events, ReceiptsReachTheirCallsAndEachIsForwardedToTheCallerOnceThoughSentTwice) {
  Sim sim;
  CallbackReceiver receiver;
  ConfigSpec spec;
  spec.providers = {json_provider("acme", sim)};
  spec.top_extra = inbound();
  spec.caller_extra = "    callbacks: {allowed_hosts: [\"127.0.0.1:" + std::to_string(receiver.port()) +
                      "\"], secret: " + kCallbackSecret + "}\n";
  Gateway gw(config_yaml(spec));
  ASSERT_TRUE(gw.started());
  ASSERT_GT(gw.inbound_port(), 0);
  sim.events(sim_target(gw, "acme", 0, R"(, "duplicates": 1.0)"));  // every receipt sent twice

  const std::string callback = "http://127.0.0.1:" + std::to_string(receiver.port()) + "/hooks/events";
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    auto r = gw.call("/v1/sms/send", kSmsBody, {{"X-Tollgate-Callback", callback}});
    ASSERT_EQ(r.status, 200) << r.body;
    ids.push_back(std::string(json::parse(r.body).at("id").as_string()));
  }
  // The vendor has had all ten receipts acknowledged...
  ASSERT_TRUE(eventually([&] { return sim.event_stats().at("acknowledged").as_int64() == 10; }));
  // ...five of them stored, five recognised as repeats.
  EXPECT_EQ(metric(gw, "tollgate_events_received_total", {"provider=\"acme\"", "kind=\"delivered\"", "result=\"duplicate\""}), 5);
  // Each call shows its one event; each reached the caller once, signed.
  ASSERT_TRUE(eventually([&] { return metric(gw, "tollgate_event_forwards_total", {"result=\"delivered\""}) == 5; }));
  for (const auto& id : ids) {
    auto s = request_status(gw, id);
    ASSERT_TRUE(s.contains("events")) << json::serialize(s);
    const auto& evs = s.at("events").as_array();
    ASSERT_EQ(evs.size(), 1u) << json::serialize(s);
    EXPECT_EQ(evs[0].at("kind").as_string(), "delivered");
    EXPECT_EQ(evs[0].at("call_id").as_string(), id);
  }
  const auto got = receiver.received();
  ASSERT_EQ(got.size(), 5u);
  std::set<std::string> calls;
  for (const auto& r : got) {
    const std::string ts = r.headers.at("x-tollgate-timestamp");
    EXPECT_EQ(r.headers.at("x-tollgate-signature"), "sha256=" + to_hex(hmac_sha256(kCallbackSecret, ts + "." + r.body)));
    EXPECT_FALSE(r.headers.at("x-tollgate-event-id").empty());
    auto ev = json::parse(r.body).at("event").as_object();
    EXPECT_EQ(ev.at("kind").as_string(), "delivered");
    EXPECT_EQ(std::string(ev.at("call_id").as_string()), r.headers.at("x-tollgate-id"));
    calls.insert(std::string(ev.at("call_id").as_string()));
    EXPECT_EQ(r.target, "/hooks/events");
  }
  EXPECT_EQ(calls, std::set<std::string>(ids.begin(), ids.end()));
}

TEST(Events, AReceiptAheadOfItsAnswerIsHeldThenJoinsItsCall) {
  Sim sim;
  ConfigSpec spec;
  spec.providers = {json_provider("acme", sim)};
  spec.top_extra = inbound();
  Gateway gw(config_yaml(spec));
  ASSERT_TRUE(gw.started());
  // The vendor reports delivery at once but answers the send 300 ms later.
  sim.behave(R"({"latency": {"dist": "fixed", "ms": 300}})");
  sim.events(R"({"json": {"url": "http://127.0.0.1:)" + std::to_string(gw.inbound_port()) +
             "/events/acme/status/" + kEventsToken + R"(", "delay_ms": 0}})");
  auto r = gw.call("/v1/sms/send", kSmsBody);
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string id(json::parse(r.body).at("id").as_string());
  EXPECT_EQ(metric(gw, "tollgate_events_received_total", {"provider=\"acme\"", "result=\"held\""}), 1);
  ASSERT_TRUE(eventually([&] { return events_of(gw, id) == 1; }));
}

TEST(Events, AnEventForAnIdNoCallNamedIsKeptThenExpires) {
  Sim sim;
  ConfigSpec spec;
  spec.providers = {json_provider("acme", sim)};
  spec.top_extra = inbound();
  std::string cfg = config_yaml(spec);
  cfg.replace(cfg.find("hold: 30s"), 9, "hold: 1s");
  Gateway gw(cfg);
  ASSERT_TRUE(gw.started());
  auto r = http(gw.inbound_port(), "POST", std::string("/events/acme/status/") + kEventsToken,
                R"({"biz_id":"biz-nobody-sent","status":"DELIVERED","at":"2026-11-30T10:00:00Z"})",
                {{"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(eventually([&] { return metric(gw, "tollgate_events_held", {}) == 1; }));
  ASSERT_TRUE(eventually([&] { return metric(gw, "tollgate_events_held", {}) == 0; }));
  EXPECT_NE(gw.process().logs().find("held events expired before their call was known"), std::string::npos);
}

TEST(Events, UnverifiedOrGarbledEventsAreRefusedOverTheWire) {
  Sim sim;
  ConfigSpec spec;
  spec.providers = {json_provider("acme", sim)};
  spec.top_extra = inbound();
  Gateway gw(config_yaml(spec));
  ASSERT_TRUE(gw.started());
  const std::string ev = R"({"biz_id":"b1","status":"DELIVERED"})";
  EXPECT_EQ(http(gw.inbound_port(), "POST", "/events/acme/status/not-the-token-at-all", ev).status, 401);
  EXPECT_EQ(http(gw.inbound_port(), "POST", "/events/acme/status", ev).status, 401);
  EXPECT_EQ(http(gw.inbound_port(), "POST", std::string("/events/acme/status/") + kEventsToken, "{\"biz_id\":").status,
            400);
  EXPECT_EQ(http(gw.inbound_port(), "POST", "/events/nobody/status", ev).status, 404);
  // Larger than inbound.max_body_bytes (256 KiB by default).
  EXPECT_EQ(http(gw.inbound_port(), "POST", std::string("/events/acme/status/") + kEventsToken,
                 std::string(300 * 1024, 'x'))
                .status,
            413);
  EXPECT_EQ(metric(gw, "tollgate_events_refused_total", {"provider=\"acme\"", "reason=\"token\""}), 2);
  EXPECT_EQ(metric(gw, "tollgate_events_refused_total", {"provider=\"acme\"", "reason=\"malformed\""}), 1);
  EXPECT_EQ(metric(gw, "tollgate_events_held", {}), 0);
  // The caller API does not answer event paths: the listeners are separate.
  EXPECT_EQ(http(gw.port(), "POST", std::string("/events/acme/status/") + kEventsToken, ev).status, 404);
}

// The vendor presets, unmodified, against the sim's vendor dialects: each
// vendor's receipts (Twilio signed over the URL, Aliyun and Tencent batches
// behind a path token) reach the call that sent the message.
TEST(Events, VendorPresetsReceiveTheirVendorsReceipts) {
  Sim sim;
  const std::string src = std::string(TOLLGATE_SOURCE_DIR) + "/examples/providers/";
  std::map<std::string, std::string> env = {
      {"ALIYUN_SMS_URL", sim.url()},      {"ALIYUN_ACCESS_KEY_ID", "sim-key"},   {"ALIYUN_ACCESS_KEY_SECRET", "sim-secret"},
      {"ALIYUN_SMS_SIGN_NAME", "Acme"},   {"ALIYUN_SMS_EVENTS_TOKEN", "aliyun-events-token-0123"},
      {"TENCENT_SMS_URL", sim.url()},     {"TENCENT_SECRET_ID", "sim-key"},      {"TENCENT_SECRET_KEY", "sim-secret"},
      {"TENCENT_SMS_APP_ID", "1400000000"}, {"TENCENT_SMS_SIGN_NAME", "Acme"},
      {"TENCENT_SMS_EVENTS_TOKEN", "tencent-events-token-0123"},
      {"TWILIO_URL", sim.url()},          {"TWILIO_ACCOUNT_SID", "sim-key"},     {"TWILIO_AUTH_TOKEN", "sim-secret"},
      {"TWILIO_MESSAGING_SERVICE_SID", "MG0000"}};
  const std::string cfg =
      "server:\n  listen: 127.0.0.1:0\n" + inbound() + "include:\n  - " + src + "aliyun-sms.yaml\n  - " + src +
      "tencent-sms.yaml\n  - " + src + "twilio-sms.yaml\n" +
      "callers:\n  - name: tester\n    key_sha256: " + kTestKeyHash + "\n    capabilities: [sms.send]\n" +
      "capabilities:\n  sms.send:\n    deadline: 5s\n    strategy: priority\n"
      "    providers: [aliyun_sms, tencent_sms, twilio_sms]\n"
      "    params:\n      to: {type: string, required: true, format: e164}\n      template: {type: string, required: true}\n"
      "      params: {type: object}\n      text: {type: string}\n";
  Gateway gw(cfg, env);
  ASSERT_TRUE(gw.started()) << gw.process().logs();
  const std::string base = "http://127.0.0.1:" + std::to_string(gw.inbound_port()) + "/events/";
  sim.events(R"({"aliyun": {"url": ")" + base + R"(aliyun_sms/report/aliyun-events-token-0123", "delay_ms": 10},)"
             R"("tencent": {"url": ")" + base + R"(tencent_sms/status/tencent-events-token-0123", "delay_ms": 10},)"
             R"("twilio": {"url": ")" + base + R"(twilio_sms/status", "delay_ms": 10, "undelivered": 1.0}})");
  const char* body = R"({"to":"+8613800000000","template":"SMS_1","params":{"code":"1234"}})";
  std::map<std::string, std::string> expected_kind = {
      {"aliyun_sms", "delivered"}, {"tencent_sms", "delivered"}, {"twilio_sms", "undelivered"}};
  for (const auto& [provider, kind] : expected_kind) {
    auto r = gw.call("/v1/sms/send", body, {{"X-Tollgate-Provider", provider}});
    ASSERT_EQ(r.status, 200) << provider << ": " << r.body;
    const std::string id(json::parse(r.body).at("id").as_string());
    ASSERT_TRUE(eventually([&] { return events_of(gw, id) == 1; })) << provider << "\n" << gw.process().logs();
    auto ev = request_status(gw, id).at("events").as_array()[0].as_object();
    EXPECT_EQ(ev.at("kind").as_string(), kind) << provider;
    EXPECT_EQ(ev.at("provider").as_string(), provider);
  }
  EXPECT_EQ(sim.event_stats().at("refused").as_int64(), 0);
}

// --- The silent-failure gameday ---------------------------------------------------------
// Two vendors answer every send with success; "quiet" reports half of its
// messages undelivered. Routing by score (adaptive) must move at least 90% of
// the traffic to "loud" once the delivery rate is known, and the metric and the
// admin view (what the dashboard draws) must say why.
TEST(SilentFailureGameday, AVendorThatSaysOkButDeliversHalfLosesItsTraffic) {
  Sim quiet, loud;
  ConfigSpec spec;
  spec.providers = {json_provider("quiet", quiet), json_provider("loud", loud)};
  spec.top_extra = inbound();
  spec.capability_extra = "    strategy: adaptive\n";
  Gateway gw(config_yaml(spec));
  ASSERT_TRUE(gw.started());
  quiet.events(sim_target(gw, "quiet", 0.5));
  loud.events(sim_target(gw, "loud", 0.0));

  // Phase 1: traffic shared while nothing is known, until both rates are.
  int sent = 0;
  while (sent < 600 && (metric(gw, "tollgate_delivery_rate", {"provider=\"quiet\""}) < 0 ||
                        metric(gw, "tollgate_delivery_rate", {"provider=\"loud\""}) < 0)) {
    for (int i = 0; i < 20; ++i, ++sent) ASSERT_EQ(gw.call("/v1/sms/send", kSmsBody).status, 200);
    std::this_thread::sleep_for(milliseconds(100));
  }
  ASSERT_TRUE(eventually([&] { return metric(gw, "tollgate_delivery_rate", {"provider=\"quiet\""}) >= 0; }))
      << "the delivery rate never became known after " << sent << " sends";
  const double quiet_rate = metric(gw, "tollgate_delivery_rate", {"provider=\"quiet\"", "capability=\"sms.send\""});
  const double loud_rate = metric(gw, "tollgate_delivery_rate", {"provider=\"loud\"", "capability=\"sms.send\""});
  EXPECT_GT(quiet_rate, 0.2);
  EXPECT_LT(quiet_rate, 0.8);
  EXPECT_GT(loud_rate, 0.9);

  // Phase 2: where new traffic goes now.
  std::map<std::string, int> served;
  for (int i = 0; i < 300; ++i) {
    auto r = gw.call("/v1/sms/send", kSmsBody);
    ASSERT_EQ(r.status, 200) << r.body;
    ++served[std::string(json::parse(r.body).at("provider").as_string())];
  }
  std::cout << "silent failure: after " << sent << " sends the delivery rates were quiet " << quiet_rate << ", loud "
            << loud_rate << "; of the next 300 calls quiet served " << served["quiet"] << ", loud " << served["loud"]
            << "\n";
  EXPECT_GE(served["loud"], 270) << "quiet " << served["quiet"] << ", loud " << served["loud"];
  // Its API never failed: the breaker and the success rate saw nothing wrong.
  auto route = gw.route("quiet");
  EXPECT_EQ(route.at("breaker").at("state").as_string(), "closed");
  EXPECT_DOUBLE_EQ(route.at("health").at("success_rate").as_double(), 1.0);
  // The admin view the dashboard draws carries the delivery rate.
  ASSERT_TRUE(route.contains("delivery_rate")) << json::serialize(route);
  EXPECT_LT(route.at("delivery_rate").as_double(), 0.8);
}

TEST(SilentFailureGameday, WithMinDeliveryRateTheBreakerOpensAndSaysWhy) {
  Sim quiet, loud;
  ConfigSpec spec;
  spec.providers = {json_provider("quiet", quiet), json_provider("loud", loud)};
  spec.providers[0].extra += "    breaker: {min_delivery_rate: 0.8, open: 30s}\n";
  spec.top_extra = inbound();
  spec.capability_extra = "    strategy: priority\n";
  Gateway gw(config_yaml(spec));
  ASSERT_TRUE(gw.started());
  quiet.events(sim_target(gw, "quiet", 0.5));
  int sent = 0;
  while (sent < 600 && gw.route("quiet").at("breaker").at("state").as_string() == "closed") {
    for (int i = 0; i < 20; ++i, ++sent) ASSERT_EQ(gw.call("/v1/sms/send", kSmsBody).status, 200);
    std::this_thread::sleep_for(milliseconds(100));
  }
  auto route = gw.route("quiet");
  ASSERT_EQ(route.at("breaker").at("state").as_string(), "open") << json::serialize(route);
  EXPECT_NE(std::string(route.at("breaker").at("reason").as_string()).find("delivery rate"), std::string::npos);
  const auto before = quiet.requests();
  for (int i = 0; i < 20; ++i) {
    auto r = gw.call("/v1/sms/send", kSmsBody);
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(json::parse(r.body).at("provider").as_string(), "loud");
  }
  EXPECT_EQ(quiet.requests(), before);
}

}  // namespace
}  // namespace tollgate::testing
