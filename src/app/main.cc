// tollgate: the gateway binary. Subcommands: serve, check-config, hash-key.
// This is the only place that knows the concrete types and wires them together.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <iostream>
#include <thread>


#include <unistd.h>

#include "admin/admin_api.h"
#include "admin/history.h"
#include "admin/views.h"
#include "api/api.h"
#include "app/logging.h"
#include "app/cluster_wiring.h"
#include "app/queue_wiring.h"
#include "app/reloader.h"
#include "app/service_notify.h"
#include "engine/health_check.h"
#include "engine/metrics.h"
#include "events/delivery.h"
#include "events/inbound.h"
#include "events/metrics.h"
#include "jobs/metrics.h"
#include "metrics/registry.h"
#include "core/blocking.h"
#include "core/crypto.h"
#include "core/heap_trim.h"
#include "core/random.h"
#include "core/time_format.h"
#include "jobs/callbacks.h"
#include "jobs/recordings.h"
#include "jobs/runner.h"
#include "app/stores.h"
#include "core/process.h"
#include "engine/runtime.h"
#include "http/asio_timers.h"
#include "http/client.h"
#include "http/endpoint.h"
#include "http/server.h"
#include "http/workers.h"

namespace {

using namespace tollgate;

int worker_count(const config::Config& c) {
  return c.server.workers > 0 ? c.server.workers
                              : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

void print_problems(const std::string& path, const std::vector<config::Problem>& problems) {
  for (const auto& p : problems) std::cerr << config::format_problem(path, p) << "\n";
}

int check_config(const std::string& path) {
  engine::StateRegistry scratch;
  auto loaded = engine::load_runtime(path, 1, scratch, http::make_endpoint);
  if (!loaded.runtime) {
    print_problems(path, loaded.problems);
    std::cerr << path << ": " << loaded.problems.size() << " problem"
              << (loaded.problems.size() == 1 ? "" : "s") << "\n";
    return 1;
  }
  const auto& c = loaded.runtime->config();
  if (const std::string problem = app::check_store(c.store); !problem.empty()) {
    std::cerr << path << ": store: " << problem << "\n";
    return 1;
  }
  std::cout << path << ": OK (" << c.callers.size() << " callers, " << c.capabilities.size()
            << " capabilities, " << c.providers.size() << " providers)\n";
  return 0;
}

int serve(const std::string& path, const std::string& ready_file) {
  block_termination_signals();
  auto first = config::load_config_file(path);
  int workers = first.ok() ? worker_count(*first.config) : 1;
  engine::StateRegistry registry;
  char host[256] = "host";
  gethostname(host, sizeof host - 1);
  const std::string instance = std::string(host) + "/" + std::to_string(getpid()) + "/" + new_nonce().substr(0, 8);
  // The cluster (shared: in the config) is set up before the first runtime, so
  // routing state is built with its shared limits. Not reloaded.
  std::unique_ptr<cluster::Cluster> cluster;
  if (first.ok()) {
    auto started = app::start_cluster(*first.config, registry, instance, TOLLGATE_VERSION);
    if (!started) {
      std::cerr << "tollgate: " << started.error().message << "\n";
      return 2;
    }
    cluster = std::move(*started);
  }
  auto loaded = engine::load_runtime(path, workers, registry, http::make_endpoint);
  if (!loaded.runtime) {
    print_problems(path, loaded.problems);
    std::cerr << "tollgate: refusing to start: " << loaded.problems.size() << " problem"
              << (loaded.problems.size() == 1 ? "" : "s") << " in " << path << "\n";
    return 2;
  }
  const auto& cfg = loaded.runtime->config();
  engine::RuntimeHolder holder(loaded.runtime);
  app::setup_logging(cfg.log);
  metrics::Registry registry_metrics;
  registry_metrics.add_collector([](metrics::SampleWriter& w) {
    w.family("tollgate_build_info", "The running binary: 1, labelled with its version and git commit.",
             metrics::Type::kGauge);
    w.sample("tollgate_build_info", {{"version", TOLLGATE_VERSION}, {"commit", TOLLGATE_GIT_COMMIT}}, 1);
  });
  engine::EngineMetrics engine_metrics(registry_metrics);
  jobs::JobsMetrics jobs_metrics(registry_metrics);

  // The workers are declared before the store so that they outlive it: the
  // store's thread completes its last operations by posting to a worker's
  // context, which must still exist then (found by the ThreadSanitizer build).
  http::Workers pool(workers);
  // The store is opened once; its settings are not reloaded.
  spdlog::info("store: {}", app::describe_store(cfg.store));
  auto opened = app::open_store(cfg.store);
  if (!opened) {
    std::cerr << "tollgate: " << opened.error().message << "\n";
    return 1;
  }
  std::unique_ptr<store::JobStore> store = std::move(opened.value());
  app::ServiceNotifier systemd;
  if (!cfg.inbound.enabled) {
    for (const auto& [name, p] : cfg.providers) {
      if (p.events.enabled) {
        spdlog::warn("provider {} has events configured but there is no inbound: listener; they cannot arrive", name);
      }
    }
  }
  // Providers' events need a store that keeps them (both drivers do).
  store::EventStore* events = cfg.inbound.enabled ? dynamic_cast<store::EventStore*>(store.get()) : nullptr;
  if (cfg.inbound.enabled && !events) {
    std::cerr << "tollgate: inbound: the configured store does not keep provider events\n";
    return 1;
  }
  {
    // Synchronous calls a previous process left running have an unknown outcome.
    auto n = run_blocking(store->fail_orphaned_sync_calls(instance, unix_millis(SystemClock::instance().wall())));
    if (n && *n > 0) spdlog::warn("{} synchronous calls were interrupted by the last shutdown", *n);
  }

  // What the last process learned about providers' latency and outcomes
  // answers stress traffic from the first call.
  jobs::Recordings recordings(pool, holder, registry, *store, SystemClock::instance());
  if (const int n = recordings.load(); n > 0) spdlog::info("loaded {} saved provider recordings", n);
  std::vector<std::unique_ptr<http::Client>> clients;
  std::vector<Transport*> transports;
  for (int i = 0; i < pool.size(); ++i) {
    clients.push_back(std::make_unique<http::Client>(pool.context(i)));
    transports.push_back(clients.back().get());
  }
  Timers& timers = http::AsioTimers::instance();
  api::ApiHandler api(holder, SystemClock::instance(), timers, transports, *store, instance, &engine_metrics);
  api.set_events(events);
  std::unique_ptr<events::EventsMetrics> events_metrics;
  std::unique_ptr<events::InboundHandler> inbound;
  if (events) {
    events_metrics = std::make_unique<events::EventsMetrics>(registry_metrics);
    inbound = std::make_unique<events::InboundHandler>(holder, *events, SystemClock::instance(), events_metrics.get());
    if (auto problems = inbound->prepare(loaded.runtime); !problems.empty()) {
      for (const auto& p : problems) std::cerr << path << ": events: " << p << "\n";
      return 2;
    }
  }

  // One way to reload, from SIGHUP or the admin API: validate, then swap; a bad
  // file changes nothing.
  std::mutex reload_mu;
  auto reload = [&]() -> admin::AdminHandler::ReloadOutcome {
    std::lock_guard lock(reload_mu);
    auto next = engine::load_runtime(path, workers, registry, http::make_endpoint);
    admin::AdminHandler::ReloadOutcome out;
    if (!next.runtime) {
      for (const auto& p : next.problems) out.problems.push_back(config::format_problem(path, p));
      spdlog::error("config reload rejected, still serving the previous config: {} problems", out.problems.size());
      for (const auto& p : out.problems) spdlog::error("{}", p);
      engine_metrics.reloads.with({"rejected"}).inc();
      return out;
    }
    if (inbound) {
      if (auto problems = inbound->prepare(next.runtime); !problems.empty()) {
        for (const auto& p : problems) out.problems.push_back(path + ": events: " + p);
        spdlog::error("config reload rejected, still serving the previous config: {} problems", out.problems.size());
        engine_metrics.reloads.with({"rejected"}).inc();
        return out;
      }
    } else if (next.runtime->config().inbound.enabled) {
      spdlog::warn("config reload: inbound: takes effect only after a restart");
    }
    holder.set(next.runtime);
    app::apply_log_level(next.runtime->config().log);
    engine_metrics.reloads.with({"applied"}).inc();
    spdlog::info("config reloaded from {}", path);
    out.applied = true;
    return out;
  };

  app::Reloader reloader(reload);

  // Every connection costs a descriptor: make room for max_connections (caller
  // side) and as many again for providers, the store and the admin listener.
  if (const auto limit = raise_open_file_limit(); limit > 0 &&
      limit < static_cast<std::uint64_t>(cfg.server.max_connections) * 2 + 256) {
    spdlog::warn("open-file limit {} is low for server.max_connections {}: raise LimitNOFILE", limit,
                 cfg.server.max_connections);
  }
  http::ServerOptions opts;
  opts.max_connections = cfg.server.max_connections;
  opts.max_header_bytes = cfg.server.max_header_bytes;
  opts.max_body_bytes = cfg.server.max_body_bytes;
  opts.request_timeout = cfg.server.request_timeout;
  opts.idle_timeout = cfg.server.idle_timeout;
  http::Server server(pool, opts, api);
  auto port = server.listen(cfg.server.host, cfg.server.port);
  if (!port) {
    std::cerr << "tollgate: " << port.error().message << "\n";
    return 1;
  }
  server.start();
  registry_metrics.add_collector([&server](metrics::SampleWriter& w) {
    w.family("tollgate_connections_open", "Caller connections open now.", metrics::Type::kGauge);
    w.sample("tollgate_connections_open", {}, server.connections_open());
    w.family("tollgate_worker_connections",
             "Caller connections each worker thread serves now (each new one goes to the worker with the fewest).",
             metrics::Type::kGauge);
    const auto by_worker = server.connections_by_worker();
    for (size_t i = 0; i < by_worker.size(); ++i) {
      w.sample("tollgate_worker_connections", {{"worker", std::to_string(i)}}, by_worker[i]);
    }
    w.family("tollgate_connections_refused_total",
             "Caller connections answered 503 and closed at server.max_connections.", metrics::Type::kCounter);
    w.sample("tollgate_connections_refused_total", {}, static_cast<double>(server.connections_refused()));
    w.family("tollgate_accept_errors_total",
             "accept() failures (e.g. out of file descriptors); accepting pauses briefly after each.",
             metrics::Type::kCounter);
    w.sample("tollgate_accept_errors_total", {}, static_cast<double>(server.accept_errors()));
  });

  // The admin listener: its own socket (127.0.0.1 by default), same workers.
  admin::AdminHandler admin_api(holder, registry, *store, SystemClock::instance(), &registry_metrics,
                                [&reloader](auto done) { reloader.request(std::move(done)); }, cluster.get());
  if (cluster) {
    registry_metrics.add_collector([c = cluster.get()](metrics::SampleWriter& w) {
      w.family("tollgate_shared_limits_up",
               "1 while limits are shared through Redis, 0 while each instance enforces its local share.",
               metrics::Type::kGauge);
      w.sample("tollgate_shared_limits_up", {}, c->limits().healthy() && c->connected() ? 1 : 0);
      w.family("tollgate_shared_limits_failures_total", "Redis failures or timeouts on shared-limit admissions.",
               metrics::Type::kCounter);
      w.sample("tollgate_shared_limits_failures_total", {}, static_cast<double>(c->limits().failures()));
    });
  }
  // The dashboard's last 15 minutes: the overview sampled once a second, off the
  // workers. The same thread gives freed heap memory back once the gateway has
  // gone quiet after serving (core/heap_trim.h), checking every 250 ms.
  admin::History history;
  admin_api.set_history(&history);
  std::atomic<std::uint64_t> heap_trims{0};
  std::jthread history_sampler([&history, &holder, &server, &heap_trims](std::stop_token stop) {
    set_thread_name("history");
    std::mutex mu;
    std::condition_variable_any cv;
    const auto& clock = SystemClock::instance();
    HeapTrimPolicy trim(std::chrono::milliseconds(500));
    SteadyTime sampled{};
    while (!stop.stop_requested()) {
      const SteadyTime now = clock.now();
      if (now - sampled >= std::chrono::seconds(1)) {
        history.sample(admin::overview_json(*holder.get(), now, clock.wall()), clock.wall());
        sampled = now;
      }
      if (trim.due(server.requests_served(), now)) {
        const auto r = trim_heap();
        heap_trims.fetch_add(1, std::memory_order_relaxed);
        spdlog::debug("heap trimmed after a quiet spell: resident {} KiB -> {} KiB in {} us", r.rss_before_kib,
                      r.rss_after_kib, r.took.count());
      }
      std::unique_lock lock(mu);
      cv.wait_for(lock, stop, std::chrono::milliseconds(250), [] { return false; });
    }
  });
  registry_metrics.add_collector([&heap_trims](metrics::SampleWriter& w) {
    w.family("tollgate_heap_trims_total",
             "Times freed heap memory was given back to the system after a quiet spell following requests.",
             metrics::Type::kCounter);
    w.sample("tollgate_heap_trims_total", {}, static_cast<double>(heap_trims.load(std::memory_order_relaxed)));
  });
  std::unique_ptr<http::Server> admin_server;
  std::uint16_t admin_port = 0;
  if (cfg.admin.enabled) {
    http::ServerOptions aopts;
    aopts.max_body_bytes = 1 << 20;
    admin_server = std::make_unique<http::Server>(pool, aopts, admin_api);
    auto ap = admin_server->listen(cfg.admin.host, cfg.admin.port);
    if (!ap) {
      std::cerr << "tollgate: admin: " << ap.error().message << "\n";
      return 1;
    }
    admin_port = *ap;
    admin_server->start();
  }
  // The inbound listener for providers' events: its own address, same workers.
  std::unique_ptr<http::Server> inbound_server;
  std::uint16_t inbound_port = 0;
  std::unique_ptr<events::DeliveryMonitor> delivery;
  if (inbound) {
    http::ServerOptions iopts;
    iopts.max_body_bytes = cfg.inbound.max_body_bytes;
    iopts.tls_cert_file = cfg.inbound.tls_cert;
    iopts.tls_key_file = cfg.inbound.tls_key;
    inbound_server = std::make_unique<http::Server>(pool, iopts, *inbound);
    auto ip = inbound_server->listen(cfg.inbound.host, cfg.inbound.port);
    if (!ip) {
      std::cerr << "tollgate: inbound: " << ip.error().message << "\n";
      return 1;
    }
    inbound_port = *ip;
    inbound_server->start();
    delivery = std::make_unique<events::DeliveryMonitor>(pool, holder, *events, SystemClock::instance(), timers,
                                                          &registry_metrics, events_metrics.get());
  }
  pool.start();
  jobs::Runner runner(pool, transports, holder, *store, SystemClock::instance(), timers, instance, &engine_metrics,
                      &jobs_metrics);
  jobs::Callbacks callbacks(pool, *transports[0], http::make_endpoint, holder, *store, SystemClock::instance(), timers,
                            instance, &jobs_metrics);
  runner.set_events(events);
  callbacks.set_events(events);
  // Queue mode: requests from RabbitMQ through the same API; the broker is not reloaded.
  std::unique_ptr<app::QueueDoor> queue_door;
  if (cfg.queues.enabled) {
    queue_door = std::make_unique<app::QueueDoor>(cfg.queues, pool, api, &registry_metrics);
    callbacks.set_reply_sink(queue_door.get());
    admin_api.set_queue_status([door = queue_door.get()] {
      return boost::json::object{{"connected", door->broker().connected()}, {"in_flight", door->broker().in_flight()}};
    });
  }
  // Active health checks of providers whose breakers are open, on worker 0.
  engine::HealthChecker health_checks(SystemClock::instance(), timers, *transports[0], [&holder] { return holder.get(); },
                                      &registry_metrics);
  boost::asio::co_spawn(pool.context(0), health_checks.run(), boost::asio::detached);
  runner.start();
  callbacks.start();
  if (delivery) delivery->start();
  if (queue_door) queue_door->start();
  recordings.start();
  spdlog::info("tollgate listening on {}:{} with {} workers ({} capabilities, {} providers)", cfg.server.host,
               *port, workers, cfg.capabilities.size(), cfg.providers.size());
  if (admin_server) spdlog::info("admin API on {}:{}", cfg.admin.host, admin_port);
  if (inbound_server) spdlog::info("provider events on {}:{}", cfg.inbound.host, inbound_port);
  if (!ready_file.empty() &&
      !write_file_atomically(ready_file, "{\"port\": " + std::to_string(*port) + ", \"admin_port\": " +
                                             std::to_string(admin_port) + ", \"inbound_port\": " +
                                             std::to_string(inbound_port) + "}\n")) {
    std::cerr << "tollgate: cannot write " << ready_file << "\n";
    return 1;
  }
  systemd.ready("listening on " + cfg.server.host + ":" + std::to_string(*port));
  systemd.start_watchdog(pool);

  for (;;) {
    const int sig = wait_for_signal();
    if (sig != SIGHUP) break;
    // systemd learns when the reload is over, applied or rejected: either way
    // the process serves again (a rejected file keeps the previous config).
    systemd.reloading();
    reloader.request([&systemd](const admin::AdminHandler::ReloadOutcome& out) {
      systemd.ready(out.applied ? "serving the reloaded config" : "reload rejected; serving the previous config");
    });
  }
  systemd.stopping();
  spdlog::info("shutting down: no new connections, finishing calls in flight");
  server.stop_accepting();
  if (admin_server) admin_server->stop_accepting();
  if (inbound_server) inbound_server->stop_accepting();
  if (delivery) delivery->stop();
  // Queue requests in flight are answered and acked; what is left is redelivered.
  if (queue_door) queue_door->stop(std::chrono::seconds(10));
  // Running jobs finish (their deadlines bound them); nothing new is claimed.
  runner.stop(std::chrono::seconds(10));
  health_checks.stop();
  callbacks.stop();
  recordings.stop();
  recordings.save_now();
  const auto grace_end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (server.connections_open() > 0 && std::chrono::steady_clock::now() < grace_end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  pool.stop();
  // The cluster goes while the workers' contexts still exist (stopped): its
  // Redis commands still in flight complete into them, and are destroyed with them.
  cluster.reset();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tollgate: one stable API in front of third-party providers"};
  app.require_subcommand(1);
  std::string config_path, ready_file, key;

  auto* serve_cmd = app.add_subcommand("serve", "run the gateway");
  serve_cmd->add_option("--config,-c", config_path, "config file (YAML)")->required();
  serve_cmd->add_option("--ready-file", ready_file, "write {\"port\": N} here once listening");

  auto* check_cmd = app.add_subcommand("check-config", "validate a config file and print every problem");
  check_cmd->add_option("file", config_path, "config file (YAML)")->required();

  auto* hash_cmd = app.add_subcommand("hash-key", "print the SHA-256 of an API key, for callers[].key_sha256");
  hash_cmd->add_option("key", key, "the API key")->required();

  app.set_version_flag("--version", std::string("tollgate ") + TOLLGATE_VERSION + " (" + TOLLGATE_GIT_COMMIT + ")");
  CLI11_PARSE(app, argc, argv);
  if (*check_cmd) return check_config(config_path);
  if (*hash_cmd) {
    std::cout << tollgate::sha256_hex(key) << "\n";
    return 0;
  }
  return serve(config_path, ready_file);
}
