#pragma once
// The outbound HTTP/1.1 client (Beast over Asio, OpenSSL for TLS).
//
// An Endpoint describes one provider origin: address, TLS settings (verification
// with SNI and host-name check on by default, CA file, client certificate for
// mTLS), an optional HTTP CONNECT proxy, timeouts and the connection cap. It is
// immutable and shared by every worker.
//
// A Client belongs to one worker and is touched only by that worker's thread. It
// keeps a keep-alive connection pool per endpoint, capped at the endpoint's
// per-worker share of connections (the provider's bulkhead), and a short DNS
// cache. A connection whose attempt failed or timed out is closed, never pooled.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/http_message.h"
#include "core/result.h"

namespace tollgate::http {

struct EndpointOptions {
  std::string scheme = "http";  // http | https
  std::string host;
  std::uint16_t port = 80;
  Millis connect_timeout{1000};  // TCP connect + proxy CONNECT + TLS handshake
  Millis idle_timeout{30000};    // pooled connections idle longer are closed
  int max_connections = 64;      // per worker
  bool tls_verify = true;
  std::string ca_file;           // empty: the system's trust store
  std::string client_cert;       // PEM chain, for mutual TLS
  std::string client_key;
  std::string server_name;       // SNI and verified name; empty: host
  std::string proxy;             // http://[user:pass@]host:port; empty: direct
};

class Endpoint {
 public:
  // Fails when TLS files cannot be loaded or the proxy URL is malformed.
  static Result<std::shared_ptr<const Endpoint>> make(EndpointOptions options);
  ~Endpoint();

  const EndpointOptions& options() const { return options_; }
  // Endpoints with equal keys share a pool (so a config reload keeps warm connections).
  const std::string& pool_key() const { return pool_key_; }
  const std::string& host_header() const { return host_header_; }

  struct Internals;
  const Internals& internals() const { return *internals_; }

 private:
  explicit Endpoint(EndpointOptions options);
  EndpointOptions options_;
  std::string pool_key_;
  std::string host_header_;
  std::unique_ptr<Internals> internals_;
};

// Lets whoever started an attempt abandon it (the losing attempt of a hedge): the
// client closes the attempt's connection, or stops waiting for one, and the send
// completes at once with provider_code "cancelled". Used on one worker thread only.
class CancelToken {
 public:
  void cancel() {
    cancelled_ = true;
    if (hook_) {
      auto hook = std::move(hook_);
      hook_ = nullptr;
      hook();
    }
  }
  bool cancelled() const { return cancelled_; }
  // For the client: what cancel() must do right now (close a socket, wake a wait).
  void set_hook(std::function<void()> hook) { hook_ = std::move(hook); }
  void clear_hook() { hook_ = nullptr; }

 private:
  bool cancelled_ = false;
  std::function<void()> hook_;
};

struct ClientStats {
  std::uint64_t connections_opened = 0;
  std::uint64_t requests_sent = 0;
};

class Client {
 public:
  explicit Client(boost::asio::io_context& ctx);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends one request and reads the answer, all by `deadline`. Errors are
  // classified (unavailable / timeout) with `ambiguous` set when the request may
  // have reached the provider. Must be awaited on this client's io_context.
  boost::asio::awaitable<Result<HttpResponse>> send(std::shared_ptr<const Endpoint> endpoint,
                                                    HttpRequest request, SteadyTime deadline,
                                                    CancelToken* cancel = nullptr);

  ClientStats stats() const;
  // Connections idle in pools right now (for tests and metrics).
  int idle_connections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tollgate::http
