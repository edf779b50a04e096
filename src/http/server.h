#pragma once
// Server: HTTP/1.1 with keep-alive on Beast coroutines. Each worker has its own
// SO_REUSEPORT acceptor; a connection and its session live on that worker for
// life. Limits: header and body size, time to receive a request once it has
// started (slow clients are cut off), idle keep-alive time, write time.
// The Handler is called on the connection's worker thread.

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/http_message.h"
#include "core/result.h"
#include "http/workers.h"

namespace tollgate::http {

struct ServerOptions {
  // Connections open at once; past it a new connection is answered 503 (with
  // Retry-After) and closed, before it can cost more than one file descriptor.
  int max_connections = 10000;
  std::size_t max_header_bytes = 8192;  // larger heads: 431
  std::size_t max_body_bytes = 65536;   // larger bodies: 413
  Millis request_timeout{5000};         // from a request's first byte to its last
  Millis idle_timeout{30000};           // keep-alive wait for the next request
  Millis write_timeout{10000};
  // TLS for the listener (tollgate-sim uses it to play an HTTPS provider).
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;  // when set, clients must present a certificate
};

// How the session delivers a response; everything but kNormal exists so that
// tollgate-sim can misbehave like a broken provider.
enum class ResponseMode {
  kNormal,
  kHang,      // never answer; hold the connection until the peer gives up
  kReset,     // close with a TCP reset, no answer
  kClose,     // close cleanly, no answer
  kSlowBody,  // send the head, then the body a few bytes at a time
};

struct ServerResponse {
  HttpResponse response;
  ResponseMode mode = ResponseMode::kNormal;
  Millis slow_interval{0};  // kSlowBody: pause between chunks
};

// Where a request came from.
struct RequestContext {
  int worker = 0;                   // the worker thread running the handler
  std::uint64_t connection_id = 0;  // unique per accepted connection
  std::string peer;                 // the client's IP address (for source allow-lists)
};

// Handlers are coroutines: they take what they need by value (a reference
// parameter would dangle once the caller's temporary is gone).
class Handler {
 public:
  virtual ~Handler() = default;
  virtual boost::asio::awaitable<ServerResponse> handle(HttpRequest req, RequestContext ctx) = 0;
};

class Server {
 public:
  Server(Workers& workers, ServerOptions options, Handler& handler);
  ~Server();

  // Binds one acceptor per worker on host:port (0: any free port, shared by all
  // workers). Returns the bound port.
  Result<std::uint16_t> listen(const std::string& host, std::uint16_t port);
  // Starts accepting on every worker.
  void start();
  // Closes the acceptors and every idle keep-alive connection at once; sessions
  // in the middle of a request finish it, answer with Connection: close, then
  // close.
  void stop_accepting();

  std::uint64_t connections_accepted() const;
  // Requests answered so far (by the handler, before the answer is written).
  std::uint64_t requests_served() const;
  int connections_open() const;
  // Per worker: the connections it serves now. An accepted connection goes to
  // the worker with the fewest (the kernel's SO_REUSEPORT hash would leave a few
  // long-lived callers mostly on one worker).
  std::vector<int> connections_by_worker() const;
  // Connections turned away at max_connections.
  std::uint64_t connections_refused() const;
  // accept() failures (e.g. out of file descriptors), after each of which the
  // worker pauses accepting briefly instead of spinning.
  std::uint64_t accept_errors() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace tollgate::http
