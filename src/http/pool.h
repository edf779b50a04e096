#pragma once
// Internal to http/: a worker's keep-alive connections, one pool per endpoint
// key, each capped at the endpoint's per-worker share of connections (the
// provider's bulkhead). Attempts that find the pool full wait for a connection
// to come back, until their deadline. Touched only by the owning worker's thread.

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/transport.h"
#include "http/endpoint.h"

namespace tollgate::http {

using SslStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

// One connection: plain or TLS, with its read buffer.
struct Connection {
  std::unique_ptr<boost::beast::tcp_stream> plain;
  std::unique_ptr<SslStream> tls;
  boost::beast::flat_buffer buffer;
  SteadyTime idle_since{};
  bool reused = false;

  boost::beast::tcp_stream& lowest();
  // Whether a pooled connection still looks open: the peer has not closed it and,
  // for plain HTTP, has not sent unsolicited bytes.
  bool alive();
  void close();
};

// An attempt waiting for a connection. Whoever frees one hands it (or, when the
// connection was closed, its slot under the cap) straight to the first waiter:
// `woken` and `conn` are set before the timer is cancelled, so a hand-over is
// never lost even when the timer had already expired and its completion was
// queued, and an attempt arriving meanwhile cannot take what was handed over
// (otherwise, under load, newcomers keep taking freed connections while the
// woken waiter goes to the back of the queue, and some calls wait for ever).
struct PoolWaiter {
  boost::asio::steady_timer* timer = nullptr;
  bool woken = false;
  std::unique_ptr<Connection> conn;  // null when woken: a slot to open a new one
};

enum class PoolWait { kWoken, kTimedOut, kCancelled };

struct PoolGrant {
  PoolWait result = PoolWait::kTimedOut;
  // kWoken: the connection handed over, or null: open one (its slot is counted).
  std::unique_ptr<Connection> conn;
};

struct Pool {
  std::shared_ptr<const Endpoint> endpoint;       // the newest endpoint that used it
  std::vector<std::unique_ptr<Connection>> idle;  // most recently used last
  int open = 0;                                   // idle + in use + being opened
  std::list<PoolWaiter*> waiters;

  // A connection came back (or, null, one closed and its slot is free): to the
  // first waiter if there is one, else to the idle list (or the slot is given up).
  void hand_over(std::unique_ptr<Connection> conn, SteadyTime now);
  // Waits (on `ctx`) for a hand-over, `deadline`, or `cancel`. A hand-over is
  // never lost: a waiter whose timer had already expired when it was handed one
  // still reports kWoken, and one cancelled after it passes it on to the next
  // waiter. The pool must outlive the wait.
  boost::asio::awaitable<PoolGrant> wait(boost::asio::io_context& ctx, SteadyTime deadline, CancelToken* cancel);
  // Closes idle connections older than the endpoint's idle timeout.
  void sweep(SteadyTime now);
};

class Pools {
 public:
  Pool& get(const std::shared_ptr<const Endpoint>& ep);
  // Returns a connection (or, with null, its slot) to the endpoint's pool.
  void release(const std::shared_ptr<const Endpoint>& ep, std::unique_ptr<Connection> conn, SteadyTime now);
  // At most every few seconds: closes stale idle connections everywhere and
  // forgets pools nobody uses (those of endpoints a reload replaced).
  void maintain(SteadyTime now);
  int idle_connections() const;

 private:
  std::unordered_map<std::string, Pool> pools_;
  SteadyTime next_sweep_{};
};

}  // namespace tollgate::http
