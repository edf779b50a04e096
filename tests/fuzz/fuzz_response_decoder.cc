// Provider answers: every response mapping shape (a code in a JSON body, a
// success status alone, WeChat's fails_with, XML, value maps, verified
// signatures) decoding whatever status, headers and body a provider sends.
// Input: byte 0 picks nothing (all mappings run), bytes 1-2 the status,
// then "Retry-After" header text up to the first '\n', then the body.
#include <cstdio>
#include <cstdlib>

#include "config/loader.h"
#include "provider/adapter.h"
#include "tests/fuzz/fuzz_input.h"

using namespace tollgate;

namespace {

constexpr const char* kConfig = R"(callers:
  - name: c
    key_sha256: 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae
    capabilities: ["*"]
capabilities:
  sms.send:
    providers: [code_in_body, status_only, wechat, xml, mapped]
    params: {to: {type: string}}
providers:
  code_in_body:
    base_url: http://a.test
    operations:
      sms.send:
        request: {path: /x}
        response:
          success: {status: [200], field: /code, equals: [0, "OK"]}
          result: {message_id: /data/id, fee: /data/fee}
          error: {code: [/code, /data/0/code], message: /msg}
          errors: {"1001": invalid_request, "4290": rate_limited}
  status_only:
    base_url: http://a.test
    operations:
      sms.send:
        request: {path: /x}
        response:
          success: {status: [201]}
          result: {message_id: /sid}
          error: {code: /error/code}
          errors: {invalid_to: invalid_request, "503": unavailable}
  wechat:
    base_url: http://a.test
    operations:
      sms.send:
        request: {path: /x}
        response:
          success: {fails_with: /errcode}
          result: {openid: /openid}
          error: {code: /errcode}
  xml:
    base_url: http://a.test
    operations:
      sms.send:
        request: {path: /x}
        response:
          format: xml
          max_body_bytes: 65536
          success: {status: [200]}
          result: {message_id: /PublishResponse/PublishResult/MessageId}
          error: {code: /ErrorResponse/Error/Code}
          errors: {Throttling: rate_limited}
  mapped:
    base_url: http://a.test
    operations:
      sms.send:
        request: {path: /x}
        response:
          max_result_bytes: 256
          success: {status: [200], field: /status, equals: [SUCCESS, REFUND]}
          result:
            state: {field: /status, map: {SUCCESS: succeeded, REFUND: refunded}}
            raw: /raw
)";

const provider::Catalog& catalog() {
  static std::shared_ptr<const provider::Catalog> cat = [] {
    auto loaded = config::load_config_text(kConfig, "fuzz.yaml");
    if (!loaded.ok()) {
      for (const auto& p : loaded.problems) std::fprintf(stderr, "%s\n", config::format_problem("fuzz.yaml", p).c_str());
      std::abort();
    }
    std::vector<config::Problem> problems;
    auto c = provider::Catalog::build(loaded.config, problems);
    if (!c) std::abort();
    return c;
  }();
  return *cat;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  HttpResponse resp;
  resp.status = 100 + (data[1] << 8 | data[2]) % 500;
  const auto parts = fuzz::split(fuzz::as_text(data + 3, size - 3), "\n", 2);
  if (parts.size() > 1) {
    resp.headers.emplace_back("Retry-After", std::string(parts[0]));
    resp.body = std::string(parts[1]);
  } else {
    resp.body = std::string(parts[0]);
  }
  for (const char* name : {"code_in_body", "status_only", "wechat", "xml", "mapped"}) {
    auto r = catalog().provider(name)->operation("sms.send")->decode(resp);
    if (!r) {
      const Error& e = r.error();
      // What reaches callers and the store is bounded and printable.
      if (e.provider_code.size() > provider::kMaxProviderCode && e.provider_code != "result_too_large") std::abort();
      for (char c : e.provider_code) {
        if (static_cast<unsigned char>(c) < 0x20) std::abort();
      }
      if (e.retry_after > std::chrono::hours(24)) std::abort();
    }
  }
  return 0;
}
