// Every algorithm against the vector its vendor publishes. Sources:
//  [ALI-RPC] Alibaba Cloud ECS API reference, "Request signatures" (RPC style, signature
//            v1): the DescribeRegions example, AccessKeyId testid / secret testsecret.
//  [ACS3]    Alibaba Cloud SDK docs, "V3 request structure and signature"
//            (help.aliyun.com/zh/sdk/product-overview/v3-request-structure-and-signature):
//            the RunInstances example, YourAccessKeyId / YourAccessKeySecret.
//  [TC3]     Tencent Cloud API 3.0, "Signature v3" (cloud.tencent.com/document/api/213/30654):
//            the DescribeInstances example, SecretKey Gu5t9xGARNpq86cd98joQYCN3EXAMPLE.
//  [SIGV4]   AWS General Reference, "Signature Version 4 test suite"
//            (docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite.html): cases
//            get-vanilla and post-x-www-form-urlencoded, AKIDEXAMPLE /
//            wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, 20150830T123600Z, us-east-1, service.
//  [SIGV4-KEY] AWS General Reference, "Examples of how to derive a signing key for
//            Signature Version 4": the iam key for 20150830 / us-east-1.
//  [TWILIO]  Twilio docs, "Webhooks security: validating signatures" (the example with
//            auth token 12345 and https://mycompany.com/myapp.php?foo=1&bar=2).
#include "core/vendor_signatures.h"

#include <gtest/gtest.h>

#include "core/crypto.h"
#include "core/encoding.h"

namespace tollgate {
namespace {

const char* kEmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

TEST(VendorSignatures, AliyunRpcMatchesTheDescribeRegionsExample) {  // [ALI-RPC]
  const NameValues params = {{"Timestamp", "2016-02-23T12:46:24Z"},
                             {"Format", "XML"},
                             {"AccessKeyId", "testid"},
                             {"Action", "DescribeRegions"},
                             {"SignatureMethod", "HMAC-SHA1"},
                             {"SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"},
                             {"Version", "2014-05-26"},
                             {"SignatureVersion", "1.0"}};
  EXPECT_EQ(aliyun_rpc_string_to_sign("GET", params),
            "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1"
            "%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0"
            "%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26");
  EXPECT_EQ(aliyun_rpc_signature("testsecret", "GET", params), "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
}

TEST(VendorSignatures, Acs3MatchesTheRunInstancesExample) {  // [ACS3]
  CanonicalRequest cr;
  cr.method = "POST";
  cr.uri = "/";
  cr.query = canonical_query({{"RegionId", "cn-shanghai"},
                              {"ImageId", "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd"}});
  cr.add_header("x-acs-version", "2014-05-26");
  cr.add_header("host", "ecs.cn-shanghai.aliyuncs.com");
  cr.add_header("x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d");
  cr.add_header("x-acs-date", "2023-10-26T10:22:32Z");
  cr.add_header("x-acs-action", "RunInstances");
  cr.add_header("x-acs-content-sha256", kEmptySha256);
  cr.payload_hash = kEmptySha256;
  EXPECT_EQ(cr.signed_headers(), "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version");
  EXPECT_EQ(sha256_hex(cr.text()), "7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259");
  EXPECT_EQ(acs3_signature("YourAccessKeySecret", cr.text()),
            "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0");
}

TEST(VendorSignatures, Tc3MatchesTheDescribeInstancesExample) {  // [TC3]
  const std::string payload =
      R"({"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]})";
  CanonicalRequest cr;
  cr.method = "POST";
  cr.uri = "/";
  cr.add_header("Content-Type", "application/json; charset=utf-8", true);
  cr.add_header("Host", "cvm.tencentcloudapi.com", true);
  cr.payload_hash = sha256_hex(payload);
  EXPECT_EQ(cr.payload_hash, "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064");
  EXPECT_EQ(cr.text(),
            "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\n"
            "content-type;host\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064");
  EXPECT_EQ(sha256_hex(cr.text()), "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031");
  EXPECT_EQ(tc3_signature("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", "2019-02-25", "cvm", "1551113065", cr.text()),
            "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168");
}

