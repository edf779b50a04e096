#pragma once
// Real PostgreSQL and Redis servers for tests and benchmarks, started from the
// Debian packages' binaries in a scratch directory on a free loopback port, and
// stopped (and the directory removed) when the handle goes away. Nothing is
// installed system-wide and nothing listens beyond 127.0.0.1.
//
// PostgreSQL refuses to run as root: when the tests run as root the server runs
// as the `postgres` user the package created.

#include <memory>
#include <string>

namespace tollgate::testing {

class PgServer {
 public:
  PgServer();  // initdb + start; check ok()
  ~PgServer();
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  bool ok() const { return port_ > 0; }
  const std::string& error() const { return error_; }
  int port() const { return port_; }
  // postgresql://postgres@127.0.0.1:<port>/<db>
  std::string url(const std::string& db = "postgres") const;
  // A fresh, empty database (so each test starts clean); returns its URL.
  std::string fresh_database();
  // Runs SQL through psql; true on success.
  bool psql(const std::string& sql, const std::string& db = "postgres") const;
  void stop();              // fast shutdown (in-flight transactions rolled back)
  bool start();             // again, on the same port and data
  void kill_hard();         // SIGKILL the postmaster: a crash

 private:
  std::string run_as_owner(const std::string& command) const;
  std::string dir_;
  std::string bin_;
  std::string error_;
  int port_ = 0;
  int databases_ = 0;
};

class RedisServer {
 public:
  RedisServer();
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  bool ok() const { return pid_ > 0; }
  int port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  void kill_hard();  // SIGKILL
  bool start();      // again, on the same port
  // One command through redis-cli; its output.
  std::string cli(const std::string& args) const;

 private:
  std::string dir_;
  int port_ = 0;
  int pid_ = -1;
};

// A RabbitMQ broker (Debian's rabbitmq-server) of its own: node name, AMQP
// port, Erlang distribution port and epmd port all private to it, its data in
// the scratch directory. Starting takes seconds (Erlang boots): one per test binary.
class RabbitServer {
 public:
  RabbitServer();  // start; check ok()
  ~RabbitServer();
  RabbitServer(const RabbitServer&) = delete;
  RabbitServer& operator=(const RabbitServer&) = delete;

  bool ok() const { return pid_ > 0; }
  int port() const { return port_; }
  int pid() const { return pid_; }  // leads the broker's process group (script, erl, beam)
  std::string url() const { return "amqp://guest:guest@127.0.0.1:" + std::to_string(port_) + "/%2f"; }
  double last_start_s() const { return last_start_s_; }  // how long the last start took
  const std::string& error() const { return error_; }
  void stop();   // SIGTERM to the broker's process group, waits for it to exit
  bool start();  // again, on the same ports and data (durable queues and messages survive)
  // One amqp-tools command (amqp-publish, amqp-get, ...) with -u set; its output.
  std::string tool(const std::string& command_and_args) const;
  // The end of the broker's log (warnings and worse: alarms, refused
  // connections), for a failing test's message.
  std::string log_tail(std::size_t max_bytes = 4000) const;

 private:
  std::string dir_;
  std::string error_;
  int port_ = 0, dist_port_ = 0, epmd_port_ = 0;
  int pid_ = -1;
  double last_start_s_ = 0;
};

// A TCP port nobody listens on right now (bind to 0, read it, close).
int free_loopback_port();

}  // namespace tollgate::testing
