#include "http/workers.h"

#include "core/process.h"

namespace tollgate::http {

namespace {

// An io_context whose services can be shut down ahead of its destruction.
struct Context final : boost::asio::io_context {
  using io_context::io_context;
  void shut_down() { shutdown(); }
};

}  // namespace

Workers::Workers(int n) {
  if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 0; i < n; ++i) {
    // Concurrency hint 1: each io_context is run by exactly one thread.
    contexts_.push_back(std::make_unique<Context>(1));
    guards_.push_back(std::make_unique<boost::asio::executor_work_guard<
                          boost::asio::io_context::executor_type>>(contexts_.back()->get_executor()));
  }
}

Workers::~Workers() {
  stop();
  // Shut every context down before any is freed: that destroys the handlers and
  // coroutine frames still pending on each, and an object one of them kept alive
  // (a server's acceptors, one per worker) may belong to another context, whose
  // services must still exist when it goes (found by the ASan build).
  for (auto& ctx : contexts_) static_cast<Context*>(ctx.get())->shut_down();
  contexts_.clear();
}

void Workers::start() {
  for (std::size_t i = 0; i < contexts_.size(); ++i) {
    threads_.emplace_back([c = contexts_[i].get(), i] {
      set_thread_name(("worker-" + std::to_string(i)).c_str());
      c->run();
    });
  }
}

void Workers::stop() {
  guards_.clear();
  for (auto& ctx : contexts_) ctx->stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

}  // namespace tollgate::http
