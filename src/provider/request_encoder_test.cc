#include "provider/request_encoder.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "core/encoding.h"
#include "provider/test_fixture.h"

namespace tollgate::provider {
namespace {

using testing::catalog_from;
using testing::one_provider;

// Everything that could break out of a field if it were pasted in raw.
const std::string kNasty = "a\"b'c&d=e\r\nX-Evil: 1/../f?g#h%i\\j{k}";

Call make_call(boost::json::object params) {
  Call c;
  c.id = "01HZCALLID";
  c.caller = "c";
  c.capability = "sms.send";
  c.params = std::move(params);
  return c;
}

AttemptInfo attempt() {
  return AttemptInfo{2, WallTime(std::chrono::seconds(1700000000)), "nonce123"};
}

std::map<std::string, std::string> decode_form(std::string_view body) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start <= body.size()) {
    size_t end = body.find('&', start);
    if (end == std::string_view::npos) end = body.size();
    const auto pair = body.substr(start, end - start);
    const auto eq = pair.find('=');
    out[*percent_decode(pair.substr(0, eq), true)] = *percent_decode(pair.substr(eq + 1), true);
    start = end + 1;
  }
  return out;
}

TEST(RequestEncoder, JsonBodyKeepsHostileParamAsData) {
  auto cat = catalog_from(one_provider(R"(        request:
          path: /send
          body:
            json:
              mobile: "{{params.to}}"
              text: "tpl={{params.template}};"
              vars: "{{params.vars}}"
              count: "{{params.count}}"
              ref: "{{call.id}}"
              fixed: 7
)"));
  ASSERT_TRUE(cat);
  const auto* op = cat->provider("p")->operation("sms.send");
  auto req = op->encode(make_call({{"to", kNasty}, {"template", kNasty},
                                   {"vars", {{"k", kNasty}}}, {"count", 3}}), attempt());
  ASSERT_TRUE(req) << req.error().message;
  EXPECT_EQ(req->path, "/base/send");
  EXPECT_EQ(req->header("Content-Type"), "application/json");
  auto body = boost::json::parse(req->body).as_object();
  EXPECT_EQ(body.size(), 6u) << req->body;
  EXPECT_EQ(body["mobile"].as_string(), kNasty);
  EXPECT_EQ(body["text"].as_string(), "tpl=" + kNasty + ";");
  EXPECT_EQ(body["vars"].as_object()["k"].as_string(), kNasty);
  EXPECT_EQ(body["count"].as_int64(), 3);  // a lone placeholder keeps the JSON type
  EXPECT_EQ(body["ref"].as_string(), "01HZCALLID");
  EXPECT_EQ(body["fixed"].as_int64(), 7);
}

TEST(RequestEncoder, AbsentOptionalParamIsOmitted) {
  auto cat = catalog_from(one_provider(R"(        request:
          body:
            json: {mobile: "{{params.to}}", vars: "{{params.vars}}", list: ["{{params.count}}", 1]}
)"));
  ASSERT_TRUE(cat);
  auto req = cat->provider("p")->operation("sms.send")->encode(make_call({{"to", "+1"}}), attempt());
  ASSERT_TRUE(req);
  EXPECT_EQ(req->body, R"({"mobile":"+1","list":[1]})");
}

TEST(RequestEncoder, FormQueryAndPathEncodeEachValue) {
  auto cat = catalog_from(one_provider(R"(        request:
          method: POST
          path: /messages/{{params.to}}/send
          query: {to: "{{params.to}}", ts: "{{attempt.timestamp}}", n: "{{attempt.number}}"}
          body:
            form: {To: "{{params.to}}", Vars: "{{params.vars}}", Nonce: "{{attempt.nonce}}"}
)"));
  ASSERT_TRUE(cat);
  auto req = cat->provider("p")->operation("sms.send")->encode(
      make_call({{"to", kNasty}, {"vars", {{"a", 1}}}}), attempt());
  ASSERT_TRUE(req) << req.error().message;
  // The path keeps exactly its three literal slashes plus the base's.
  EXPECT_EQ(req->path, "/base/messages/" + percent_encode(kNasty) + "/send");
  EXPECT_EQ(std::count(req->path.begin(), req->path.end(), '/'), 4);
  const auto query = decode_form(req->query);
  EXPECT_EQ(query.size(), 3u);
  EXPECT_EQ(query.at("to"), kNasty);
  EXPECT_EQ(query.at("ts"), "1700000000");
  EXPECT_EQ(query.at("n"), "2");
  const auto form = decode_form(req->body);
  EXPECT_EQ(form.size(), 3u);
  EXPECT_EQ(form.at("To"), kNasty);
  EXPECT_EQ(form.at("Vars"), R"({"a":1})");
  EXPECT_EQ(form.at("Nonce"), "nonce123");
  EXPECT_EQ(req->header("Content-Type"), "application/x-www-form-urlencoded");
}

TEST(RequestEncoder, DotSegmentParamIsRefused) {
  auto cat = catalog_from(one_provider(R"(        request:
          path: /messages/{{params.to}}
)"));
  ASSERT_TRUE(cat);
  const auto* op = cat->provider("p")->operation("sms.send");
  for (const char* bad : {"..", "."}) {
    auto req = op->encode(make_call({{"to", bad}}), attempt());
    ASSERT_FALSE(req) << bad;
    EXPECT_EQ(req.error().cls, ErrorClass::kInvalidRequest);
  }
  EXPECT_TRUE(op->encode(make_call({{"to", "..."}}), attempt()));
}

TEST(RequestEncoder, HeaderWithLineBreakIsRefusedNotInjected) {
  auto cat = catalog_from(one_provider(R"(        request:
          headers: {X-To: "{{params.to}}", X-Call: "{{call.id}}"}
)"));
  ASSERT_TRUE(cat);
  const auto* op = cat->provider("p")->operation("sms.send");
  auto bad = op->encode(make_call({{"to", kNasty}}), attempt());
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().cls, ErrorClass::kInvalidRequest);
  EXPECT_EQ(bad.error().message.find(kNasty), std::string::npos);  // never echo the value
  auto good = op->encode(make_call({{"to", "a\"b&c=d/../e"}}), attempt());
  ASSERT_TRUE(good);
  EXPECT_EQ(good->header("X-To"), "a\"b&c=d/../e");
  EXPECT_EQ(good->header("X-Call"), "01HZCALLID");
}

TEST(RequestEncoder, DottedParamsReachIntoObjectParams) {
  auto cat = catalog_from(one_provider(R"(        request:
          path: /send
          body:
            json:
              set: ["{{params.vars.code}}", "{{params.vars.minutes}}"]
              missing: "{{params.vars.nope}}"
)"));
  ASSERT_TRUE(cat);
  const auto* op = cat->provider("p")->operation("sms.send");
  auto req = op->encode(make_call({{"to", "+1"}, {"vars", {{"code", "4321"}, {"minutes", 5}}}}), attempt());
  ASSERT_TRUE(req) << req.error().message;
  auto body = boost::json::parse(req->body).as_object();
  EXPECT_EQ(boost::json::serialize(body["set"]), R"(["4321",5])");
  EXPECT_TRUE(body["missing"].is_null()) << req->body;
}

TEST(RequestEncoder, DottedParamsMustStartAtAnObjectParam) {
  std::vector<config::Problem> problems;
  catalog_from(one_provider(R"(        request:
          path: "/send/{{params.to.x}}"
)"), &problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].message.find("reaches into param 'to', which is not an object"), std::string::npos)
      << problems[0].message;
}

}  // namespace
}  // namespace tollgate::provider
