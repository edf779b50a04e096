// A caller's request from raw bytes: HTTP/1.1 parsing with the server's limits,
// then the whole caller API — auth, routing of the path, headers (Idempotency-
// Key, Prefer, X-Tollgate-*, traceparent, the deadline header), the JSON body,
// param validation, batches, status reads — and the engine behind it, with a
// fake provider and simulated time. Every request gets an answer; a 5xx is
// only ever one the API means (never an escaped exception).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstdio>
#include <cstdlib>

#include "api/api.h"
#include "config/loader.h"
#include "http/beast_convert.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/mocks/fake_transport.h"
#include "tests/mocks/memory_job_store.h"
#include "tests/mocks/sim_time.h"

using namespace tollgate;

namespace {

constexpr const char* kConfig = R"(callers:
  - name: shop
    key_sha256: 62af8704764faf8ea82fc61ce9c4c3908b6cb97d463a634e9e587d7c885db0ef
    capabilities: [sms.send, pay.refund]
    callbacks: {allowed_hosts: ["*.hooks.test", "127.0.0.1:8099", "[::1]:8099"], secret: callback-secret-123456}
capabilities:
  sms.send:
    deadline: 2s
    async: {allow: true, fallback: true}
    providers: [alpha, beta]
    params:
      to: {type: string, required: true, format: e164, sensitive: true}
      template: {type: string, required: true, max_length: 64}
      params: {type: object, sensitive: [code]}
      n: {type: integer, minimum: 0, maximum: 10}
  pay.refund:
    deadline: 2s
    providers: [alpha]
    params:
      refund_no: {type: string, required: true, idempotency_key: true}
      amount: {type: number, minimum: 0}
providers:
  alpha:
    base_url: http://alpha.test
    timeouts: {attempt: 300ms}
    operations:
      sms.send: &op
        dedupe: true
        request:
          path: /send
          body:
            json: {to: "{{params.to}}", vars: "{{params.params}}", ref: "{{call.id}}"}
        response:
          success: {status: [200], field: /code, equals: 0}
          result: {message_id: /data/id}
          error: {code: /code}
      pay.refund:
        request:
          path: /refund/{{params.refund_no}}
          body:
            json: {amount: "{{params.amount}}"}
        response:
          success: {status: [200], field: /code, equals: 0}
  beta:
    base_url: http://beta.test
    operations:
      sms.send: *op
)";

struct World {
  World() {
    auto cfg = config::load_config_text(kConfig, "fuzz.yaml");
    if (!cfg.ok()) {
      for (const auto& p : cfg.problems) std::fprintf(stderr, "%s\n", config::format_problem("fuzz.yaml", p).c_str());
      std::abort();
    }
    std::vector<config::Problem> problems;
    auto rt = engine::Runtime::build(cfg.config, 1, registry, testing::fake_endpoint, problems);
    if (!rt) std::abort();
    holder = std::make_unique<engine::RuntimeHolder>(rt);
    transport.set_default("beta.test", testing::Reply::status_code(503));
  }
  boost::asio::io_context ctx;
  testing::SimTime time;
  testing::FakeTransport transport{time};
  engine::StateRegistry registry;
  std::unique_ptr<engine::RuntimeHolder> holder;
};

World& world() {
  static World w;
  return w;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace bhttp = boost::beast::http;
  // As the server reads: the head's fields in an arena, the heap past it.
  http::FieldArena arena;
  http::ArenaParser<true> parser = http::parser_in<true>(arena);
  parser.header_limit(8192);
  parser.body_limit(65536);
  parser.eager(true);
  boost::system::error_code ec;
  std::string_view rest = fuzz::as_text(data, size);
  while (!rest.empty() && !parser.is_done()) {
    const auto used = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
    if (ec && ec != bhttp::error::need_more) return 0;
    if (used == 0) break;
    rest.remove_prefix(used);
  }
  if (!parser.is_done()) {
    parser.put_eof(ec);
    if (ec || !parser.is_done()) return 0;
  }
  HttpRequest req = http::from_beast(parser.release());
  World& w = world();
  testing::MemoryJobStore store;  // fresh per input: nothing carries over but routing state
  api::ApiHandler handler(*w.holder, w.time, w.time, std::vector<Transport*>{&w.transport}, store, "fuzz");
  std::optional<http::ServerResponse> out;
  boost::asio::co_spawn(w.ctx, handler.handle(std::move(req), http::RequestContext{}),
                        [&](std::exception_ptr e, http::ServerResponse r) {
                          if (e) std::abort();  // nothing may escape the API as an exception
                          out = std::move(r);
                        });
  w.time.run(w.ctx);
  if (!out) std::abort();
  const int status = out->response.status;
  if (status < 200 || status > 599 || status == 500) std::abort();
  return 0;
}
