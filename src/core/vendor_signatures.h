#pragma once
// The signature algorithms of third-party vendors, as pure functions over
// already-extracted inputs. The signers (provider/signer_vendors.cc) call them
// with what they render; tollgate-sim calls them with what it received, to
// verify; the inbound helpers verify what vendors send us. Each is tested
// against the vector the vendor publishes (vendor_signatures_test.cc).
//
//   Alibaba Cloud RPC (signature v1, HMAC-SHA1)   — Dysmsapi SendSms and other RPC APIs
//   Alibaba Cloud ACS3-HMAC-SHA256 (signature v3)
//   Tencent Cloud API 3.0 TC3-HMAC-SHA256
//   AWS Signature Version 4
//   Twilio X-Twilio-Signature (inbound webhooks)

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tollgate {

using NameValues = std::vector<std::pair<std::string, std::string>>;

// Decodes "a=1&b=2" (query or form; with plus_is_space '+' is a space). False on a
// malformed escape.
bool parse_name_values(std::string_view text, bool plus_is_space, NameValues& out);
// Each name and value RFC 3986-encoded, sorted by name then value; joined with '&'.
std::string canonical_query(NameValues pairs);
// Formats `pairs` as they are sent: in order, RFC 3986-encoded, joined with '&'.
std::string encode_name_values(const NameValues& pairs);

// --- Alibaba Cloud RPC signature ------------------------------------------------------
// StringToSign = METHOD "&" enc("/") "&" enc(canonical_query(params));
// Signature = base64(HMAC-SHA1(secret + "&", StringToSign)).
std::string aliyun_rpc_string_to_sign(std::string_view method, const NameValues& params);
std::string aliyun_rpc_signature(std::string_view secret, std::string_view method, const NameValues& params);

// --- The canonical request of ACS3, TC3 and SigV4 --------------------------------------
//   METHOD \n URI \n QUERY \n name:value\n... \n signed;headers \n payload-hash
struct CanonicalRequest {
  std::string method;
  std::string uri;    // as the scheme wants it (encoded)
  std::string query;  // canonical
  NameValues headers;  // lower-case names, trimmed values, sorted by name (see add_header)
  std::string payload_hash;  // lower-case hex SHA-256, or "UNSIGNED-PAYLOAD"

  // Adds a header: the name lower-cased, the value trimmed with inner runs of
  // spaces collapsed (and lower-cased too when lower_value), kept sorted.
  void add_header(std::string_view name, std::string_view value, bool lower_value = false);
  std::string signed_headers() const;  // "host;x-amz-date"
  std::string text() const;
};

// ACS3: hex(HMAC-SHA256(secret, "ACS3-HMAC-SHA256\n" + hex(SHA256(canonical)))).
std::string acs3_signature(std::string_view secret, std::string_view canonical_request);

// TC3: the key derived from "TC3" + secret, date (YYYY-MM-DD, UTC), service, "tc3_request";
// the string to sign "TC3-HMAC-SHA256\n" timestamp "\n" date/service/tc3_request "\n" hash.
std::string tc3_signature(std::string_view secret_key, std::string_view date, std::string_view service,
                          std::string_view timestamp, std::string_view canonical_request);

// SigV4: the key derived from "AWS4" + secret, yyyymmdd, region, service, "aws4_request".
std::string sigv4_signing_key(std::string_view secret, std::string_view yyyymmdd, std::string_view region,
                              std::string_view service);
// amz_date: yyyymmddThhmmssZ. Returns lower-case hex.
std::string sigv4_signature(std::string_view secret, std::string_view amz_date, std::string_view region,
                            std::string_view service, std::string_view canonical_request);
// AWS canonical URI for services other than S3: each path segment URI-encoded
// again (the path as sent is already encoded once).
std::string sigv4_canonical_uri(std::string_view path, bool double_encode);

// --- Twilio webhooks (inbound) ------------------------------------------------------------
// base64(HMAC-SHA1(auth_token, url + each POST param's name and value, sorted by name)).
std::string twilio_signature(std::string_view auth_token, std::string_view url, NameValues params);
// Verifies X-Twilio-Signature of a form-encoded webhook (constant time).
bool verify_twilio_signature(std::string_view auth_token, std::string_view url, const NameValues& params,
                             std::string_view signature);
// Verifies a JSON webhook: the URL carries bodySHA256 = hex(SHA-256(body)) and the
// signature covers the URL alone.
bool verify_twilio_json_signature(std::string_view auth_token, std::string_view url, std::string_view body,
                                  std::string_view signature);

}  // namespace tollgate
