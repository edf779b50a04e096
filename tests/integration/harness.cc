#include "tests/integration/harness.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace tollgate::testing {

namespace fs = std::filesystem;
using namespace std::chrono;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}


}  // namespace

// --- TempDir -------------------------------------------------------------------------

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "tollgate-test-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!std::getenv("TOLLGATE_KEEP_TEST_DIRS")) fs::remove_all(path_, ec);
}

void TempDir::write(const std::string& name, const std::string& content) const {
  std::ofstream out(file(name), std::ios::binary | std::ios::trunc);
  out << content;
}

// --- Process -------------------------------------------------------------------------

Process::Process(std::vector<std::string> argv, const std::string& log_prefix,
                 std::map<std::string, std::string> env)
    : out_path_(log_prefix + ".out"), err_path_(log_prefix + ".err") {
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    const int out = open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, 1);
    dup2(err, 2);
    for (const auto& [k, v] : env) {
      if (v == kUnsetEnv) {
        unsetenv(k.c_str());
      } else {
        setenv(k.c_str(), v.c_str(), 1);
      }
    }
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
}

Process::~Process() {
  kill_now();
#ifdef TOLLGATE_SANITIZED
  // A sanitizer report in a child (tollgate, tollgate-sim) fails the test that
  // ran it, leaks at exit included: the child's exit code alone is not looked at.
  const std::string err = stderr_text();
  for (const char* mark : {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:", "WARNING: ThreadSanitizer"}) {
    if (const auto at = err.find(mark); at != std::string::npos) {
      ADD_FAILURE() << "sanitizer report in " << err_path_ << ":\n" << err.substr(at > 200 ? at - 200 : 0, 40000);
      break;
    }
  }
#endif
}

bool Process::running() {
  std::lock_guard lock(mu_);
  if (status_) return false;
  int st = 0;
  if (waitpid(pid_, &st, WNOHANG) == pid_) {
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
    return false;
  }
  return true;
}

std::optional<int> Process::wait(milliseconds timeout) {
  const auto end = steady_clock::now() + timeout;
  while (running()) {
    if (steady_clock::now() > end) return std::nullopt;
    std::this_thread::sleep_for(milliseconds(10));
  }
  std::lock_guard lock(mu_);
  return status_;
}

void Process::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

void Process::kill_now() {
  if (pid_ <= 0 || !running()) return;
  ::kill(pid_, SIGTERM);
  if (!wait(seconds(5))) {
    ::kill(pid_, SIGKILL);
    wait(seconds(5));
  }
}

std::string Process::stdout_text() const { return read_file(out_path_); }
std::string Process::stderr_text() const { return read_file(err_path_); }

int wait_for_port(const std::string& path, Process& proc, milliseconds timeout, const char* key) {
  const auto end = steady_clock::now() + timeout;
  while (steady_clock::now() < end) {
    if (!proc.running()) return 0;
    const std::string text = read_file(path);
    if (!text.empty()) {
      boost::system::error_code ec;
      auto v = boost::json::parse(text, ec);
      if (!ec) return static_cast<int>(v.at(key).as_int64());
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  return 0;
}

std::string tollgate_bin() { return TOLLGATE_BIN; }
std::string sim_bin() { return TOLLGATE_SIM_BIN; }

// --- Sim -----------------------------------------------------------------------------

Sim::Sim(std::vector<std::string> extra_args) {
  std::vector<std::string> argv = {sim_bin(), "--listen", "127.0.0.1:0", "--ready-file", dir_.file("ready.json")};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  proc_ = std::make_unique<Process>(argv, dir_.file("sim"));
  port_ = wait_for_port(dir_.file("ready.json"), *proc_, seconds(10));
  if (port_ == 0) ADD_FAILURE() << "tollgate-sim did not start: " << proc_->stderr_text();
  control_port_ = port_ ? wait_for_port(dir_.file("ready.json"), *proc_, seconds(1), "control_port") : 0;
}

void Sim::behave(const std::string& json) {
  auto r = http(control_port_, "POST", "/_sim/behavior", json);
  ASSERT_EQ(r.status, 200) << r.body;
}

void Sim::events(const std::string& json) {
  auto r = http(control_port_, "POST", "/_sim/events", json);
  ASSERT_EQ(r.status, 200) << r.body;
}

boost::json::object Sim::event_stats() {
  auto r = http(control_port_, "GET", "/_sim/events/stats");
  if (r.status != 200) {
    ADD_FAILURE() << "sim event stats: " << r.status;
    return {};
  }
  return boost::json::parse(r.body).as_object();
}

void Sim::reset() { ASSERT_EQ(http(control_port_, "POST", "/_sim/reset").status, 200); }

boost::json::object Sim::stats() {
  auto r = http(control_port_, "GET", "/_sim/stats");
  if (r.status != 200) {
    ADD_FAILURE() << "sim stats: " << r.status;
    return {};
  }
  return r.json().as_object();
}

std::int64_t Sim::outcome(const std::string& name) {
  auto s = stats();
  const auto* v = s.at("outcomes").as_object().if_contains(name);
  return v ? v->as_int64() : 0;
}

std::int64_t Sim::ref_count(const std::string& ref) {
  auto r = http(control_port_, "GET", "/_sim/refs/" + ref);
  return r.json().at("received").as_int64();
}

// --- Gateway -------------------------------------------------------------------------

Gateway::Gateway(const std::string& config_yaml, std::map<std::string, std::string> env,
                 std::vector<std::string> prefix) {
  write_config(config_yaml);
  std::vector<std::string> argv = std::move(prefix);
  for (const auto& a : {tollgate_bin(), std::string("serve"), std::string("--config"), dir_.file("tollgate.yaml"),
                        std::string("--ready-file"), dir_.file("ready.json")}) {
    argv.push_back(a);
  }
  proc_ = std::make_unique<Process>(std::move(argv), dir_.file("tollgate"), std::move(env));
  port_ = wait_for_port(dir_.file("ready.json"), *proc_, seconds(10));
  if (port_) admin_port_ = wait_for_port(dir_.file("ready.json"), *proc_, seconds(1), "admin_port");
  if (port_) inbound_port_ = wait_for_port(dir_.file("ready.json"), *proc_, seconds(1), "inbound_port");
}

void Gateway::crash() { proc_->signal(SIGKILL); proc_->wait(seconds(5)); }

bool Gateway::restart() {
  proc_->kill_now();
  std::filesystem::remove(dir_.file("ready.json"));
  proc_ = std::make_unique<Process>(
      std::vector<std::string>{tollgate_bin(), "serve", "--config", dir_.file("tollgate.yaml"), "--ready-file",
                               dir_.file("ready.json")},
      dir_.file("tollgate"), std::map<std::string, std::string>{});
  port_ = wait_for_port(dir_.file("ready.json"), *proc_, seconds(10));
  if (port_) admin_port_ = wait_for_port(dir_.file("ready.json"), *proc_, seconds(1), "admin_port");
  if (port_) inbound_port_ = wait_for_port(dir_.file("ready.json"), *proc_, seconds(1), "inbound_port");
  return port_ > 0;
}

Response Gateway::admin(const std::string& method, const std::string& path, const std::string& token) {
  return http(admin_port_, method, path, {},
              {{"Authorization", "Bearer " + (token.empty() ? std::string("admin-token-for-tests") : token)}});
}

boost::json::object Gateway::route(const std::string& provider) {
  auto r = admin("GET", "/admin/providers/" + provider);
  if (r.status != 200) {
    ADD_FAILURE() << "admin: " << r.status << " " << r.body;
    return {};
  }
  const boost::json::value doc = r.json();
  for (const auto& route : doc.at("routes").as_array()) {
    if (route.at("capability").as_string() == "sms.send") return route.as_object();
  }
  ADD_FAILURE() << "no sms.send route for " << provider;
  return {};
}

void Gateway::write_config(const std::string& config_yaml) {
  // Each gateway gets its own store in its own directory unless the test says where.
  std::string yaml = config_yaml;
  if (yaml.find("\nstore:") == std::string::npos && !yaml.starts_with("store:")) {
    yaml += "store:\n  path: " + dir_.file("tollgate.db") + "\n";
  }
  dir_.write("tollgate.yaml", yaml);
}

void Gateway::reload(const std::string& config_yaml) {
  write_config(config_yaml);
  proc_->signal(SIGHUP);
}

Response Gateway::call(const std::string& capability_path, const std::string& body,
                       std::map<std::string, std::string> headers) {
  if (!headers.count("Authorization")) headers["Authorization"] = std::string("Bearer ") + kTestKey;
  return http(port_, "POST", capability_path, body, headers);
}

// --- CallbackReceiver ----------------------------------------------------------------

CallbackReceiver::CallbackReceiver(bool ipv6) {
  listen_fd_ = socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (ipv6) {
    sockaddr_in6 addr{};
    addr.sin6_family = AF_INET6;
    addr.sin6_addr = in6addr_loopback;
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin6_port);
  } else {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  listen(listen_fd_, 64);
  thread_ = std::thread([this] {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      const int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd >= 0) serve_one(fd);
    }
  });
}

CallbackReceiver::~CallbackReceiver() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  close(listen_fd_);
}

