#include "engine/call_log.h"
#include "engine/outcome_json.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

namespace tollgate::engine {
namespace {

namespace json = boost::json;

// The "calls" logger, writing bare messages into a string stream. log_call looks
// the logger up once per process, so it is made before the first line.
std::ostringstream& captured() {
  static std::ostringstream* out = [] {
    auto* s = new std::ostringstream;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(*s);
    sink->set_pattern("%v");
    auto logger = std::make_shared<spdlog::logger>("calls", sink);
    logger->set_level(spdlog::level::info);
    spdlog::register_logger(logger);
    return s;
  }();
  return *out;
}

std::string log_one(const CallLogEntry& e, bool json_format) {
  captured().str("");
  set_call_log_json(json_format);
  log_call(e);
  set_call_log_json(true);
  std::string line = captured().str();
  if (!line.empty() && line.back() == '\n') line.pop_back();
  return line;
}

struct Fixture {
  config::CapabilityConfig cap;
  Call call;
  std::vector<AttemptRecord> attempts;
  Error error;
  Fixture() {
    config::ParamSpec to;
    to.name = "to";
    to.sensitive = true;
    config::ParamSpec pin;
    pin.name = "pin";
    pin.type = config::ParamType::kInteger;
    pin.sensitive = true;
    config::ParamSpec params;
    params.name = "params";
    params.type = config::ParamType::kObject;
    params.sensitive_fields = {"code", "card.number"};
    cap.params = {to, pin, params};
    call.id = "01KCALL";
    call.caller = "shop \"eu\"";
    call.capability = "sms.send";
    call.trace.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    call.params = json::parse(R"({"to":"+8613812340000","pin":1234,"template":"T\n1",
        "params":{"code":"4321","card":{"number":"6222020000000000","bank":"icbc"},"n":[1,2.5,null,true]},
        "extra":{"a":"b"}})").as_object();
    attempts = {{"acme", "unavailable", "503", Millis(12)},
                {"zeta", "rejected", "1001", Millis(3)},
                {"acme", "rejected", "1001", Millis(2)}};
    error.cls = ErrorClass::kInvalidRequest;
    error.provider_code = "1001";
    error.detail = "vendor said \"bad\"\x01";
  }
};

TEST(CallLog, AJsonLineCarriesTheCallWithSensitiveParamsMasked) {
  Fixture f;
  const std::string text = log_one({.call = &f.call, .capability = &f.cap, .outcome = "invalid_request",
                                    .status = 400, .error = &f.error, .attempts = &f.attempts,
                                    .duration = Millis(17)},
                                   true);
  const json::object line = json::parse(text).as_object();
  EXPECT_EQ(line.at("level").as_string(), "info");
  EXPECT_EQ(line.at("msg").as_string(), "call");
  EXPECT_EQ(line.at("id").as_string(), "01KCALL");
  EXPECT_EQ(line.at("caller").as_string(), "shop \"eu\"");
  EXPECT_EQ(line.at("capability").as_string(), "sms");
  EXPECT_EQ(line.at("operation").as_string(), "send");
  EXPECT_EQ(line.at("traffic").as_string(), "live");
  EXPECT_EQ(line.at("outcome").as_string(), "invalid_request");
  EXPECT_EQ(line.at("status").as_int64(), 400);
  EXPECT_EQ(json::serialize(line.at("providers")), R"(["acme","zeta"])") << "each provider once, first tried first";
  EXPECT_EQ(line.at("attempts").as_int64(), 3);
  EXPECT_EQ(line.at("duration_ms").as_int64(), 17);
  EXPECT_EQ(line.at("trace_id").as_string(), f.call.trace.trace_id);
  EXPECT_EQ(line.at("error_class").as_string(), "invalid_request");
  EXPECT_EQ(line.at("provider_code").as_string(), "1001");
  EXPECT_EQ(line.at("detail").as_string(), "vendor said \"bad\"\x01");
  EXPECT_FALSE(line.contains("run"));
  const auto& p = line.at("params");
  EXPECT_EQ(p.at("to").as_string(), "+86138****0000");
  EXPECT_EQ(p.at("pin").as_string(), "****") << "a sensitive number is masked too";
  EXPECT_EQ(p.at("template").as_string(), "T\n1");
  EXPECT_EQ(p.at("params").at("code").as_string(), "****");
  EXPECT_EQ(p.at("params").at("card").at("number").as_string(), "622202****0000");
  EXPECT_EQ(p.at("params").at("card").at("bank").as_string(), "icbc");
  EXPECT_EQ(json::serialize(p.at("params").at("n")), "[1,2.5E0,null,true]");
  EXPECT_EQ(json::serialize(p.at("extra")), R"({"a":"b"})");
  for (const char* secret : {"8613812340000", "4321", "1234", "6222020000000000"}) {
    EXPECT_EQ(text.find(secret), std::string::npos) << secret << " in " << text;
  }
  // The caller's params are untouched.
  EXPECT_EQ(f.call.params.at("params").at("code").as_string(), "4321");
}

// A path through an array applies to each element; a path naming an object or
// a number masks it whole; a path into a string leaves the string alone.
TEST(CallLog, MaskedPathsReachIntoArraysAndMaskWholeValues) {
  config::CapabilityConfig cap;
  config::ParamSpec data;
  data.name = "data";
  data.type = config::ParamType::kObject;
  data.sensitive_fields = {"cards.number", "otp", "note.inner", "deep.a.b"};
  cap.params = {data};
  Call call;
  call.id = "01KCALL";
  call.capability = "pay.charge";
  call.params = json::parse(R"({"data":{"cards":[{"number":"6222020000000000","x":1},{"number":12345678},"plain",
      [{"number":"12345678"}]],"otp":{"a":"secret-otp"},"note":"inner text","deep":{"a":{"b":[1,2],"c":"keep"}},
      "other":"v"}})").as_object();
  const std::string text = log_one({.call = &call, .capability = &cap, .outcome = "succeeded", .status = 200}, true);
  const json::value line = json::parse(text);
  const auto& d = line.at("params").at("data");
  EXPECT_EQ(json::serialize(d.at("cards")),
            R"([{"number":"622202****0000","x":1},{"number":"****"},"plain",[{"number":"123****78"}]])");
  EXPECT_EQ(d.at("otp").as_string(), "****");
  EXPECT_EQ(d.at("note").as_string(), "inner text");
  EXPECT_EQ(json::serialize(d.at("deep")), R"({"a":{"b":"****","c":"keep"}})");
  EXPECT_EQ(d.at("other").as_string(), "v");
  EXPECT_EQ(text.find("secret-otp"), std::string::npos) << text;
}

