// The vendor presets (examples/providers/), unmodified, against tollgate-sim's
// matching dialects: an SMS end to end with the vendor's signature checked by the
// sim, a wrong secret, every error code the preset maps (class and retry
// behaviour), failover away from refused credentials, and check-config on a preset
// with a missing credential.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "tests/integration/config_builder.h"
#include "tests/integration/harness.h"

namespace tollgate::testing {
namespace {

using namespace std::chrono;
using json_value = boost::json::value;

struct Vendor {
  std::string preset;    // file in examples/providers/
  std::string provider;  // the provider it defines
  std::string dialect;   // the sim's name for it
  std::string auth_code;  // what the vendor answers to a bad signature or password
  // Environment the preset reads; "@URL" and "@SECRET" are filled in per test.
  std::map<std::string, std::string> env;
  // Codes the vendor sends with HTTP 500: the request may have been acted on, so a
  // send (not idempotent, not deduplicated) is not repeated after them.
  std::set<std::string> http_500 = {};
};

void PrintTo(const Vendor& v, std::ostream* os) { *os << v.dialect; }

const std::vector<Vendor>& vendors() {
  static const std::vector<Vendor> v = {
      {"aliyun-sms.yaml", "aliyun_sms", "aliyun", "SignatureDoesNotMatch",
       {{"ALIYUN_SMS_URL", "@URL"}, {"ALIYUN_ACCESS_KEY_ID", "sim-key"}, {"ALIYUN_ACCESS_KEY_SECRET", "@SECRET"},
        {"ALIYUN_SMS_SIGN_NAME", "Acme Shop"}, {"ALIYUN_SMS_EVENTS_TOKEN", "aliyun-events-token-0123"}},
       {"InternalError"}},
      {"tencent-sms.yaml", "tencent_sms", "tencent", "AuthFailure.SignatureFailure",
       {{"TENCENT_SMS_URL", "@URL"}, {"TENCENT_SECRET_ID", "sim-key"}, {"TENCENT_SECRET_KEY", "@SECRET"},
        {"TENCENT_SMS_APP_ID", "1400000000"}, {"TENCENT_SMS_SIGN_NAME", "Acme Shop"},
        {"TENCENT_SMS_EVENTS_TOKEN", "tencent-events-token-0123"}}},
      {"twilio-sms.yaml", "twilio_sms", "twilio", "20003",
       {{"TWILIO_URL", "@URL"}, {"TWILIO_ACCOUNT_SID", "sim-key"}, {"TWILIO_AUTH_TOKEN", "@SECRET"},
        {"TWILIO_MESSAGING_SERVICE_SID", "MG0000"}},
       {"20500"}},
      {"aws-sns-sms.yaml", "aws_sns_sms", "aws_sns", "SignatureDoesNotMatch",
       {{"AWS_SNS_URL", "@URL"}, {"AWS_ACCESS_KEY_ID", "sim-key"}, {"AWS_SECRET_ACCESS_KEY", "@SECRET"},
        {"AWS_REGION", "us-east-1"}},
       {"InternalError", "InternalFailure"}},
  };
  return v;
}

const char* kBody = R"({"to":"+8613800000000","template":"SMS_1","params":{"code":"1234"},"text":"Your code is 1234"})";

std::string preset_path(const std::string& file) {
  return std::string(TOLLGATE_SOURCE_DIR) + "/examples/providers/" + file;
}

std::map<std::string, std::string> env_for(const Vendor& v, const Sim& sim, const std::string& secret = "sim-secret") {
  std::map<std::string, std::string> env;
  for (auto [k, val] : v.env) {
    if (val == "@URL") val = sim.url();
    if (val == "@SECRET") val = secret;
    env[k] = val;
  }
  return env;
}

// A config whose sms.send is served by the given presets, in order.
std::string vendor_config(const std::vector<const Vendor*>& list, const std::string& preset_dir = {}) {
  std::string includes, names;
  for (const auto* v : list) {
    includes += "  - " + (preset_dir.empty() ? preset_path(v->preset) : preset_dir + "/" + v->preset) + "\n";
    names += (names.empty() ? "" : ", ") + v->provider;
  }
  return "server:\n  listen: 127.0.0.1:0\n  workers: 2\nadmin:\n  listen: 127.0.0.1:0\n  token: " +
         std::string(kAdminToken) + "\ninclude:\n" + includes +
         "callers:\n  - name: tester\n    key_sha256: " + std::string(kTestKeyHash) +
         "\n    capabilities: [sms.send]\n"
         "capabilities:\n  sms.send:\n    deadline: 5s\n    max_deadline: 30s\n"
         "    retry: {max_attempts: 2, base_backoff: 10ms, max_backoff: 50ms}\n"
         "    providers: [" + names + "]\n"
         "    params:\n      to: {type: string, required: true, format: e164, sensitive: true}\n"
         "      template: {type: string, required: true}\n      params: {type: object, sensitive: [code]}\n"
         "      text: {type: string}\n";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every code → class line under the preset's `errors:`.
std::vector<std::pair<std::string, std::string>> mapped_errors(const std::string& preset) {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream in(read_file(preset_path(preset)));
  std::string line;
  bool inside = false;
  const std::regex entry(R"re(^ {12}"?([^":\s]+)"?: ([a-z_]+).*$)re");
  while (std::getline(in, line)) {
    if (line == "          errors:") {
      inside = true;
      continue;
    }
    std::smatch m;
    if (inside && std::regex_match(line, m, entry)) {
      out.emplace_back(m[1], m[2]);
    } else if (inside) {
      break;
    }
  }
  return out;
}

class VendorPreset : public ::testing::TestWithParam<Vendor> {};

TEST_P(VendorPreset, SendsAnSmsEndToEnd) {
  const Vendor& v = GetParam();
  Sim sim;
  Gateway gw(vendor_config({&v}), env_for(v, sim));
  ASSERT_TRUE(gw.started()) << gw.process().stderr_text();
  auto r = gw.call("/v1/sms/send", kBody);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json().at("provider"), v.provider.c_str());
  EXPECT_FALSE(r.json().at("result").at("message_id").as_string().empty()) << r.body;
  const auto stats = sim.stats();
  EXPECT_EQ(stats.at("by_dialect").at(v.dialect).as_int64(), 1) << stats;
  EXPECT_EQ(stats.at("outcomes").at("ok").as_int64(), 1) << stats;
  // The vendor's own refusal of a number it cannot deliver to maps to invalid_request.
  std::string unassigned = kBody;
  unassigned.replace(unassigned.find("+8613800000000"), 14, "+99912345678");
  auto bad = gw.call("/v1/sms/send", unassigned);
  EXPECT_EQ(bad.status, 422) << bad.body;
  EXPECT_EQ(bad.json().at("error").at("code"), "invalid_request") << bad.body;
  // The secret signs the request but never travels in it (Twilio's basic auth aside).
  if (v.dialect != "twilio") {
    const std::string last = http(sim.control_port(), "GET", "/_sim/last").body;
    EXPECT_EQ(last.find("sim-secret"), std::string::npos) << last;
  }
}

TEST_P(VendorPreset, AWrongSecretIsAClearUnauthorized) {
  const Vendor& v = GetParam();
  Sim sim;
  Gateway gw(vendor_config({&v}), env_for(v, sim, "not-the-secret"));
  ASSERT_TRUE(gw.started()) << gw.process().stderr_text();
  auto r = gw.call("/v1/sms/send", kBody);
  EXPECT_EQ(r.status, 502) << r.body;
  const json_value doc = r.json();
  const auto& e = doc.at("error");
  EXPECT_EQ(e.at("code"), "unauthorized");
  EXPECT_EQ(e.at("provider"), v.provider.c_str());
  EXPECT_EQ(e.at("provider_code"), v.auth_code.c_str()) << r.body;
  EXPECT_EQ(r.json().at("attempts").as_array().size(), 1u) << "refused credentials are not retried";
  EXPECT_EQ(sim.stats().at("outcomes").at("auth_failed").as_int64(), 1);
}

TEST_P(VendorPreset, EveryMappedErrorCodeHasItsClassAndRetryBehaviour) {
  const Vendor& v = GetParam();
  const auto errors = mapped_errors(v.preset);
  ASSERT_GE(errors.size(), 10u) << "could not read the errors of " << v.preset;
  Sim sim;
  Gateway gw(vendor_config({&v}), env_for(v, sim));
  ASSERT_TRUE(gw.started()) << gw.process().stderr_text();
  for (const auto& [code, cls] : errors) {
    SCOPED_TRACE(code + " -> " + cls);
    sim.behave(R"({"faults":[{"kind":"vendor_error","code":")" + code + R"(","count":1}]})");
    auto r = gw.call("/v1/sms/send", kBody);
    const bool retried = (cls == "rate_limited" || cls == "unavailable") && !v.http_500.count(code);
    const json_value doc = r.json();
    const auto& attempts = doc.at("attempts").as_array();
    ASSERT_FALSE(attempts.empty()) << r.body;
    EXPECT_EQ(attempts[0].at("outcome"), cls.c_str()) << r.body;
    EXPECT_EQ(attempts[0].at("provider_code"), code.c_str()) << r.body;
    if (retried) {
      EXPECT_EQ(r.status, 200) << r.body;
      EXPECT_EQ(attempts.size(), 2u) << r.body;
    } else {
      EXPECT_EQ(attempts.size(), 1u) << r.body;
      // A provider-side failure behind a bare 500 may have been half done: the
      // caller is told the outcome is unknown, never to simply repeat it.
      const bool unknown = v.http_500.count(code) && (cls == "unavailable" || cls == "timeout");
      const std::string expected = unknown ? "outcome_unknown" : cls == "rate_limited" ? "unavailable" : cls;
      EXPECT_EQ(r.json().at("error").at("code"), expected.c_str()) << r.body;
    }
    // Two good calls after each failure keep the breaker closed for the next code.
    for (int i = 0; i < 2; ++i) ASSERT_EQ(gw.call("/v1/sms/send", kBody).status, 200);
  }
}

INSTANTIATE_TEST_SUITE_P(Presets, VendorPreset, ::testing::ValuesIn(vendors()),
                         [](const auto& info) { return info.param.dialect; });

TEST(VendorPresets, RefusedCredentialsFailOverToTheNextVendor) {
  Sim sim;
  const Vendor& aliyun = vendors()[0];
  const Vendor& tencent = vendors()[1];
  auto env = env_for(aliyun, sim, "revoked-secret");
  env.merge(env_for(tencent, sim));
  Gateway gw(vendor_config({&aliyun, &tencent}), env);
  ASSERT_TRUE(gw.started()) << gw.process().stderr_text();
  auto r = gw.call("/v1/sms/send", kBody);
  ASSERT_EQ(r.status, 200) << r.body;
  const json_value doc = r.json();
  EXPECT_EQ(doc.at("provider"), "tencent_sms");
  const auto& attempts = doc.at("attempts").as_array();
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(attempts[0].at("outcome"), "unauthorized");
}

TEST(VendorPresets, CheckConfigNamesAMissingCredential) {
  Sim sim;
  const Vendor& tencent = vendors()[1];
  TempDir dir;
  dir.write("main.yaml", vendor_config({&tencent}));
  // The secret key's variable is not set.
  auto env = env_for(tencent, sim);
  env["TENCENT_SECRET_KEY"] = kUnsetEnv;
  Process unset({tollgate_bin(), "check-config", dir.file("main.yaml")}, dir.file("check1"), env);
  ASSERT_EQ(unset.wait(seconds(10)), 1);
  const std::string err = unset.stderr_text();
  EXPECT_NE(err.find(preset_path("tencent-sms.yaml") + ":"), std::string::npos) << err;
  EXPECT_NE(err.find("credentials.secret_key: environment variable TENCENT_SECRET_KEY is not set"), std::string::npos)
      << err;

  // A copy of the preset that lost its secret_key credential altogether.
  std::string preset = read_file(preset_path("tencent-sms.yaml"));
  const size_t at = preset.find("      secret_key: ${ENV:TENCENT_SECRET_KEY}\n");
  ASSERT_NE(at, std::string::npos);
  preset.erase(at, std::string("      secret_key: ${ENV:TENCENT_SECRET_KEY}\n").size());
  dir.write("tencent-sms.yaml", preset);
  dir.write("copy.yaml", vendor_config({&tencent}, dir.path()));
  Process missing({tollgate_bin(), "check-config", dir.file("copy.yaml")}, dir.file("check2"), env_for(tencent, sim));
  ASSERT_EQ(missing.wait(seconds(10)), 1);
  const std::string err2 = missing.stderr_text();
  EXPECT_NE(err2.find(dir.file("tencent-sms.yaml") + ":"), std::string::npos) << err2;
  EXPECT_NE(err2.find("signer.secret_key: {{credentials.secret_key}} is not defined in provider 'tencent_sms'"),
            std::string::npos)
      << err2;
}

TEST(VendorPresets, TheDemoConfigIsValidWithTheDemoEnvironment) {
  std::map<std::string, std::string> env;
  std::istringstream in(read_file(std::string(TOLLGATE_SOURCE_DIR) + "/examples/demo.env"));
  std::string line;
  while (std::getline(in, line)) {
    const size_t eq = line.find('=');
    if (line.empty() || line[0] == '#' || eq == std::string::npos) continue;
    std::string value = line.substr(eq + 1);
    if (value.size() >= 2 && value.front() == '"') value = value.substr(1, value.size() - 2);
    env[line.substr(0, eq)] = value;
  }
  TempDir dir;
  // demo.sh makes the payment keys at start; so does this test.
  const std::string key = dir.file("merchant.pem");
  ASSERT_EQ(std::system(("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " + key +
                         " 2>/dev/null && openssl pkey -in " + key + " -pubout -out " + dir.file("platform.pub") +
                         " 2>/dev/null").c_str()),
            0);
  env["WXPAY_PRIVATE_KEY_FILE"] = key;
  env["WXPAY_PLATFORM_PUBLIC_KEY_FILE"] = dir.file("platform.pub");
  Process p({tollgate_bin(), "check-config", std::string(TOLLGATE_SOURCE_DIR) + "/examples/demo.yaml"},
            dir.file("check"), env);
  EXPECT_EQ(p.wait(seconds(10)), 0) << p.stderr_text();
}

}  // namespace
}  // namespace tollgate::testing
