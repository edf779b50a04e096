// Inbound provider events through the handler, on a real SQLite store and a
// fixed clock: each verification scheme (Twilio's published example, WeChat Pay
// v3 with a key made for the run, path tokens with source allow-lists), what a
// forged, stale or garbled event leaves behind (nothing), repeats, batches,
// events ahead of their answer, the held bound; then the delivery monitor's
// judgement.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <filesystem>

#include "config/loader.h"
#include "core/blocking.h"
#include "core/crypto.h"
#include "core/encoding.h"
#include "core/time_format.h"
#include "core/vendor_signatures.h"
#include "events/delivery.h"
#include "events/inbound.h"
#include "events/normalize.h"
#include "store/sqlite/sqlite_store.h"
#include "tests/mocks/fake_transport.h"
#include "tests/mocks/test_runtime.h"
#include "tests/mocks/sim_time.h"

namespace tollgate::events {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

struct KeyPair {
  std::string private_pem;
  std::string public_pem;
};

const KeyPair& platform_key() {
  static const KeyPair k = [] {
    EVP_PKEY* key = EVP_RSA_gen(2048);
    auto pem = [&](bool priv) {
      BIO* bio = BIO_new(BIO_s_mem());
      if (priv) {
        PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
      } else {
        PEM_write_bio_PUBKEY(bio, key);
      }
      char* data = nullptr;
      const long len = BIO_get_mem_data(bio, &data);
      std::string out(data, static_cast<size_t>(len));
      BIO_free(bio);
      return out;
    };
    KeyPair kp{pem(true), pem(false)};
    EVP_PKEY_free(key);
    return kp;
  }();
  return k;
}

const std::string kApiV3Key = "0123456789abcdef0123456789abcdef";
const std::string kAliyunToken = "aliyun-path-token-0123456789";

std::string indent(const std::string& pem, int n) {
  std::string out;
  for (size_t i = 0; i < pem.size();) {
    const auto nl = pem.find('\n', i);
    out += std::string(static_cast<size_t>(n), ' ') + pem.substr(i, nl - i) + "\n";
    if (nl == std::string::npos) break;
    i = nl + 1;
  }
  return out;
}

std::string config_text(int max_held) {
  return R"(inbound:
  listen: 127.0.0.1:0
  hold: 60s
  max_held: )" + std::to_string(max_held) + R"(
  receipt_due: 30s
  delivery_window: 10m
  min_delivery_samples: 10
callers:
  - name: shop
    key_sha256: 62af8704764faf8ea82fc61ce9c4c3908b6cb97d463a634e9e587d7c885db0ef
    capabilities: ["*"]
capabilities:
  sms.send:
    strategy: adaptive
    providers: [twilio, aliyun]
    params: {to: {type: string, required: true}}
  payment.refund:
    providers: [wxpay]
    params: {refund_no: {type: string, required: true}}
providers:
  twilio:
    base_url: http://twilio.test
    credentials: {auth_token: "12345"}
    breaker: {min_delivery_rate: 0.8}
    operations:
      sms.send:
        request: {path: /send, body: {json: {to: "{{params.to}}"}}}
        response: {result: {sid: /sid}, message_id: sid}
    events:
      verify: {type: twilio, secret: "{{credentials.auth_token}}", public_url: "https://mycompany.com/myapp.php"}
      format: form
      map:
        message_id: /CallSid
        kind: {field: /Digits, map: {"1234": delivered, "0000": undelivered}}
  aliyun:
    base_url: http://aliyun.test
    operations:
      sms.send:
        request: {path: /send, body: {json: {to: "{{params.to}}"}}}
        response: {result: {biz_id: /BizId}, message_id: biz_id}
    events:
      kinds: [report]
      verify: {type: token, secret: ")" + kAliyunToken + R"(", allowed_sources: [127.0.0.0/8, "::1"]}
      map:
        message_id: /biz_id
        kind: {field: /success, map: {"true": delivered, "false": undelivered}}
        at: /report_time
        code: /err_code
      ack: {body: '{"code":0,"msg":"成功"}'}
  wxpay:
    base_url: http://wxpay.test
    operations:
      payment.refund:
        request: {path: /refund, body: {json: {out_refund_no: "{{params.refund_no}}"}}}
        response: {result: {refund_no: /out_refund_no}, message_id: refund_no}
    events:
      kinds: [refund]
      verify:
        type: wxpay_v3
        secret: )" + kApiV3Key + R"(
        platform_keys:
          PLATFORM-SERIAL-1: |
)" + indent(platform_key().public_pem, 12) +
         R"(      map:
        message_id: /resource/out_refund_no
        kind: {field: /resource/refund_status, map: {SUCCESS: refunded, ABNORMAL: refund_failed, CLOSED: refund_closed}}
        at: /resource/success_time
      ack: {status: 204}
)";
}

