// The vendors' own signature schemes, selectable by `signer.type`:
//   aliyun_rpc        Alibaba Cloud RPC signature v1 (HMAC-SHA1 over the sorted params)
//   acs3_hmac_sha256  Alibaba Cloud signature v3 (Authorization header)
//   tc3_hmac_sha256   Tencent Cloud API 3.0
//   aws_sigv4         AWS Signature Version 4, in headers or in the query
// Every input comes from the rendered request, the signer's options or the attempt
// (its clock and nonce), so a test can pin them. The algorithms themselves are in
// core/vendor_signatures.h.
#include "core/crypto.h"
#include "core/encoding.h"
#include "core/time_format.h"
#include "core/vendor_signatures.h"
#include "provider/signer.h"

namespace tollgate::provider {
namespace {

bool is_form(const HttpRequest& req) {
  return to_lower(req.header("Content-Type")).starts_with("application/x-www-form-urlencoded");
}

Error bad_request(std::string message) {
  Error e = Error::make(ErrorClass::kInternal, std::move(message));
  return e;
}

// "2016-02-23T12:46:24Z" → "20160223T124624Z"
std::string compact_date(const std::string& iso) {
  std::string out;
  for (char c : iso) {
    if (c != '-' && c != ':') out += c;
  }
  return out;
}

// --- aliyun_rpc ------------------------------------------------------------------------
// Adds AccessKeyId, SignatureMethod, SignatureNonce, SignatureVersion and Timestamp
// where the request's params are (the query of a GET, the form body of a POST),
// signs every param of the query and body together, and adds Signature.
class AliyunRpcSigner final : public Signer {
 public:
  AliyunRpcSigner(std::string key_id, std::string secret) : key_id_(std::move(key_id)), secret_(std::move(secret)) {}

  Result<void> sign(HttpRequest& req, const SignInput& in) const override {
    const bool in_body = req.method != "GET" && is_form(req);
    NameValues query, body;
    if (!parse_name_values(req.query, false, query) || (in_body && !parse_name_values(req.body, true, body))) {
      return bad_request("aliyun_rpc: the request's params are not well-formed");
    }
    NameValues& target = in_body ? body : query;
    target.emplace_back("AccessKeyId", key_id_);
    target.emplace_back("SignatureMethod", "HMAC-SHA1");
    target.emplace_back("SignatureNonce", std::string(in.ctx.nonce));
    target.emplace_back("SignatureVersion", "1.0");
    target.emplace_back("Timestamp", format_iso8601(in.now));
    NameValues all = query;
    all.insert(all.end(), body.begin(), body.end());
    target.emplace_back("Signature", aliyun_rpc_signature(secret_, req.method, all));
    req.query = encode_name_values(query);
    if (in_body) req.body = encode_name_values(body);
    return ok();
  }
  bool uses_nonce() const override { return true; }
  bool uses_time() const override { return true; }

 private:
  std::string key_id_;
  std::string secret_;
};

// --- acs3_hmac_sha256 ------------------------------------------------------------------
// Adds x-acs-action, x-acs-version, x-acs-date, x-acs-signature-nonce,
// x-acs-content-sha256 (and x-acs-security-token), then signs host, content-type
// and every x-acs-* header.
class Acs3Signer final : public Signer {
 public:
  Acs3Signer(std::string key_id, std::string secret, std::string action, std::string version, std::string token)
      : key_id_(std::move(key_id)),
        secret_(std::move(secret)),
        action_(std::move(action)),
        version_(std::move(version)),
        token_(std::move(token)) {}

