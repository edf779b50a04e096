#include "app/reloader.h"

#include "core/process.h"

namespace tollgate::app {

Reloader::Reloader(std::function<Outcome()> reload) : reload_(std::move(reload)), thread_([this] {
  set_thread_name("reloader");
  run();
}) {}

Reloader::~Reloader() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Reloader::request(std::function<void(Outcome)> done) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(done));
  }
  cv_.notify_all();
}

void Reloader::run() {
  for (;;) {
    std::function<void(Outcome)> done;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      done = std::move(queue_.front());
      queue_.pop_front();
    }
    Outcome out = reload_();
    if (done) done(std::move(out));
  }
}

}  // namespace tollgate::app