class Events : public ::testing::Test {
 protected:
  void SetUp() override { build(100); }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void build(int max_held) {
    runtime_ = testing::test_runtime(config_text(max_held), registry_, "events.yaml");
    ASSERT_TRUE(runtime_);
    holder_ = std::make_unique<engine::RuntimeHolder>(runtime_);
    dir_ = std::filesystem::temp_directory_path() /
           ("tollgate-events-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto s = store::SqliteStore::open({(dir_ / "t.db").string(), true});
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(s.value());
    handler_ = std::make_unique<InboundHandler>(*holder_, *store_, time_);
    EXPECT_TRUE(handler_->prepare(runtime_).empty());
  }

  template <typename T>
  T run(asio::awaitable<T> a) {
    return run_blocking(std::move(a));  // core/blocking.h: why not a local context
  }
  HttpResponse post(const std::string& path, const std::string& body, HeaderList headers = {},
                    const std::string& peer = "127.0.0.1", const std::string& query = "") {
    HttpRequest req;
    req.method = "POST";
    req.path = path;
    req.query = query;
    req.body = body;
    req.headers = std::move(headers);
    http::RequestContext ctx;
    ctx.peer = peer;
    return run(handler_->handle(std::move(req), std::move(ctx))).response;
  }
  std::int64_t held() { return *run(store_->held_events()); }
  std::vector<store::EventRecord> events_of(const std::string& call) { return *run(store_->events_for_call(call)); }
  void sent(const std::string& provider, const std::string& mid, const std::string& call,
            const std::string& callback = "") {
    store_->record_send({provider, mid, call, "sms.send", "shop", callback, unix_millis(time_.wall())});
    held();  // commits after it
  }

  // A WeChat Pay v3 refund notification, encrypted and signed as the channel does.
  struct Notice {
    std::string body;
    HeaderList headers;
  };
  Notice wxpay_notice(const std::string& refund_no, const std::string& status, long long ts,
                      const std::string& key = kApiV3Key, const std::string& serial = "PLATFORM-SERIAL-1") {
    const std::string resource = json::serialize(json::object{{"mchid", "1900000100"},
                                                               {"out_trade_no", "T-1"},
                                                               {"out_refund_no", refund_no},
                                                               {"refund_status", status},
                                                               {"success_time", "2026-11-30T10:00:00+08:00"}});
    const std::string nonce = "fdasflkja484";
    const std::string sealed = aes256_gcm_encrypt(key, nonce, "refund", resource);
    const std::string body = json::serialize(json::object{
        {"id", "EV-2018022511223320873"},
        {"create_time", "2026-11-30T10:00:01+08:00"},
        {"resource_type", "encrypt-resource"},
        {"event_type", "REFUND.SUCCESS"},
        {"summary", "退款成功"},
        {"resource", json::object{{"original_type", "refund"},
                                  {"algorithm", "AEAD_AES_256_GCM"},
                                  {"ciphertext", base64_encode(sealed)},
                                  {"associated_data", "refund"},
                                  {"nonce", nonce}}}});
    const std::string t = std::to_string(ts);
    const std::string sig_nonce = "5K8264ILTKCH16CQ2502SI8ZNMTM67VS";
    auto priv = RsaKey::private_pem(platform_key().private_pem);
    const std::string sig = base64_encode(priv->sign_sha256(t + "\n" + sig_nonce + "\n" + body + "\n"));
    return {body,
            {{"Content-Type", "application/json"},
             {"Wechatpay-Timestamp", t},
             {"Wechatpay-Nonce", sig_nonce},
             {"Wechatpay-Signature", sig},
             {"Wechatpay-Serial", serial}}};
  }
  long long now_s() { return unix_millis(time_.wall()) / 1000; }

  testing::SimTime time_;
  engine::StateRegistry registry_;
  std::shared_ptr<const engine::Runtime> runtime_;
  std::unique_ptr<engine::RuntimeHolder> holder_;
  std::filesystem::path dir_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<InboundHandler> handler_;
};

// Twilio's "validating signatures" example: auth token 12345, URL
// https://mycompany.com/myapp.php?foo=1&bar=2 and its five POST params, signed
// GvWf1cFY/Q7PnoempGyD5oXAezc=.
const char* kTwilioDocsBody = "CallSid=CA1234567890ABCDE&Caller=%2B14158675310&Digits=1234&From=%2B14158675310&To=%2B18005551212";
const char* kTwilioDocsSignature = "GvWf1cFY/Q7PnoempGyD5oXAezc=";

TEST_F(Events, TwilioDocsExampleIsAcceptedAndStoredForItsCall) {
  sent("twilio", "CA1234567890ABCDE", "call-1");
  auto r = post("/events/twilio/status", kTwilioDocsBody,
                {{"Content-Type", "application/x-www-form-urlencoded"}, {"X-Twilio-Signature", kTwilioDocsSignature}},
                "203.0.113.9", "foo=1&bar=2");
  EXPECT_EQ(r.status, 200) << r.body;
  auto evs = events_of("call-1");
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].kind, "delivered");
  auto doc = json::parse(evs[0].doc_json).as_object();
  EXPECT_EQ(doc.at("provider_message_id").as_string(), "CA1234567890ABCDE");
  EXPECT_EQ(doc.at("status").as_string(), "1234");
}

