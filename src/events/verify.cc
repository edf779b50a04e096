#include "events/verify.h"

#include <boost/json.hpp>

#include <charconv>

#include "core/encoding.h"
#include "core/time_format.h"
#include "core/vendor_signatures.h"

namespace tollgate::events {

namespace json = boost::json;

std::string_view to_label(Refusal r) {
  switch (r) {
    case Refusal::kSignature: return "signature";
    case Refusal::kStale: return "stale";
    case Refusal::kSource: return "source";
    case Refusal::kToken: return "token";
    case Refusal::kMalformed: return "malformed";
    case Refusal::kDecrypt: return "decrypt";
  }
  return "unknown";
}

namespace {

Rejected reject(Refusal why, std::string detail) { return Rejected{why, std::move(detail)}; }

bool is_form(std::string_view content_type) {
  return content_type.substr(0, content_type.find(';')) == "application/x-www-form-urlencoded";
}

const json::string* string_at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? &v->get_string() : nullptr;
}

}  // namespace

Result<Verifier> Verifier::make(const config::EventsConfig& cfg, bool tls) {
  Verifier v;
  v.cfg_ = &cfg;
  v.tls_ = tls;
  for (const auto& [serial, pem] : cfg.platform_keys) {  // PEM text (config read any file)
    auto key = RsaKey::public_pem(pem);
    if (!key) {
      return Error::make(ErrorClass::kInvalidRequest, "events.verify.platform_keys." + serial + ": " +
                                                          key.error().message);
    }
    v.platform_keys_.emplace(serial, std::move(*key));
  }
  for (const auto& s : cfg.allowed_sources) {
    auto n = IpNetwork::parse(s);
    if (!n) return Error::make(ErrorClass::kInvalidRequest, "events.verify.allowed_sources: '" + s + "' is not an IP or CIDR");
    v.sources_.push_back(*n);
  }
  return v;
}

std::variant<Verified, Rejected> Verifier::verify(const HttpRequest& req, std::string_view path_token,
                                                  std::string_view peer, WallTime now) const {
  switch (cfg_->verify) {
    case config::EventsConfig::Verify::kTwilio:
      if (!path_token.empty()) return reject(Refusal::kToken, "twilio events take no path token");
      return twilio(req);
    case config::EventsConfig::Verify::kWxpayV3:
      if (!path_token.empty()) return reject(Refusal::kToken, "wxpay_v3 events take no path token");
      return wxpay(req, now);
    case config::EventsConfig::Verify::kToken:
      return token(req, path_token, peer);
  }
  return reject(Refusal::kSignature, "no verification scheme");
}

std::variant<Verified, Rejected> Verifier::twilio(const HttpRequest& req) const {
  const std::string_view sig = req.header("X-Twilio-Signature");
  if (sig.empty()) return reject(Refusal::kSignature, "no X-Twilio-Signature");
  // The URL it called: as configured (behind a proxy, what the vendor was
  // given), or as this request names it. Either way the signature decides.
  std::string url = cfg_->public_url;
  if (url.empty()) url = std::string(tls_ ? "https://" : "http://") + std::string(req.header("Host")) + req.path;
  if (!req.query.empty()) url += "?" + req.query;
  if (is_form(req.header("Content-Type"))) {
    NameValues params;
    if (!parse_name_values(req.body, true, params)) return reject(Refusal::kMalformed, "the form body is malformed");
    if (!verify_twilio_signature(cfg_->secret, url, params, sig)) {
      return reject(Refusal::kSignature, "X-Twilio-Signature does not match");
    }
    return Verified{req.body, true};
  }
  // JSON: the signature covers the URL, whose bodySHA256 must be the body's hash.
  if (!verify_twilio_json_signature(cfg_->secret, url, req.body, sig)) {
    return reject(Refusal::kSignature, "X-Twilio-Signature or bodySHA256 does not match");
  }
  return Verified{req.body, false};
}

