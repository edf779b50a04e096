#include "engine/validator.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace tollgate::engine {
namespace {

config::CapabilityConfig sms() {
  config::CapabilityConfig c;
  c.name = "sms.send";
  config::ParamSpec to{"to", config::ParamType::kString, true, config::ParamFormat::kE164};
  to.sensitive = true;
  config::ParamSpec tpl{"template", config::ParamType::kString, true};
  tpl.max_length = 8;
  config::ParamSpec vars{"params", config::ParamType::kObject};
  config::ParamSpec n{"count", config::ParamType::kInteger};
  n.minimum = 1;
  n.maximum = 5;
  config::ParamSpec kind{"kind", config::ParamType::kString};
  kind.one_of = {"otp", "notice"};
  c.params = {to, tpl, vars, n, kind};
  return c;
}

Result<void> check(const char* json) {
  return validate_params(sms(), boost::json::parse(json).as_object());
}

TEST(Validator, AcceptsValidParams) {
  EXPECT_TRUE(check(R"({"to":"+8613800000000","template":"T1","params":{"a":1},"count":2,"kind":"otp"})"));
  EXPECT_TRUE(check(R"({"to":"+14155550100","template":"T1","count":3.0})"));
}

TEST(Validator, ReportsTheParamAndTheRule) {
  struct Case {
    const char* json;
    const char* expect;
  } cases[] = {
      {R"({"template":"T1"})", "param 'to' is required"},
      {R"({"to":13800000000,"template":"T1"})", "param 'to' must be a string"},
      {R"({"to":"13800000000","template":"T1"})", "E.164"},
      {R"({"to":"+0123456789","template":"T1"})", "E.164"},
      {R"({"to":"+86 138 0000","template":"T1"})", "E.164"},
      {R"({"to":"+8613800000000","template":"TOOLONGNAME"})", "at most 8"},
      {R"({"to":"+8613800000000","template":"T1","params":[1]})", "param 'params' must be a object"},
      {R"({"to":"+8613800000000","template":"T1","count":1.5})", "must be an integer"},
      {R"({"to":"+8613800000000","template":"T1","count":9})", "above its maximum"},
      {R"({"to":"+8613800000000","template":"T1","kind":"spam"})", "one of: otp, notice"},
      {R"({"to":"+8613800000000","template":"T1","colour":"red"})", "unknown param 'colour'"},
  };
  for (const auto& c : cases) {
    auto r = check(c.json);
    ASSERT_FALSE(r) << c.json;
    EXPECT_EQ(r.error().cls, ErrorClass::kInvalidRequest);
    EXPECT_NE(r.error().message.find(c.expect), std::string::npos) << r.error().message;
  }
}

TEST(Validator, NeverEchoesTheValue) {
  auto r = check(R"({"to":"+86-secret-number","template":"T1"})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.find("secret"), std::string::npos);
}

}  // namespace
}  // namespace tollgate::engine
