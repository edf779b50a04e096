// The vendor signers, built from config as a provider would be, signing the
// requests of the vendors' own published examples; the output must match byte for
// byte. Sources (see also core/vendor_signatures_test.cc):
//  [ALI-RPC] Alibaba Cloud ECS API reference, "Request signatures": DescribeRegions.
//  [ACS3]    Alibaba Cloud, "V3 request structure and signature": RunInstances.
//  [TC3]     Tencent Cloud API 3.0, "Signature v3" (document/api/213/30654): DescribeInstances.
//  [SIGV4]   AWS "Signature Version 4 test suite": get-vanilla,
//            get-vanilla-query-order-key-case, post-vanilla, post-x-www-form-urlencoded.
//  [IAM]     AWS General Reference, "Signature Version 4 signing process" worked example:
//            IAM ListUsers.
//  [S3-HDR]  Amazon S3 API Reference, "Signature calculations for the Authorization header":
//            Example GET Object (test.txt, Range: bytes=0-9).
//  [S3-QRY]  Amazon S3 API Reference, "Authenticating requests: using query parameters":
//            the presigned GET of test.txt valid for 86400 s.
#include <gtest/gtest.h>

#include "core/encoding.h"
#include "core/vendor_signatures.h"
#include "provider/test_fixture.h"

namespace tollgate::provider {
namespace {

using testing::catalog_from;
using testing::one_provider;

const char* kOp = R"(        request:
          path: /
)";

struct Signed {
  HttpRequest req;
  bool ok = false;
};

// Signs `req` with the signer described by `signer_yaml` at `unix_s`, with `nonce`
// and `host` as the attempt's.
Signed sign_with(const std::string& signer_yaml, HttpRequest req, long long unix_s, std::string_view host,
                 std::string_view nonce = "") {
  Signed out;
  auto cat = catalog_from(one_provider(kOp, signer_yaml));
  if (!cat) return out;
  RenderContext ctx;
  ctx.nonce = nonce;
  const WallTime now{std::chrono::seconds(unix_s)};
  out.ok = static_cast<bool>(cat->provider("p")->signer().sign(req, SignInput{ctx, host, now}));
  out.req = std::move(req);
  return out;
}

HttpRequest request(std::string method, std::string path, std::string query = {}, HeaderList headers = {},
                    std::string body = {}) {
  HttpRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.query = std::move(query);
  r.headers = std::move(headers);
  r.body = std::move(body);
  return r;
}

TEST(VendorSigners, AliyunRpcSignsTheDescribeRegionsExample) {  // [ALI-RPC]
  auto s = sign_with("{type: aliyun_rpc, access_key_id: testid, access_key_secret: testsecret}",
                     request("GET", "/", "Action=DescribeRegions&Format=XML&Version=2014-05-26"), 1456231584,
                     "ecs.aliyuncs.com", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf");
  ASSERT_TRUE(s.ok);
  EXPECT_EQ(s.req.query,
            "Action=DescribeRegions&Format=XML&Version=2014-05-26&AccessKeyId=testid&SignatureMethod=HMAC-SHA1"
            "&SignatureNonce=3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf&SignatureVersion=1.0"
            "&Timestamp=2016-02-23T12%3A46%3A24Z&Signature=OLeaidS1JvxuMvnyHOwuJ%2BuX5qY%3D");
}

TEST(VendorSigners, AliyunRpcPostSignsTheFormBodyAndKeepsParamsThere) {
  auto s = sign_with("{type: aliyun_rpc, access_key_id: testid, access_key_secret: testsecret}",
                     request("POST", "/", "", {{"Content-Type", "application/x-www-form-urlencoded"}},
                             "Action=SendSms&PhoneNumbers=%2B8613800000000&SignName=Acme+Shop"),
                     1456231584, "dysmsapi.aliyuncs.com", "nonce-1");
  ASSERT_TRUE(s.ok);
  EXPECT_EQ(s.req.query, "");
  NameValues body;
  ASSERT_TRUE(parse_name_values(s.req.body, true, body));
  ASSERT_EQ(body.back().first, "Signature");
  const std::string sig = body.back().second;
  body.pop_back();
  EXPECT_EQ(body[2].second, "Acme Shop");
  // The signature covers every param, method POST, as the server recomputes it.
  EXPECT_EQ(sig, aliyun_rpc_signature("testsecret", "POST", body));
}

TEST(VendorSigners, Acs3SignsTheRunInstancesExample) {  // [ACS3]
  auto s = sign_with(
      "{type: acs3_hmac_sha256, access_key_id: YourAccessKeyId, access_key_secret: YourAccessKeySecret, "
      "action: RunInstances, version: \"2014-05-26\"}",
      request("POST", "/", "ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai"),
      1698315752, "ecs.cn-shanghai.aliyuncs.com", "3156853299f313e23d1673dc12e1703d");
  ASSERT_TRUE(s.ok);
  EXPECT_EQ(s.req.header("x-acs-date"), "2023-10-26T10:22:32Z");
  EXPECT_EQ(s.req.header("Authorization"),
            "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;x-acs-content-sha256;"
            "x-acs-date;x-acs-signature-nonce;x-acs-version,"
            "Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0");
}

TEST(VendorSigners, Tc3SignsTheDescribeInstancesExample) {  // [TC3]
  auto s = sign_with(
      "{type: tc3_hmac_sha256, secret_id: AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE, "
      "secret_key: Gu5t9xGARNpq86cd98joQYCN3EXAMPLE, service: cvm, action: DescribeInstances, "
      "version: \"2017-03-12\", region: ap-guangzhou, signed_headers: [content-type, host]}",
      request("POST", "/", "", {{"Content-Type", "application/json; charset=utf-8"}},
              R"({"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]})"),
      1551113065, "cvm.tencentcloudapi.com");
  ASSERT_TRUE(s.ok);
  EXPECT_EQ(s.req.header("X-TC-Timestamp"), "1551113065");
  EXPECT_EQ(s.req.header("X-TC-Action"), "DescribeInstances");
  EXPECT_EQ(s.req.header("X-TC-Region"), "ap-guangzhou");
  EXPECT_EQ(s.req.header("Authorization"),
            "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, "
            "SignedHeaders=content-type;host, "
            "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168");
}

