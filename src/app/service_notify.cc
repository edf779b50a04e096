#include "app/service_notify.h"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>

#include "core/process.h"

namespace tollgate::app {

namespace {

std::uint64_t monotonic_usec() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000u + static_cast<std::uint64_t>(ts.tv_nsec) / 1000u;
}

}  // namespace

ServiceNotifier::ServiceNotifier() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  enabled_ = socket != nullptr && *socket != '\0';
}

ServiceNotifier::~ServiceNotifier() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (watchdog_.joinable()) watchdog_.join();
}

void ServiceNotifier::notify(const std::string& state) {
  if (!enabled_) return;
  // unset_environment = 0: a reload or the watchdog notifies again later.
  if (const int r = sd_notify(0, state.c_str()); r < 0) {
    spdlog::warn("systemd notification failed: {}", std::strerror(-r));
  }
}

void ServiceNotifier::ready(const std::string& status) { notify("READY=1\nSTATUS=" + status); }

void ServiceNotifier::reloading() {
  notify("RELOADING=1\nSTATUS=reloading the config\nMONOTONIC_USEC=" + std::to_string(monotonic_usec()));
}

void ServiceNotifier::stopping() { notify("STOPPING=1\nSTATUS=draining: finishing calls in flight"); }

void ServiceNotifier::start_watchdog(http::Workers& workers) {
  if (!enabled_ || watchdog_.joinable()) return;
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return;
  watchdog_ = std::thread([this, &workers, usec] {
    set_thread_name("watchdog");
    watchdog_loop(workers, std::chrono::microseconds(usec));
  });
}

void ServiceNotifier::watchdog_loop(http::Workers& workers, std::chrono::microseconds interval) {
  const auto period = interval / 2;
  // Shared with the posted tasks: a stuck worker may run its task after this
  // round (or never), so the round's state outlives the loop iteration.
  struct Round {
    std::atomic<int> pending;
    std::mutex mu;
    std::condition_variable cv;
  };
  std::unique_lock lock(mu_);
  while (!stop_) {
    auto round = std::make_shared<Round>();
    round->pending = workers.size();
    for (int i = 0; i < workers.size(); ++i) {
      boost::asio::post(workers.context(i), [round] {
        if (round->pending.fetch_sub(1) == 1) {
          std::lock_guard l(round->mu);
          round->cv.notify_all();
        }
      });
    }
    const auto deadline = std::chrono::steady_clock::now() + period;
    bool all_ran = false;
    {
      lock.unlock();
      std::unique_lock rl(round->mu);
      all_ran = round->cv.wait_until(rl, deadline, [&] { return round->pending.load() == 0; });
      lock.lock();
    }
    if (all_ran) {
      notify("WATCHDOG=1");
    } else {
      spdlog::error("watchdog: a worker did not run a task within {} ms; not telling systemd we are alive",
                    std::chrono::duration_cast<std::chrono::milliseconds>(period).count());
    }
    cv_.wait_until(lock, deadline, [this] { return stop_; });
  }
}

}  // namespace tollgate::app