TEST(CallLog, AServerSideFailureIsAWarningAndAJobRunSaysWhichRun) {
  Fixture f;
  f.error.cls = ErrorClass::kUnavailable;
  const std::string text = log_one({.msg = "job", .run = 2, .call = &f.call, .outcome = "unavailable",
                                    .status = 503, .error = &f.error, .attempts = &f.attempts},
                                   true);
  const json::object line = json::parse(text).as_object();
  EXPECT_EQ(line.at("level").as_string(), "warn");
  EXPECT_EQ(line.at("msg").as_string(), "job");
  EXPECT_EQ(line.at("run").as_int64(), 2);
  EXPECT_FALSE(line.contains("params")) << "no capability config: nothing to mask by, so no params";
}

TEST(CallLog, ATextLineIsKeyEqualsValueWithoutTimeOrLevel) {
  Fixture f;
  const std::vector<AttemptRecord> none;
  const std::string text = log_one({.call = &f.call, .capability = &f.cap, .outcome = "succeeded", .status = 200,
                                    .attempts = &none, .duration = Millis(4)},
                                   false);
  EXPECT_EQ(text.rfind("msg=call id=01KCALL caller=shop \"eu\" capability=sms operation=send traffic=live "
                       "outcome=succeeded status=200 providers=[] attempts=0 duration_ms=4 trace_id=",
                       0),
            0u)
      << text;
  EXPECT_NE(text.find(R"( params={"to":"+86138****0000","pin":"****",)"), std::string::npos) << text;
  EXPECT_EQ(text.find("time="), std::string::npos);
  EXPECT_EQ(text.find("level="), std::string::npos);
  EXPECT_EQ(text.find("4321"), std::string::npos);
}

TEST(OutcomeJson, AttemptsWrittenAsTextAreTheAttemptsArray) {
  std::vector<AttemptRecord> attempts = {{"acme", "unavailable", "503", Millis(12), true, false},
                                         {"ze\"ta", "ok", "", Millis(0), false, true},
                                         {"acme", "rejected", "E\n1", Millis(7)}};
  for (size_t n = 0; n <= attempts.size(); ++n) {
    const std::vector<AttemptRecord> some(attempts.begin(), attempts.begin() + static_cast<long>(n));
    std::string text;
    append_attempts_json(text, some);
    EXPECT_EQ(text, json::serialize(attempts_json(some))) << n << " attempts";
  }
}

}  // namespace
}  // namespace tollgate::engine
