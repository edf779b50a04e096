// Running coroutines to completion from plain (non-coroutine) code: start-up
// steps and tests.
//
// The contexts they run on are never destroyed. A store or client thread
// completes an operation by posting to the waiting context, and may still be
// inside that post (signalling the context's condition variable) when run()
// has already returned here; a context destroyed right after run() would be
// freed under it (found by the ThreadSanitizer build). Contexts are kept in a
// process-wide pool instead: each call borrows one, so calls from several
// threads run at once, and returns it.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

namespace tollgate {

namespace detail {
boost::asio::io_context& borrow_blocking_context();  // restarted, ready to run
void return_blocking_context(boost::asio::io_context& ctx);

struct BorrowedContext {
  BorrowedContext() : ctx(borrow_blocking_context()) {}
  ~BorrowedContext() { return_blocking_context(ctx); }
  BorrowedContext(const BorrowedContext&) = delete;
  BorrowedContext& operator=(const BorrowedContext&) = delete;
  boost::asio::io_context& ctx;
};
}  // namespace detail

// Runs `a` on the calling thread until it finishes; returns its value (or
// rethrows its exception). Not for a worker thread: it blocks.
template <typename T>
T run_blocking(boost::asio::awaitable<T> a) {
  detail::BorrowedContext b;
  auto f = boost::asio::co_spawn(b.ctx, std::move(a), boost::asio::use_future);
  b.ctx.run();
  return f.get();
}

// Runs `start(ctx)`, which spawns any number of coroutines on ctx, until all
// of them have finished.
template <typename Start>
void run_blocking_all(Start&& start) {
  detail::BorrowedContext b;
  start(b.ctx);
  b.ctx.run();
}

}  // namespace tollgate
