#include "core/vendor_signatures.h"

#include <algorithm>

#include "core/crypto.h"
#include "core/encoding.h"

namespace tollgate {

bool parse_name_values(std::string_view text, bool plus_is_space, NameValues& out) {
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('&', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view pair = text.substr(start, end - start);
    start = end + 1;
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    auto name = percent_decode(pair.substr(0, eq), plus_is_space);
    auto value = eq == std::string_view::npos ? std::optional<std::string>("")
                                              : percent_decode(pair.substr(eq + 1), plus_is_space);
    if (!name || !value) return false;
    out.emplace_back(std::move(*name), std::move(*value));
  }
  return true;
}

std::string canonical_query(NameValues pairs) {
  // Sorted by the encoded bytes, as the vendors specify.
  for (auto& [name, value] : pairs) {
    name = percent_encode(name);
    value = percent_encode(value);
  }
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (const auto& [name, value] : pairs) {
    if (!out.empty()) out += '&';
    out += name + "=" + value;
  }
  return out;
}

std::string encode_name_values(const NameValues& pairs) {
  std::string out;
  for (const auto& [name, value] : pairs) {
    if (!out.empty()) out += '&';
    percent_encode_to(out, name);
    out += '=';
    percent_encode_to(out, value);
  }
  return out;
}

std::string aliyun_rpc_string_to_sign(std::string_view method, const NameValues& params) {
  std::string out(method);
  out += "&%2F&";
  percent_encode_to(out, canonical_query(params));
  return out;
}

std::string aliyun_rpc_signature(std::string_view secret, std::string_view method, const NameValues& params) {
  return base64_encode(hmac_sha1(std::string(secret) + "&", aliyun_rpc_string_to_sign(method, params)));
}

void CanonicalRequest::add_header(std::string_view name, std::string_view value, bool lower_value) {
  std::string v;
  bool space = false;
  for (char c : trim(value)) {
    if (c == ' ' || c == '\t') {
      space = true;
      continue;
    }
    if (space) v += ' ';
    space = false;
    v += c;
  }
  if (lower_value) v = to_lower(v);
  std::pair<std::string, std::string> h{to_lower(name), std::move(v)};
  headers.insert(std::upper_bound(headers.begin(), headers.end(), h,
                                  [](const auto& a, const auto& b) { return a.first < b.first; }),
                 std::move(h));
}

std::string CanonicalRequest::signed_headers() const {
  std::string out;
  for (const auto& [name, value] : headers) {
    if (!out.empty()) out += ';';
    out += name;
  }
  return out;
}

std::string CanonicalRequest::text() const {
  std::string out = method + "\n" + uri + "\n" + query + "\n";
  for (const auto& [name, value] : headers) out += name + ":" + value + "\n";
  out += "\n" + signed_headers() + "\n" + payload_hash;
  return out;
}

std::string acs3_signature(std::string_view secret, std::string_view canonical_request) {
  return to_hex(hmac_sha256(secret, "ACS3-HMAC-SHA256\n" + sha256_hex(canonical_request)));
}

std::string tc3_signature(std::string_view secret_key, std::string_view date, std::string_view service,
                          std::string_view timestamp, std::string_view canonical_request) {
  const std::string k_date = hmac_sha256("TC3" + std::string(secret_key), date);
  const std::string k_service = hmac_sha256(k_date, service);
  const std::string k_signing = hmac_sha256(k_service, "tc3_request");
  const std::string to_sign = "TC3-HMAC-SHA256\n" + std::string(timestamp) + "\n" + std::string(date) + "/" +
                              std::string(service) + "/tc3_request\n" + sha256_hex(canonical_request);
  return to_hex(hmac_sha256(k_signing, to_sign));
}

std::string sigv4_signing_key(std::string_view secret, std::string_view yyyymmdd, std::string_view region,
                              std::string_view service) {
  const std::string k_date = hmac_sha256("AWS4" + std::string(secret), yyyymmdd);
  const std::string k_region = hmac_sha256(k_date, region);
  const std::string k_service = hmac_sha256(k_region, service);
  return hmac_sha256(k_service, "aws4_request");
}

std::string sigv4_signature(std::string_view secret, std::string_view amz_date, std::string_view region,
                            std::string_view service, std::string_view canonical_request) {
  const std::string_view day = amz_date.substr(0, 8);
  const std::string scope = std::string(day) + "/" + std::string(region) + "/" + std::string(service) + "/aws4_request";
  const std::string to_sign =
      "AWS4-HMAC-SHA256\n" + std::string(amz_date) + "\n" + scope + "\n" + sha256_hex(canonical_request);
  return to_hex(hmac_sha256(sigv4_signing_key(secret, day, region, service), to_sign));
}

std::string sigv4_canonical_uri(std::string_view path, bool double_encode) {
  if (path.empty()) return "/";
  if (!double_encode) return std::string(path);
  std::string out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    percent_encode_to(out, path.substr(start, end - start));
    if (end < path.size()) out += '/';
    start = end + 1;
  }
  return out;
}

std::string twilio_signature(std::string_view auth_token, std::string_view url, NameValues params) {
  std::stable_sort(params.begin(), params.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string data(url);
  for (const auto& [name, value] : params) data += name + value;
  return base64_encode(hmac_sha1(auth_token, data));
}

bool verify_twilio_signature(std::string_view auth_token, std::string_view url, const NameValues& params,
                             std::string_view signature) {
  return constant_time_equals(twilio_signature(auth_token, url, params), signature);
}

bool verify_twilio_json_signature(std::string_view auth_token, std::string_view url, std::string_view body,
                                  std::string_view signature) {
  const size_t q = url.find('?');
  NameValues query;
  if (q == std::string_view::npos || !parse_name_values(url.substr(q + 1), false, query)) return false;
  const auto it = std::find_if(query.begin(), query.end(), [](const auto& p) { return p.first == "bodySHA256"; });
  if (it == query.end() || !constant_time_equals(it->second, sha256_hex(body))) return false;
  return verify_twilio_signature(auth_token, url, {}, signature);
}

}  // namespace tollgate
