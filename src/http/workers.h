#pragma once
// Workers: N threads, each running its own io_context. Everything a worker owns
// (its listening socket, its connections, its outbound pools) is touched only by
// that worker's thread, so the per-connection path takes no locks.

#include <boost/asio/io_context.hpp>

#include <memory>
#include <thread>
#include <vector>

namespace tollgate::http {

class Workers {
 public:
  // n <= 0: one per CPU core.
  explicit Workers(int n);
  ~Workers();
  Workers(const Workers&) = delete;
  Workers& operator=(const Workers&) = delete;

  int size() const { return static_cast<int>(contexts_.size()); }
  boost::asio::io_context& context(int i) { return *contexts_[i]; }

  // Starts one thread per io_context; returns at once.
  void start();
  // Stops every io_context and joins the threads. Idempotent.
  void stop();

 private:
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<std::unique_ptr<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>> guards_;
  std::vector<std::thread> threads_;
};

}  // namespace tollgate::http
