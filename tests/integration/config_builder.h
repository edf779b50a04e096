#pragma once
// Builds tollgate configs for integration tests: one sms.send capability over
// providers speaking tollgate-sim's json or form dialect.

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "tests/integration/harness.h"

namespace tollgate::testing {

struct ProviderSpec {
  std::string name;
  std::string dialect = "json";  // json | form
  std::string base_url;
  bool dedupe = true;
  std::string attempt_timeout = "1s";
  std::string token = "sim-token";    // json: bearer token
  std::string secret = "sim-secret";  // form: HMAC secret
  std::string extra;                  // more YAML lines, indented 4 spaces
  bool message_id = false;            // response.message_id: the result's message_id (for events)
};

struct ConfigSpec {
  std::vector<ProviderSpec> providers;
  bool idempotent = false;
  std::string deadline = "3s";
  int max_attempts = 3;
  std::string base_backoff = "10ms";
  std::string server_extra;  // YAML lines, indented 2 spaces, under server:
  std::string capability_extra;  // YAML lines, indented 4 spaces, under sms.send:
  std::string caller_extra;      // YAML lines, indented 4 spaces, under the caller
  bool admin = true;             // an admin listener with kAdminToken
  std::string top_extra;         // top-level YAML sections (e.g. inbound:)
};

inline constexpr const char* kAdminToken = "admin-token-for-tests";

inline std::string provider_yaml(const ProviderSpec& p) {
  std::string y = "  " + p.name + ":\n    base_url: " + p.base_url + "\n    timeouts: {connect: 500ms, attempt: " +
                  p.attempt_timeout + "}\n" + p.extra;
  if (p.dialect == "json") {
    y += "    credentials: {token: \"" + p.token + "\"}\n"
         "    signer: {type: bearer, token: \"{{credentials.token}}\"}\n"
         "    operations:\n      sms.send:\n        dedupe: " + std::string(p.dedupe ? "true" : "false") + "\n"
         "        request:\n          path: /json/v1/sms/send\n          body:\n            json:\n"
         "              mobile: \"{{params.to}}\"\n              template_code: \"{{params.template}}\"\n"
         "              template_params: \"{{params.params}}\"\n" +
         std::string(p.dedupe ? "              out_id: \"{{call.id}}\"\n" : "") +
         "        response:\n          success: {status: [200], field: /code, equals: 0}\n"
         "          result: {message_id: /data/biz_id}\n" +
         std::string(p.message_id ? "          message_id: message_id\n" : "") +
         "          error: {code: /code, message: /message}\n"
         "          errors: {\"1001\": invalid_request, \"1002\": rejected, \"4010\": unauthorized, "
         "\"4290\": rate_limited, \"5000\": unavailable}\n";
  } else {
    y += "    credentials: {key_id: sim-key, secret: \"" + p.secret + "\"}\n"
         "    signer:\n      type: hmac_sha256\n      secret: \"{{credentials.secret}}\"\n"
         "      canonical: [method, path, \"header:X-Form-Timestamp\", \"header:X-Form-Nonce\", body]\n"
         "      header: X-Form-Signature\n"
         "    operations:\n      sms.send:\n        dedupe: " + std::string(p.dedupe ? "true" : "false") + "\n"
         "        request:\n          path: /form/2024-01/Messages\n"
         "          headers: {X-Form-Key: \"{{credentials.key_id}}\", X-Form-Timestamp: \"{{attempt.timestamp}}\", "
         "X-Form-Nonce: \"{{attempt.nonce}}\"}\n"
         "          body:\n            form:\n              To: \"{{params.to}}\"\n"
         "              Template: \"{{params.template}}\"\n              Vars: \"{{params.params}}\"\n" +
         std::string(p.dedupe ? "              Ref: \"{{call.id}}\"\n" : "") +
         "        response:\n          success: {status: [201]}\n          result: {message_id: /sid}\n"
         "          error: {code: /error/code}\n"
         "          errors: {invalid_to: invalid_request, template_rejected: rejected, "
         "signature_mismatch: unauthorized, rate_limited: rate_limited, internal_error: unavailable}\n";
  }
  return y;
}

inline std::string config_yaml(const ConfigSpec& spec) {
  std::string names;
  for (const auto& p : spec.providers) names += (names.empty() ? "" : ", ") + p.name;
  std::string y = "server:\n  listen: 127.0.0.1:0\n  workers: 2\n" + spec.server_extra +
                  (spec.admin ? "admin:\n  listen: 127.0.0.1:0\n  token: " + std::string(kAdminToken) + "\n" : "") +
                  spec.top_extra +
                  "callers:\n  - name: tester\n    key_sha256: " + std::string(kTestKeyHash) +
                  "\n    capabilities: [sms.send]\n" + spec.caller_extra +
                  "capabilities:\n  sms.send:\n    idempotent: " + std::string(spec.idempotent ? "true" : "false") +
                  "\n    deadline: " + spec.deadline + "\n    max_deadline: 30s\n"
                  "    retry: {max_attempts: " + std::to_string(spec.max_attempts) + ", base_backoff: " +
                  spec.base_backoff + ", max_backoff: 200ms}\n    providers: [" + names + "]\n" +
                  spec.capability_extra +
                  "    params:\n      to: {type: string, required: true, format: e164, sensitive: true}\n"
                  "      template: {type: string, required: true, max_length: 64}\n"
                  "      params: {type: object, sensitive: [code]}\n"
                  "providers:\n";
  for (const auto& p : spec.providers) y += provider_yaml(p);
  return y;
}

inline const char* kSmsBody = R"({"to":"+8613800000000","template":"T1","params":{"code":"1234"}})";

// The merchant's and the platform's RSA key pairs, made by openssl for this test.
struct PayKeys {
  TempDir dir;
  PayKeys() {
    for (const char* who : {"merchant", "platform"}) {
      const std::string key = dir.file(std::string(who) + ".pem");
      const std::string cmd = "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " + key +
                              " 2>/dev/null && openssl pkey -in " + key + " -pubout -out " +
                              dir.file(std::string(who) + ".pub") + " 2>/dev/null";
      EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    }
  }
  std::vector<std::string> sim_args() const {
    return {"--pay-merchant-public-key", dir.file("merchant.pub"), "--pay-platform-private-key", dir.file("platform.pem")};
  }
  std::map<std::string, std::string> env(const Sim& main, const Sim& standby) const {
    return {{"WXPAY_URL", main.url()},
            {"WXPAY_URL2", standby.url()},
            {"WXPAY_MCHID", "sim-key"},
            {"WXPAY_CERT_SERIAL", "SIM-MERCHANT-1"},
            {"WXPAY_PRIVATE_KEY_FILE", dir.file("merchant.pem")},
            {"WXPAY_PLATFORM_PUBLIC_KEY_FILE", dir.file("platform.pub")}};
  }
};

// The example configs (login.yaml, payment.yaml, identity.yaml) against tollgate-sim.
inline std::string example(const std::string& file) { return std::string(TOLLGATE_SOURCE_DIR) + "/examples/" + file; }

inline const char* kAppSecret = "wx-app-secret-7f3a9c";

inline std::map<std::string, std::string> login_env(const Sim& main, const Sim& standby) {
  return {{"WECHAT_API_URL", main.url()},
          {"WECHAT_API2_URL", standby.url()},
          {"WECHAT_APPID", "sim-key"},
          {"WECHAT_APP_SECRET", kAppSecret}};
}

inline std::map<std::string, std::string> identity_env(const Sim& sim) {
  return {{"IDV_URL", sim.url()},
          {"IDV_TOKEN", "sim-token"},
          {"TENCENT_FACEID_URL", sim.url()},
          {"TENCENT_SECRET_ID", "sim-key"},
          {"TENCENT_SECRET_KEY", "sim-secret"}};
}

}  // namespace tollgate::testing
