// The simple signers: a bearer token and HTTP basic auth.
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

std::unique_ptr<Signer> make_basic_signer(SignerOptions& o) {
  const std::string user = o.required("username");
  const std::string password = o.required("password");
  if (user.find(':') != std::string::npos) o.error("username", "must not contain ':'");
  return std::make_unique<HeaderSigner>("Authorization",
                                        "Basic " + base64_encode(user + ":" + password));
}

}  // namespace tollgate::provider
