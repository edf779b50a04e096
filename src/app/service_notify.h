#pragma once
// ServiceNotifier: tells systemd how the service is doing (Type=notify), through
// sd_notify: READY=1 once every listener accepts, RELOADING=1 then READY=1
// around a SIGHUP reload, STOPPING=1 when draining starts. With WatchdogSec= in
// the unit, a thread of its own pings WATCHDOG=1 every half interval, but only
// after each worker has run a task posted to it: a worker stuck in a loop or a
// blocking call stops the pings, and systemd restarts the service.
// Without $NOTIFY_SOCKET (not started by systemd) every call does nothing.

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "http/workers.h"

namespace tollgate::app {

class ServiceNotifier {
 public:
  ServiceNotifier();
  ~ServiceNotifier();  // stops the watchdog thread
  ServiceNotifier(const ServiceNotifier&) = delete;
  ServiceNotifier& operator=(const ServiceNotifier&) = delete;

  bool enabled() const { return enabled_; }
  void ready(const std::string& status);
  void reloading();
  void stopping();
  // Starts the watchdog pings when systemd asked for them (WATCHDOG_USEC).
  void start_watchdog(http::Workers& workers);

 private:
  void watchdog_loop(http::Workers& workers, std::chrono::microseconds interval);
  void notify(const std::string& state);

  bool enabled_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread watchdog_;
};

}  // namespace tollgate::app