TEST_F(Events, AForgedOrAlteredTwilioEventIs401AndStoresNothing) {
  sent("twilio", "CA1234567890ABCDE", "call-1");
  const HeaderList form = {{"Content-Type", "application/x-www-form-urlencoded"},
                           {"X-Twilio-Signature", kTwilioDocsSignature}};
  std::string altered = kTwilioDocsBody;
  altered.replace(altered.find("Digits=1234"), 11, "Digits=0000");
  EXPECT_EQ(post("/events/twilio/status", altered, form, "203.0.113.9", "foo=1&bar=2").status, 401);
  // The same body at another URL than the one signed.
  EXPECT_EQ(post("/events/twilio/status", kTwilioDocsBody, form, "203.0.113.9", "foo=1&bar=3").status, 401);
  EXPECT_EQ(post("/events/twilio/status", kTwilioDocsBody, {{"Content-Type", "application/x-www-form-urlencoded"}},
                 "203.0.113.9", "foo=1&bar=2")
                .status,
            401);
  EXPECT_TRUE(events_of("call-1").empty());
  EXPECT_EQ(held(), 0);
}

TEST_F(Events, TwilioJsonEventsAreCheckedAgainstTheirBodyHash) {
  sent("twilio", "CA9", "call-9");
  const std::string body = R"({"CallSid":"CA9","Digits":"0000"})";
  const std::string query = "bodySHA256=" + sha256_hex(body);
  const std::string sig = twilio_signature("12345", "https://mycompany.com/myapp.php?" + query, {});
  EXPECT_EQ(post("/events/twilio/status", R"({"CallSid":"CA9","Digits":"1234"})",
                 {{"Content-Type", "application/json"}, {"X-Twilio-Signature", sig}}, "203.0.113.9", query)
                .status,
            401);
  auto r = post("/events/twilio/status", body, {{"Content-Type", "application/json"}, {"X-Twilio-Signature", sig}},
                "203.0.113.9", query);
  EXPECT_EQ(r.status, 200) << r.body;
  auto evs = events_of("call-9");
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].kind, "undelivered");
}

TEST_F(Events, WechatPayNotificationIsVerifiedDecryptedAndAcknowledgedWith204) {
  store_->record_send({"wxpay", "R-1", "call-r1", "payment.refund", "shop", "", unix_millis(time_.wall())});
  auto n = wxpay_notice("R-1", "SUCCESS", now_s() - 10);
  auto r = post("/events/wxpay/refund", n.body, n.headers);
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_TRUE(r.body.empty());
  auto evs = events_of("call-r1");
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].kind, "refunded");
  auto doc = json::parse(evs[0].doc_json).as_object();
  EXPECT_EQ(doc.at("at").as_string(), "2026-11-30T10:00:00+08:00");
}

