#include "provider/signer.h"

#include <gtest/gtest.h>

#include "core/crypto.h"
#include "core/encoding.h"
#include "provider/test_fixture.h"

namespace tollgate::provider {
namespace {

using testing::catalog_from;
using testing::one_provider;

const char* kOp = R"(        request:
          path: /form/messages
          headers: {X-Ts: "{{attempt.timestamp}}"}
          body:
            form: {To: "{{params.to}}"}
)";

Call make_call() {
  Call c;
  c.id = "call-1";
  c.capability = "sms.send";
  c.params = {{"to", "+15551234567"}};
  return c;
}

AttemptInfo attempt() { return AttemptInfo{1, WallTime(std::chrono::seconds(1700000000)), "abc123"}; }

Result<HttpRequest> signed_request(const std::string& signer_yaml) {
  auto cat = catalog_from(one_provider(kOp, signer_yaml));
  if (!cat) return Error::make(ErrorClass::kInternal, "no catalog");
  return cat->provider("p")->operation("sms.send")->encode(make_call(), attempt());
}

TEST(Signer, Bearer) {
  auto req = signed_request("{type: bearer, token: \"{{credentials.token}}\"}");
  ASSERT_TRUE(req);
  EXPECT_EQ(req->header("Authorization"), "Bearer tok");
}

// RFC 7617 section 2: Aladdin / open sesame.
TEST(Signer, BasicMatchesRfc7617) {
  auto req = signed_request(
      "{type: basic, username: \"{{credentials.user}}\", password: \"{{credentials.pass}}\"}");
  ASSERT_TRUE(req);
  EXPECT_EQ(req->header("Authorization"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
}

// RFC 4231 test case 2 through the signer: key "Jefe", data given as a literal part.
TEST(Signer, HmacSha256Rfc4231Vector) {
  auto req = signed_request(R"({type: hmac_sha256, secret: Jefe, canonical: ["literal:what do ya want for nothing?"], header: X-Sig})");
  ASSERT_TRUE(req);
  EXPECT_EQ(req->header("X-Sig"), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

// Canonical string assembled from the rendered request. Expected value computed
// independently with:
//   printf 'POST\n/form/messages\n1700000000\nabc123\nTo=%2B15551234567' |
//     openssl dgst -sha256 -hmac s3cr3t
TEST(Signer, HmacSha256OverRequestParts) {
  auto req = signed_request(R"({type: hmac_sha256, secret: "{{credentials.secret}}",
      canonical: [method, path, "header:X-Ts", nonce, body], header: X-Signature,
      format: "v1={{signature}}"})");
  ASSERT_TRUE(req) << req.error().message;
  EXPECT_EQ(req->path, "/base/form/messages");
  // The base path is part of what is signed.
  const std::string expected = to_hex(hmac_sha256(
      "s3cr3t", "POST\n/base/form/messages\n1700000000\nabc123\nTo=%2B15551234567"));
  EXPECT_EQ(req->header("X-Signature"), "v1=" + expected);
}

TEST(Signer, HmacSha256OpensslVector) {
  auto cat = catalog_from(one_provider(R"(        request:
          path: /form/messages
          headers: {X-Ts: "{{attempt.timestamp}}"}
          body:
            form: {To: "{{params.to}}"}
)", R"({type: hmac_sha256, secret: s3cr3t, canonical: [method, "literal:/form/messages", "header:X-Ts", nonce, body]})")
                                           .replace(0, 0, ""));
  ASSERT_TRUE(cat);
  auto req = cat->provider("p")->operation("sms.send")->encode(make_call(), attempt());
  ASSERT_TRUE(req);
  EXPECT_EQ(req->header("X-Signature"),
            "a404edeb74b054c76db0f83cc616e1a0caa0ca54ebd8382029ebdb8aeda4ddb4");
}

TEST(Signer, Base64Encoding) {
  auto req = signed_request(R"({type: hmac_sha256, secret: Jefe, canonical: ["literal:what do ya want for nothing?"], encoding: base64})");
  ASSERT_TRUE(req);
  EXPECT_EQ(req->header("X-Signature"),
            base64_encode(hmac_sha256("Jefe", "what do ya want for nothing?")));
}

TEST(Signer, ConfigProblemsNameTheField) {
  std::vector<config::Problem> problems;
  auto cat = catalog_from(one_provider(kOp, "{type: hmac_sha256, canonical: [method, bogus], colour: red}"),
                          &problems);
  EXPECT_FALSE(cat);
  std::string all;
  for (const auto& p : problems) all += p.message + "\n";
  EXPECT_NE(all.find("secret: is required"), std::string::npos) << all;
  EXPECT_NE(all.find("unknown part 'bogus'"), std::string::npos) << all;
  EXPECT_NE(all.find("colour: is not an option"), std::string::npos) << all;

  problems.clear();
  EXPECT_FALSE(catalog_from(one_provider(kOp, "{type: rsa_magic}"), &problems));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].message.find("unknown"), std::string::npos);

  problems.clear();
  EXPECT_FALSE(catalog_from(one_provider(kOp, "{type: bearer, token: \"{{credentials.nope}}\"}"), &problems));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].message.find("credentials.nope"), std::string::npos);
}

}  // namespace
}  // namespace tollgate::provider
