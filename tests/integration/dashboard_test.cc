// The dashboard in a real browser: Debian's chromium, headless, driven by
// playwright-core (tests/browser/dashboard.mjs) against a real tollgate and
// tollgate-sim. The page must show a provider going down after the test breaks it.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "tests/integration/config_builder.h"
#include "tests/integration/harness.h"

namespace tollgate::testing {
namespace {

TEST(Dashboard, ShowsAProviderGoingDownInARealBrowser) {
  Sim a, b;
  ProviderSpec pa{"acme", "json", a.url()}, pb{"zeta", "form", b.url()};
  pa.extra = "    price: 0.05\n    breaker: {consecutive_failures: 3, open: 30s}\n";
  pb.extra = "    price: 0.03\n";
  Gateway gw(config_yaml({{pa, pb}}));
  ASSERT_TRUE(gw.started()) << gw.process().stderr_text();
  for (int i = 0; i < 5; ++i) ASSERT_EQ(gw.call("/v1/sms/send", kSmsBody).status, 200);

  const std::string browser_dir = std::string(TOLLGATE_SOURCE_DIR) + "/tests/browser";
  ASSERT_TRUE(std::filesystem::exists(browser_dir + "/node_modules/playwright-core"))
      << "run scripts/install-deps.sh (npm ci in tests/browser)";
  const std::string shot = std::getenv("TOLLGATE_DASHBOARD_SCREENSHOT") ? std::getenv("TOLLGATE_DASHBOARD_SCREENSHOT")
                                                                         : gw.dir().file("dashboard.png");
  Process node({"/usr/bin/env", "node", browser_dir + "/dashboard.mjs"}, gw.dir().file("browser"),
               {{"ADMIN_URL", "http://127.0.0.1:" + std::to_string(gw.admin_port())},
                {"ADMIN_TOKEN", kAdminToken},
                {"API_URL", "http://127.0.0.1:" + std::to_string(gw.port())},
                {"CALLER_KEY", kTestKey},
                {"SIM_CONTROL_URL", "http://127.0.0.1:" + std::to_string(a.control_port())},
                {"SCREENSHOT", shot}});
  const auto status = node.wait(std::chrono::seconds(90));
  ASSERT_TRUE(status) << "the browser test did not finish";
  EXPECT_EQ(*status, 0) << node.stdout_text() << node.stderr_text();
  EXPECT_TRUE(std::filesystem::exists(shot));
  EXPECT_GT(std::filesystem::file_size(shot), 10000u);
}

}  // namespace
}  // namespace tollgate::testing