TEST(VendorSigners, Tc3SignsTheActionHeaderByDefault) {
  auto s = sign_with(
      "{type: tc3_hmac_sha256, secret_id: id, secret_key: key, service: sms, action: SendSms, version: \"2021-01-11\"}",
      request("POST", "/", "", {{"Content-Type", "application/json"}}, "{}"), 1551113065, "sms.tencentcloudapi.com");
  ASSERT_TRUE(s.ok);
  EXPECT_NE(s.req.header("Authorization").find("SignedHeaders=content-type;host;x-tc-action,"), std::string::npos);
}

const char* kSuite =
    "{type: aws_sigv4, access_key_id: AKIDEXAMPLE, secret_access_key: \"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\", "
    "region: us-east-1, service: service}";
const long long kSuiteTime = 1440938160;  // 20150830T123600Z

std::string suite_authorization(const std::string& signed_headers, const std::string& signature) {
  return "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=" +
         signed_headers + ", Signature=" + signature;
}

TEST(VendorSigners, SigV4SignsTheTestSuiteCases) {  // [SIGV4]
  auto get = sign_with(kSuite, request("GET", "/"), kSuiteTime, "example.amazonaws.com");
  ASSERT_TRUE(get.ok);
  EXPECT_EQ(get.req.header("X-Amz-Date"), "20150830T123600Z");
  EXPECT_EQ(get.req.header("Authorization"),
            suite_authorization("host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"));

  auto order = sign_with(kSuite, request("GET", "/", "Param2=value2&Param1=value1"), kSuiteTime, "example.amazonaws.com");
  EXPECT_EQ(order.req.header("Authorization"),
            suite_authorization("host;x-amz-date", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"));

  auto post = sign_with(kSuite, request("POST", "/"), kSuiteTime, "example.amazonaws.com");
  EXPECT_EQ(post.req.header("Authorization"),
            suite_authorization("host;x-amz-date", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"));

  auto form = sign_with(kSuite,
                        request("POST", "/", "", {{"Content-Type", "application/x-www-form-urlencoded"}}, "Param1=value1"),
                        kSuiteTime, "example.amazonaws.com");
  EXPECT_EQ(form.req.header("Authorization"),
            suite_authorization("content-type;host;x-amz-date",
                                "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"));
}

TEST(VendorSigners, SigV4SignsTheIamListUsersExample) {  // [IAM]
  auto s = sign_with(
      "{type: aws_sigv4, access_key_id: AKIDEXAMPLE, secret_access_key: \"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\", "
      "region: us-east-1, service: iam}",
      request("GET", "/", "Action=ListUsers&Version=2010-05-08",
              {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}}),
      kSuiteTime, "iam.amazonaws.com");
  ASSERT_TRUE(s.ok);
  EXPECT_EQ(s.req.header("Authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date, "
            "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
}

const char* kS3 =
    "{type: aws_sigv4, access_key_id: AKIAIOSFODNN7EXAMPLE, secret_access_key: \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\", "
    "region: us-east-1, service: s3";

TEST(VendorSigners, SigV4SignsTheS3GetObjectExample) {  // [S3-HDR]
  auto s = sign_with(std::string(kS3) + ", sign_headers: [range]}", request("GET", "/test.txt", "", {{"Range", "bytes=0-9"}}),
                     1369353600, "examplebucket.s3.amazonaws.com");
  ASSERT_TRUE(s.ok);
  EXPECT_EQ(s.req.header("X-Amz-Content-Sha256"), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(s.req.header("Authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(VendorSigners, SigV4PresignsTheS3QueryExample) {  // [S3-QRY]
  auto s = sign_with(std::string(kS3) + ", placement: query, expires_s: \"86400\"}", request("GET", "/test.txt"),
                     1369353600, "examplebucket.s3.amazonaws.com");
  ASSERT_TRUE(s.ok);
  EXPECT_EQ(s.req.query,
            "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2F"
            "aws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
            "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
  EXPECT_EQ(s.req.header("Authorization"), "");
}

TEST(VendorSigners, TwilioIsBasicAuthWithTheAccountSid) {
  auto s = sign_with("{type: twilio, account_sid: ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX, auth_token: tok}",
                     request("POST", "/"), 0, "api.twilio.com");
  ASSERT_TRUE(s.ok);
  EXPECT_EQ(s.req.header("Authorization"), "Basic " + base64_encode("ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:tok"));
}

TEST(VendorSigners, MissingOptionsAreNamed) {
  std::vector<config::Problem> problems;
  catalog_from(one_provider(kOp, "{type: tc3_hmac_sha256, secret_id: id, service: sms, action: SendSms, version: v}"),
               &problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].message.find("signer.secret_key: is required for signer type 'tc3_hmac_sha256'"),
            std::string::npos)
      << problems[0].message;
  problems.clear();
  catalog_from(one_provider(kOp, "{type: aws_sigv4, access_key_id: a, secret_access_key: \"{{credentials.nope}}\", "
                                 "region: r, service: sns}"),
               &problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].message.find("{{credentials.nope}} is not defined"), std::string::npos) << problems[0].message;
}

}  // namespace
}  // namespace tollgate::provider
