// rsa_sha256 against OpenSSL itself: the test makes a key with `openssl genpkey`,
// has `openssl dgst -sha256 -sign` sign the canonical string WeChat Pay v3
// specifies, and expects the signer to produce the same bytes (PKCS#1 v1.5 is
// deterministic). Then the response verifier: an answer signed by `openssl dgst`
// verifies, the same answer altered by one byte does not.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include "core/encoding.h"
#include "provider/test_fixture.h"

namespace tollgate::provider {
namespace {

using testing::catalog_from;
using testing::one_provider;

struct Keys {
  std::string dir = ::testing::TempDir() + "/rsa-" + std::to_string(::getpid());
  Keys() {
    std::filesystem::create_directories(dir);
    run("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " + dir + "/key.pem");
    run("openssl pkey -in " + dir + "/key.pem -pubout -out " + dir + "/pub.pem");
  }
  ~Keys() { std::filesystem::remove_all(dir); }
  static void run(const std::string& cmd) { ASSERT_EQ(std::system((cmd + " 2>/dev/null").c_str()), 0) << cmd; }
  // base64 of `openssl dgst -sha256 -sign key.pem` over `data`.
  std::string openssl_sign(const std::string& data) const {
    std::ofstream(dir + "/msg.bin", std::ios::binary) << data;
    run("openssl dgst -sha256 -sign " + dir + "/key.pem -out " + dir + "/sig.bin " + dir + "/msg.bin");
    std::ifstream in(dir + "/sig.bin", std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return base64_encode(s.str());
  }
};

TEST(RsaSigner, MatchesOpensslOverTheWeChatPayCanonicalString) {
  Keys keys;
  // The request and values of WeChat Pay v3's own signing example.
  auto cat = catalog_from(one_provider(R"(        request:
          method: POST
          path: /v3/refund/domestic/refunds
          body:
            json: {out_refund_no: "{{params.to}}"}
)", "{type: rsa_sha256, private_key_file: " + keys.dir + "/key.pem" +
                                           R"(, canonical: [method, target, timestamp, nonce, body, "literal:"],
      format: 'WECHATPAY2-SHA256-RSA2048 mchid="1900009191",nonce_str="{{attempt.nonce}}",signature="{{signature}}",timestamp="{{attempt.timestamp}}",serial_no="1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C"'})"));
  ASSERT_TRUE(cat);
  Call call;
  call.id = "c1";
  call.capability = "sms.send";
  call.params = {{"to", "1217752501201407033233368018"}};
  const AttemptInfo attempt{1, WallTime(std::chrono::seconds(1554208460)), "593BEC0C930BF1AFEB40B4A08C8FB242"};
  auto req = cat->provider("p")->operation("sms.send")->encode(call, attempt);
  ASSERT_TRUE(req) << req.error().message;
  const std::string message = "POST\n/base/v3/refund/domestic/refunds\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n" +
                              req->body + "\n";
  EXPECT_EQ(req->header("Authorization"),
            "WECHATPAY2-SHA256-RSA2048 mchid=\"1900009191\",nonce_str=\"593BEC0C930BF1AFEB40B4A08C8FB242\",signature=\"" +
                keys.openssl_sign(message) +
                "\",timestamp=\"1554208460\",serial_no=\"1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C\"");
}

TEST(RsaSigner, TextPartsRenderTheAttempt) {
  Keys keys;
  auto cat = catalog_from(one_provider("        request: {path: /v3/alipay/trade/query}\n",
                                       "{type: rsa_sha256, private_key_file: " + keys.dir + "/key.pem" +
                                           R"(, canonical: ["text:app_id={{credentials.user}},timestamp={{attempt.timestamp_ms}},nonce={{attempt.nonce}}", method, target, body, "literal:"],
      format: "ALIPAY-SHA256withRSA app_id={{credentials.user}},timestamp={{attempt.timestamp_ms}},nonce={{attempt.nonce}},sign={{signature}}"})"));
  ASSERT_TRUE(cat);
  Call call;
  call.params = {{"to", "x"}};
  const AttemptInfo attempt{1, WallTime(std::chrono::milliseconds(1690000000123)), "n1"};
  auto req = cat->provider("p")->operation("sms.send")->encode(call, attempt);
  ASSERT_TRUE(req) << req.error().message;
  const std::string sig = keys.openssl_sign("app_id=Aladdin,timestamp=1690000000123,nonce=n1\nPOST\n/base/v3/alipay/trade/query\n\n");
  EXPECT_EQ(req->header("Authorization"),
            "ALIPAY-SHA256withRSA app_id=Aladdin,timestamp=1690000000123,nonce=n1,sign=" + sig);
}

TEST(RsaSigner, KeyProblemsNameTheOption) {
  std::vector<config::Problem> problems;
  catalog_from(one_provider("        request: {path: /}\n",
                            "{type: rsa_sha256, private_key_file: /nonexistent/key.pem, canonical: [body]}"),
               &problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].message.find("signer.private_key_file: cannot read /nonexistent/key.pem"), std::string::npos)
      << problems[0].message;
  problems.clear();
  catalog_from(one_provider("        request: {path: /}\n",
                            "{type: rsa_sha256, private_key: \"{{credentials.secret}}\", canonical: [body]}"),
               &problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].message.find("signer.private_key: not a PEM private key"), std::string::npos)
      << problems[0].message;
}

TEST(ResponseVerifier, AcceptsTheChannelsSignatureAndNothingElse) {
  Keys keys;
  auto cat = catalog_from(one_provider(R"(        request: {path: /q}
        response:
          success: {status: [200]}
          result: {state: /trade_state}
          verify:
            public_key_file: )" + keys.dir + R"(/pub.pem
            canonical: ["header:Wechatpay-Timestamp", "header:Wechatpay-Nonce", body, "literal:"]
            signature: "header:Wechatpay-Signature"
)"));
  ASSERT_TRUE(cat);
  const auto* op = cat->provider("p")->operation("sms.send");
  const std::string body = R"({"trade_state":"SUCCESS"})";
  HttpResponse resp{200,
                    {{"Wechatpay-Timestamp", "1554209980"},
                     {"Wechatpay-Nonce", "c5ac7061fccab6bf3e254dcf98995b8c"},
                     {"Wechatpay-Signature", keys.openssl_sign("1554209980\nc5ac7061fccab6bf3e254dcf98995b8c\n" + body + "\n")}},
                    body};
  auto ok = op->decode(resp);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->at("state").as_string(), "SUCCESS");

  HttpResponse tampered = resp;
  tampered.body = R"({"trade_state":"SUCCESS" })";
  auto bad = op->decode(tampered);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().cls, ErrorClass::kUnavailable);
  EXPECT_EQ(bad.error().provider_code, "bad_signature");
  EXPECT_TRUE(bad.error().ambiguous);

  HttpResponse unsigned_resp = resp;
  unsigned_resp.headers.pop_back();
  EXPECT_FALSE(op->decode(unsigned_resp));
}

}  // namespace
}  // namespace tollgate::provider
