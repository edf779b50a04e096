#pragma once
// Signer: adds a provider's authentication to a fully rendered request (a header,
// a query field or the body). One instance per provider, built from config by
// make_signer(); immutable afterwards, so any worker may sign concurrently.

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/loader.h"
#include "core/http_message.h"
#include "core/result.h"
#include "provider/render.h"

namespace tollgate::provider {

struct SignInput {
  const RenderContext& ctx;  // timestamp, nonce, call id of this attempt
  std::string_view host;     // the Host the request goes to (host[:port])
  WallTime now{};            // the attempt's clock (the same instant as ctx's time fields)
};

class Signer {
 public:
  virtual ~Signer() = default;
  virtual Result<void> sign(HttpRequest& req, const SignInput& in) const = 0;
  // Whether sign() reads the attempt's nonce (so the engine must make one).
  virtual bool uses_nonce() const { return false; }
  // Whether sign() reads the attempt's time fields (timestamp, timestamp_ms, iso8601).
  virtual bool uses_time() const { return false; }
};

// Reads a signer's options from config, resolving {{credentials.*}} references,
// and records problems (unknown or missing options) against the config file.
class SignerOptions {
 public:
  SignerOptions(const config::ProviderConfig& provider, std::vector<config::Problem>& problems);

  // A required single-valued option (credential references resolved).
  std::string required(const std::string& key);
  std::string optional(const std::string& key, std::string fallback);
  // A per-request format: may use {{signature}}, {{credentials.*}}, {{attempt.*}}.
  std::string format(const std::string& key, std::string fallback);
  // Checks a template used per request (format, canonical text parts): only
  // {{signature}} (when allowed), {{credentials.*}} defined, {{attempt.*}}, {{call.*}}.
  void check_template(const std::string& key, const config::ParsedTemplate& t, bool allow_signature);
  std::vector<std::string> list(const std::string& key, bool required);
  // Reports every option not read by the calls above; call last.
  void reject_unread();
  void error(const std::string& key, const std::string& message);
  const std::string& what() const { return what_; }

 private:
  std::string resolve(const config::SignerOption& opt, const std::string& key);

  const config::ProviderConfig& provider_;
  std::vector<config::Problem>& problems_;
  std::string what_;
  std::vector<std::string> read_;
};

using SignerFactory = std::unique_ptr<Signer> (*)(SignerOptions& options);

// Builds the signer named by the provider's `signer.type`; on problems returns
// null and appends them.
std::unique_ptr<Signer> make_signer(const config::ProviderConfig& provider,
                                    std::vector<config::Problem>& problems);

// Registry of signer types by name; built-in ones are registered on first use.
void register_signer(const std::string& type, SignerFactory factory);

// Built-in factories (signers.cc, signer_hmac.cc, signer_vendors.cc).
std::unique_ptr<Signer> make_bearer_signer(SignerOptions& o);
std::unique_ptr<Signer> make_basic_signer(SignerOptions& o);
std::unique_ptr<Signer> make_twilio_signer(SignerOptions& o);
std::unique_ptr<Signer> make_hmac_sha256_signer(SignerOptions& o);
std::unique_ptr<Signer> make_rsa_sha256_signer(SignerOptions& o);
std::unique_ptr<Signer> make_aliyun_rpc_signer(SignerOptions& o);
std::unique_ptr<Signer> make_acs3_signer(SignerOptions& o);
std::unique_ptr<Signer> make_tc3_signer(SignerOptions& o);
std::unique_ptr<Signer> make_aws_sigv4_signer(SignerOptions& o);

}  // namespace tollgate::provider
