// tollgate-failover-bench: drives steady load through a gateway (tollgate or
// HAProxy) in front of two tollgate-sim providers, A preferred, and scripts an
// outage of A: healthy -> hard down (503) -> hang -> recovered. It samples how
// many requests reached A (A's own counter) and what callers saw, and reports per
// phase: caller success %, p50/p99, time to detect (A stops receiving traffic),
// requests that still reached A after detection, and time to recover.
#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/http_client.h"

namespace {

using namespace std::chrono;
using tollgate::testing::Connection;
using tollgate::testing::http;

struct Args {
  std::string label = "tollgate";
  int port = 0;
  std::string path = "/v1/sms/send";
  std::string auth;
  std::string body;
  int sim_a = 0;  // control ports
  int sim_b = 0;
  int connections = 8;
  double phase_s = 6;
  std::string out;
};

struct Rec {
  double start_s, end_s, latency_ms;
  int status;
};

struct Sample {
  double t;
  long a_requests;
};

long sim_stat(int port, const char* field) {
  auto r = http(port, "GET", "/_sim/stats", {}, {}, milliseconds(1000));
  if (r.status != 200) return -1;
  return static_cast<long>(r.json().at(field).as_int64());
}
long sim_requests(int port) { return sim_stat(port, "requests"); }

void sim_behave(int port, const std::string& json) { http(port, "POST", "/_sim/behavior", json); }
void sim_reset(int port) { http(port, "POST", "/_sim/reset"); }

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
}

long a_at(const std::vector<Sample>& s, double t) {
  long v = s.empty() ? 0 : s.front().a_requests;
  for (const auto& x : s) {
    if (x.t > t) break;
    v = x.a_requests;
  }
  return v;
}

boost::json::object phase_stats(const std::vector<Rec>& recs, double from, double to) {
  std::vector<double> lat;
  int calls = 0, ok = 0;
  for (const auto& r : recs) {
    if (r.start_s < from || r.start_s >= to) continue;
    ++calls;
    if (r.status == 200) ++ok;
    lat.push_back(r.latency_ms);
  }
  return boost::json::object{{"calls", calls},
                             {"success_pct", calls ? 100.0 * ok / calls : 0.0},
                             {"p50_ms", percentile(lat, 0.5)},
                             {"p99_ms", percentile(lat, 0.99)},
                             {"max_ms", lat.empty() ? 0.0 : *std::max_element(lat.begin(), lat.end())}};
}

// Calls completed in [from, to).
int completed(const std::vector<Rec>& recs, double from, double to) {
  int n = 0;
  for (const auto& r : recs) n += (r.end_s >= from && r.end_s < to) ? 1 : 0;
  return n;
}

// The first moment after `from` from which, for a whole second, A received at
// most `allowance` requests (probes or health checks) while callers were served
// at no less than half the healthy rate — traffic moved, callers not just stuck.
double detected_at(const std::vector<Sample>& s, const std::vector<Rec>& recs, double from, double to,
                   long allowance, double healthy_rate) {
  for (const auto& x : s) {
    if (x.t < from || x.t + 1.0 > to) continue;
    if (a_at(s, x.t + 1.0) - x.a_requests <= allowance && completed(recs, x.t, x.t + 1.0) >= healthy_rate / 2) {
      return x.t;
    }
  }
  return -1;
}