TEST_F(Events, StaleForgedOrUndecryptableWechatPayNotificationsStoreNothing) {
  store_->record_send({"wxpay", "R-1", "call-r1", "payment.refund", "shop", "", unix_millis(time_.wall())});
  auto stale = wxpay_notice("R-1", "SUCCESS", now_s() - 6 * 60);
  EXPECT_EQ(post("/events/wxpay/refund", stale.body, stale.headers).status, 401);
  auto future = wxpay_notice("R-1", "SUCCESS", now_s() + 6 * 60);
  EXPECT_EQ(post("/events/wxpay/refund", future.body, future.headers).status, 401);
  auto unknown_serial = wxpay_notice("R-1", "SUCCESS", now_s(), kApiV3Key, "OTHER-SERIAL");
  EXPECT_EQ(post("/events/wxpay/refund", unknown_serial.body, unknown_serial.headers).status, 401);
  auto tampered = wxpay_notice("R-1", "SUCCESS", now_s());
  tampered.body.replace(tampered.body.find("REFUND.SUCCESS"), 14, "REFUND.ABNORML");
  EXPECT_EQ(post("/events/wxpay/refund", tampered.body, tampered.headers).status, 401);
  // Signed by the channel's key, but its resource sealed with another APIv3 key.
  auto wrong_key = wxpay_notice("R-1", "SUCCESS", now_s(), "ffffffffffffffffffffffffffffffff");
  EXPECT_EQ(post("/events/wxpay/refund", wrong_key.body, wrong_key.headers).status, 401);
  EXPECT_TRUE(events_of("call-r1").empty());
  EXPECT_EQ(held(), 0);
}

TEST_F(Events, TokenSchemeNeedsTheTokenAndAnAllowedSourceAndSplitsBatches) {
  for (int i = 1; i <= 3; ++i) sent("aliyun", "biz-" + std::to_string(i), "call-" + std::to_string(i));
  const std::string batch = R"([
    {"phone_number":"13800000001","success":true,"biz_id":"biz-1","report_time":"2026-11-30 10:00:01","err_code":"DELIVERED"},
    {"phone_number":"13800000002","success":false,"biz_id":"biz-2","report_time":"2026-11-30 10:00:02","err_code":"MK:0001"},
    {"phone_number":"13800000003","success":true,"biz_id":"biz-3","report_time":"2026-11-30 10:00:03","err_code":"DELIVERED"}])";
  EXPECT_EQ(post("/events/aliyun/report/wrong-token-0123456789ab", batch).status, 401);
  EXPECT_EQ(post("/events/aliyun/report", batch).status, 401);
  EXPECT_EQ(post("/events/aliyun/report/" + kAliyunToken, batch, {}, "198.51.100.7").status, 401);
  for (int i = 1; i <= 3; ++i) EXPECT_TRUE(events_of("call-" + std::to_string(i)).empty());

  auto r = post("/events/aliyun/report/" + kAliyunToken, batch, {}, "::1");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"code":0,"msg":"成功"})");
  EXPECT_EQ(events_of("call-1").at(0).kind, "delivered");
  EXPECT_EQ(events_of("call-2").at(0).kind, "undelivered");
  auto doc = json::parse(events_of("call-2").at(0).doc_json).as_object();
  EXPECT_EQ(doc.at("provider_code").as_string(), "MK:0001");
  EXPECT_EQ(doc.at("at").as_string(), "2026-11-30 10:00:02");
  EXPECT_FALSE(doc.contains("phone_number"));  // only what the mapping names reaches callers
}

TEST_F(Events, AVendorRetryIsAcknowledgedAgainButStoredOnce) {
  sent("aliyun", "biz-1", "call-1", "https://hooks.example.com/events");
  const std::string one = R"([{"success":true,"biz_id":"biz-1","report_time":"2026-11-30 10:00:01"}])";
  EXPECT_EQ(post("/events/aliyun/report/" + kAliyunToken, one).status, 200);
  EXPECT_EQ(post("/events/aliyun/report/" + kAliyunToken, one).status, 200);
  auto evs = events_of("call-1");
  ASSERT_EQ(evs.size(), 1u);
  auto due = run(store_->claim_event_forwards(unix_millis(time_.wall()) + 1, 10, unix_millis(time_.wall()) + 60000));
  ASSERT_TRUE(due);
  EXPECT_EQ(due->size(), 1u);  // forwarded once
}

TEST_F(Events, AnEventAheadOfItsAnswerIsHeldThenJoinsItsCall) {
  const std::string one = R"([{"success":true,"biz_id":"biz-early","report_time":"2026-11-30 10:00:01"}])";
  EXPECT_EQ(post("/events/aliyun/report/" + kAliyunToken, one).status, 200);
  EXPECT_EQ(held(), 1);
  sent("aliyun", "biz-early", "call-early");
  EXPECT_EQ(held(), 0);
  ASSERT_EQ(events_of("call-early").size(), 1u);
}

