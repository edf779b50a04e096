#pragma once
// Reloader: runs config reloads on a thread of its own. Loading a config parses
// YAML, reads key and certificate files and builds TLS contexts — blocking work
// that must never run on a worker, where it would stall every connection of that
// worker. Requests (SIGHUP, the admin API) are served one at a time, in order;
// each one's completion is called on the reloader's thread.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "admin/admin_api.h"

namespace tollgate::app {

class Reloader {
 public:
  using Outcome = admin::AdminHandler::ReloadOutcome;
  explicit Reloader(std::function<Outcome()> reload);
  ~Reloader();  // finishes the reload in progress, drops the queued ones
  Reloader(const Reloader&) = delete;
  Reloader& operator=(const Reloader&) = delete;

  void request(std::function<void(Outcome)> done);

 private:
  void run();
  std::function<Outcome()> reload_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void(Outcome)>> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace tollgate::app