void CallbackReceiver::serve_one(int fd) {
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string buf;
  char chunk[8192];
  size_t head_end;
  while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
    const ssize_t n = recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) {
      close(fd);
      return;
    }
    buf.append(chunk, static_cast<size_t>(n));
  }
  Received r;
  std::istringstream head(buf.substr(0, head_end));
  std::string line;
  std::getline(head, line);
  if (const auto sp = line.find(' '); sp != std::string::npos) r.target = line.substr(sp + 1, line.rfind(' ') - sp - 1);
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    r.headers[name] = value;
  }
  const size_t length = r.headers.count("content-length") ? std::stoul(r.headers["content-length"]) : 0;
  r.body = buf.substr(head_end + 4);
  while (r.body.size() < length) {
    const ssize_t n = recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) break;
    r.body.append(chunk, static_cast<size_t>(n));
  }
  const int status = status_.load();
  const std::string answer = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  send(fd, answer.data(), answer.size(), MSG_NOSIGNAL);
  close(fd);
  std::lock_guard lock(mu_);
  received_.push_back(std::move(r));
}

std::vector<CallbackReceiver::Received> CallbackReceiver::received() const {
  std::lock_guard lock(mu_);
  return received_;
}

bool CallbackReceiver::wait_for(size_t n, milliseconds timeout) const {
  const auto end = steady_clock::now() + timeout;
  while (steady_clock::now() < end) {
    {
      std::lock_guard lock(mu_);
      if (received_.size() >= n) return true;
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  return false;
}

// --- Load ----------------------------------------------------------------------------

Load::Load(int port, int threads, std::string body, std::map<std::string, std::string> headers, milliseconds pause)
    : start_(steady_clock::now()) {
  if (!headers.count("Authorization")) headers["Authorization"] = std::string("Bearer ") + kTestKey;
  for (int t = 0; t < threads; ++t) {
    threads_.emplace_back([this, port, body, headers, pause] {
      auto conn = std::make_unique<Connection>(port);
      while (!stop_.load()) {
        CallRecord rec;
        const auto begin = steady_clock::now();
        rec.start_s = duration<double>(begin - start_).count();
        Response r = conn->request("POST", "/v1/sms/send", body, headers);
        rec.latency_ms = duration<double, std::milli>(steady_clock::now() - begin).count();
        rec.status = r.status;
        if (r.status == 0) {
          conn = std::make_unique<Connection>(port);  // closed: reconnect
        } else {
          boost::system::error_code ec;
          auto v = boost::json::parse(r.body, ec);
          if (!ec && v.is_object()) {
            const auto& o = v.get_object();
            if (const auto* p = o.if_contains("provider")) rec.provider = std::string(p->as_string());
            if (const auto* e = o.if_contains("error")) rec.error_code = std::string(e->at("code").as_string());
            if (const auto* a = o.if_contains("attempts")) rec.attempts = a->as_array();
            if (const auto* t = o.if_contains("traffic")) rec.traffic = std::string(t->as_string());
          }
        }
        {
          std::lock_guard lock(mu_);
          records_.push_back(std::move(rec));
        }
        std::this_thread::sleep_for(pause);
      }
    });
  }
}

Load::~Load() { stop(); }

void Load::stop() {
  stop_ = true;
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

bool Load::wait_for(size_t n, milliseconds timeout) const {
  const auto end = steady_clock::now() + timeout;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (records_.size() >= n) return true;
    }
    if (steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(milliseconds(20));
  }
}

double Load::elapsed_s() const { return duration<double>(steady_clock::now() - start_).count(); }

std::vector<CallRecord> Load::records() const {
  std::lock_guard lock(mu_);
  return records_;
}

double metric_value(const std::string& text, const std::string& name, const std::vector<std::string>& label_parts) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with(name + "{") && !line.starts_with(name + " ")) continue;
    bool all = true;
    for (const auto& part : label_parts) all = all && line.find(part) != std::string::npos;
    if (all) return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return -1;
}

