#include "provider/response_decoder.h"

#include <gtest/gtest.h>

#include "provider/test_fixture.h"
#include "provider/xml.h"

namespace tollgate::provider {
namespace {

using testing::catalog_from;
using testing::one_provider;

const Operation* body_code_dialect(std::shared_ptr<const Catalog>& keep) {
  keep = catalog_from(one_provider(R"(        request: {path: /x}
        response:
          success: {status: [200], field: /code, equals: 0}
          result: {message_id: /data/id, fee: /data/fee}
          error: {code: /code, message: /msg}
          errors:
            "1001": invalid_request
            "4290": rate_limited
            "4010": unauthorized
)"));
  return keep ? keep->provider("p")->operation("sms.send") : nullptr;
}

HttpResponse answer(int status, std::string body, HeaderList headers = {}) {
  return HttpResponse{status, std::move(headers), std::move(body)};
}

TEST(ResponseDecoder, SuccessExtractsResultFields) {
  std::shared_ptr<const Catalog> keep;
  const auto* op = body_code_dialect(keep);
  ASSERT_TRUE(op);
  auto r = op->decode(answer(200, R"({"code":0,"data":{"id":"m-1","fee":2}})"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->at("message_id").as_string(), "m-1");
  EXPECT_EQ(r->at("fee").as_int64(), 2);
}

TEST(ResponseDecoder, ErrorCodeInsideA200IsClassified) {
  std::shared_ptr<const Catalog> keep;
  const auto* op = body_code_dialect(keep);
  auto r = op->decode(answer(200, R"({"code":1001,"msg":"bad mobile +86138..."})"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().cls, ErrorClass::kInvalidRequest);
  EXPECT_EQ(r.error().provider_code, "1001");
  EXPECT_TRUE(r.error().from_provider);
  EXPECT_FALSE(r.error().ambiguous);
  // The provider's own words never become the caller's message.
  EXPECT_EQ(r.error().message.find("mobile"), std::string::npos);

  auto t = op->decode(answer(200, R"({"code":4290})"));
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().cls, ErrorClass::kRateLimited);

  auto unknown = op->decode(answer(200, R"({"code":7777})"));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().cls, ErrorClass::kUnavailable);
  EXPECT_EQ(unknown.error().provider_code, "7777");
}

TEST(ResponseDecoder, HttpStatusDefaults) {
  std::shared_ptr<const Catalog> keep;
  const auto* op = body_code_dialect(keep);
  auto limited = op->decode(answer(429, "", {{"Retry-After", "3"}}));
  ASSERT_FALSE(limited);
  EXPECT_EQ(limited.error().cls, ErrorClass::kRateLimited);
  EXPECT_EQ(limited.error().retry_after, Millis(3000));

  auto down = op->decode(answer(503, "<html>busy</html>"));
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().cls, ErrorClass::kUnavailable);
  EXPECT_FALSE(down.error().ambiguous);  // 503: refused, not half-done
  EXPECT_EQ(down.error().provider_code, "503");

  auto crashed = op->decode(answer(500, ""));
  ASSERT_FALSE(crashed);
  EXPECT_TRUE(crashed.error().ambiguous);

  auto auth = op->decode(answer(401, ""));
  ASSERT_FALSE(auth);
  EXPECT_EQ(auth.error().cls, ErrorClass::kUnauthorized);
}

TEST(ResponseDecoder, GarbageOnSuccessStatusIsAmbiguousUnavailable) {
  std::shared_ptr<const Catalog> keep;
  const auto* op = body_code_dialect(keep);
  for (const char* body : {"", "not json", "{\"code\":0", "\x01\x02\x03"}) {
    auto r = op->decode(answer(200, body));
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error().cls, ErrorClass::kUnavailable);
    EXPECT_TRUE(r.error().ambiguous);
    EXPECT_EQ(r.error().provider_code, "malformed_response");
  }
}

TEST(ResponseDecoder, StatusOnlyMappingWithStringCodes) {
  auto keep = catalog_from(one_provider(R"(        request: {path: /x}
        response:
          success: {status: [201]}
          result: {sid: /sid}
          error: {code: /error/code}
          errors: {invalid_to: invalid_request, "503": rate_limited}
)"));
  ASSERT_TRUE(keep);
  const auto* op = keep->provider("p")->operation("sms.send");
  auto ok = op->decode(answer(201, R"({"sid":"S1"})"));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->at("sid").as_string(), "S1");
  auto bad = op->decode(answer(400, R"({"error":{"code":"invalid_to"}})"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().cls, ErrorClass::kInvalidRequest);
  EXPECT_EQ(bad.error().provider_code, "invalid_to");
  // A mapping by HTTP status when the body carries no code.
  auto busy = op->decode(answer(503, ""));
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().cls, ErrorClass::kRateLimited);
  // 200 is not in the success list for this provider.
  EXPECT_FALSE(op->decode(answer(200, R"({"sid":"S1"})")));
}

TEST(ResponseDecoder, XmlAnswersAreReadLikeJson) {
  auto keep = catalog_from(one_provider(R"(        request: {path: /}
        response:
          format: xml
          success: {status: [200]}
          result: {message_id: /PublishResponse/PublishResult/MessageId}
          error: {code: /ErrorResponse/Error/Code}
          errors: {Throttling: rate_limited, InvalidParameter: invalid_request}
)"));
  ASSERT_TRUE(keep);
  const auto* op = keep->provider("p")->operation("sms.send");
  auto ok = op->decode(answer(200, R"(<?xml version="1.0"?>
<PublishResponse xmlns="https://sns.amazonaws.com/doc/2010-03-31/">
  <PublishResult><MessageId>94f20ce6-13c5-43a0-9a9e-ca52d816e90b</MessageId></PublishResult>
  <ResponseMetadata><RequestId>f187a3c1-376f-11df-8963-01868b7c937a</RequestId></ResponseMetadata>
</PublishResponse>)"));
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->at("message_id").as_string(), "94f20ce6-13c5-43a0-9a9e-ca52d816e90b");
  auto throttled = op->decode(answer(400, R"(<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>
<Message>Rate exceeded</Message></Error><RequestId>x</RequestId></ErrorResponse>)"));
  ASSERT_FALSE(throttled);
  EXPECT_EQ(throttled.error().cls, ErrorClass::kRateLimited);
  EXPECT_EQ(throttled.error().provider_code, "Throttling");
  // Garbage with a success status is a malformed answer, never a success.
  auto garbage = op->decode(answer(200, "<PublishResponse><PublishResult>"));
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().provider_code, "malformed_response");
  // Hostile nesting is refused before parsing.
  std::string deep;
  for (int i = 0; i < 200; ++i) deep += "<a>";
  EXPECT_FALSE(op->decode(answer(200, deep)));
}

TEST(ResponseDecoder, ErrorCodeFromTheFirstPointerPresent) {
  auto keep = catalog_from(one_provider(R"(        request: {path: /}
        response:
          success: {status: [200], field: /Response/SendStatusSet/0/Code, equals: Ok}
          result: {message_id: /Response/SendStatusSet/0/SerialNo}
          error: {code: [/Response/Error/Code, /Response/SendStatusSet/0/Code]}
          errors:
            AuthFailure.SignatureFailure: unauthorized
            LimitExceeded.PhoneNumberDailyLimit: rate_limited
)"));
  ASSERT_TRUE(keep);
  const auto* op = keep->provider("p")->operation("sms.send");
  auto ok = op->decode(answer(200, R"({"Response":{"SendStatusSet":[{"Code":"Ok","SerialNo":"5000:1"}]}})"));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->at("message_id").as_string(), "5000:1");
  auto auth = op->decode(answer(200, R"({"Response":{"Error":{"Code":"AuthFailure.SignatureFailure"}}})"));
  ASSERT_FALSE(auth);
  EXPECT_EQ(auth.error().cls, ErrorClass::kUnauthorized);
  auto limited = op->decode(
      answer(200, R"({"Response":{"SendStatusSet":[{"Code":"LimitExceeded.PhoneNumberDailyLimit"}]}})"));
  ASSERT_FALSE(limited);
  EXPECT_EQ(limited.error().cls, ErrorClass::kRateLimited);
  EXPECT_EQ(limited.error().provider_code, "LimitExceeded.PhoneNumberDailyLimit");
}


// Defect 1: ~2 MB of 200,000 nested elements behind a comment full of "</a>" (so
// a naive depth count sees no nesting) used to overflow the stack of a recursive
// parser. The answer is refused, the status still decides.
TEST(ResponseDecoder, AHostileXmlAnswerIsRefusedWithoutRecursion) {
  auto keep = catalog_from(one_provider(R"(        request: {path: /}
        response:
          format: xml
          max_body_bytes: 8388608
          success: {status: [200]}
          result: {message_id: /PublishResponse/PublishResult/MessageId}
          error: {code: /ErrorResponse/Error/Code}
)"));
  ASSERT_TRUE(keep);
  const auto* op = keep->provider("p")->operation("sms.send");
  std::string hostile = "<!--";
  for (int i = 0; i < 200000; ++i) hostile += "</a>";
  hostile += "-->";
  for (int i = 0; i < 200000; ++i) hostile += "<a>";
  for (int i = 0; i < 200000; ++i) hostile += "</a>";
  ASSERT_GT(hostile.size(), 2u << 20);
  auto ok_status = op->decode(answer(200, hostile));
  ASSERT_FALSE(ok_status);
  EXPECT_EQ(ok_status.error().provider_code, "malformed_response");
  auto error_status = op->decode(answer(503, hostile));
  ASSERT_FALSE(error_status);
  EXPECT_EQ(error_status.error().cls, ErrorClass::kUnavailable);  // from the status alone
  EXPECT_EQ(error_status.error().provider_code, "503");
}

TEST(Xml, ReadsWhatVendorsSendAndRefusesTheRest) {
  auto v = xml_to_json(R"(<?xml version="1.0"?><!-- a </b> comment --><R a="x>y"><B>1 &amp; 2 &#x4e2d;</B>)"
                       R"(<C><![CDATA[<raw>]]></C><C/><D x='1'/></R>)");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->at("R").at("B").as_string(), "1 & 2 \xe4\xb8\xad");
  EXPECT_EQ(v->at("R").at("C").as_array().size(), 2u);
  EXPECT_EQ(v->at("R").at("C").at(0).as_string(), "<raw>");
  EXPECT_EQ(v->at("R").at("D").as_string(), "");
  for (const char* bad : {"", "text", "<a>", "<a></b>", "<a/><b/>", "<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>",
                          "<a>&bogus;</a>", "<a>&#0;</a>", "<a b='unterminated></a>", "<a><!-- open </a>"}) {
    EXPECT_FALSE(xml_to_json(bad)) << "accepted: " << bad;
  }
  std::string deep;
  for (int i = 0; i < 65; ++i) deep += "<a>";
  for (int i = 0; i < 65; ++i) deep += "</a>";
  EXPECT_FALSE(xml_to_json(deep));
  EXPECT_TRUE(xml_to_json(deep.substr(3, deep.size() - 7)));  // 64 levels are fine
  EXPECT_FALSE(xml_to_json("<a>" + std::string(100, 'x') + "</a>", XmlLimits{.max_bytes = 64}));
}

// Defect 7: a provider's text reaches callers and the store bounded.
TEST(ResponseDecoder, ProviderCodesAreShortScalarsOrAMarker) {
  std::shared_ptr<const Catalog> keep;
  const auto* op = body_code_dialect(keep);
  ASSERT_TRUE(op);
  auto object_code = op->decode(answer(200, R"({"code":{"nested":")" + std::string(50000, 'x') + R"("}})"));
  ASSERT_FALSE(object_code);
  EXPECT_EQ(object_code.error().provider_code, "unreadable_code");
  auto long_code = op->decode(answer(400, R"({"code":")" + std::string(65, '7') + R"("})"));
  ASSERT_FALSE(long_code);
  EXPECT_EQ(long_code.error().provider_code, "unreadable_code");
  auto control = op->decode(answer(400, R"({"code":"12\r\nX-Injected: 1"})"));
  ASSERT_FALSE(control);
  EXPECT_EQ(control.error().provider_code, "unreadable_code");
  auto fine = op->decode(answer(400, R"({"code":1001})"));
  ASSERT_FALSE(fine);
  EXPECT_EQ(fine.error().provider_code, "1001");
}

TEST(ResponseDecoder, AnOversizedResultIsRefusedAsUnusable) {
  auto keep = catalog_from(one_provider(R"(        request: {path: /x}
        response:
          max_result_bytes: 1024
          success: {status: [200], field: /code, equals: 0}
          result: {message_id: /data/id, detail: /data/detail}
)"));
  ASSERT_TRUE(keep);
  const auto* op = keep->provider("p")->operation("sms.send");
  auto big = op->decode(answer(200, R"({"code":0,"data":{"id":"m-1","detail":")" + std::string(4096, 'x') + R"("}})"));
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().provider_code, "result_too_large");
  EXPECT_EQ(big.error().cls, ErrorClass::kUnavailable);
  EXPECT_TRUE(big.error().ambiguous);  // it did act
  // A big body with a small result is fine.
  auto small = op->decode(answer(200, R"({"code":0,"data":{"id":"m-1"},"pad":")" + std::string(4096, 'x') + R"("})"));
  EXPECT_TRUE(small) << small.error().message;
}

}  // namespace
}  // namespace tollgate::provider
