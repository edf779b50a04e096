// Providers' inbound events: verification (Twilio form and JSON signatures,
// WeChat Pay v3 headers, timestamps, envelope and resource parsing, path tokens
// and source addresses) and normalisation by mapping (JSON and form bodies,
// batches, pointers, kind maps, dedupe keys) on anything the internet can send.
// Input: "<selector byte><headers>\n--\n<body>", headers as "Name: value" lines.
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdio>
#include <cstdlib>

#include "config/loader.h"
#include "events/normalize.h"
#include "events/verify.h"
#include "tests/fuzz/fuzz_input.h"

using namespace tollgate;

namespace {

std::string public_key_pem() {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

std::string config_text() {
  std::string pem = public_key_pem(), indented;
  for (size_t i = 0; i < pem.size();) {
    const auto nl = pem.find('\n', i);
    indented += "            " + pem.substr(i, nl - i) + "\n";
    if (nl == std::string::npos) break;
    i = nl + 1;
  }
  return R"(inbound: {listen: 127.0.0.1:0}
callers:
  - name: c
    key_sha256: 62af8704764faf8ea82fc61ce9c4c3908b6cb97d463a634e9e587d7c885db0ef
    capabilities: ["*"]
capabilities:
  sms.send:
    providers: [twilio, aliyun, tencent, wxpay]
    params: {to: {type: string}}
providers:
  twilio:
    base_url: http://t.test
    operations: {sms.send: {request: {path: /s}}}
    events:
      verify: {type: twilio, secret: "12345"}
      format: form
      map: {message_id: /MessageSid, kind: {field: /MessageStatus, map: {delivered: delivered, failed: undelivered}}, code: /ErrorCode}
  aliyun:
    base_url: http://a.test
    operations: {sms.send: {request: {path: /s}}}
    events:
      verify: {type: token, secret: aliyun-token-0123456789, allowed_sources: [127.0.0.0/8, "2001:db8::/32"]}
      map: {message_id: /biz_id, kind: {field: /success, map: {"true": delivered, "false": undelivered}}, at: /report_time, code: /err_code, dedupe: [/biz_id, /success, /report_time]}
  tencent:
    base_url: http://c.test
    operations: {sms.send: {request: {path: /s}}}
    events:
      verify: {type: token, secret: tencent-token-0123456789}
      items: /data/list
      map: {message_id: /sid, kind: /report_status}
  wxpay:
    base_url: http://w.test
    operations: {sms.send: {request: {path: /s}}}
    events:
      verify:
        type: wxpay_v3
        secret: 0123456789abcdef0123456789abcdef
        platform_keys:
          SERIAL-1: |
)" + indented + R"(      map: {message_id: /resource/out_refund_no, kind: /resource/refund_status, at: /envelope/create_time}
)";
}

struct Fixture {
  std::shared_ptr<const config::Config> cfg;
  std::vector<std::pair<const config::ProviderConfig*, events::Verifier>> providers;
  Fixture() {
    auto loaded = config::load_config_text(config_text(), "fuzz.yaml");
    if (!loaded.ok()) {
      for (const auto& p : loaded.problems) std::fprintf(stderr, "%s\n", config::format_problem("fuzz.yaml", p).c_str());
      std::abort();
    }
    cfg = loaded.config;
    for (const auto& [name, p] : cfg->providers) {
      auto v = events::Verifier::make(p.events);
      if (!v) std::abort();
      providers.emplace_back(&p, std::move(*v));
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Fixture f;
  if (size == 0) return 0;
  const auto& [p, verifier] = f.providers[data[0] % f.providers.size()];
  const auto parts = fuzz::split(fuzz::as_text(data + 1, size - 1), "\n--\n", 2);
  HttpRequest req;
  req.method = "POST";
  req.path = "/events/" + p->name + "/status";
  req.query = "bodySHA256=0";
  for (const auto line : fuzz::split(parts[0], "\n", 16)) {
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    req.headers.emplace_back(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
  }
  req.body = parts.size() > 1 ? std::string(parts[1]) : std::string();
  const std::string_view token = req.header("X-Token");
  const std::string_view peer = req.header("X-Peer");
  const WallTime now = WallTime{} + std::chrono::seconds(1'764'000'000);
  auto checked = verifier.verify(req, token, peer, now);
  // Normalisation on the body whether or not it verified (the mapping is the
  // parser of what a verified vendor sends).
  const bool form = p->events.format == config::EventsConfig::Format::kForm;
  auto evs = events::normalize(p->events, p->name, events::Verified{req.body, form});
  if (evs) {
    for (const auto& e : *evs) {
      if (e.message_id.empty() || e.dedupe_key.size() != 64) std::abort();
    }
  }
  if (auto* v = std::get_if<events::Verified>(&checked)) (void)events::normalize(p->events, p->name, *v);
  return 0;
}