std::string metrics_of(Gateway& gw) { return http(gw.admin_port(), "GET", "/metrics").body; }

double await_metric(Gateway& gw, const std::string& name, const std::vector<std::string>& label_parts, double want,
                    milliseconds timeout) {
  const auto end = steady_clock::now() + timeout;
  double v = metric_value(metrics_of(gw), name, label_parts);
  while (v < want && steady_clock::now() < end) {
    std::this_thread::sleep_for(milliseconds(25));
    v = metric_value(metrics_of(gw), name, label_parts);
  }
  return v;
}

std::string logs_containing(Gateway& gw, const std::string& needle, milliseconds timeout) {
  const auto end = steady_clock::now() + timeout;
  std::string logs = gw.process().logs();
  while (logs.find(needle) == std::string::npos && steady_clock::now() < end) {
    std::this_thread::sleep_for(milliseconds(20));
    logs = gw.process().logs();
  }
  return logs;
}

std::vector<boost::json::object> call_lines(Gateway& gw, size_t at_least) {
  std::vector<boost::json::object> out;
  for (int i = 0; i < 150; ++i) {
    out.clear();
    std::istringstream in(gw.process().stdout_text());
    std::string line;
    while (std::getline(in, line)) {
      boost::system::error_code ec;
      auto v = boost::json::parse(line, ec);
      if (!ec && v.is_object() && v.as_object().contains("msg") && v.at("msg") == "call") out.push_back(v.as_object());
    }
    if (out.size() >= at_least) break;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return out;
}

}  // namespace tollgate::testing
