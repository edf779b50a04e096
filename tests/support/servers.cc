#include "tests/support/servers.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

namespace tollgate::testing {

namespace {

std::string capture(const std::string& command) {
  std::string out;
  if (FILE* p = popen((command + " 2>&1").c_str(), "r")) {
    std::array<char, 4096> buf{};
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    const int status = pclose(p);
    if (status != 0) out = "FAILED(" + std::to_string(status) + "): " + out;
  }
  return out;
}

std::string pg_bindir() {
  for (const char* v : {"17", "16", "15", "14", "13"}) {
    const std::string dir = std::string("/usr/lib/postgresql/") + v + "/bin";
    if (std::filesystem::exists(dir + "/initdb")) return dir;
  }
  return {};
}

std::string scratch(const std::string& what) {
  char tmpl[] = "/tmp/tollgate-XXXXXX";
  const char* made = mkdtemp(tmpl);
  return made ? std::string(made) + "-" + what : std::string();
}

bool listening(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

}  // namespace

int free_loopback_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// --- PostgreSQL --------------------------------------------------------------

PgServer::PgServer() {
  bin_ = pg_bindir();
  if (bin_.empty()) {
    error_ = "no PostgreSQL server binaries (scripts/install-deps.sh installs postgresql-15)";
    return;
  }
  dir_ = scratch("pg");
  std::filesystem::create_directories(dir_);
  if (geteuid() == 0) capture("chown postgres:postgres " + dir_);
  const std::string init = run_as_owner(bin_ + "/initdb -D " + dir_ + "/data -U postgres --auth=trust -E UTF8 " +
                                        "--no-instructions >" + dir_ + "/initdb.log");
  if (init.starts_with("FAILED")) {
    error_ = "initdb: " + init;
    return;
  }
  port_ = free_loopback_port();
  if (!start()) {
    error_ = "postgres did not start: " + capture("tail -5 " + dir_ + "/server.log");
    port_ = 0;
  }
}

PgServer::~PgServer() {
  if (port_ > 0) stop();
  if (!dir_.empty()) std::filesystem::remove_all(dir_);
}

std::string PgServer::run_as_owner(const std::string& command) const {
  if (geteuid() == 0) return capture("runuser -u postgres -- sh -c '" + command + "'");
  return capture(command);
}

bool PgServer::start() {
  const std::string out = run_as_owner(
      bin_ + "/pg_ctl -D " + dir_ + "/data -l " + dir_ + "/server.log -w -t 30 -o \"-p " + std::to_string(port_) +
      " -c listen_addresses=127.0.0.1 -c unix_socket_directories=" + dir_ +
      " -c max_connections=200 -c fsync=on\" start");
  return !out.starts_with("FAILED") && listening(port_);
}

void PgServer::stop() {
  (void)run_as_owner(bin_ + "/pg_ctl -D " + dir_ + "/data -m fast -w -t 30 stop");
}

void PgServer::kill_hard() {
  std::ifstream pidfile(dir_ + "/data/postmaster.pid");
  int pid = 0;
  if (pidfile >> pid && pid > 0) {
    ::kill(pid, SIGKILL);
    for (int i = 0; i < 100 && ::kill(pid, 0) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // Its children notice the postmaster is gone and exit; the port frees up.
  for (int i = 0; i < 250 && listening(port_); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

std::string PgServer::url(const std::string& db) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + db + "?connect_timeout=5";
}

std::string PgServer::fresh_database() {
  const std::string name = "t" + std::to_string(++databases_);
  psql("CREATE DATABASE " + name);
  return url(name);
}

bool PgServer::psql(const std::string& sql, const std::string& db) const {
  return !capture("psql -q -v ON_ERROR_STOP=1 'postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + db +
                  "' -c \"" + sql + "\"")
              .starts_with("FAILED");
}

// --- Redis -------------------------------------------------------------------

RedisServer::RedisServer() {
  dir_ = scratch("redis");
  std::filesystem::create_directories(dir_);
  port_ = free_loopback_port();
  start();
}

RedisServer::~RedisServer() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
  }
  if (!dir_.empty()) std::filesystem::remove_all(dir_);
}

bool RedisServer::start() {
  const pid_t pid = fork();
  if (pid == 0) {
    const std::string port = std::to_string(port_);
    freopen((dir_ + "/redis.log").c_str(), "a", stdout);
    freopen((dir_ + "/redis.log").c_str(), "a", stderr);
    execlp("redis-server", "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1", "--save", "",
           "--appendonly", "no", "--dir", dir_.c_str(), "--protected-mode", "yes", nullptr);
    _exit(127);
  }
  pid_ = pid;
  for (int i = 0; i < 250; ++i) {
    if (listening(port_)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  pid_ = -1;
  return false;
}

void RedisServer::kill_hard() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

std::string RedisServer::cli(const std::string& args) const {
  return capture("redis-cli -p " + std::to_string(port_) + " " + args);
}

// --- RabbitMQ ----------------------------------------------------------------

RabbitServer::RabbitServer() {
  dir_ = scratch("rabbitmq");
  std::filesystem::create_directories(dir_);
  port_ = free_loopback_port();
  dist_port_ = free_loopback_port();
  epmd_port_ = free_loopback_port();
  std::ofstream(dir_ + "/rabbitmq.conf") << "listeners.tcp.default = 127.0.0.1:" << port_
                                         << "\nloopback_users = none\nlog.console = false\n"
                                         << "log.file.level = warning\n"
                                         // The test machine's disk fills and empties with builds; the
                                         // default 50 MB free-disk alarm would block publishers for a while.
                                         << "disk_free_limit.absolute = 1MB\n";
  std::ofstream(dir_ + "/enabled_plugins") << "[].\n";
  start();
}

RabbitServer::~RabbitServer() {
  stop();
  // The node's own epmd (a daemon on its private port) goes too.
  capture("ERL_EPMD_PORT=" + std::to_string(epmd_port_) + " epmd -kill");
  if (!dir_.empty()) std::filesystem::remove_all(dir_);
}

bool RabbitServer::start() {
  const auto began = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);  // the script, erl and beam: one group to stop
    freopen((dir_ + "/server.log").c_str(), "a", stdout);
    freopen((dir_ + "/server.log").c_str(), "a", stderr);
    const std::string node = "tollgate-test-" + std::to_string(port_) + "@localhost";
    setenv("RABBITMQ_NODENAME", node.c_str(), 1);
    setenv("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1", 1);
    setenv("RABBITMQ_NODE_PORT", std::to_string(port_).c_str(), 1);
    setenv("RABBITMQ_DIST_PORT", std::to_string(dist_port_).c_str(), 1);
    setenv("ERL_EPMD_PORT", std::to_string(epmd_port_).c_str(), 1);
    setenv("RABBITMQ_MNESIA_BASE", (dir_ + "/mnesia").c_str(), 1);
    setenv("RABBITMQ_LOG_BASE", (dir_ + "/log").c_str(), 1);
    setenv("RABBITMQ_CONFIG_FILE", (dir_ + "/rabbitmq").c_str(), 1);
    setenv("RABBITMQ_ENABLED_PLUGINS_FILE", (dir_ + "/enabled_plugins").c_str(), 1);
    setenv("RABBITMQ_PID_FILE", (dir_ + "/pid").c_str(), 1);
    setenv("HOME", dir_.c_str(), 1);  // the Erlang cookie
    execl("/usr/lib/rabbitmq/bin/rabbitmq-server", "rabbitmq-server", nullptr);
    _exit(127);
  }
  pid_ = pid;
  // Ready when a client can declare a queue (the AMQP listener opens late in the boot).
  for (int i = 0; i < 1200; ++i) {
    if (listening(port_) && tool("amqp-declare-queue -q tollgate.probe").find("tollgate.probe") != std::string::npos) {
      last_start_s_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
      return true;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  error_ = "rabbitmq-server did not start: " + capture("tail -20 " + dir_ + "/server.log");
  stop();
  return false;
}

void RabbitServer::stop() {
  if (pid_ <= 0) return;
  ::kill(-pid_, SIGTERM);
  for (int i = 0; i < 300; ++i) {
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ::kill(-pid_, SIGKILL);  // whatever of the group is left
  waitpid(pid_, nullptr, WNOHANG);
  pid_ = -1;
}

std::string RabbitServer::log_tail(std::size_t max_bytes) const {
  std::string out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_ + "/log", ec)) {
    if (entry.path().extension() != ".log") continue;
    std::ifstream in(entry.path());
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.size() > max_bytes) text = "..." + text.substr(text.size() - max_bytes);
    out += "--- " + entry.path().filename().string() + "\n" + text;
  }
  return out.empty() ? "(the broker logged nothing)" : out;
}

std::string RabbitServer::tool(const std::string& command_and_args) const {
  const auto space = command_and_args.find(' ');
  return capture(command_and_args.substr(0, space) + " -u amqp://guest:guest@127.0.0.1:" + std::to_string(port_) +
                 (space == std::string::npos ? "" : command_and_args.substr(space)));
}

}  // namespace tollgate::testing
