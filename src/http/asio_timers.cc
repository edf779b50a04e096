#include "http/asio_timers.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace tollgate::http {

namespace asio = boost::asio;

asio::awaitable<bool> AsioTimers::wait_until(SteadyTime t, CancelToken* wake) {
  if (wake && wake->cancelled()) co_return true;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_at(t);
  if (wake) wake->set_hook([&timer] { timer.cancel(); });
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  if (wake) wake->clear_hook();
  co_return wake && wake->cancelled();
}

AsioTimers& AsioTimers::instance() {
  static AsioTimers timers;
  return timers;
}

}  // namespace tollgate::http
