// tollgate check-config and serve on invalid files: every problem, with its line.
#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
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

// systemd's side of sd_notify: a datagram socket at $NOTIFY_SOCKET.
class NotifySocket {
 public:
  explicit NotifySocket(std::string path) : path_(std::move(path)) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << std::strerror(errno);
  }
  ~NotifySocket() { close(fd_); }
  const std::string& path() const { return path_; }
  // The next message that contains `what` (others are kept in seen()); empty on timeout.
  std::string wait_for(const std::string& what, milliseconds timeout) {
    const auto end = steady_clock::now() + timeout;
    while (steady_clock::now() < end) {
      pollfd p{fd_, POLLIN, 0};
      const auto left = duration_cast<milliseconds>(end - steady_clock::now()).count();
      if (poll(&p, 1, static_cast<int>(std::max<long>(1, left))) <= 0) continue;
      char buf[4096];
      const ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) continue;
      std::string msg(buf, static_cast<size_t>(n));
      seen_.push_back(msg);
      if (msg.find(what) != std::string::npos) return msg;
    }
    return {};
  }
  const std::vector<std::string>& seen() const { return seen_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::vector<std::string> seen_;
};

// Type=notify: systemd hears READY once the listeners accept, RELOADING then
// READY around a SIGHUP reload (a rejected file included: the old config still
// serves), WATCHDOG pings while the workers run, and STOPPING when draining starts.
TEST(Cli, SystemdHearsReadyReloadWatchdogAndStopping) {
  TempDir dir;
  NotifySocket notify(dir.file("notify.sock"));
  Sim sim;
  const std::string cfg = config_yaml({{{"acme", "json", sim.url()}}});
  Gateway gw(cfg, {{"NOTIFY_SOCKET", notify.path()}, {"WATCHDOG_USEC", "200000"}});
  ASSERT_TRUE(gw.started()) << gw.process().stderr_text();
  const std::string ready = notify.wait_for("READY=1", seconds(10));
  ASSERT_FALSE(ready.empty()) << gw.process().logs();
  EXPECT_NE(ready.find("STATUS=listening on 127.0.0.1:" + std::to_string(gw.port())), std::string::npos) << ready;
  EXPECT_EQ(gw.call("/v1/sms/send", kSmsBody).status, 200);
  // WatchdogSec=200ms: a ping every 100 ms or so; two prove it repeats.
  EXPECT_FALSE(notify.wait_for("WATCHDOG=1", seconds(10)).empty());
  EXPECT_FALSE(notify.wait_for("WATCHDOG=1", seconds(10)).empty());

  gw.reload(broken_config());
  EXPECT_NE(notify.wait_for("RELOADING=1", seconds(10)).find("MONOTONIC_USEC="), std::string::npos);
  const std::string after_bad = notify.wait_for("READY=1", seconds(10));
  EXPECT_NE(after_bad.find("rejected"), std::string::npos) << after_bad;
  EXPECT_EQ(gw.call("/v1/sms/send", kSmsBody).status, 200);

  gw.reload(cfg);
  EXPECT_FALSE(notify.wait_for("RELOADING=1", seconds(10)).empty());
  EXPECT_NE(notify.wait_for("READY=1", seconds(10)).find("serving the reloaded config"), std::string::npos);

  gw.process().signal(SIGTERM);
  EXPECT_FALSE(notify.wait_for("STOPPING=1", seconds(10)).empty());
  EXPECT_EQ(gw.process().wait(seconds(30)), 0);
}

}  // namespace
}  // namespace tollgate::testing
