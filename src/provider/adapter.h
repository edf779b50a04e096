#pragma once
// Provider adapters built from config: for each provider its signer, and for each
// of its operations the request encoder and response decoder. A Catalog is built
// once per config snapshot and is immutable, so every worker uses it without locks.

#include <boost/json/object.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/loader.h"
#include "core/call.h"
#include "core/http_message.h"
#include "core/result.h"
#include "provider/request_encoder.h"
#include "provider/response_decoder.h"
#include "provider/signer.h"

namespace tollgate::provider {

// What changes from one attempt to the next.
struct AttemptInfo {
  int number = 1;
  WallTime now{};
  std::string nonce;  // fresh per attempt: providers reject replayed nonces
};

class Provider;

class Operation {
 public:
  Operation(const Provider& provider, const config::OperationConfig& cfg,
            std::shared_ptr<const ResponseVerifier> verifier = nullptr);

  // Renders the template and signs the result.
  Result<HttpRequest> encode(const Call& call, const AttemptInfo& attempt) const;
  Result<boost::json::object> decode(const HttpResponse& resp) const { return decoder_.decode(resp); }

  // The request carries the call id for the provider to deduplicate on.
  bool dedupe() const { return dedupe_; }
  // Whether encode() reads AttemptInfo::nonce (making one costs a syscall).
  bool uses_nonce() const { return uses_nonce_; }
  // Params whose presence this operation cannot honour.
  const std::vector<std::string>& unsupported_params() const { return unsupported_params_; }
  const ResponseDecoder& decoder() const { return decoder_; }

 private:
  const Provider& provider_;
  RequestEncoder encoder_;
  ResponseDecoder decoder_;
  bool dedupe_;
  bool uses_nonce_;
  bool uses_timestamp_;
  bool uses_timestamp_ms_;
  bool uses_iso8601_;
  std::vector<std::string> unsupported_params_;
};

class Provider {
 public:
  using Verifiers = std::map<std::string, std::shared_ptr<const ResponseVerifier>>;
  Provider(const config::ProviderConfig& cfg, std::unique_ptr<Signer> signer, Verifiers verifiers = {});

  const config::ProviderConfig& config() const { return cfg_; }
  const std::string& name() const { return cfg_.name; }
  const Signer& signer() const { return *signer_; }
  // host[:port] as sent in the Host header.
  const std::string& host_header() const { return host_header_; }
  const Operation* operation(std::string_view capability) const;

 private:
  const config::ProviderConfig& cfg_;
  std::unique_ptr<Signer> signer_;
  std::string host_header_;
  std::map<std::string, std::unique_ptr<Operation>, std::less<>> operations_;
};

class Catalog {
 public:
  // Builds adapters for every provider; problems (signer options) are appended
  // and the result is null when there are any.
  static std::shared_ptr<const Catalog> build(std::shared_ptr<const config::Config> cfg,
                                              std::vector<config::Problem>& problems);

  const Provider* provider(std::string_view name) const;
  const config::Config& config() const { return *cfg_; }

 private:
  std::shared_ptr<const config::Config> cfg_;
  std::map<std::string, std::unique_ptr<Provider>, std::less<>> providers_;
};

}  // namespace tollgate::provider
