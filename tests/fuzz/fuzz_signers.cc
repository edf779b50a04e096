// Signers' canonicalisation: each signature scheme over any request tollgate
// could build (method, path, query, a header, a body), at any time. Input
// fields separated by '\n': method, path, query, header value, body (the rest).
// Signing either fails with an Error or adds only wire-safe headers/query.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cstdio>
#include <cstdlib>

#include "config/loader.h"
#include "provider/adapter.h"
#include "tests/fuzz/fuzz_input.h"

using namespace tollgate;

namespace {

// A key made at start-up for this run only.
std::string throwaway_rsa_key() {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

std::string config() {
  std::string y = R"(callers:
  - name: c
    key_sha256: 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae
    capabilities: ["*"]
capabilities:
  sms.send:
    providers: [bearer, basic, hmac, aliyun, acs3, tc3, sigv4, sigv4q, twilio, rsa]
    params: {to: {type: string}}
providers:
)";
  const std::pair<const char*, std::string> signers[] = {
      {"bearer", "{type: bearer, token: tok}"},
      {"basic", "{type: basic, username: u, password: p}"},
      {"hmac", R"({type: hmac_sha256, secret: s3cr3t, canonical: [method, path, query, "header:X-A", body], header: X-Sig})"},
      {"aliyun", "{type: aliyun_rpc, access_key_id: id, access_key_secret: secret}"},
      {"acs3", "{type: acs3_hmac_sha256, access_key_id: id, access_key_secret: secret, action: SendSms, version: \"2017-05-25\"}"},
      {"tc3", "{type: tc3_hmac_sha256, secret_id: id, secret_key: key, service: sms, action: SendSms, version: \"2021-01-11\"}"},
      {"sigv4", "{type: aws_sigv4, access_key_id: AKID, secret_access_key: secret, region: us-east-1, service: sns}"},
      {"sigv4q", "{type: aws_sigv4, access_key_id: AKID, secret_access_key: secret, region: us-east-1, service: sns, placement: query}"},
      {"twilio", "{type: twilio, account_sid: ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX, auth_token: tok}"},
  };
  for (const auto& [name, signer] : signers) {
    y += std::string("  ") + name + ":\n    base_url: https://" + name + ".test\n    signer: " + signer +
         "\n    operations:\n      sms.send:\n        request: {path: /x}\n";
  }
  y += "  rsa:\n    base_url: https://rsa.test\n    credentials:\n      key: |\n";
  const std::string key = throwaway_rsa_key();
  for (size_t pos = 0; pos < key.size();) {
    const size_t nl = key.find('\n', pos);
    y += "        " + key.substr(pos, nl - pos) + "\n";
    pos = nl == std::string::npos ? key.size() : nl + 1;
  }
  y += R"(    signer:
      type: rsa_sha256
      private_key: "{{credentials.key}}"
      canonical: [method, path, query, body]
      format: "alg=RS256,sig={{signature}}"
    operations:
      sms.send:
        request: {path: /x}
)";
  return y;
}

const provider::Catalog& catalog() {
  static std::shared_ptr<const provider::Catalog> cat = [] {
    auto loaded = config::load_config_text(config(), "fuzz.yaml");
    if (!loaded.ok()) {
      for (const auto& p : loaded.problems) std::fprintf(stderr, "%s\n", config::format_problem("fuzz.yaml", p).c_str());
      std::abort();
    }
    std::vector<config::Problem> problems;
    auto c = provider::Catalog::build(loaded.config, problems);
    if (!c) {
      for (const auto& p : problems) std::fprintf(stderr, "%s\n", p.message.c_str());
      std::abort();
    }
    return c;
  }();
  return *cat;
}

bool wire_safe(std::string_view s) {
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto f = fuzz::split(fuzz::as_text(data, size), "\n", 5);
  HttpRequest base;
  base.method = f.size() > 0 && !f[0].empty() ? std::string(f[0]) : "POST";
  base.path = f.size() > 1 ? "/" + std::string(f[1]) : "/";
  base.query = f.size() > 2 ? std::string(f[2]) : "";
  if (f.size() > 3) base.headers.emplace_back("X-A", std::string(f[3]));
  base.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  base.body = f.size() > 4 ? std::string(f[4]) : "";
  const std::string before_query = base.query;
  for (const char* name : {"bearer", "basic", "hmac", "aliyun", "acs3", "tc3", "sigv4", "sigv4q", "twilio", "rsa"}) {
    HttpRequest req = base;
    provider::RenderContext ctx;
    ctx.call_id = "01M8N0QZX8097365KR7D1P4VCV";
    ctx.nonce = "n0nce";
    ctx.timestamp = "1700000000";
    ctx.timestamp_ms = "1700000000000";
    ctx.iso8601 = "2023-11-14T22:13:20Z";
    const auto& p = *catalog().provider(name);
    if (!p.signer().sign(req, provider::SignInput{ctx, p.host_header(), WallTime(std::chrono::seconds(1700000000))})) {
      continue;
    }
    for (size_t i = base.headers.size(); i < req.headers.size(); ++i) {
      if (!wire_safe(req.headers[i].first) || !wire_safe(req.headers[i].second)) std::abort();
    }
    if (req.query != before_query && !wire_safe(req.query)) std::abort();
  }
  return 0;
}
