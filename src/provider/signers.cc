// The simple signers: a bearer token and HTTP basic auth (also as Twilio names it).
#include "core/encoding.h"
#include "provider/signer.h"

namespace tollgate::provider {
namespace {

class HeaderSigner final : public Signer {
 public:
  HeaderSigner(std::string header, std::string value)
      : header_(std::move(header)), value_(std::move(value)) {}

  Result<void> sign(HttpRequest& req, const SignInput&) const override {
    req.headers.emplace_back(header_, value_);
    return ok();
  }

 private:
  std::string header_;
  std::string value_;
};

}  // namespace

std::unique_ptr<Signer> make_bearer_signer(SignerOptions& o) {
  const std::string token = o.required("token");
  const std::string header = o.optional("header", "Authorization");
  const std::string scheme = o.optional("scheme", "Bearer");
  if (!is_safe_header_value(token)) o.error("token", "contains characters not allowed in a header");
  return std::make_unique<HeaderSigner>(header, scheme.empty() ? token : scheme + " " + token);
}

namespace {

std::unique_ptr<Signer> basic_auth(SignerOptions& o, const char* user_key, const char* password_key) {
  const std::string user = o.required(user_key);
  const std::string password = o.required(password_key);
  if (user.find(':') != std::string::npos) o.error(user_key, "must not contain ':'");
  return std::make_unique<HeaderSigner>("Authorization", "Basic " + base64_encode(user + ":" + password));
}

}  // namespace

std::unique_ptr<Signer> make_basic_signer(SignerOptions& o) { return basic_auth(o, "username", "password"); }

// Twilio's REST API: HTTP basic auth with the Account SID (or an API key SID) and
// its auth token (or the API key's secret).
std::unique_ptr<Signer> make_twilio_signer(SignerOptions& o) { return basic_auth(o, "account_sid", "auth_token"); }

}  // namespace tollgate::provider
