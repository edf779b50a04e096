#pragma once
// ResponseVerifier: checks a provider's signature over its answer (payment
// channels sign theirs: WeChat Pay v3, Alipay) with the provider's public key, so
// a forged or corrupted answer is never taken for a success. Built from
// `response.verify` at config load; immutable.

#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/loader.h"
#include "core/crypto.h"
#include "core/http_message.h"
#include "provider/canonical.h"

namespace tollgate::provider {

class ResponseVerifier {
 public:
  // Null (and problems appended) when the settings or the key are not usable.
  static std::shared_ptr<const ResponseVerifier> make(const config::ProviderConfig& provider,
                                                      const config::OperationConfig& op,
                                                      std::vector<config::Problem>& problems);
  bool verify(const HttpResponse& resp) const;

  ResponseVerifier(RsaKey key, CanonicalParts parts, std::string header, bool base64)
      : key_(std::move(key)), parts_(std::move(parts)), header_(std::move(header)), base64_(base64) {}

 private:
  RsaKey key_;
  CanonicalParts parts_;
  std::string header_;
  bool base64_;
};

}  // namespace tollgate::provider
