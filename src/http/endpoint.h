#pragma once
// Endpoint: one provider origin as the HTTP client reaches it: its TLS context
// (verification with SNI and host-name check on by default, CA file, client
// certificate for mutual TLS), its HTTP CONNECT proxy, its timeouts and its
// connection cap. Built by Endpoint::make at config load or reload (it reads
// files, so never on a worker); immutable afterwards and shared by every worker.

#include <memory>
#include <optional>
#include <string>

#include "core/result.h"
#include "core/transport.h"
#include "core/url.h"

namespace boost::asio::ssl {
class context;
}

namespace tollgate::http {

class Endpoint final : public TransportEndpoint {
 public:
  // Fails when TLS files cannot be loaded or the proxy URL is malformed.
  static Result<std::shared_ptr<const Endpoint>> make(EndpointOptions options);
  ~Endpoint() override;

  const EndpointOptions& options() const override { return options_; }
  // Endpoints with equal keys share a pool, so a reload that changes nothing about
  // a provider's connections keeps them warm. The key covers every setting that
  // shapes a connection: origin, proxy, timeouts, TLS settings and the contents
  // of the CA and client-certificate files.
  const std::string& pool_key() const { return pool_key_; }
  const std::string& host_header() const { return host_header_; }

  // For the client.
  boost::asio::ssl::context* tls() const { return tls_.get(); }
  const std::string& verify_name() const { return verify_name_; }
  bool sni() const { return sni_; }
  const std::optional<Url>& proxy() const { return proxy_; }
  const std::string& proxy_authorization() const { return proxy_authorization_; }

 private:
  explicit Endpoint(EndpointOptions options);
  EndpointOptions options_;
  std::string pool_key_;
  std::string host_header_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  std::string verify_name_;
  bool sni_ = false;
  std::optional<Url> proxy_;
  std::string proxy_authorization_;  // "Basic ..." or empty
};

// The factory the engine's runtime uses (core/transport.h).
Result<std::shared_ptr<const TransportEndpoint>> make_endpoint(const EndpointOptions& options);

}  // namespace tollgate::http
