// tollgate check-config and serve on invalid files: every problem, with its line.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/integration/config_builder.h"
#include "tests/integration/harness.h"

namespace tollgate::testing {
namespace {

using namespace std::chrono;

std::string broken_config() {
  std::string y = config_yaml({{{"acme", "json", "http://127.0.0.1:9"}}});
  y.replace(y.find("workers: 2"), 10, "workers: lots");
  y.replace(y.find("format: e164"), 12, "format: phone");
  return y;
}

TEST(Cli, CheckConfigPrintsEveryProblemWithItsLine) {
  TempDir dir;
  dir.write("bad.yaml", broken_config());
  Process p({tollgate_bin(), "check-config", dir.file("bad.yaml")}, dir.file("check"));
  auto status = p.wait(seconds(10));
  ASSERT_TRUE(status);
  EXPECT_NE(*status, 0);
  const std::string err = p.stderr_text();
  EXPECT_NE(err.find(dir.file("bad.yaml") + ":3:"), std::string::npos) << err;  // workers
  EXPECT_NE(err.find("must be an integer"), std::string::npos) << err;
  EXPECT_NE(err.find("format 'phone' is unknown"), std::string::npos) << err;
  EXPECT_NE(err.find("2 problems"), std::string::npos) << err;
}

TEST(Cli, CheckConfigAcceptsAValidFile) {
  TempDir dir;
  dir.write("ok.yaml", config_yaml({{{"acme", "json", "http://127.0.0.1:9"}}}));
  Process p({tollgate_bin(), "check-config", dir.file("ok.yaml")}, dir.file("check"));
  EXPECT_EQ(p.wait(seconds(10)), 0);
  EXPECT_NE(p.stdout_text().find("OK"), std::string::npos);
}

TEST(Cli, ServeRefusesAnInvalidFileWithTheSameMessages) {
  Gateway gw(broken_config());
  EXPECT_FALSE(gw.started());
  EXPECT_EQ(gw.process().wait(seconds(10)), 2);
  const std::string err = gw.process().stderr_text();
  EXPECT_NE(err.find("must be an integer"), std::string::npos) << err;
  EXPECT_NE(err.find("refusing to start"), std::string::npos) << err;
}

TEST(Cli, MissingEnvironmentSecretNamesTheVariable) {
  std::string y = config_yaml({{{"acme", "json", "http://127.0.0.1:9"}}});
  y.replace(y.find("token: \"sim-token\""), 18, "token: \"${ENV:TG_TEST_UNSET_TOKEN}\"");
  Gateway gw(y);
  EXPECT_FALSE(gw.started());
  EXPECT_NE(gw.process().stderr_text().find("TG_TEST_UNSET_TOKEN is not set"), std::string::npos);
  Gateway with_env(y, {{"TG_TEST_UNSET_TOKEN", "sim-token"}});
  EXPECT_TRUE(with_env.started()) << with_env.process().stderr_text();
}

TEST(Cli, HashKeyPrintsSha256) {
  TempDir dir;
  Process p({tollgate_bin(), "hash-key", kTestKey}, dir.file("hash"));
  EXPECT_EQ(p.wait(seconds(10)), 0);
  EXPECT_EQ(p.stdout_text(), std::string(kTestKeyHash) + "\n");
}


// Defect 19: without store.path the store lives in the state directory, never in
// the working directory (a checkout).
TEST(Cli, TheDefaultStoreIsInTheStateDirectoryNotTheWorkingDirectory) {
  TempDir state;
  Sim sim;
  Gateway gw(config_yaml({{{"acme", "json", sim.url()}}}) + "store:\n  sync: full\n",
             {{"XDG_STATE_HOME", state.path()}, {"STATE_DIRECTORY", kUnsetEnv}});
  ASSERT_TRUE(gw.started()) << gw.process().stderr_text();
  EXPECT_EQ(gw.call("/v1/sms/send", kSmsBody).status, 200);
  EXPECT_TRUE(std::filesystem::exists(state.file("tollgate/tollgate.db"))) << gw.process().logs();
  EXPECT_FALSE(std::filesystem::exists("tollgate.db"));
}

}  // namespace
}  // namespace tollgate::testing