// The first moment after `from` when A's share of completed calls over half a
// second is back to at least half.
double recovered_at(const std::vector<Sample>& s, const std::vector<Rec>& recs, double from, double to) {
  for (double t = from; t + 0.5 <= to; t += 0.05) {
    const int done = completed(recs, t, t + 0.5);
    const long a = a_at(s, t + 0.5) - a_at(s, t);
    if (done > 10 && a * 2 >= done) return t;
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--label") a.label = v;
    else if (k == "--port") a.port = std::stoi(v);
    else if (k == "--path") a.path = v;
    else if (k == "--auth") a.auth = v;
    else if (k == "--body") a.body = v;
    else if (k == "--sim-a") a.sim_a = std::stoi(v);
    else if (k == "--sim-b") a.sim_b = std::stoi(v);
    else if (k == "--connections") a.connections = std::stoi(v);
    else if (k == "--phase") a.phase_s = std::stod(v);
    else if (k == "--out") a.out = v;
  }
  if (!a.port || !a.sim_a || !a.sim_b || a.body.empty()) {
    std::cerr << "usage: tollgate-failover-bench --port P --sim-a CTRL --sim-b CTRL --body JSON [--auth H] "
                 "[--label L] [--connections N] [--phase S] [--out FILE]\n";
    return 2;
  }
  sim_reset(a.sim_a);
  sim_reset(a.sim_b);

  const auto t0 = steady_clock::now();
  auto now_s = [&] { return duration<double>(steady_clock::now() - t0).count(); };
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<Rec> recs;
  std::vector<Sample> samples;
  std::vector<std::thread> threads;
  std::map<std::string, std::string> headers;
  if (!a.auth.empty()) headers["Authorization"] = a.auth;
  headers["Content-Type"] = "application/json";
  for (int c = 0; c < a.connections; ++c) {
    threads.emplace_back([&] {
      auto conn = std::make_unique<Connection>(a.port, seconds(10));
      std::vector<Rec> local;
      while (!stop) {
        const double s = now_s();
        auto r = conn->request("POST", a.path, a.body, headers);
        const double e = now_s();
        local.push_back({s, e, (e - s) * 1000, r.status});
        if (r.status == 0 || r.header("connection") == "close") conn = std::make_unique<Connection>(a.port, seconds(10));
        std::this_thread::sleep_for(milliseconds(2));
      }
      std::lock_guard lock(mu);
      recs.insert(recs.end(), local.begin(), local.end());
    });
  }
  std::thread sampler([&] {
    while (!stop) {
      const long n = sim_requests(a.sim_a);
      if (n >= 0) {
        std::lock_guard lock(mu);
        samples.push_back({now_s(), n});
      }
      std::this_thread::sleep_for(milliseconds(25));
    }
  });

  auto sleep_until_s = [&](double t) {
    while (now_s() < t) std::this_thread::sleep_for(milliseconds(5));
  };
  // healthy | A hard down | recovered | A hangs | recovered (2 phases long)
  const double p = a.phase_s;
  double at[6] = {0, 0, 0, 0, 0, 0};
  long a_checks = 0;  // a reset zeroes the simulator's counters: A's checks are summed across them
  auto recover_a = [&] {
    a_checks += std::max(0L, sim_stat(a.sim_a, "health_checks"));
    sim_reset(a.sim_a);
  };
  sleep_until_s(p);
  at[1] = now_s();
  sim_behave(a.sim_a, R"({"faults":[{"kind":"http_503"}]})");
  sleep_until_s(2 * p);
  at[2] = now_s();
  recover_a();
  sleep_until_s(3 * p);
  at[3] = now_s();
  sim_behave(a.sim_a, R"({"faults":[{"kind":"hang"}]})");
  sleep_until_s(4 * p);
  at[4] = now_s();
  recover_a();
  sleep_until_s(6 * p);  // the last phase is twice as long: recovery after a hang takes longer
  at[5] = now_s();
  stop = true;
  for (auto& t : threads) t.join();
  sampler.join();

  auto round2 = [](double v) { return std::round(v * 100) / 100; };
  const double healthy_rate = completed(recs, 1, at[1]) / std::max(0.1, at[1] - 1);
  auto stats = [&](double from, double to) {
    auto o = phase_stats(recs, from, to);
    for (const char* k : {"success_pct", "p50_ms", "p99_ms", "max_ms"}) o[k] = round2(o[k].as_double());
    return o;
  };
  auto outage = [&](double from, double to) {
    auto o = stats(from, to);
    const double det = detected_at(samples, recs, from, to, 3, healthy_rate);
    o["detect_ms"] = det < 0 ? -1.0 : round2((det - from) * 1000);
    o["a_requests_after_detect"] = det < 0 ? -1 : a_at(samples, to) - a_at(samples, det);
    o["a_requests"] = a_at(samples, to) - a_at(samples, from);
    return o;
  };
  auto recovery = [&](double from, double to) {
    auto o = stats(from, to);
    const double back = recovered_at(samples, recs, from, to);
    o["recover_ms"] = back < 0 ? -1.0 : round2((back - from) * 1000);
    return o;
  };
  boost::json::object out{{"label", a.label}, {"connections", a.connections}, {"phase_s", p}};
  out["healthy"] = stats(0, at[1]);
  out["hard_down"] = outage(at[1], at[2]);
  out["after_down"] = recovery(at[2], at[3]);
  out["hang"] = outage(at[3], at[4]);
  out["after_hang"] = recovery(at[4], at[5]);
  // Health checks each provider received over the whole run (both gateways check
  // the same GET /health): what recovering faster cost the providers.
  out["health_checks"] = {{"a", a_checks + sim_stat(a.sim_a, "health_checks")}, {"b", sim_stat(a.sim_b, "health_checks")}};
  for (const char* ph : {"healthy", "hard_down", "after_down", "hang", "after_hang"}) {
    const auto& o = out[ph].as_object();
    std::printf("%-9s %-11s success %6.2f%%  p50 %6.2f ms  p99 %7.2f ms  max %7.1f ms", a.label.c_str(), ph,
                o.at("success_pct").as_double(), o.at("p50_ms").as_double(), o.at("p99_ms").as_double(),
                o.at("max_ms").as_double());
    if (o.contains("detect_ms")) {
      std::printf("  detect %5.0f ms  A reqs after %3lld of %lld", o.at("detect_ms").as_double(),
                  static_cast<long long>(o.at("a_requests_after_detect").as_int64()),
                  static_cast<long long>(o.at("a_requests").as_int64()));
    }
    if (o.contains("recover_ms")) std::printf("  recover %5.0f ms", o.at("recover_ms").as_double());
    std::printf("\n");
  }
  std::printf("%-9s health checks received over %.0f s: A %lld, B %lld\n", a.label.c_str(), at[5],
              static_cast<long long>(out["health_checks"].at("a").as_int64()),
              static_cast<long long>(out["health_checks"].at("b").as_int64()));
  const std::string text = boost::json::serialize(out);
  if (!a.out.empty()) std::ofstream(a.out) << text << "\n";
  return 0;
}