std::variant<Verified, Rejected> Verifier::wxpay(const HttpRequest& req, WallTime now) const {
  const std::string_view ts = req.header("Wechatpay-Timestamp");
  const std::string_view nonce = req.header("Wechatpay-Nonce");
  const std::string_view sig64 = req.header("Wechatpay-Signature");
  const std::string_view serial = req.header("Wechatpay-Serial");
  if (ts.empty() || nonce.empty() || sig64.empty() || serial.empty()) {
    return reject(Refusal::kSignature, "a Wechatpay-Timestamp, -Nonce, -Signature or -Serial header is missing");
  }
  long long seconds = 0;
  auto [p, e] = std::from_chars(ts.data(), ts.data() + ts.size(), seconds);
  if (e != std::errc() || p != ts.data() + ts.size()) return reject(Refusal::kMalformed, "Wechatpay-Timestamp is not a number");
  // Compared in seconds, bounded first: a timestamp of 19 digits must not
  // overflow on its way to milliseconds (found by fuzz_events).
  const long long now_s = unix_millis(now) / 1000;
  const long long max_age_s = cfg_->max_age.count() / 1000;
  if (seconds < now_s - max_age_s || seconds > now_s + max_age_s) {
    return reject(Refusal::kStale, "Wechatpay-Timestamp is more than " + std::to_string(max_age_s) + " s from now");
  }
  const auto key = platform_keys_.find(std::string(serial));
  if (key == platform_keys_.end()) {
    return reject(Refusal::kSignature, "no platform key for serial '" + std::string(serial.substr(0, 64)) + "'");
  }
  const auto sig = base64_decode(sig64);
  std::string message;
  message.reserve(ts.size() + nonce.size() + req.body.size() + 3);
  message.append(ts).append("\n").append(nonce).append("\n").append(req.body).append("\n");
  if (!sig || !key->second.verify_sha256(message, *sig)) {
    return reject(Refusal::kSignature, "Wechatpay-Signature does not match");
  }
  // Signed by the channel: now read the envelope and open its resource.
  boost::system::error_code ec;
  json::value v = json::parse(req.body, ec);
  if (ec || !v.is_object()) return reject(Refusal::kMalformed, "the notification is not a JSON object");
  const auto& env = v.get_object();
  const auto* res = env.if_contains("resource");
  if (!res || !res->is_object()) return reject(Refusal::kMalformed, "the notification has no resource");
  const auto& r = res->get_object();
  const auto* algorithm = string_at(r, "algorithm");
  const auto* ciphertext = string_at(r, "ciphertext");
  const auto* rnonce = string_at(r, "nonce");
  const auto* aad = string_at(r, "associated_data");
  if (!algorithm || *algorithm != "AEAD_AES_256_GCM" || !ciphertext || !rnonce) {
    return reject(Refusal::kMalformed, "the resource is not AEAD_AES_256_GCM with ciphertext and nonce");
  }
  const auto sealed = base64_decode(*ciphertext);
  if (!sealed) return reject(Refusal::kMalformed, "the resource's ciphertext is not base64");
  const auto plain = aes256_gcm_decrypt(cfg_->secret, *rnonce, aad ? std::string_view(*aad) : std::string_view(), *sealed);
  if (!plain) return reject(Refusal::kDecrypt, "the resource does not decrypt with the APIv3 key");
  json::value inner = json::parse(*plain, ec);
  if (ec || !inner.is_object()) return reject(Refusal::kMalformed, "the decrypted resource is not a JSON object");
  json::object envelope;
  for (const char* k : {"id", "event_type", "create_time", "resource_type", "summary"}) {
    if (const auto* f = env.if_contains(k)) envelope[k] = *f;
  }
  json::object doc{{"envelope", std::move(envelope)}, {"resource", std::move(inner)}};
  return Verified{json::serialize(doc), false};
}

std::variant<Verified, Rejected> Verifier::token(const HttpRequest& req, std::string_view path_token,
                                                 std::string_view peer) const {
  if (path_token.empty() || !constant_time_equals(path_token, cfg_->secret)) {
    return reject(Refusal::kToken, "the path token does not match");
  }
  if (!sources_.empty()) {
    const bool allowed = std::any_of(sources_.begin(), sources_.end(), [&](const IpNetwork& n) { return n.contains(peer); });
    if (!allowed) return reject(Refusal::kSource, "source " + std::string(peer) + " is not in allowed_sources");
  }
  return Verified{req.body, cfg_->format == config::EventsConfig::Format::kForm};
}

}  // namespace tollgate::events
