#pragma once
// Integration-test harness: starts real tollgate and tollgate-sim processes on
// ephemeral loopback ports and talks plain HTTP/1.1 to them over real sockets.
// Each process is killed when its handle goes out of scope (and dies with the
// test process if that crashes).

#include <boost/json.hpp>

#include "tests/support/http_client.h"

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace tollgate::testing {

// A scratch directory removed at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  void write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

// An env value for Process that removes the variable instead of setting it.
inline constexpr const char* kUnsetEnv = "\x01unset";

class Process {
 public:
  Process(std::vector<std::string> argv, const std::string& log_prefix,
          std::map<std::string, std::string> env = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  int pid() const { return pid_; }
  bool running();  // any thread: the child is reaped once, under a lock
  // Waits for exit; returns the exit status (or -signal), nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  void signal(int sig);
  void kill_now();
  std::string stdout_text() const;
  std::string stderr_text() const;
  std::string logs() const { return stdout_text() + stderr_text(); }

 private:
  int pid_ = -1;
  std::mutex mu_;
  std::optional<int> status_;  // guarded by mu_
  std::string out_path_, err_path_;
};

// A running tollgate-sim.
class Sim {
 public:
  explicit Sim(std::vector<std::string> extra_args = {});
  int port() const { return port_; }
  // Plain HTTP control port (differs from port() when the sim serves TLS).
  int control_port() const { return control_port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void behave(const std::string& json);  // POST /_sim/behavior; fails the test on error
  void events(const std::string& json);  // POST /_sim/events; fails the test on error
  boost::json::object event_stats();     // GET /_sim/events/stats
  void reset();
  boost::json::object stats();
  std::int64_t requests() { return stats().at("requests").as_int64(); }
  std::int64_t outcome(const std::string& name);
  std::int64_t ref_count(const std::string& ref);
  Process& process() { return *proc_; }

 private:
  TempDir dir_;
  std::unique_ptr<Process> proc_;
  int port_ = 0;
  int control_port_ = 0;
};

// A running tollgate with the given config text.
class Gateway {
 public:
  // `prefix` runs tollgate under another command (e.g. {"prlimit", "--nofile=64:64"}).
  explicit Gateway(const std::string& config_yaml, std::map<std::string, std::string> env = {},
                   std::vector<std::string> prefix = {});
  int port() const { return port_; }
  int admin_port() const { return admin_port_; }
  int inbound_port() const { return inbound_port_; }  // 0: no inbound: listener
  bool started() const { return port_ > 0; }
  Response call(const std::string& capability_path, const std::string& body,
                std::map<std::string, std::string> headers = {});
  // An admin API request with the test admin token.
  Response admin(const std::string& method, const std::string& path, const std::string& token = {});
  // The admin view of one provider's route for sms.send (breaker, health, share).
  boost::json::object route(const std::string& provider);
  // Re-reads the config file (SIGHUP) after replacing it.
  void reload(const std::string& config_yaml);
  // Replaces the config file without telling the process.
  void reload_file_only(const std::string& config_yaml) { write_config(config_yaml); }
  // Kills the process with SIGKILL (no shutdown at all).
  void crash();
  // Starts a new process on the same config and store; false if it did not come up.
  bool restart();
  Process& process() { return *proc_; }
  const TempDir& dir() const { return dir_; }

 private:
  void write_config(const std::string& config_yaml);

  TempDir dir_;
  std::unique_ptr<Process> proc_;
  int port_ = 0;
  int admin_port_ = 0;
  int inbound_port_ = 0;
};

// An HTTP endpoint that records what is POSTed to it (async callbacks) and
// answers with `status` (changeable).
class CallbackReceiver {
 public:
  struct Received {
    std::map<std::string, std::string> headers;  // lower-case names
    std::string target;
    std::string body;
  };
  // Listens on 127.0.0.1, or on ::1 with ipv6.
  explicit CallbackReceiver(bool ipv6 = false);
  ~CallbackReceiver();
  int port() const { return port_; }
  void set_status(int status) { status_ = status; }
  std::vector<Received> received() const;
  // Waits until at least n requests arrived; false on timeout.
  bool wait_for(size_t n, std::chrono::milliseconds timeout) const;

 private:
  void serve_one(int fd);
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<int> status_{200};
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<Received> received_;
  std::thread thread_;
};

// Steady load from the test itself: `threads` keep-alive connections calling in a
// loop (paced by `pause`) until stop(), recording what every caller saw.
struct CallRecord {
  double start_s = 0;  // since the load began
  double latency_ms = 0;
  int status = 0;
  std::string provider;       // who served it (200)
  std::string error_code;     // error.code otherwise
  std::string traffic;        // "debug" / "stress" on test-traffic answers
  boost::json::array attempts;
};

class Load {
 public:
  Load(int port, int threads, std::string body, std::map<std::string, std::string> headers = {},
       std::chrono::milliseconds pause = std::chrono::milliseconds(5));
  ~Load();
  void stop();
  // Waits until at least n calls finished; false on timeout.
  bool wait_for(size_t n, std::chrono::milliseconds timeout) const;
  double elapsed_s() const;
  std::vector<CallRecord> records() const;

 private:
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<CallRecord> records_;
  std::chrono::steady_clock::time_point start_;
};

// Waits for `path` to contain {"port": N}; 0 when the process died or time ran out.
// (`key` picks another field of the file, e.g. "control_port".)
int wait_for_port(const std::string& path, Process& proc, std::chrono::milliseconds timeout,
                  const char* key = "port");

// The value of one Prometheus sample whose line holds every label part, e.g.
// metric_value(text, "tollgate_calls_total", {"outcome=\"succeeded\""}); -1 if absent.
double metric_value(const std::string& text, const std::string& name, const std::vector<std::string>& label_parts);
// A counter of the gateway's /metrics that follows an event: its value once it
// reaches `want` (polled until `timeout`), or the last one read (-1: absent).
double await_metric(Gateway& gw, const std::string& name, const std::vector<std::string>& label_parts, double want,
                    std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
// The gateway's /metrics text.
std::string metrics_of(Gateway& gw);
// The JSON call-log lines the gateway wrote, waiting up to 3 s for at least `at_least`.
std::vector<boost::json::object> call_lines(Gateway& gw, size_t at_least);
// The gateway's output once it contains `needle` (call lines reach stdout in
// batches, within a second), or as it is after `timeout`.
std::string logs_containing(Gateway& gw, const std::string& needle,
                            std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));

std::string tollgate_bin();
std::string sim_bin();

// The caller key used by test configs, and its SHA-256.
inline constexpr const char* kTestKey = "test-key";
inline constexpr const char* kTestKeyHash = "62af8704764faf8ea82fc61ce9c4c3908b6cb97d463a634e9e587d7c885db0ef";

}  // namespace tollgate::testing
