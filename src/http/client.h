#pragma once
// Client: the outbound HTTP/1.1 client (Beast over Asio, OpenSSL for TLS), the
// real Transport (core/transport.h).
//
// A Client belongs to one worker and is touched only by that worker's thread. It
// keeps a keep-alive connection pool per endpoint (http/pool.h), capped at the
// endpoint's per-worker share of connections, and a short DNS cache
// (http/resolver.h). Every step of a send (resolve, wait for a pooled
// connection, connect, proxy CONNECT, TLS handshake, write, read) runs under the
// send's deadline. A connection whose attempt failed or timed out is closed,
// never pooled.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <memory>

#include "core/transport.h"
#include "http/endpoint.h"

namespace tollgate::http {

struct ClientStats {
  std::uint64_t connections_opened = 0;
  std::uint64_t requests_sent = 0;
};

class Client final : public Transport {
 public:
  explicit Client(boost::asio::io_context& ctx);
  ~Client() override;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // `endpoint` must have been made by http::Endpoint::make (or make_endpoint).
  // Must be awaited on this client's io_context.
  boost::asio::awaitable<Result<HttpResponse>> send(const std::shared_ptr<const TransportEndpoint>& endpoint,
                                                    const HttpRequest& request, SteadyTime deadline,
                                                    CancelToken* cancel = nullptr) override;

  ClientStats stats() const;
  // Connections idle in pools right now (for tests and metrics).
  int idle_connections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tollgate::http
