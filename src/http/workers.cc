#include "http/workers.h"

namespace tollgate::http {

Workers::Workers(int n) {
  if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 0; i < n; ++i) {
    // Concurrency hint 1: each io_context is run by exactly one thread.
    contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
    guards_.push_back(std::make_unique<boost::asio::executor_work_guard<
                          boost::asio::io_context::executor_type>>(contexts_.back()->get_executor()));
  }
}

Workers::~Workers() { stop(); }

void Workers::start() {
  for (auto& ctx : contexts_) {
    threads_.emplace_back([c = ctx.get()] { c->run(); });
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
