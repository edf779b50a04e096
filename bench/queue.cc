// tollgate-queue-bench: requests per second through queue mode against the HTTP
// path, in one run, on one tollgate, one tollgate-sim and one RabbitMQ broker
// (Debian's rabbitmq-server, started here on private ports and stopped at the end).
//   HTTP   N calls over C keep-alive connections (POST /v1/sms/send)
//   queue  N request messages published at once (message_id, reply_to), and the
//          time until all N results were consumed from the reply queue
// Reports req/s of each, the ratio, and CPU seconds of tollgate and of the broker
// (all processes of its group) per 1,000 requests. Writes bench/out/queue.json.
//   tollgate-queue-bench BUILD_DIR [N] [CONNECTIONS]
#include <boost/json.hpp>

#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>
#include <vector>

#include "tests/support/amqp_client.h"
#include "tests/support/http_client.h"
#include "tests/support/servers.h"

namespace {

using namespace std::chrono;
using namespace tollgate::testing;

// CPU seconds (user + system) of every process in process group `pgid`, or of `pid` alone.
double cpu_seconds(int pid, bool group) {
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  double total = 0;
  DIR* d = opendir("/proc");
  if (!d) return 0;
  while (dirent* e = readdir(d)) {
    const int p = std::atoi(e->d_name);
    if (p <= 0) continue;
    std::ifstream f("/proc/" + std::to_string(p) + "/stat");
    std::string line;
    if (!std::getline(f, line)) continue;
    const auto close = line.rfind(')');
    std::istringstream rest(line.substr(close + 2));
    std::vector<std::string> v;
    for (std::string x; rest >> x;) v.push_back(x);
    // Fields after the name: state(0) ppid(1) pgrp(2) ... utime(11) stime(12).
    if (v.size() < 13) continue;
    if (group ? std::stoi(v[2]) != pid : p != pid) continue;
    total += (std::stod(v[11]) + std::stod(v[12])) / tick;
  }
  closedir(d);
  return total;
}

int spawn(const std::vector<std::string>& argv, const std::string& log) {
  const pid_t pid = fork();
  if (pid == 0) {
    freopen(log.c_str(), "w", stdout);
    freopen(log.c_str(), "a", stderr);
    std::vector<char*> a;
    for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    execv(a[0], a.data());
    _exit(127);
  }
  return pid;
}

int wait_port(const std::string& file, const char* key = "port") {
  for (int i = 0; i < 400; ++i) {
    std::ifstream f(file);
    std::stringstream s;
    s << f.rdbuf();
    boost::system::error_code ec;
    auto v = boost::json::parse(s.str(), ec);
    if (!ec && v.is_object() && v.as_object().contains(key)) return static_cast<int>(v.at(key).as_int64());
    std::this_thread::sleep_for(50ms);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: tollgate-queue-bench BUILD_DIR [N] [CONNECTIONS]\n";
    return 2;
  }
  const std::string build = argv[1];
  const int n = argc > 2 ? std::atoi(argv[2]) : 20000;
  const int conns = argc > 3 ? std::atoi(argv[3]) : 32;
  char tmpl[] = "/tmp/tollgate-queue-bench.XXXXXX";
  const std::string tmp = mkdtemp(tmpl);

  std::cout << "== queue mode vs HTTP: " << n << " requests each ==" << std::endl;
  RabbitServer broker;
  if (!broker.ok()) {
    std::cerr << broker.error() << "\n";
    return 1;
  }
  std::cout << "rabbitmq-server started in " << broker.last_start_s() << " s" << std::endl;
  std::vector<int> pids;
  pids.push_back(spawn({build + "/src/sim/tollgate-sim", "--listen", "127.0.0.1:0", "--workers", "1", "--ready-file",
                        tmp + "/sim.json"},
                       tmp + "/sim.log"));
  const int sim = wait_port(tmp + "/sim.json");
  std::ofstream(tmp + "/tollgate.yaml")
      << "server: {listen: 127.0.0.1:0, workers: 2}\nstore: {path: " << tmp << "/tollgate.db}\n"
      << "log: {level: warn, calls: false}\n"
      << "queues:\n  url: " << broker.url() << "\n  consumers:\n    - {queue: bench.requests, caller: bench, "
      << "capability: sms.send, prefetch: 256}\n"
      << "callers:\n  - name: bench\n    key_sha256: 94621d51838a744c3dd740f5a58da1eb30da4df50a9fc50a64d16a76d093df27\n"
      << "    capabilities: [sms.send]\n"
      << "capabilities:\n  sms.send:\n    deadline: 5s\n    providers: [acme]\n"
      << "    params: {to: {type: string, required: true}, template: {type: string, required: true}}\n"
      << "providers:\n  acme:\n    base_url: http://127.0.0.1:" << sim << "\n    max_connections: 256\n"
      << "    credentials: {token: sim-token}\n    signer: {type: bearer, token: \"{{credentials.token}}\"}\n"
      << "    operations:\n      sms.send:\n        dedupe: true\n        request:\n          path: /json/v1/sms/send\n"
      << "          body:\n            json: {mobile: \"{{params.to}}\", template_code: \"{{params.template}}\", "
      << "out_id: \"{{call.id}}\"}\n        response:\n          success: {status: [200], field: /code, equals: 0}\n"
      << "          result: {message_id: /data/biz_id}\n          error: {code: /code}\n";
  const int tg_pid = spawn({build + "/src/app/tollgate", "serve", "--config", tmp + "/tollgate.yaml", "--ready-file",
                            tmp + "/tg.json"},
                           tmp + "/tg.log");
  pids.push_back(tg_pid);
  const int tg = wait_port(tmp + "/tg.json");
  if (!sim || !tg) {
    std::cerr << "tollgate or the simulator did not start (" << tmp << ")\n";
    return 1;
  }
  const std::string key = "bench-queue-key";
  const std::string body = R"({"to":"+8613800000000","template":"T1"})";

  // HTTP: n calls over `conns` keep-alive connections.
  std::atomic<int> next{0}, ok{0};
  double tg_cpu0 = cpu_seconds(tg_pid, false);
  auto t0 = steady_clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < conns; ++c) {
    threads.emplace_back([&] {
      Connection conn(tg);
      while (next.fetch_add(1) < n) {
        auto r = conn.request("POST", "/v1/sms/send", body,
                              {{"Authorization", "Bearer " + key}, {"Content-Type", "application/json"}});
        if (r.status == 200) ok.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  const double http_s = duration<double>(steady_clock::now() - t0).count();
  const double http_cpu = cpu_seconds(tg_pid, false) - tg_cpu0;

  // Queue: publish n requests, then consume n results.
  AmqpClient pub(broker.port()), sub(broker.port());
  pub.declare("bench.replies");
  for (int i = 0; i < 100 && pub.count("bench.requests") < 0; ++i) std::this_thread::sleep_for(100ms);
  tg_cpu0 = cpu_seconds(tg_pid, false);
  const int broker_pgid = broker.pid();  // RabbitServer starts the broker as a process group of its own
  const double broker_cpu0 = broker_pgid > 0 ? cpu_seconds(broker_pgid, true) : 0;
  t0 = steady_clock::now();
  std::thread publisher([&] {
    for (int i = 0; i < n; ++i) pub.publish("bench.requests", R"({"params":)" + body + "}", "b-" + std::to_string(i),
                                            "bench.replies", std::to_string(i));
    // Nacked requests (a quorum queue just declared) are sent again here.
    if (!pub.confirmed(seconds(600))) std::cerr << "publishing: " << pub.error() << "\n";
  });
  long replied = 0;
  const long got = sub.consume("bench.replies", n, seconds(600), [&](const AmqpMessage& m) {
    replied += m.body.find("\"succeeded\"") != std::string::npos;
  });
  publisher.join();
  const double queue_s = duration<double>(steady_clock::now() - t0).count();
  const double queue_cpu = cpu_seconds(tg_pid, false) - tg_cpu0;
  const double broker_cpu = broker_pgid > 0 ? cpu_seconds(broker_pgid, true) - broker_cpu0 : 0;

  for (int p : pids) kill(p, SIGTERM);
  for (int p : pids) waitpid(p, nullptr, 0);
  std::filesystem::remove_all(tmp);

  const double http_rps = n / http_s, queue_rps = got / queue_s;
  boost::json::object out{{"scenario", "queue"},
                          {"requests", n},
                          {"http", {{"rps", http_rps}, {"ok", ok.load()}, {"tollgate_cpu_ms_per_1k", 1000 * http_cpu / n * 1000}}},
                          {"queue",
                           {{"rps", queue_rps},
                            {"results", got},
                            {"succeeded", replied},
                            {"tollgate_cpu_ms_per_1k", 1000 * queue_cpu / n * 1000},
                            {"broker_cpu_ms_per_1k", 1000 * broker_cpu / n * 1000}}},
                          {"queue_vs_http", queue_rps / http_rps},
                          {"broker_start_s", broker.last_start_s()}};
  std::filesystem::create_directories("bench/out");
  std::ofstream("bench/out/queue.json") << boost::json::serialize(out) << "\n";
  std::printf("HTTP   %8.0f req/s  (%d ok)  tollgate %.0f ms CPU per 1k\n", http_rps, ok.load(), 1e6 * http_cpu / n);
  std::printf("queue  %8.0f req/s  (%ld results, %ld succeeded)  tollgate %.0f ms CPU per 1k, broker %.0f ms per 1k\n",
              queue_rps, got, replied, 1e6 * queue_cpu / n, 1e6 * broker_cpu / n);
  std::printf("queue / HTTP: %.2f\n", queue_rps / http_rps);
  return got == n && ok.load() == n ? 0 : 1;
}