  Result<void> sign(HttpRequest& req, const SignInput& in) const override {
    NameValues query;
    if (!parse_name_values(req.query, false, query)) return bad_request("acs3: the query is not well-formed");
    const std::string payload_hash = sha256_hex(req.body);
    req.headers.emplace_back("x-acs-action", action_);
    req.headers.emplace_back("x-acs-version", version_);
    req.headers.emplace_back("x-acs-date", format_iso8601(in.now));
    req.headers.emplace_back("x-acs-signature-nonce", std::string(in.ctx.nonce));
    req.headers.emplace_back("x-acs-content-sha256", payload_hash);
    if (!token_.empty()) req.headers.emplace_back("x-acs-security-token", token_);
    CanonicalRequest cr;
    cr.method = req.method;
    cr.uri = req.path;
    cr.query = canonical_query(std::move(query));
    cr.add_header("host", in.host);
    for (const auto& [name, value] : req.headers) {
      const std::string lower = to_lower(name);
      if (lower.starts_with("x-acs-") || lower == "content-type") cr.add_header(lower, value);
    }
    cr.payload_hash = payload_hash;
    req.headers.emplace_back("Authorization", "ACS3-HMAC-SHA256 Credential=" + key_id_ + ",SignedHeaders=" +
                                                  cr.signed_headers() + ",Signature=" +
                                                  acs3_signature(secret_, cr.text()));
    return ok();
  }
  bool uses_nonce() const override { return true; }
  bool uses_time() const override { return true; }

 private:
  std::string key_id_, secret_, action_, version_, token_;
};

// --- tc3_hmac_sha256 -------------------------------------------------------------------
// Adds X-TC-Action, X-TC-Version, X-TC-Timestamp (and X-TC-Region, X-TC-Token),
// signs the configured headers (names and values lower-cased, as Tencent specifies).
class Tc3Signer final : public Signer {
 public:
  struct Options {
    std::string secret_id, secret_key, service, action, version, region, token;
    std::vector<std::string> signed_headers;
  };
  explicit Tc3Signer(Options o) : o_(std::move(o)) {}

  Result<void> sign(HttpRequest& req, const SignInput& in) const override {
    const std::string timestamp = std::to_string(unix_seconds(in.now));
    const std::string date = format_iso8601(in.now).substr(0, 10);
    req.headers.emplace_back("X-TC-Action", o_.action);
    req.headers.emplace_back("X-TC-Version", o_.version);
    req.headers.emplace_back("X-TC-Timestamp", timestamp);
    if (!o_.region.empty()) req.headers.emplace_back("X-TC-Region", o_.region);
    if (!o_.token.empty()) req.headers.emplace_back("X-TC-Token", o_.token);
    CanonicalRequest cr;
    cr.method = req.method;
    cr.uri = "/";
    cr.query = req.method == "GET" ? req.query : std::string();
    for (const auto& name : o_.signed_headers) {
      cr.add_header(name, name == "host" ? in.host : req.header(name), true);
    }
    cr.payload_hash = sha256_hex(req.body);
    req.headers.emplace_back("Authorization",
                             "TC3-HMAC-SHA256 Credential=" + o_.secret_id + "/" + date + "/" + o_.service +
                                 "/tc3_request, SignedHeaders=" + cr.signed_headers() + ", Signature=" +
                                 tc3_signature(o_.secret_key, date, o_.service, timestamp, cr.text()));
    return ok();
  }
  bool uses_time() const override { return true; }

 private:
  Options o_;
};

// --- aws_sigv4 -------------------------------------------------------------------------
class SigV4Signer final : public Signer {
 public:
  struct Options {
    std::string key_id, secret, region, service, token;
    bool in_query = false;
    int expires_s = 300;
    std::vector<std::string> extra_headers;  // lower-case
  };
  explicit SigV4Signer(Options o) : o_(std::move(o)) {}