TEST(VendorSignatures, SigV4MatchesTheTestSuite) {  // [SIGV4]
  const std::string secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  CanonicalRequest get;
  get.method = "GET";
  get.uri = sigv4_canonical_uri("/", true);
  get.add_header("Host", "example.amazonaws.com");
  get.add_header("X-Amz-Date", "20150830T123600Z");
  get.payload_hash = kEmptySha256;
  EXPECT_EQ(sha256_hex(get.text()), "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
  EXPECT_EQ(sigv4_signature(secret, "20150830T123600Z", "us-east-1", "service", get.text()),
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");

  CanonicalRequest post;
  post.method = "POST";
  post.uri = "/";
  post.add_header("Content-Type", "application/x-www-form-urlencoded");
  post.add_header("Host", "example.amazonaws.com");
  post.add_header("X-Amz-Date", "20150830T123600Z");
  post.payload_hash = sha256_hex("Param1=value1");
  EXPECT_EQ(post.payload_hash, "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
  EXPECT_EQ(sha256_hex(post.text()), "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281");
  EXPECT_EQ(sigv4_signature(secret, "20150830T123600Z", "us-east-1", "service", post.text()),
            "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
}

TEST(VendorSignatures, SigV4SigningKeyMatchesTheDocumentedDerivation) {  // [SIGV4-KEY]
  EXPECT_EQ(to_hex(sigv4_signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830", "us-east-1", "iam")),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
}

TEST(VendorSignatures, SigV4CanonicalUriEncodesSegmentsAgainExceptForS3) {
  EXPECT_EQ(sigv4_canonical_uri("/documents%20and%20settings/", true), "/documents%2520and%2520settings/");
  EXPECT_EQ(sigv4_canonical_uri("/documents%20and%20settings/", false), "/documents%20and%20settings/");
  EXPECT_EQ(sigv4_canonical_uri("", true), "/");
}

TEST(VendorSignatures, TwilioWebhookSignatureMatchesTheDocumentedExample) {  // [TWILIO]
  const NameValues params = {{"CallSid", "CA1234567890ABCDE"},
                             {"Caller", "+14158675310"},
                             {"Digits", "1234"},
                             {"From", "+14158675310"},
                             {"To", "+18005551212"}};
  const std::string url = "https://mycompany.com/myapp.php?foo=1&bar=2";
  EXPECT_EQ(twilio_signature("12345", url, params), "GvWf1cFY/Q7PnoempGyD5oXAezc=");
  EXPECT_TRUE(verify_twilio_signature("12345", url, params, "GvWf1cFY/Q7PnoempGyD5oXAezc="));
  NameValues tampered = params;
  tampered[2].second = "9999";
  EXPECT_FALSE(verify_twilio_signature("12345", url, tampered, "GvWf1cFY/Q7PnoempGyD5oXAezc="));
  EXPECT_FALSE(verify_twilio_signature("wrong", url, params, "GvWf1cFY/Q7PnoempGyD5oXAezc="));
}

TEST(VendorSignatures, TwilioJsonWebhookChecksTheBodyHash) {
  const std::string body = R"({"MessageSid":"SM1"})";
  const std::string url = "https://hooks.example.com/sms?bodySHA256=" + sha256_hex(body);
  const std::string sig = twilio_signature("token", url, {});
  EXPECT_TRUE(verify_twilio_json_signature("token", url, body, sig));
  EXPECT_FALSE(verify_twilio_json_signature("token", url, R"({"MessageSid":"SM2"})", sig));
  EXPECT_FALSE(verify_twilio_json_signature("token", "https://hooks.example.com/sms", body, sig));
}

TEST(VendorSignatures, NameValuesRoundTripAndCanonicalOrder) {
  NameValues pairs;
  ASSERT_TRUE(parse_name_values("b=2&a=x+y&a=%2A&c", true, pairs));
  ASSERT_EQ(pairs.size(), 4u);
  EXPECT_EQ(pairs[1].second, "x y");
  EXPECT_EQ(canonical_query(pairs), "a=%2A&a=x%20y&b=2&c=");
  EXPECT_EQ(encode_name_values({{"k", "a b~*"}}), "k=a%20b~%2A");
  NameValues bad;
  EXPECT_FALSE(parse_name_values("a=%zz", false, bad));
}

}  // namespace
}  // namespace tollgate
