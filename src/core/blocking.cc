#include "core/blocking.h"

#include <memory>
#include <mutex>
#include <vector>

namespace tollgate::detail {
namespace {

struct Pool {
  std::mutex mu;
  std::vector<std::unique_ptr<boost::asio::io_context>> all;  // owned here for good
  std::vector<boost::asio::io_context*> idle;
};

Pool& pool() {
  static auto* p = new Pool;  // never destroyed: see blocking.h
  return *p;
}

}  // namespace

boost::asio::io_context& borrow_blocking_context() {
  Pool& p = pool();
  std::lock_guard lock(p.mu);
  if (p.idle.empty()) {
    p.all.push_back(std::make_unique<boost::asio::io_context>());
    p.idle.push_back(p.all.back().get());
  }
  auto* ctx = p.idle.back();
  p.idle.pop_back();
  ctx->restart();
  return *ctx;
}

void return_blocking_context(boost::asio::io_context& ctx) {
  Pool& p = pool();
  std::lock_guard lock(p.mu);
  p.idle.push_back(&ctx);
}

}  // namespace tollgate::detail
