#pragma once
// Verification of a provider's inbound event, per its configured scheme
// (providers.<name>.events.verify, docs/events.md). Nothing that fails here is
// stored or acknowledged as received.
//
//   twilio    X-Twilio-Signature: base64 HMAC-SHA1 with the auth token over the
//             URL Twilio called — public_url, or scheme://Host + path when none
//             is set — (+ '?' query) and, for a form body, every POST param's
//             name and value sorted by name; a JSON body instead carries
//             bodySHA256 = hex SHA-256 of the body in the query.
//   wxpay_v3  Wechatpay-Signature: RSA-SHA256 by the platform key named in
//             Wechatpay-Serial over "timestamp\nnonce\nbody\n"; a
//             Wechatpay-Timestamp further than max_age from now is refused; the
//             body's resource is decrypted with AEAD_AES_256_GCM (APIv3 key, its
//             nonce and associated_data). The document to map is then
//             {"envelope": {id, event_type, create_time, resource_type, summary},
//              "resource": <the decrypted object>}.
//   token     a secret path segment (/events/<provider>/<kind>/<token>) compared
//             in constant time, and the source address in allowed_sources.
//
// A Verifier is built once per config snapshot (PEM keys parsed then) and used
// from any thread.

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/config.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/http_message.h"
#include "core/result.h"
#include "core/url.h"

namespace tollgate::events {

// Why verification failed: a metric label and a log word. The caller (the
// vendor, or whoever pretends to be it) only ever learns "not verified".
enum class Refusal { kSignature, kStale, kSource, kToken, kMalformed, kDecrypt };
std::string_view to_label(Refusal r);

struct Verified {
  std::string document;  // what the mapping reads
  bool form = false;     // document is form-encoded (else JSON)
};

struct Rejected {
  Refusal why;
  std::string detail;  // for the log; never contains a secret
};

class Verifier {
 public:
  // Parses keys and allow-lists; problems are config errors (already checked by
  // config validation, so they are reported here only if it missed one).
  // `tls`: the inbound listener serves HTTPS (the scheme of a URL rebuilt from
  // the Host header when no public_url is set).
  static Result<Verifier> make(const config::EventsConfig& cfg, bool tls = false);

  // `path_token`: the path segment after /events/<provider>/<kind>/ ("" when none).
  // `peer`: the client's IP address.
  std::variant<Verified, Rejected> verify(const HttpRequest& req, std::string_view path_token, std::string_view peer,
                                          WallTime now) const;

 private:
  std::variant<Verified, Rejected> twilio(const HttpRequest& req) const;
  std::variant<Verified, Rejected> wxpay(const HttpRequest& req, WallTime now) const;
  std::variant<Verified, Rejected> token(const HttpRequest& req, std::string_view path_token,
                                         std::string_view peer) const;

  const config::EventsConfig* cfg_ = nullptr;  // owned by the config snapshot
  bool tls_ = false;
  std::map<std::string, RsaKey> platform_keys_;
  std::vector<IpNetwork> sources_;
};

}  // namespace tollgate::events
