// The API contract: docs/openapi.yaml against a real tollgate serving every
// capability of the demo (sms.send on tollgate-sim's json dialect; login,
// payment and identity from the example configs, unmodified). The checks run in
// Node (tests/contract/contract.mjs, Ajv over the spec's own schemas): every
// documented example gets its documented status, every documented error is
// provoked, and every answer matches the schema for its status.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/integration/config_builder.h"
#include "tests/integration/harness.h"

namespace tollgate::testing {
namespace {

// A second caller: payment.query only, one call a second.
constexpr const char* kLimitedKey = "limited-key-for-tests";
constexpr const char* kLimitedKeyHash = "0ebd7dce75363fa9cc645fa9a8f7a09ae0d558a5254fbaada321094cf14ed793";

TEST(Contract, EveryExampleAndEveryErrorMatchesTheOpenApiFile) {
  const std::string contract_dir = std::string(TOLLGATE_SOURCE_DIR) + "/tests/contract";
  ASSERT_TRUE(std::filesystem::exists(contract_dir + "/node_modules/ajv"))
      << "run scripts/install-deps.sh (npm ci in tests/contract)";
  PayKeys keys;
  std::vector<std::string> vendor_args{"--secret", kAppSecret};
  for (const auto& a : keys.sim_args()) vendor_args.push_back(a);
  Sim sms, vendors(vendor_args);

  ProviderSpec acme{"acme", "json", sms.url()};
  acme.dedupe = false;  // a hang after sending is then outcome_unknown (502)
  acme.extra = "    breaker: {consecutive_failures: 100}\n";
  ConfigSpec spec{{acme}};
  spec.capability_extra = "    async: {allow: true}\n";
  spec.top_extra = "include:\n  - " + example("login.yaml") + "\n  - " + example("payment.yaml") + "\n  - " +
                   example("identity.yaml") + "\n";
  spec.caller_extra = "  - name: limited\n    key_sha256: " + std::string(kLimitedKeyHash) +
                      "\n    capabilities: [payment.query]\n    rate_limit: {rps: 1, burst: 1}\n";
  std::string yaml = config_yaml(spec);
  const std::string own = "    capabilities: [sms.send]\n";
  yaml.replace(yaml.find(own), own.size(), "    capabilities: [sms.send, \"login.*\", \"payment.*\", \"identity.*\"]\n");

  auto env = login_env(vendors, vendors);
  env.merge(keys.env(vendors, vendors));
  env.merge(identity_env(vendors));
  Gateway gw(yaml, env);
  ASSERT_TRUE(gw.started()) << gw.process().stderr_text();

  Process node({"/usr/bin/env", "node", contract_dir + "/contract.mjs"}, gw.dir().file("contract"),
               {{"SPEC", std::string(TOLLGATE_SOURCE_DIR) + "/docs/openapi.yaml"},
                {"API_URL", "http://127.0.0.1:" + std::to_string(gw.port())},
                {"ADMIN_URL", "http://127.0.0.1:" + std::to_string(gw.admin_port())},
                {"ADMIN_TOKEN", kAdminToken},
                {"CALLER_KEY", kTestKey},
                {"LIMITED_KEY", kLimitedKey},
                {"SMS_SIM_CONTROL", "http://127.0.0.1:" + std::to_string(sms.control_port())},
                {"VENDOR_SIM_CONTROL", "http://127.0.0.1:" + std::to_string(vendors.control_port())}});
  const auto status = node.wait(std::chrono::seconds(120));
  ASSERT_TRUE(status) << "the contract test did not finish";
  EXPECT_EQ(*status, 0) << node.stdout_text() << node.stderr_text();
  // The last line says how many answers were checked: a run that checked nothing fails.
  EXPECT_NE(node.stdout_text().find("answers checked against"), std::string::npos) << node.stdout_text();
}

}  // namespace
}  // namespace tollgate::testing
