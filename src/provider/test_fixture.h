#pragma once
// Test-only: builds a Catalog from YAML text, failing the test on problems.

#include <gtest/gtest.h>

#include "config/loader.h"
#include "provider/adapter.h"

namespace tollgate::provider::testing {

inline std::shared_ptr<const Catalog> catalog_from(const std::string& yaml,
                                                   std::vector<config::Problem>* problems_out = nullptr) {
  auto loaded = config::load_config_text(yaml, "test.yaml");
  std::vector<config::Problem> problems = loaded.problems;
  std::shared_ptr<const Catalog> catalog;
  if (loaded.ok()) catalog = Catalog::build(loaded.config, problems);
  if (problems_out) {
    *problems_out = problems;
  } else {
    for (const auto& p : problems) ADD_FAILURE() << config::format_problem("test.yaml", p);
  }
  return catalog;
}

// A config with one capability and one provider whose operation is `op_yaml`
// (indented as under operations.sms.send) and signer `signer_yaml`.
inline std::string one_provider(const std::string& op_yaml, const std::string& signer_yaml = "{type: none}") {
  return R"(callers:
  - name: c
    key_sha256: 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae
    capabilities: ["*"]
capabilities:
  sms.send:
    providers: [p]
    params:
      to: {type: string, required: true}
      template: {type: string}
      vars: {type: object}
      count: {type: integer}
providers:
  p:
    base_url: http://127.0.0.1:9/base
    credentials: {token: tok, secret: s3cr3t, user: Aladdin, pass: open sesame}
    signer: )" + signer_yaml + R"(
    operations:
      sms.send:
)" + op_yaml;
}

}  // namespace tollgate::provider::testing
