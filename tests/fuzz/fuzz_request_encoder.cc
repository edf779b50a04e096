// Caller params rendered into provider requests: every placement (path
// segments, query, headers, JSON body with typed and nested values, form body)
// and the signers that read what was rendered. Input: the params as JSON.
// Whatever the params, a request either fails to encode with an Error or is
// safe to put on the wire.
#include <boost/json/parse.hpp>

#include <cstdio>
#include <cstdlib>

#include "config/loader.h"
#include "core/random.h"
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
    providers: [json_body, form_body, query_path]
    params:
      to: {type: string}
      template: {type: string}
      params: {type: object}
      n: {type: number}
      flag: {type: boolean}
      list: {type: array}
providers:
  json_body:
    base_url: http://a.test/base
    credentials: {token: t0k}
    signer: {type: bearer, token: "{{credentials.token}}"}
    operations:
      sms.send:
        dedupe: true
        request:
          path: /v1/send
          headers: {X-Trace: "{{params.template}}", X-Call: "{{call.id}}"}
          body:
            json:
              mobile: "{{params.to}}"
              vars: "{{params.params}}"
              code: "{{params.params.code}}"
              n: "{{params.n}}"
              flag: "{{params.flag}}"
              list: "{{params.list}}"
              fixed: 3
              ref: "{{call.id}}"
  form_body:
    base_url: https://b.test
    credentials: {secret: s3cr3t}
    signer:
      type: hmac_sha256
      secret: "{{credentials.secret}}"
      canonical: [method, path, query, "header:X-Ts", nonce, body]
    operations:
      sms.send:
        request:
          path: /form/Messages
          headers: {X-Ts: "{{attempt.timestamp}}", X-Nonce: "{{attempt.nonce}}"}
          body:
            form: {To: "{{params.to}}", Vars: "{{params.params}}", N: "{{params.n}}"}
  query_path:
    base_url: http://[::1]:8080
    signer: {type: aliyun_rpc, access_key_id: id, access_key_secret: secret}
    operations:
      sms.send:
        request:
          method: GET
          path: /users/{{params.to}}/messages/{{params.template}}
          query: {PhoneNumbers: "{{params.to}}", TemplateParam: "{{params.params}}", List: "{{params.list}}"}
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

bool wire_safe(std::string_view s) {
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  boost::system::error_code ec;
  auto v = boost::json::parse(fuzz::as_text(data, size), ec);
  if (ec || !v.is_object()) return 0;
  Call call;
  call.id = "01M8N0QZX8097365KR7D1P4VCV";
  call.caller = "c";
  call.capability = "sms.send";
  call.params = std::move(v.get_object());
  for (const char* name : {"json_body", "form_body", "query_path"}) {
    const auto* op = catalog().provider(name)->operation("sms.send");
    auto req = op->encode(call, provider::AttemptInfo{1, WallTime(std::chrono::seconds(1700000000)), "nonce-1"});
    if (!req) continue;
    // What reaches the wire: no way to end a line or a header early.
    if (!wire_safe(req->method) || !wire_safe(req->path) || !wire_safe(req->query)) std::abort();
    if (req->path.empty() || req->path.front() != '/') std::abort();
    if (req->path.find("/../") != std::string::npos || req->path.ends_with("/..")) std::abort();
    for (const auto& [k, val] : req->headers) {
      if (!wire_safe(k) || !wire_safe(val) || k.find(':') != std::string::npos) std::abort();
    }
  }
  return 0;
}