  Result<void> sign(HttpRequest& req, const SignInput& in) const override {
    NameValues query;
    if (!parse_name_values(req.query, false, query)) return bad_request("aws_sigv4: the query is not well-formed");
    const bool s3 = o_.service == "s3";
    const std::string amz_date = compact_date(format_iso8601(in.now));
    const std::string scope = amz_date.substr(0, 8) + "/" + o_.region + "/" + o_.service + "/aws4_request";
    const std::string payload_hash = s3 && o_.in_query ? std::string("UNSIGNED-PAYLOAD") : sha256_hex(req.body);

    CanonicalRequest cr;
    cr.method = req.method;
    cr.uri = sigv4_canonical_uri(req.path, !s3);
    cr.add_header("host", in.host);
    for (const auto& name : o_.extra_headers) {
      if (const auto v = req.header(name); !v.empty()) cr.add_header(name, v);
    }
    if (o_.in_query) {
      query.emplace_back("X-Amz-Algorithm", "AWS4-HMAC-SHA256");
      query.emplace_back("X-Amz-Credential", o_.key_id + "/" + scope);
      query.emplace_back("X-Amz-Date", amz_date);
      query.emplace_back("X-Amz-Expires", std::to_string(o_.expires_s));
      if (!o_.token.empty()) query.emplace_back("X-Amz-Security-Token", o_.token);
      query.emplace_back("X-Amz-SignedHeaders", cr.signed_headers());
    } else {
      req.headers.emplace_back("X-Amz-Date", amz_date);
      if (!o_.token.empty()) req.headers.emplace_back("X-Amz-Security-Token", o_.token);
      if (s3) req.headers.emplace_back("X-Amz-Content-Sha256", payload_hash);
      for (const auto& [name, value] : req.headers) {
        const std::string lower = to_lower(name);
        if (lower.starts_with("x-amz-") || lower == "content-type") cr.add_header(lower, value);
      }
    }
    cr.query = canonical_query(query);
    cr.payload_hash = payload_hash;
    const std::string signature = sigv4_signature(o_.secret, amz_date, o_.region, o_.service, cr.text());
    if (o_.in_query) {
      query.emplace_back("X-Amz-Signature", signature);
      req.query = encode_name_values(query);
    } else {
      req.headers.emplace_back("Authorization", "AWS4-HMAC-SHA256 Credential=" + o_.key_id + "/" + scope +
                                                    ", SignedHeaders=" + cr.signed_headers() +
                                                    ", Signature=" + signature);
    }
    return ok();
  }
  bool uses_time() const override { return true; }

 private:
  Options o_;
};

}  // namespace

std::unique_ptr<Signer> make_aliyun_rpc_signer(SignerOptions& o) {
  std::string id = o.required("access_key_id");
  std::string secret = o.required("access_key_secret");
  return std::make_unique<AliyunRpcSigner>(std::move(id), std::move(secret));
}

std::unique_ptr<Signer> make_acs3_signer(SignerOptions& o) {
  std::string id = o.required("access_key_id");
  std::string secret = o.required("access_key_secret");
  std::string action = o.required("action");
  std::string version = o.required("version");
  std::string token = o.optional("security_token", "");
  return std::make_unique<Acs3Signer>(std::move(id), std::move(secret), std::move(action), std::move(version),
                                      std::move(token));
}

std::unique_ptr<Signer> make_tc3_signer(SignerOptions& o) {
  Tc3Signer::Options t;
  t.secret_id = o.required("secret_id");
  t.secret_key = o.required("secret_key");
  t.service = o.required("service");
  t.action = o.required("action");
  t.version = o.required("version");
  t.region = o.optional("region", "");
  t.token = o.optional("token", "");
  t.signed_headers = o.list("signed_headers", false);
  if (t.signed_headers.empty()) t.signed_headers = {"content-type", "host", "x-tc-action"};
  for (auto& h : t.signed_headers) h = to_lower(h);
  if (std::find(t.signed_headers.begin(), t.signed_headers.end(), "host") == t.signed_headers.end() ||
      std::find(t.signed_headers.begin(), t.signed_headers.end(), "content-type") == t.signed_headers.end()) {
    o.error("signed_headers", "must include content-type and host");
  }
  return std::make_unique<Tc3Signer>(std::move(t));
}

std::unique_ptr<Signer> make_aws_sigv4_signer(SignerOptions& o) {
  SigV4Signer::Options s;
  s.key_id = o.required("access_key_id");
  s.secret = o.required("secret_access_key");
  s.region = o.required("region");
  s.service = o.required("service");
  s.token = o.optional("session_token", "");
  const std::string placement = o.optional("placement", "header");
  if (placement != "header" && placement != "query") o.error("placement", "must be header or query");
  s.in_query = placement == "query";
  const std::string expires = o.optional("expires_s", "300");
  s.expires_s = std::atoi(expires.c_str());
  if (s.expires_s < 1 || s.expires_s > 604800) o.error("expires_s", "must be between 1 and 604800 seconds");
  for (const auto& h : o.list("sign_headers", false)) s.extra_headers.push_back(to_lower(h));
  return std::make_unique<SigV4Signer>(std::move(s));
}

}  // namespace tollgate::provider
