#include "http/pool.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <sys/socket.h>

#include <cerrno>

namespace tollgate::http {

namespace {
constexpr auto kSweepEvery = std::chrono::seconds(5);
}

boost::beast::tcp_stream& Connection::lowest() { return tls ? boost::beast::get_lowest_layer(*tls) : *plain; }

bool Connection::alive() {
  auto& sock = lowest().socket();
  if (!sock.is_open()) return false;
  char byte;
  const ssize_t n = ::recv(sock.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return false;
  if (n > 0) return tls != nullptr;  // TLS may have post-handshake records pending
  return errno == EAGAIN || errno == EWOULDBLOCK;
}

void Connection::close() {
  boost::system::error_code ignored;
  lowest().socket().close(ignored);
}

void Pool::hand_over(std::unique_ptr<Connection> conn, SteadyTime now) {
  if (conn) {
    conn->idle_since = now;
    conn->buffer.clear();
  }
  if (!waiters.empty()) {
    PoolWaiter* w = waiters.front();
    waiters.pop_front();
    w->conn = std::move(conn);  // null: the slot passes on, `open` stays as it is
    w->woken = true;
    w->timer->cancel();
    return;
  }
  if (conn) {
    idle.push_back(std::move(conn));
  } else {
    --open;
  }
}

boost::asio::awaitable<PoolGrant> Pool::wait(boost::asio::io_context& ctx, SteadyTime deadline,
                                             CancelToken* cancel) {
  boost::asio::steady_timer timer(ctx);
  timer.expires_at(deadline);
  PoolWaiter waiter{&timer};
  auto pos = waiters.insert(waiters.end(), &waiter);
  if (cancel) cancel->set_hook([&timer] { timer.cancel(); });
  co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
  if (cancel) cancel->clear_hook();
  if (!waiter.woken) waiters.erase(pos);
  if (cancel && cancel->cancelled()) {
    if (waiter.woken) hand_over(std::move(waiter.conn), std::chrono::steady_clock::now());  // pass it on
    co_return PoolGrant{PoolWait::kCancelled, nullptr};
  }
  if (!waiter.woken) co_return PoolGrant{PoolWait::kTimedOut, nullptr};
  co_return PoolGrant{PoolWait::kWoken, std::move(waiter.conn)};
}

void Pool::sweep(SteadyTime now) {
  const auto limit = endpoint->options().idle_timeout;
  std::erase_if(idle, [&](std::unique_ptr<Connection>& c) {
    if (now - c->idle_since < limit) return false;
    c->close();
    --open;
    return true;
  });
}

Pool& Pools::get(const std::shared_ptr<const Endpoint>& ep) {
  auto [it, inserted] = pools_.try_emplace(ep->pool_key());
  // New connections follow the newest endpoint (same key: same settings).
  it->second.endpoint = ep;
  return it->second;
}

void Pools::release(const std::shared_ptr<const Endpoint>& ep, std::unique_ptr<Connection> conn, SteadyTime now) {
  get(ep).hand_over(std::move(conn), now);
}

void Pools::maintain(SteadyTime now) {
  if (now < next_sweep_) return;
  next_sweep_ = now + kSweepEvery;
  for (auto it = pools_.begin(); it != pools_.end();) {
    it->second.sweep(now);
    if (it->second.open == 0 && it->second.waiters.empty()) {
      it = pools_.erase(it);
    } else {
      ++it;
    }
  }
}

int Pools::idle_connections() const {
  int n = 0;
  for (const auto& [k, p] : pools_) n += static_cast<int>(p.idle.size());
  return n;
}

}  // namespace tollgate::http