TEST_F(Events, GarbageFromAVerifiedSourceIs400AndStoresNothing) {
  const std::string path = "/events/aliyun/report/" + kAliyunToken;
  EXPECT_EQ(post(path, "{not json").status, 400);
  EXPECT_EQ(post(path, R"([{"success":true,"report_time":"x"}])").status, 400);          // no message id
  EXPECT_EQ(post(path, R"([{"biz_id":"b1","success":true},{"biz_id":{"x":1},"success":true}])").status, 400);
  EXPECT_EQ(post(path, R"([])").status, 400);
  EXPECT_EQ(post(path, R"("just a string")").status, 400);
  std::string many = "[";
  for (size_t i = 0; i <= kMaxItems; ++i) many += std::string(i ? "," : "") + R"({"biz_id":"b","success":true})";
  many += "]";
  EXPECT_EQ(post(path, many).status, 400);
  EXPECT_EQ(held(), 0);
}

TEST_F(Events, UnknownEndpointsAre404AndOnlyPostIsAccepted) {
  EXPECT_EQ(post("/events/nobody/status", "{}").status, 404);
  EXPECT_EQ(post("/events/twilio/refund", "{}").status, 404);  // not one of its kinds
  EXPECT_EQ(post("/events/twilio", "{}").status, 404);
  EXPECT_EQ(post("/events/twilio/status/x/y", "{}").status, 404);
  EXPECT_EQ(post("/other", "{}").status, 404);
  HttpRequest get;
  get.path = "/events/twilio/status";
  EXPECT_EQ(run(handler_->handle(get, http::RequestContext{})).response.status, 405);
}

class EventsHeldBound : public Events {
 protected:
  void SetUp() override { build(2); }
};

TEST_F(EventsHeldBound, PastTheHeldBoundTheVendorIsToldToComeBackAndNothingIsStored) {
  const std::string path = "/events/aliyun/report/" + kAliyunToken;
  EXPECT_EQ(post(path, R"([{"biz_id":"u1","success":true},{"biz_id":"u2","success":true}])").status, 200);
  auto r = post(path, R"([{"biz_id":"u3","success":true}])");
  EXPECT_EQ(r.status, 503);
  EXPECT_FALSE(find_header(r.headers, "Retry-After").empty());
  EXPECT_EQ(held(), 2);
  // An event for a known call is never refused for the bound.
  sent("aliyun", "k1", "call-k1");
  EXPECT_EQ(post(path, R"([{"biz_id":"k1","success":true}])").status, 200);
}

TEST_F(Events, DeliveryRateSetsRoutesAndTripsTheBreakerBelowItsMinimum) {
  http::Workers workers(1);  // never started: apply() is called directly
  DeliveryMonitor monitor(workers, *holder_, *store_, time_, time_);
  const auto* cap = runtime_->capability("sms.send");
  ASSERT_TRUE(cap);
  const auto& twilio = cap->candidates[static_cast<size_t>(cap->candidate_index("twilio"))];
  const auto& aliyun = cap->candidates[static_cast<size_t>(cap->candidate_index("aliyun"))];
  // Too few sends due: unknown, nothing judged.
  monitor.apply({{"twilio", "sms.send", 9, 2, 7}}, *runtime_, time_.now());
  EXPECT_LT(twilio.route->delivery_rate.load(), 0);
  EXPECT_EQ(twilio.route->breaker.state(time_.now()), policy::BreakerState::kClosed);
  // Enough: 50% for twilio (below its 0.8), 100% for aliyun (no minimum).
  monitor.apply({{"twilio", "sms.send", 20, 10, 4}, {"aliyun", "sms.send", 20, 20, 0}}, *runtime_, time_.now());
  EXPECT_DOUBLE_EQ(twilio.route->delivery_rate.load(), 0.5);
  EXPECT_DOUBLE_EQ(aliyun.route->delivery_rate.load(), 1.0);
  EXPECT_EQ(twilio.route->breaker.state(time_.now()), policy::BreakerState::kOpen);
  EXPECT_NE(twilio.route->breaker.info(time_.now()).last_reason.find("delivery rate 50% below 80%"), std::string::npos);
  EXPECT_EQ(aliyun.route->breaker.state(time_.now()), policy::BreakerState::kClosed);
  auto rates = monitor.rates();
  ASSERT_EQ(rates.size(), 3u);  // every route of a provider with events (wxpay's refunds too)
  const auto it = std::find_if(rates.begin(), rates.end(), [](const DeliveryRate& r) { return r.provider == "twilio"; });
  ASSERT_NE(it, rates.end());
  EXPECT_EQ(it->due, 20);
  EXPECT_EQ(it->delivered, 10);
  // The sends aged out of the window: unknown again.
  monitor.apply({}, *runtime_, time_.now());
  EXPECT_LT(twilio.route->delivery_rate.load(), 0);
}

}  // namespace
}  // namespace tollgate::events
