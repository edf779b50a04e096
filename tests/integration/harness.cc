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

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
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
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
}

Process::~Process() { kill_now(); }

bool Process::running() {
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

// --- HTTP ----------------------------------------------------------------------------

boost::json::value Response::json() const {
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  if (ec) {
    ADD_FAILURE() << "response body is not JSON: " << body;
    return boost::json::object{};
  }
  return v;
}

std::string Response::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

Connection::Connection(int port, milliseconds timeout) {
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd_);
    fd_ = -1;
  }
}

Connection::~Connection() {
  if (fd_ >= 0) close(fd_);
}

bool Connection::send_raw(const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

std::string Connection::read_some(milliseconds timeout) {
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return "<timeout>";
  char buf[4096];
  const ssize_t n = recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) return "";
  return std::string(buf, static_cast<size_t>(n));
}

Response Connection::read_response() {
  Response r;
  auto fill = [&]() {
    char buf[16384];
    const ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    buffer_.append(buf, static_cast<size_t>(n));
    return true;
  };
  size_t head_end;
  while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!fill()) return r;
  }
  std::istringstream head(buffer_.substr(0, head_end));
  std::string line;
  std::getline(head, line);
  if (line.size() < 12) return r;
  r.status = std::stoi(line.substr(9, 3));
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    r.headers[lower(line.substr(0, colon))] = value;
  }
  const size_t length = r.headers.count("content-length") ? std::stoul(r.headers["content-length"]) : 0;
  buffer_.erase(0, head_end + 4);
  while (buffer_.size() < length) {
    if (!fill()) {
      r.status = 0;
      return r;
    }
  }
  r.body = buffer_.substr(0, length);
  buffer_.erase(0, length);
  return r;
}

Response Connection::request(const std::string& method, const std::string& target, const std::string& body,
                             const std::map<std::string, std::string>& headers) {
  if (fd_ < 0) return {};
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  if (!body.empty() || method == "POST") req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  if (!send_raw(req)) return {};
  return read_response();
}

Response http(int port, const std::string& method, const std::string& target, const std::string& body,
              const std::map<std::string, std::string>& headers, milliseconds timeout) {
  Connection c(port, timeout);
  return c.request(method, target, body, headers);
}

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

Gateway::Gateway(const std::string& config_yaml, std::map<std::string, std::string> env) {
  dir_.write("tollgate.yaml", config_yaml);
  proc_ = std::make_unique<Process>(
      std::vector<std::string>{tollgate_bin(), "serve", "--config", dir_.file("tollgate.yaml"), "--ready-file",
                               dir_.file("ready.json")},
      dir_.file("tollgate"), std::move(env));
  port_ = wait_for_port(dir_.file("ready.json"), *proc_, seconds(10));
  if (port_) admin_port_ = wait_for_port(dir_.file("ready.json"), *proc_, seconds(1), "admin_port");
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

void Gateway::reload(const std::string& config_yaml) {
  dir_.write("tollgate.yaml", config_yaml);
  proc_->signal(SIGHUP);
}

Response Gateway::call(const std::string& capability_path, const std::string& body,
                       std::map<std::string, std::string> headers) {
  if (!headers.count("Authorization")) headers["Authorization"] = std::string("Bearer ") + kTestKey;
  return http(port_, "POST", capability_path, body, headers);
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

double Load::elapsed_s() const { return duration<double>(steady_clock::now() - start_).count(); }

std::vector<CallRecord> Load::records() const {
  std::lock_guard lock(mu_);
  return records_;
}

}  // namespace tollgate::testing
