#pragma once
// CanonicalParts: the string a signature covers, assembled from configured parts
// of a rendered request (signers hmac_sha256 and rsa_sha256) or of a provider's
// answer (response verification), joined by a separator. Parsed once from config;
// immutable.
//
// Request parts: method, path (with the base path, without the query), query,
// target (path?query), body, timestamp, nonce, call_id, host, header:<Name>,
// literal:<text>, text:<template> (rendered with the attempt's {{attempt.*}},
// {{credentials.*}} and {{call.*}}).
// Response parts: body, status, header:<Name>, literal:<text>.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/http_message.h"
#include "provider/render.h"

namespace tollgate::provider {

struct SignInput;

class CanonicalParts {
 public:
  enum class Side { kRequest, kResponse };
  // Reports each unknown part through `error` and returns nullopt if any was.
  static std::optional<CanonicalParts> parse(const std::vector<std::string>& names, std::string separator, Side side,
                                             const std::function<void(const std::string&)>& error);

  std::string of_request(const HttpRequest& req, const SignInput& in) const;
  std::string of_response(const HttpResponse& resp) const;

  bool uses_time() const;
  bool uses_nonce() const;

 private:
  struct Part {
    enum class Kind { kMethod, kPath, kQuery, kTarget, kBody, kTimestamp, kNonce, kCallId, kHost, kHeader, kLiteral,
                      kText, kStatus };
    Kind kind;
    std::string arg;    // header name or literal text
    CompiledText text;  // kText
  };
  std::vector<Part> parts_;
  std::string separator_;
};

}  // namespace tollgate::provider
