#pragma once
// The seam between the call pipeline and the network: the engine sends each
// provider attempt through a Transport and never sees a socket. http::Client is
// the real one (Beast over Asio, one per worker thread); unit tests of the engine
// and the jobs runner use a fake with scripted answers and a fake clock.
//
// The seam is declared here, in core, so that http/ (which depends on core only)
// implements it and engine/ calls it without linking http/.
//
// Threads: a Transport belongs to one worker and is called only on that worker's
// thread; TransportEndpoint objects are immutable and shared by every worker.

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/clock.h"
#include "core/http_message.h"
#include "core/result.h"

namespace tollgate {

// Lets whoever started an attempt abandon it (the losing leg of a hedge): the
// transport closes the attempt's connection, or stops waiting for one, and the
// send completes at once. Whether an attempt was abandoned is read from the token
// (cancelled()), never from an error code a provider could also send.
// Used on one worker thread only.
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
  // For the transport: what cancel() must do right now (close a socket, wake a wait).
  void set_hook(std::function<void()> hook) { hook_ = std::move(hook); }
  void clear_hook() { hook_ = nullptr; }

 private:
  bool cancelled_ = false;
  std::function<void()> hook_;
};

// How to reach one provider origin. Plain values; a transport builds its
// endpoint from them once per config snapshot.
struct EndpointOptions {
  std::string scheme = "http";  // http | https
  std::string host;              // name or IP literal (no brackets)
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
  // Called with every address the host resolves to; an address it refuses (with a
  // reason) is never connected to. Empty: every address is fine. Used for
  // callbacks, whose URLs come from callers.
  std::function<std::optional<std::string>(const std::string& ip)> address_check;
  // Endpoints whose tags differ never share pooled connections (callbacks of
  // callers with different allow-lists).
  std::string pool_tag;
};

// One provider origin as a transport knows it (its TLS context, its pool key).
class TransportEndpoint {
 public:
  virtual ~TransportEndpoint() = default;
  virtual const EndpointOptions& options() const = 0;
};

// Builds endpoints. Loads files (CA, client certificate) and builds TLS contexts,
// so it runs where blocking is allowed: config load and reload, never a worker.
using EndpointFactory = std::function<Result<std::shared_ptr<const TransportEndpoint>>(const EndpointOptions&)>;

class Transport {
 public:
  virtual ~Transport() = default;
  // Sends one request and reads the answer, every step (resolve, connect, TLS,
  // write, read) by `deadline`. Errors are classified (unavailable / timeout) with
  // `ambiguous` set when the request may have reached the provider. When `cancel`
  // fires, completes promptly (the caller then reads cancel->cancelled()).
  // `endpoint` and `request` are the caller's and must outlive the send (a
  // coroutine's frame keeps references, not copies).
  virtual boost::asio::awaitable<Result<HttpResponse>> send(const std::shared_ptr<const TransportEndpoint>& endpoint,
                                                            const HttpRequest& request, SteadyTime deadline,
                                                            CancelToken* cancel = nullptr) = 0;
};

}  // namespace tollgate
